"""db null_instance_uuid_scan: rows left without an instance uuid.

The command of nova 22 (Victoria) and older, removed in nova 23: same
messages, and exit 0 whatever was found (it never returned a code).
"""
from nmtool.maintenance.null_uuid_scan import scan

USAGE = {
    "null_instance_uuid_scan": """\
Usage: nmtool db null_instance_uuid_scan [--delete]

List, and optionally delete, the rows of the main database whose
instance_uuid (instances.uuid for the instances tables) is NULL. Only
the tables whose instance_uuid has a foreign key to instances are
looked at, fixed_ips excepted. Deletes happen in one transaction. Exit 0.

Options:
  --delete  Delete the rows found, after you have backed up any
            necessary data.
""",
}

FOUND = ("There are %d records in the '%s' table where the uuid or "
         "instance_uuid column is NULL. Run this command again with the "
         "--delete option after you have backed up any necessary data.")
DELETED = "Deleted %d records from table '%s'."
NOTHING = "There were no records found where instance_uuid was NULL."


def null_instance_uuid_scan(ctx):
    delete = ctx.args["--delete"]
    hits = scan(ctx.main_db(), delete=delete)
    for table, rows in hits:
        print((DELETED if delete else FOUND) % (rows, table))
    if not hits:
        print(NOTHING)
    return 0
