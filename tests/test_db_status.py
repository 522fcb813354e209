"""nmtool db status: the counts a DBA checks before archive and purge,
exact where cheap and marked where estimated."""
import pytest

from conftest import (CELL0, conf_path, db_url, run_nmtool,
                      server_connection)
from nmtool.db.live_schema import REMOVED_TABLES

CUT = "2025-01-01"
NOTE = "~ estimate: row counts from InnoDB's statistics"


@pytest.fixture
def deployment(generated, conf_file):
    api, main = generated(150, 0.7, seed=3)
    return conf_file(api=api, main=main), api, main


def parse(text):
    """{table: [cells...]} of every table in the output, and the rest."""
    rows, other = {}, []
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| Table "):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
        elif not line.startswith(("+", "| Table ")):
            other.append(line)
    return rows, other


def truth(main):
    """Exact figures, the slow way."""
    out = {}
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT table_name FROM information_schema.columns "
                    "WHERE table_schema = %s AND column_name = 'deleted' "
                    "AND table_name NOT LIKE 'shadow\\_%%'", (main,))
        for (table,) in cur.fetchall():
            cur.execute("SELECT COUNT(*) FROM information_schema.tables "
                        "WHERE table_schema = %s AND table_name = %s",
                        (main, "shadow_" + table))
            if not cur.fetchone()[0] or table in REMOVED_TABLES:
                continue
            cur.execute("SELECT SUM(deleted = 0), SUM(deleted <> 0), "
                        "SUM(deleted <> 0 AND deleted_at < %%s) FROM `%s`"
                        % table, (CUT,))
            live, deleted, before = (int(v or 0) for v in cur.fetchone())
            cur.execute("SELECT COUNT(*) FROM `shadow_%s`" % table)
            out[table] = [live, deleted, before, cur.fetchone()[0]]
    return out


def test_exact_figures_before_and_after_archiving(deployment):
    conf, api, main = deployment
    result = run_nmtool("--config-file", conf, "db", "status", "--before",
                        CUT)
    assert result.rc == 0 and result.err == ""
    assert [c.strip() for c in result.out.splitlines()[1].split("|")] == [
        "", "Table", "Live rows", "Soft-deleted",
        "Deleted before 2025-01-01 00:00:00", "Shadow rows",
        "Oldest shadow row", ""]
    rows, other = parse(result.out)
    assert other == []  # exact: no estimate note
    expected = truth(main)
    # Every table with a deleted column and a shadow twin, but those nova
    # 34.0.0 dropped the models of (its archive skips them too).
    assert set(expected) == {t for t in rows if rows[t][3] != "-"}
    for table, (live, deleted, before, shadow) in expected.items():
        assert rows[table][:4] == [str(live), str(deleted), str(before),
                                   str(shadow)], table
        assert rows[table][4] == ""  # empty shadow table
    assert int(rows["instances"][1]) > int(rows["instances"][2]) > 0
    assert rows["task_log"][3] == "0"
    assert "alembic_version" not in rows and "fixed_ips" not in rows

    assert run_nmtool("--config-file", conf, "db", "archive_deleted_rows",
                      "--until-complete").rc == 1
    after = run_nmtool("--config-file", conf, "db", "status")
    rows, other = parse(after.out)
    assert other == [] and after.rc == 0, after.out
    assert len(after.out.splitlines()[1].split("|")) == 7  # no --before
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*), MIN(deleted_at) FROM shadow_instances")
        count, oldest = cur.fetchone()
        cur.execute("SELECT MIN(created_at) FROM shadow_instance_actions")
        oldest_action = cur.fetchone()[0]
    assert rows["instances"][1:] == ["0", str(count),
                                     "%s (deleted_at)" % oldest]
    assert rows["instance_actions"][3] == "%s (created_at)" % oldest_action
    # Faults move with their instance without being soft-deleted
    # themselves: purge --before (by deleted_at) never takes them.
    assert rows["instance_faults"][3] == "NULL (deleted_at)"
    for table, (live, deleted, before, shadow) in truth(main).items():
        assert rows[table][:3] == [str(live), "0", str(shadow)], table


