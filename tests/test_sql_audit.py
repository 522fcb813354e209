"""--sql-log and --print-sql: every statement of a run, and a log that
replays the run's writes to the same end state on a fresh copy."""
import json
import os
import subprocess
import sys

import pytest

from cellworld import World, uid
from conftest import (ROOT, Result, copy_database, db_url, run_nmtool,
                      server_connection, table_contents)

REPLAY = os.path.join(ROOT, "scripts", "replay-sql-log.py")


def replay(log, *mappings):
    args = [sys.executable, REPLAY, str(log)]
    for key, name in mappings:
        args += ["--db", "%s=%s" % (key, db_url(name))]
    return Result(subprocess.run(args, capture_output=True, text=True))


def entries(log):
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.fixture
def deployment(databases, generated, conf_file):
    """API + cell DB with generated instances, and untouched copies."""
    api, main = generated(120, 0.7, seed=5)
    copies = databases.create("main"), databases.create("api")
    copy_database(main, copies[0])
    copy_database(api, copies[1])
    return conf_file(api=api, main=main), api, main, copies


def test_archive_log_replays_to_the_same_end_state(deployment, tmp_path):
    conf, api, main, (main_copy, api_copy) = deployment
    log = tmp_path / "archive.jsonl"
    result = run_nmtool("--config-file", conf, "db", "archive_deleted_rows",
                        "--until-complete", "--max_rows", "50",
                        "--sql-log", str(log))
    assert result.rc == 1, result
    assert "SQL " not in result.err
    logged = entries(log)
    lanes = {("main database (ahead %d)" % n, main) for n in (1, 2)}
    assert {(e["db"], e["database"]) for e in logged} == {
        ("main database", main), ("API database", api)} | lanes
    # The batches ahead commit, each in its own transaction.
    assert {e["sql"] for e in logged if (e["db"], e["database"]) in lanes
            } >= {"BEGIN", "COMMIT"}
    assert {e["sql"] for e in logged} >= {"BEGIN", "COMMIT"}
    # The batches' deletes ran without the server's foreign-key checks,
    # and every connection had them back on before it committed.
    checks, unchecked = {}, 0
    for e in logged:
        words, key = " ".join(e["sql"].split()), (e["db"], e["conn"])
        if words == "SET SESSION foreign_key_checks = 0":
            checks[key], unchecked = False, unchecked + 1
        elif words == "SET SESSION foreign_key_checks = 1":
            checks[key] = True
        elif words == "COMMIT":
            assert checks.get(key, True), e
    assert unchecked > 0
    # Every connection took the archive's optimizer settings before its
    # first transaction.
    settings = {"SET SESSION eq_range_index_dive_limit = 1",
                "SET SESSION optimizer_switch = 'subquery_cache=off'"}
    seen, began = {}, set()
    for e in logged:
        key = (e["db"], e["conn"])
        if e["sql"] == "BEGIN":
            began.add(key)
        elif key not in began:
            seen.setdefault(key, set()).add(" ".join(e["sql"].split()))
    assert began and all(settings <= seen.get(key, set()) for key in began), \
        seen
    # Every statement succeeded, but for conflicts the run retried (the
    # batches ahead and the run's own can deadlock on a loaded machine).
    failed = [e for e in logged if e["error"] is not None or e["rows"] is None]
    assert all(e["error"] and ("(1213," in e["error"] or "(1205," in e["error"])
               for e in failed), failed
    moved = [e for e in logged if e["sql"].startswith("INSERT INTO")
             and e["error"] is None]
    assert moved and sum(e["rows"] for e in moved) > 0
    assert table_contents(main_copy) != table_contents(main)

    done = replay(log, (main, main_copy), (api, api_copy))
    assert done.rc == 0, done.err
    assert done.out.startswith("Replayed ")
    assert table_contents(main_copy) == table_contents(main)
    assert table_contents(api_copy) == table_contents(api)


@pytest.fixture
def world(databases, synced, tmp_path):
    w = World(databases, synced, {
        "cell1": {"name": "cell1", "uuid": uid(1),
                  "instances": [(uid(1000 + n), n % 5 == 0, "cmp1",
                                 "2026-01-01 00:00:%02d" % (n % 60))
                                for n in range(300)]}})
    w.path = w.conf(tmp_path)
    w.api_copy = databases.create("api")
    copy_database(w.api, w.api_copy)
    return w


def test_map_instances_logs_replay_by_schema_name(world, tmp_path):
    log = tmp_path / "map.jsonl"
    for count in ("120", "70"):
        result = run_nmtool("--config-file", world.path, "cell_v2",
                            "map_instances", "--cell_uuid", uid(1),
                            "--max-count", count, "--sql-log", str(log))
        assert result.rc == 1, result
    logged = entries(log)
    # Two runs appended, each its own connections.
    assert len({e["conn"] for e in logged if e["db"] == "API database"}) == 2
    cell_db = "database of cell %s" % uid(1)
    assert {e["db"] for e in logged} == {"API database", cell_db}
    assert all(e["sql"].lstrip().upper().startswith(("SELECT", "SET", "SHOW"))
               for e in logged if e["db"] == cell_db)
    many = [e for e in logged if e["many"]]
    assert many and all(e["rows"] == len(e["params"]) for e in many)
    assert sum(e["rows"] for e in many) == 190
    with server_connection(world.api) as conn:  # the marker is still there
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM instance_mappings WHERE "
                    "project_id = 'INSTANCE_MIGRATION_MARKER'")
        assert cur.fetchone()[0] == 1

    # Keyed by schema name; the cell database is only read, so it needs
    # no mapping.
    done = replay(log, (world.api, world.api_copy))
    assert done.rc == 0, done.err
    assert table_contents(world.api_copy) == table_contents(world.api)


