# Marks sql/ as the data package nmtool.sql so that the statements and
# migrations ship inside the wheel; there is no Python code here.