def test_estimates_are_marked_and_close(deployment):
    conf, api, main = deployment
    with server_connection(main) as conn:
        cur = conn.cursor()
        for table in ("instances", "instance_system_metadata"):
            cur.execute("ANALYZE TABLE `%s`" % table)
            cur.fetchall()
    result = run_nmtool("--config-file", conf, "db", "status", "--before",
                        CUT, "--exact-limit", "0")
    assert result.rc == 0
    rows, other = parse(result.out)
    assert other[0].startswith(NOTE)
    expected = truth(main)
    for table in ("instances", "instance_system_metadata"):
        live, deleted, before, _ = expected[table]
        figures = rows[table][:3]
        assert all(f.startswith("~") for f in figures), (table, figures)
        for shown, exact in zip(figures, (live, deleted, before)):
            assert abs(int(shown[1:]) - exact) <= max(3, exact * 0.25), \
                (table, figures, expected[table])
    # Empty tables cost nothing to count: exact even here.
    assert rows["certificates"][:2] == ["0", "0"]


@pytest.mark.parametrize("args, message", [
    (["--before", "2020-13-45"], "ERROR: Invalid value for --before: "),
    (["--exact-limit", "lots"], "ERROR: --exact-limit must be a whole "
                                "number of rows, not 'lots'"),
])
def test_bad_values_exit_2(deployment, args, message):
    conf, api, main = deployment
    result = run_nmtool("--config-file", conf, "db", "status", *args)
    assert (result.rc, result.out) == (2, "")
    assert result.err.startswith(message) and \
        len(result.err.splitlines()) == 1


def test_all_cells_needs_the_api_database(databases, synced, conf_file):
    main = synced("main")
    result = run_nmtool("--config-file", conf_file(main=main), "db",
                        "status", "--all-cells")
    assert (result.rc, result.out, result.err) == (
        4, "", "ERROR: Unable to get cell list from API DB. Is it "
               "configured?\n")


def test_all_cells_one_table_per_cell(deployment, synced, tmp_path):
    conf, api, main = deployment
    cell0 = synced("main")
    with server_connection(api) as conn:
        cur = conn.cursor()
        # The generator's mapping (its instances' cell) becomes cell1.
        cur.execute("UPDATE cell_mappings SET uuid = %s, name = 'cell1', "
                    "database_connection = %s",
                    ("00000000-0000-0000-0000-000000000001", db_url(main)))
        for uuid, name, url in (
                (CELL0, "cell0", db_url(cell0)),
                ("00000000-0000-0000-0000-000000000002", "gone",
                 "mysql+pymysql://u:pw@127.0.0.1:1/nope")):
            cur.execute("INSERT INTO cell_mappings (created_at, uuid, name, "
                        "transport_url, database_connection, disabled) "
                        "VALUES (NOW(), %s, %s, 'none:///', %s, 0)",
                        (uuid, name, url))
    result = run_nmtool("--config-file", conf_path(tmp_path, api=api),
                        "db", "status", "--all-cells")
    assert result.rc == 1
    blocks = result.out.split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == [
        "Cell 00000000-0000-0000-0000-000000000001(cell1):",
        "Cell %s(cell0):" % CELL0,
        "Cell 00000000-0000-0000-0000-000000000002(gone):"]
    cell1_rows, _ = parse(blocks[0])
    cell0_rows, _ = parse(blocks[1])
    assert cell0_rows["instances"][:2] == ["0", "0"]
    live, deleted, _, _ = truth(main)["instances"]
    assert cell1_rows["instances"][:2] == [str(live), str(deleted)]
    assert blocks[2].splitlines()[1].startswith(
        "ERROR: Cannot connect to the database of cell "
        "00000000-0000-0000-0000-000000000002 at "
        "mysql+pymysql://u:****@127.0.0.1:1/nope")
    assert ":pw@" not in result.out