def test_replay_needs_every_written_database(deployment, tmp_path):
    conf, api, main, (main_copy, api_copy) = deployment
    log = tmp_path / "archive.jsonl"
    assert run_nmtool("--config-file", conf, "db", "archive_deleted_rows",
                      "--sql-log", str(log)).rc == 1
    before = table_contents(main_copy)
    missing = replay(log, ("main database", main_copy))
    assert missing.rc == 2
    assert missing.err == ("replay-sql-log: no --db for: API database/%s\n"
                              % api)
    assert table_contents(main_copy) == before
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    bad = replay(tmp_path / "bad.jsonl")
    assert bad.rc == 2 and "line 1 is not an nmtool SQL log entry" \
        in bad.err


def test_print_sql_on_stderr_leaves_stdout_alone(deployment, tmp_path):
    conf, api, main, _ = deployment
    plain = run_nmtool("--config-file", conf, "db", "version")
    shown = run_nmtool("--print-sql", "--config-file", conf, "db", "version")
    assert (shown.rc, shown.out) == (plain.rc, plain.out)
    assert plain.rc == 0
    assert plain.err == ""
    lines = shown.err.splitlines()
    assert lines and all(line.startswith("SQL ") for line in lines)
    assert any(("[main database (%s) #" % main) in line and
               line.endswith("1 row: SELECT version_num FROM "
                             "alembic_version") for line in lines), lines


def test_executemany_rows_are_abridged_on_stderr(world):
    result = run_nmtool("--config-file", world.path, "cell_v2",
                        "map_instances", "--cell_uuid", uid(1),
                        "--print-sql")
    assert result.rc == 0
    inserts = [line for line in result.err.splitlines()
               if "INSERT INTO instance_mappings" in line and " rows [" in
               line]
    assert inserts and inserts[0].endswith("... (300 rows)"), inserts
    assert ', 300 rows: INSERT INTO instance_mappings' in inserts[0]
    assert '-- rows [["20' in inserts[0]  # created_at as a plain date


def test_urls_in_values_are_masked(world, tmp_path):
    log = tmp_path / "create.jsonl"
    url = db_url(world.dbs["cell1"]).replace("root@", "nova:s3cret@")
    result = run_nmtool("--config-file", world.path, "cell_v2",
                        "create_cell", "--name", "other",
                        "--database_connection", url, "--transport-url",
                        "rabbit://guest:hunter2@mq:5672/", "--sql-log",
                        str(log), "--print-sql")
    assert result.rc == 0, result
    text = log.read_text()
    assert "s3cret" not in text and "hunter2" not in text
    assert "s3cret" not in result.err and "hunter2" not in result.err
    insert = [e for e in entries(log)
              if e["sql"].startswith("INSERT INTO cell_mappings")]
    assert insert[0]["params"]["transport_url"] == \
        "rabbit://guest:****@mq:5672/"


def test_debug_still_logs_statements_and_audit_does_not_leak(deployment,
                                                             tmp_path):
    conf, api, main, _ = deployment
    log = tmp_path / "sql.jsonl"
    quiet = run_nmtool("--config-file", conf, "db", "version",
                       "--sql-log", str(log))
    assert (quiet.rc, quiet.err) == (0, "")
    assert [e["sql"] for e in entries(log)][-1] == \
        "SELECT version_num FROM alembic_version"
    first = len(entries(log))
    debug = run_nmtool("-d", "--config-file", conf, "db", "version",
                       "--sql-log", str(log))
    assert "DEBUG nmtool.sql [-] SELECT version_num" in debug.err
    assert [e["sql"] for e in entries(log)[first:]] == \
        [e["sql"] for e in entries(log)[:first]]


def test_unwritable_sql_log_is_one_line_exit_1(deployment, tmp_path):
    conf, api, main, _ = deployment
    target = tmp_path / "no" / "such" / "dir.jsonl"
    result = run_nmtool("--config-file", conf, "db", "version",
                        "--sql-log", str(target))
    assert result.rc == 1
    assert result.err == "ERROR: Cannot open the SQL log %s: No such file " \
        "or directory\n" % target
    assert result.out == ""


def test_dry_run_statements_are_logged_and_never_replayed(deployment,
                                                         tmp_path):
    conf, api, main, (main_copy, api_copy) = deployment
    log = tmp_path / "dry.jsonl"
    result = run_nmtool("--config-file", conf, "db", "archive_deleted_rows",
                        "--dry-run", "--sql-log", str(log))
    assert result.rc == 1, result
    logged = entries(log)
    assert any(e["sql"].startswith("INSERT INTO") for e in logged)
    assert all(e.get("dry_run") is True for e in logged)
    before = table_contents(main_copy)
    done = replay(log, (main, main_copy), (api, api_copy))
    assert (done.rc, done.out) == (
        0, "Replayed 0 statements on 0 connections; 0 row counts "
           "differed.\n")
    assert table_contents(main_copy) == before
