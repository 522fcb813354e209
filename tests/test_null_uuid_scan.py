"""db null_instance_uuid_scan [--delete].

The command left nova in release 23; these tests check the behaviour of
nova 22 (Victoria), whose source was read for it: the tables scanned, the
messages and their order, what --delete removes, exit 0. The nova-marked
test runs Victoria's scan (its code ported to the SQLAlchemy of the nova
34.0.0 virtualenv, reflecting the live schema as it did) next to nmtool on
identical copies.
"""
import os
import subprocess

import pytest

from conftest import (NOVA_VENV, copy_database, db_url, run_nmtool,
                      server_connection, table_contents)

NOTHING = "There were no records found where instance_uuid was NULL.\n"


def found(rows, table):
    return ("There are %d records in the '%s' table where the uuid or "
            "instance_uuid column is NULL. Run this command again with the "
            "--delete option after you have backed up any necessary data.\n"
            % (rows, table))


def deleted(rows, table):
    return "Deleted %d records from table '%s'.\n" % (rows, table)


INSTANCE = "11111111-2222-3333-4444-555555555555"


def seed(main):
    """NULL instance uuids in scanned tables, in tables the scan skips, and
    rows with a uuid that must stay."""
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("INSERT INTO instances (uuid, deleted) VALUES (%s, 0)",
                    (INSTANCE,))
        for uuid in (None, None, INSTANCE):
            cur.execute("INSERT INTO block_device_mapping (instance_uuid, "
                        "deleted) VALUES (%s, 0)", (uuid,))
            cur.execute("INSERT INTO instance_metadata (instance_uuid, `key`,"
                        " value, deleted) VALUES (%s, 'k', 'v', 0)", (uuid,))
        for uuid in (None, INSTANCE):
            cur.execute("INSERT INTO migrations (instance_uuid, deleted) "
                        "VALUES (%s, 0)", (uuid,))
        # Skipped: fixed_ips by design, shadow tables (no foreign keys),
        # pci_devices (its instance_uuid has no foreign key to instances).
        cur.execute("INSERT INTO fixed_ips (address, deleted) "
                    "VALUES ('10.0.0.1', 0)")
        cur.execute("INSERT INTO shadow_block_device_mapping (id, deleted) "
                    "VALUES (99, 0)")
        cur.execute("SET FOREIGN_KEY_CHECKS = 0")
        cur.execute("INSERT INTO pci_devices (compute_node_id, address, "
                    "product_id, vendor_id, dev_type, dev_id, label, status, "
                    "deleted) VALUES (1, 'a', 'p', 'v', 't', 'd', 'l', "
                    "'available', 0)")
        cur.execute("SET FOREIGN_KEY_CHECKS = 1")


def count_null(main, table, column="instance_uuid"):
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM `%s` WHERE `%s` IS NULL"
                    % (table, column))
        return cur.fetchone()[0]


@pytest.fixture
def cell(synced, conf_file):
    main = synced("main")
    return main, conf_file(main=main)


def test_nothing_found(cell):
    main, conf = cell
    before = table_contents(main)
    for args in ([], ["--delete"]):
        result = run_nmtool("--config-file", conf, "db",
                            "null_instance_uuid_scan", *args)
        assert (result.rc, result.out, result.err) == (0, NOTHING, "")
    assert table_contents(main) == before


