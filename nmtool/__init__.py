"""nmtool: a raw-SQL, drop-in replacement for OpenStack's nova-manage."""

__version__ = "0.1.0"

# The nova release whose nova-manage behaviour, schemas and exit codes
# nmtool reproduces; `nmtool --version` prints it alone, as nova-manage does
# (`nmtool version --verbose` adds nmtool's own version and kernel).
NOVA_VERSION = "34.0.0"
