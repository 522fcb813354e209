"""Finding (and deleting) rows whose instance uuid is NULL.

This is the scan of nova's `db null_instance_uuid_scan`, last shipped in
nova 22 (Victoria): every table whose `instance_uuid` column has a foreign
key to `instances` (so shadow tables, which have no foreign keys, are left
out), except fixed_ips and its shadow, where a NULL instance is normal;
then `instances` and `shadow_instances` by their `uuid` column. The tables
come from the live schema, visited children first (the reverse of the
dependency order nova's reflected metadata gave), so the deletes never
trip over the rows they point at.
"""
from nmtool.db.statements import sql
from nmtool.errors import NmtoolError
from nmtool.db.live_schema import LiveSchema, quote

UUID_COLUMN = "instance_uuid"
PARENT = "instances"
# NULL instance_uuid is legitimate here (unallocated addresses).
SKIPPED = frozenset(["fixed_ips", "shadow_fixed_ips"])
# Scanned by their own uuid column, after all the child tables.
INSTANCE_TABLES = ("instances", "shadow_instances")


def plan(schema):
    """[(table, column)] in the order nova processed them, and the order
    it reported them in (the tables in INSTANCE_TABLES keep the place
    they had in the dependency order, though they are processed last)."""
    fk_to_instances = {fk.child for fk in schema.foreign_keys
                       if fk.column == UUID_COLUMN and fk.parent == PARENT}
    order, work = [], []
    for table in reversed(schema.sorted_tables()):
        if table in SKIPPED:
            continue
        order.append(table)
        if table in fk_to_instances and table not in INSTANCE_TABLES:
            work.append((table, UUID_COLUMN))
    for table in INSTANCE_TABLES:
        if schema.has_column(table, "uuid"):
            work.append((table, "uuid"))
    return work, order


def scan(db, delete=False):
    """[(table, rows)] for the tables holding rows with a NULL instance
    uuid, in nova's report order. With delete=True those rows are deleted,
    all tables in one transaction: a foreign key that still points at one
    of them rolls everything back."""
    work, order = plan(LiveSchema(db))

    def run(conn):
        found = {}
        for table, column in work:
            fmt = {"table": quote(table), "column": quote(column)}
            if delete:
                found[table] = _delete(conn, table, fmt)
            else:
                found[table] = conn.scalar(
                    sql("null_uuid_scan.count").format(**fmt))
        return found

    found = db.run_in_transaction(run) if delete else run(db)
    return [(table, found[table]) for table in order if found.get(table)]


def _delete(db, table, fmt):
    import pymysql
    try:
        return db.execute(sql("null_uuid_scan.delete").format(**fmt)).rowcount
    except pymysql.err.IntegrityError as exc:
        # nova-manage died here with a traceback, its earlier deletes
        # committed; this transaction is rolled back instead.
        raise NmtoolError(
            "Cannot delete the rows of table '%s' whose instance uuid is "
            "NULL: other rows still refer to them (%s). Nothing was deleted."
            % (table, exc.args[-1])) from exc