def test_lists_then_deletes_children_first(cell):
    main, conf = cell
    seed(main)
    before = table_contents(main)
    result = run_nmtool("--config-file", conf, "db",
                        "null_instance_uuid_scan")
    # Children before parents: nova walked its tables in reverse
    # dependency order; within one level, by reverse name.
    assert (result.rc, result.err) == (0, "")
    assert result.out == (found(1, "migrations")
                          + found(2, "instance_metadata")
                          + found(2, "block_device_mapping"))
    assert table_contents(main) == before

    result = run_nmtool("--config-file", conf, "db",
                        "null_instance_uuid_scan", "--delete")
    assert (result.rc, result.err) == (0, "")
    assert result.out == (deleted(1, "migrations")
                          + deleted(2, "instance_metadata")
                          + deleted(2, "block_device_mapping"))
    after = table_contents(main)
    for table in ("migrations", "instance_metadata", "block_device_mapping"):
        assert count_null(main, table) == 0
        # the rows with a uuid stay
        assert len(after[table]) == 1
    for table in ("fixed_ips", "shadow_block_device_mapping", "pci_devices",
                  "instances"):
        assert after[table] == before[table]

    result = run_nmtool("--config-file", conf, "db",
                        "null_instance_uuid_scan", "--delete")
    assert (result.rc, result.out) == (0, NOTHING)


def _nullable_instance_uuids(main, other=INSTANCE):
    """The pre-Liberty schema: instances.uuid could be NULL."""
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("SET FOREIGN_KEY_CHECKS = 0")
        for table in ("instances", "shadow_instances"):
            cur.execute("ALTER TABLE `%s` MODIFY uuid VARCHAR(36) NULL"
                        % table)
        cur.execute("SET FOREIGN_KEY_CHECKS = 1")
        cur.execute("INSERT INTO instances (uuid, deleted) VALUES "
                    "(NULL, 0), (NULL, 0), (%s, 0)", (other,))
        cur.execute("INSERT INTO shadow_instances (id, uuid, deleted) "
                    "VALUES (1, NULL, 0)")
        cur.execute("INSERT INTO instance_actions (instance_uuid, action) "
                    "VALUES (NULL, 'create')")


def test_instances_are_scanned_by_uuid_in_their_place(cell):
    main, conf = cell
    _nullable_instance_uuids(main)
    result = run_nmtool("--config-file", conf, "db",
                        "null_instance_uuid_scan")
    # instances keeps its place in the reversed dependency order: after
    # its children, and after shadow_instances (same level, reverse name).
    assert result.out == (found(1, "instance_actions")
                          + found(1, "shadow_instances")
                          + found(2, "instances"))
    result = run_nmtool("--config-file", conf, "db",
                        "null_instance_uuid_scan", "--delete")
    assert result.rc == 0
    assert result.out == (deleted(1, "instance_actions")
                          + deleted(1, "shadow_instances")
                          + deleted(2, "instances"))
    assert count_null(main, "instances", "uuid") == 0
    assert count_null(main, "shadow_instances", "uuid") == 0
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT uuid FROM instances")
        assert cur.fetchall() == ((INSTANCE,),)


def test_a_row_still_referenced_rolls_back_every_delete(cell):
    main, conf = cell
    seed(main)
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("INSERT INTO instance_actions (id, instance_uuid, action)"
                    " VALUES (5, NULL, 'create')")
        cur.execute("INSERT INTO instance_actions_events (action_id, event, "
                    "deleted) VALUES (5, 'compute_build', 0)")
    before = table_contents(main)
    result = run_nmtool("--config-file", conf, "db",
                        "null_instance_uuid_scan", "--delete")
    assert result.rc == 255
    assert result.out == ""
    assert len(result.err.splitlines()) == 1
    assert result.err.startswith(
        "ERROR: Cannot delete the rows of table 'instance_actions' whose "
        "instance uuid is NULL: other rows still refer to them")
    assert table_contents(main) == before


def test_tables_come_from_the_live_schema(cell):
    main, conf = cell
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("CREATE TABLE site_notes (id INT PRIMARY KEY "
                    "AUTO_INCREMENT, instance_uuid VARCHAR(36) NULL, "
                    "FOREIGN KEY (instance_uuid) REFERENCES instances (uuid))"
                    " ENGINE=InnoDB DEFAULT CHARSET=utf8")
        cur.execute("CREATE TABLE unlinked (id INT PRIMARY KEY, "
                    "instance_uuid VARCHAR(36) NULL) ENGINE=InnoDB")
        cur.execute("INSERT INTO site_notes (instance_uuid) VALUES (NULL)")
        cur.execute("INSERT INTO unlinked VALUES (1, NULL)")
        cur.execute("DROP TABLE shadow_migrations")
    result = run_nmtool("--config-file", conf, "db",
                        "null_instance_uuid_scan", "--delete")
    assert (result.rc, result.out) == (0, deleted(1, "site_notes"))
    assert count_null(main, "site_notes") == 0
    assert count_null(main, "unlinked") == 1


def test_unreachable_database_is_one_line(databases, conf_file):
    conf = conf_file(main="nmt_no_such_database")
    result = run_nmtool("--config-file", conf, "db",
                        "null_instance_uuid_scan")
    assert result.rc == 255
    assert result.out == ""
    assert result.err.startswith("ERROR: Cannot connect to the main database")
    assert len(result.err.splitlines()) == 1


def test_unknown_option_is_a_usage_error(cell):
    main, conf = cell
    result = run_nmtool("--config-file", conf, "db",
                        "null_instance_uuid_scan", "--purge")
    assert result.rc == 2
    assert "unrecognized arguments: --purge" in result.err


# -- against Victoria's scan -----------------------------------------------

# nova 22's migration.db_null_instance_uuid_scan and the printing of
# DbCommands.null_instance_uuid_scan, with SQLAlchemy 2 spellings.
VICTORIA_SCAN = r'''
import sys
import sqlalchemy as sa

url, delete = sys.argv[1], sys.argv[2] == "delete"
engine = sa.create_engine(url)
meta = sa.MetaData()
meta.reflect(engine)


def process(conn, table, col, check_fkeys):
    if col not in table.columns:
        return 0
    if check_fkeys:
        if not any(fk.column.table.name == "instances"
                   for fk in table.c[col].foreign_keys):
            return 0
    query = table.c[col].is_(None)
    if delete:
        return conn.execute(table.delete().where(query)).rowcount
    return len(conn.execute(table.select().where(query)).fetchall())


processed = {}
with engine.begin() as conn:
    for table in reversed(meta.sorted_tables):
        if table.name not in ("fixed_ips", "shadow_fixed_ips"):
            processed[table.name] = process(conn, table, "instance_uuid",
                                            True)
    for name in ("instances", "shadow_instances"):
        processed[name] = process(conn, meta.tables[name], "uuid", False)
any_found = False
for name, records in processed.items():
    if records:
        any_found = True
        if delete:
            print("Deleted %d records from table '%s'." % (records, name))
        else:
            print("There are %d records in the '%s' table where the uuid or "
                  "instance_uuid column is NULL. Run this command again with "
                  "the --delete option after you have backed up any "
                  "necessary data." % (records, name))
if not any_found:
    print("There were no records found where instance_uuid was NULL.")
'''


@pytest.mark.nova
def test_same_as_victoria_scan(cell, databases, conf_file, nova_manage):
    main, conf = cell
    seed(main)
    _nullable_instance_uuids(main, other="another")
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("INSERT INTO virtual_interfaces (instance_uuid, address,"
                    " deleted) VALUES (NULL, 'aa:bb', 0)")
        cur.execute("INSERT INTO instance_faults (instance_uuid, code) "
                    "VALUES (NULL, 500)")
        cur.execute("INSERT INTO consoles (instance_uuid, deleted) "
                    "VALUES (NULL, 0)")
    copy = databases.create("main")
    copy_database(main, copy)
    python = os.path.join(NOVA_VENV, "bin", "python")
    for mode in ("list", "delete"):
        reference = subprocess.run(
            [python, "-c", VICTORIA_SCAN, db_url(copy), mode],
            capture_output=True, text=True)
        assert reference.returncode == 0, reference.stderr
        args = ["--delete"] if mode == "delete" else []
        ours = run_nmtool("--config-file", conf, "db",
                          "null_instance_uuid_scan", *args)
        assert ours.rc == 0
        assert ours.out == reference.stdout
        assert len(ours.out.splitlines()) == 9
        assert table_contents(main) == table_contents(copy)
