"""nmtool's own guarantees for archive and purge: crash safety, concurrent
runs, one-line errors with the documented exit codes."""
import collections
import json
import logging
import random
import signal
import subprocess
import threading
import time

import pymysql
import pytest

from conftest import NMTOOL, db_url, run_nmtool, server_connection
from nmtool.archive.run import TableKey


@pytest.fixture
def deployment(generated, conf_file):
    """API + cell DB with 150 generated instances; returns (conf, api, main)."""
    api, main = generated(150, 0.7, seed=3)
    return conf_file(api=api, main=main), api, main


def ids_by_table(main):
    """{table: sorted ids in table + shadow} and the duplicates found."""
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT table_name FROM information_schema.columns WHERE "
                    "table_schema = %s AND column_name = 'id' AND table_name "
                    "NOT LIKE 'shadow\\_%%'", (main,))
        tables = [r[0] for r in cur.fetchall()]
        out = {}
        for table in tables:
            cur.execute("SELECT COUNT(*) FROM information_schema.tables "
                        "WHERE table_schema = %s AND table_name = %s",
                        (main, "shadow_" + table))
            shadow = cur.fetchone()[0]
            cur.execute("SELECT id FROM `%s`" % table)
            ids = [r[0] for r in cur.fetchall()]
            if shadow:
                cur.execute("SELECT id FROM `shadow_%s`" % table)
                ids += [r[0] for r in cur.fetchall()]
            out[table] = sorted(ids)
    return out


def soft_deleted_left(main):
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM instances WHERE deleted <> 0")
        return cur.fetchone()[0]


def test_killed_runs_lose_and_duplicate_nothing(deployment):
    conf, api, main = deployment
    before = ids_by_table(main)
    remaining = [soft_deleted_left(main)]
    rng = random.Random(11)
    for attempt in range(6):
        proc = subprocess.Popen(
            [NMTOOL, "--config-file", conf, "db", "archive_deleted_rows",
             "--until-complete", "--max_rows", "7"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Kill it at a random moment once it has made some progress, so
        # the kill lands mid-run however fast the machine is.
        deadline = time.time() + 30
        while (soft_deleted_left(main) >= remaining[-1]
               and proc.poll() is None and time.time() < deadline):
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.02))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert ids_by_table(main) == before, "attempt %d" % attempt
        remaining.append(soft_deleted_left(main))
    # The kills really landed mid-run: work was done, and some was left.
    assert remaining[0] > remaining[-1] > 0
    final = run_nmtool("--config-file", conf, "db", "archive_deleted_rows",
                       "--until-complete")
    assert final.rc in (0, 1)
    assert ids_by_table(main) == before
    assert soft_deleted_left(main) == 0
    with server_connection(api) as conn:  # no API row of an archived instance
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM instance_mappings m JOIN `%s`."
                    "shadow_instances s ON s.uuid = m.instance_uuid" % main)
        assert cur.fetchone()[0] == 0


def test_two_archives_at_once_neither_fail_nor_duplicate(deployment):
    conf, api, main = deployment
    before = ids_by_table(main)
    procs = [subprocess.Popen(
        [NMTOOL, "--config-file", conf, "db", "archive_deleted_rows",
         "--until-complete", "--max_rows", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)]
    results = [p.communicate(timeout=300) + (p.returncode,) for p in procs]
    for out, err, rc in results:
        assert rc in (0, 1), err
        assert "Traceback" not in err
    assert ids_by_table(main) == before
    assert soft_deleted_left(main) == 0


def test_archive_then_purge_by_date_and_all(deployment):
    conf, api, main = deployment
    assert run_nmtool("--config-file", conf, "db", "archive_deleted_rows",
                      "--until-complete").rc == 1
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM shadow_instances "
                    "WHERE deleted_at < '2025-01-01'")
        old = cur.fetchone()[0]
        cur.execute("SELECT COUNT(*) FROM shadow_instances")
        everything = cur.fetchone()[0]
    assert 0 < old < everything
    dated = run_nmtool("--config-file", conf, "db", "purge", "--before",
                       "2025-01-01", "--verbose")
    assert dated.rc == 0
    assert ("DB: Deleted %d rows from shadow_instances based on timestamp "
            "column deleted_at\n" % old) in dated.out
    assert "DB: Unable to purge table shadow_alembic_version because it has " \
        "no timestamp column\n" in dated.out
    everything_else = run_nmtool("--config-file", conf, "db", "purge", "--all")
    assert (everything_else.rc, everything_else.out) == (0, "")
    nothing = run_nmtool("--config-file", conf, "db", "purge", "--all")
    assert nothing.rc == 3
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM shadow_instances")
        assert cur.fetchone()[0] == 0


@pytest.mark.parametrize("args, rc, message", [
    (["--max_rows", "0"], 2, "Must supply a positive value for max_rows\n"),
    (["--max_rows", "-5"], 2, "Must supply a positive value for max_rows\n"),
    (["--max_rows", "2147483648"], 2, "max rows must be <= 2147483647\n"),
    (["--before", "bogus"], 4,
     "Invalid value for --before: String does not contain a date: bogus\n"),
])
def test_bad_archive_values(args, rc, message, deployment):
    conf, api, main = deployment
    before = ids_by_table(main)
    result = run_nmtool("--config-file", conf, "db", "archive_deleted_rows",
                        *args)
    assert (result.rc, result.out) == (rc, message)
    assert ids_by_table(main) == before


def test_non_integer_max_rows_is_a_usage_error(deployment):
    conf, api, main = deployment
    result = run_nmtool("--config-file", conf, "db", "archive_deleted_rows",
                        "--max_rows", "ten")
    assert result.rc == 2
    assert result.err.endswith(
        "nmtool: error: argument --max_rows: invalid int value: 'ten'\n")


def test_archive_without_api_database_exits_3(databases, synced, conf_file):
    main = synced("main")
    result = run_nmtool("--config-file", conf_file(main=main), "db",
                        "archive_deleted_rows")
    assert result.rc == 3
    assert result.out.startswith("Failed to connect to API DB so aborting")


def test_archive_with_unreachable_api_database_exits_3(databases, synced,
                                                       tmp_path):
    main = synced("main")
    conf = tmp_path / "nova.conf"
    conf.write_text("[api_database]\nconnection = mysql+pymysql://u:pw@"
                    "127.0.0.1:1/api\n[database]\nconnection = %s\n"
                    % db_url(main))
    result = run_nmtool("--config-file", str(conf), "db",
                        "archive_deleted_rows")
    assert result.rc == 3
    assert "127.0.0.1:1" in result.out and ":pw@" not in result.out


@pytest.mark.parametrize("args, rc, message", [
    ([], 1, "Either --before or --all is required\n"),
    (["--before", "2020-13-45"], 2, "Invalid value for --before: "),
])
def test_bad_purge_arguments(args, rc, message, deployment):
    conf, api, main = deployment
    result = run_nmtool("--config-file", conf, "db", "purge", *args)
    assert result.rc == rc and result.out.startswith(message)


def test_purge_all_cells_without_api_database_exits_4(databases, synced,
                                                      conf_file):
    main = synced("main")
    result = run_nmtool("--config-file", conf_file(main=main), "db", "purge",
                        "--all", "--all-cells")
    assert (result.rc, result.out) == (
        4, "Unable to get cell list from API DB. Is it configured?\n")


def test_a_blocking_foreign_key_skips_the_table_with_a_warning(deployment):
    conf, api, main = deployment
    with server_connection(main) as conn:
        cur = conn.cursor()
        # share_mapping has no shadow table; its row pins one instance.
        cur.execute("SELECT uuid FROM instances WHERE deleted <> 0 "
                    "ORDER BY id LIMIT 1")
        uuid = cur.fetchone()[0]
        cur.execute("INSERT INTO share_mapping (uuid, instance_uuid, "
                    "share_id, status, tag, export_location, share_proto) "
                    "VALUES (UUID(), %s, 'share', 'active', 't', 'x', 'NFS')",
                    (uuid,))
    result = run_nmtool("--config-file", conf, "db", "archive_deleted_rows",
                        "--verbose", "--max_rows", "10")
    assert "Traceback" not in result.err
    assert "IntegrityError detected when archiving table instances" \
        in result.err
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM instances WHERE uuid = %s", (uuid,))
        assert cur.fetchone()[0] == 1
    # The API side of the failed batch was rolled back with it.
    with server_connection(api) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM instance_mappings "
                    "WHERE instance_uuid = %s", (uuid,))
        assert cur.fetchone()[0] == 1


def soft_delete_between_batches(main, pick, wait=False):
    """A progress callback that soft-deletes, once, the instance whose id
    pick (an SQL query) returns; and the list that receives that id. pick
    must find one at the first call, or with wait at a later one."""
    late = []

    def between_batches():
        if late:
            return
        with server_connection(main) as conn:
            cur = conn.cursor()
            cur.execute(pick)
            chosen = cur.fetchone()[0]
            if chosen is None:
                assert wait, "nothing to soft-delete between batches"
                return
            late.append(chosen)
            cur.execute("UPDATE instances SET deleted = id, deleted_at = "
                        "NOW() WHERE id = %s", (chosen,))
            conn.commit()
    return between_batches, late


class Statements(logging.Handler):
    """The (connection label, first word) of every statement logged."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.seen = []
        self.errors = []

    def emit(self, record):
        self.seen.append((record.sql_db, record.getMessage().split()[0]))
        if record.sql_error:
            self.errors.append((record.sql_db, record.sql_error))

    def on(self, label):
        return [word for db, word in self.seen if db == label]


def archive_in_process(api, main, progress):
    """archive_deleted_rows --until-complete --max_rows 50, run in this
    process with progress() between batches; returns the counts and the
    statements it ran (a Statements)."""
    from nmtool.archive.run import ArchiveOptions, ArchiveRun
    from nmtool.db.connection import Database
    dbs = []
    statements = Statements()
    sql_log = logging.getLogger("nmtool.sql")
    level = sql_log.level

    def open_db(url, label):
        dbs.append(Database(url, label).connect())
        return dbs[-1]
    sql_log.addHandler(statements)
    sql_log.setLevel(logging.DEBUG)
    run = ArchiveRun(open_db, open_db(db_url(api), "API database"),
                     ArchiveOptions(max_rows=50, until_complete=True),
                     progress=progress)
    try:
        return run.run([(None, db_url(main))]), statements
    finally:
        sql_log.removeHandler(statements)
        sql_log.setLevel(level)
        for db in dbs:
            db.close()


def assert_archived_once(api, main, instances):
    """No soft-deleted instance left, `instances` in the shadow table,
    each once, and no API mapping left of an archived one."""
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM instances WHERE deleted <> 0")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM "
                    "shadow_instances")
        assert cur.fetchone() == (instances, instances)
    with server_connection(api) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM instance_mappings "
                    "WHERE instance_uuid IN (SELECT uuid FROM %s.instances)"
                    % main)
        live = cur.fetchone()[0]
        cur.execute("SELECT COUNT(*) FROM instance_mappings")
        assert cur.fetchone()[0] == live


def test_rows_soft_deleted_below_the_run_s_position_are_archived(
        generated, conf_file):
    """A long --until-complete run looks only above where its previous
    pass stopped in each table; an instance deleted meanwhile below that
    point must still be archived before the run says it is complete."""
    api, main = generated(60, 0.5, seed=5)
    deleted = soft_deleted_left(main)
    # a live instance older than the newest one archived so far
    between_batches, late = soft_delete_between_batches(
        main, "SELECT MIN(id) FROM instances WHERE deleted = 0 "
              "AND id < (SELECT MAX(id) FROM shadow_instances)")
    counts, _ = archive_in_process(api, main, between_batches)
    assert late and late[0] is not None
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM instances WHERE deleted <> 0")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT COUNT(*) FROM shadow_instances WHERE id = %s",
                    (late[0],))
        assert cur.fetchone()[0] == 1
    assert counts[TableKey(None, "instances")] == deleted + 1


def test_batches_ahead_take_turns_and_a_soft_delete_in_one_waits(
        generated, conf_file):
    """Once every pass gives the instances the whole budget, the next
    batch moves on another connection while the current one commits; the
    two lanes take turns. An instance soft-deleted meanwhile by another
    client, among the rows of the batch running ahead, is not locked by
    it (it locks its own rows, by id), and a later pass archives it:
    once."""
    api, main = generated(80, 0.5, seed=9)
    deleted = soft_deleted_left(main)
    updates, failures, sent = [], [], threading.Event()
    writer = server_connection(main)

    def soft_delete(chosen):
        try:
            cur = writer.cursor()
            sent.set()
            cur.execute("UPDATE instances SET deleted = id, deleted_at = "
                        "NOW() WHERE id = %s", (chosen,))
            writer.commit()
        except Exception as exc:
            failures.append(exc)

    def between_batches():
        if updates:
            return
        with server_connection(main) as conn:
            cur = conn.cursor()
            cur.execute("SELECT IF((SELECT COUNT(*) FROM shadow_instances) "
                        "< 10, NULL, (SELECT MIN(id) FROM instances WHERE "
                        "deleted = 0 AND id > (SELECT MAX(id) FROM "
                        "shadow_instances)))")
            chosen = cur.fetchone()[0]
        if chosen is not None:
            # Sent, not waited for: were it to wait for a batch ahead, that
            # batch commits only when the run goes on.
            updates.append(threading.Thread(target=soft_delete,
                                            args=(chosen,)))
            updates[0].start()
            sent.wait(10)
            time.sleep(0.05)
    with writer:
        counts, statements = archive_in_process(api, main, between_batches)
        assert updates
        updates[0].join(60)
    assert not updates[0].is_alive() and not failures
    commits = {lane: statements.on(lane).count("COMMIT") for lane in (
        "main database (ahead 1)", "main database (ahead 2)")}
    assert min(commits.values()) >= 1 and sum(commits.values()) >= 4, \
        (commits, statements.errors)
    assert counts[TableKey(None, "instances")] == deleted + 1
    assert_archived_once(api, main, deleted + 1)


def test_a_pass_that_turns_to_another_table_rolls_back_the_batch_ahead(
        generated, conf_file):
    """A certificate soft-deleted between batches comes before the
    instances in the next pass: the instances' batch already running
    ahead is rolled back first, and archived by a later batch, once."""
    api, main = generated(80, 0.5, seed=9)
    deleted = soft_deleted_left(main)
    added = []

    def between_batches():
        with server_connection(main) as conn:
            cur = conn.cursor()
            cur.execute("SELECT COUNT(*) FROM shadow_instances")
            if added or cur.fetchone()[0] < 10:
                return
            cur.execute("INSERT INTO certificates (created_at, deleted_at, "
                        "deleted, file_name) VALUES (NOW(), NOW(), 1, 'x')")
            added.append(cur.lastrowid)
            conn.commit()
    counts, statements = archive_in_process(api, main, between_batches)
    assert added
    lanes = statements.on("main database (ahead 1)") + \
        statements.on("main database (ahead 2)")
    assert "ROLLBACK" in lanes and "COMMIT" in lanes
    assert counts[TableKey(None, "certificates")] == 1
    assert counts[TableKey(None, "instances")] == deleted
    assert_archived_once(api, main, deleted)
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM shadow_certificates WHERE id = %s",
                    (added[0],))
        assert cur.fetchone()[0] == 1


def test_a_batch_ahead_that_finds_nothing_gives_its_lane_back(
        generated, conf_file, tmp_path):
    """100 retired compute nodes at --max_rows 10: their last batch fills
    its budget exactly, so the batch started ahead of it finds nothing.
    Its lane must take batches again: the instances after them go on
    both lanes in turn. (The lane used to stay busy for good, and the
    run's own connection did every other batch, one at a time: half the
    rate of a 1,000,000-instance archive.)"""
    api, main = generated(300, 0.5, seed=11)
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute(
            "INSERT INTO compute_nodes (created_at, deleted_at, deleted, "
            "vcpus, memory_mb, local_gb, vcpus_used, memory_mb_used, "
            "local_gb_used, hypervisor_type, hypervisor_version, cpu_info, "
            "host, uuid) SELECT NOW(), NOW(), 1, 1, 1, 1, 0, 0, 0, 'QEMU', "
            "1, '{}', CONCAT('gone', seq), UUID() FROM seq_1_to_100")
        cur.execute("UPDATE compute_nodes SET deleted = id "
                    "WHERE host LIKE 'gone%%'")
        conn.commit()
    conf = conf_file(api=api, main=main)
    log = tmp_path / "sql.jsonl"
    result = run_nmtool("--config-file", conf, "--sql-log", str(log), "db",
                        "archive_deleted_rows", "--until-complete",
                        "--max_rows", "10")
    assert result.rc == 1, result
    found_nothing = 0
    batches = collections.Counter()
    with open(log) as handle:
        for line in handle:
            entry = json.loads(line)
            if entry["name"] == "archive.candidates" and \
                    "ahead" in entry["db"] and entry["rows"] == 0:
                found_nothing += 1
            if entry["name"] == "archive.delete_parents" and \
                    "`instances`" in entry["sql"]:
                batches[entry["db"]] += 1
    assert found_nothing >= 1
    assert sum(batches.values()) >= 20, batches
    assert batches["main database (ahead 1)"] >= 10, batches
    assert batches["main database (ahead 2)"] >= 10, batches
    # A pass may still run a few itself (a lane's batch that failed or
    # came late); with a lane lost it ran every other one.
    assert batches["main database"] <= 8, batches
    assert soft_deleted_left(main) == 0
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM shadow_compute_nodes "
                    "WHERE host LIKE 'gone%'")
        assert cur.fetchone()[0] == 100


def test_an_optimizer_setting_the_server_refuses_is_done_without(
        databases, monkeypatch):
    """MySQL has no subquery cache: the archive's session settings go on
    without one the server refuses, and still fail on anything else."""
    from nmtool.archive import batch as archiver
    from nmtool.db.connection import Database
    real = archiver.sql
    refused = "SET SESSION optimizer_switch = 'no_such_cache=off'"
    monkeypatch.setattr(archiver, "sql", lambda name: refused if name ==
                        "archive.session_no_subquery_cache" else real(name))
    with Database(db_url(databases.create("tune"))) as db:
        assert archiver.tune_session(db) is db
        assert db.scalar("SELECT @@SESSION.eq_range_index_dive_limit") == 1
        assert "subquery_cache=on" in db.scalar(
            "SELECT @@SESSION.optimizer_switch")
        monkeypatch.setattr(archiver, "sql", lambda name: "SET SESSION x")
        with pytest.raises(pymysql.err.ProgrammingError):
            archiver.tune_session(db)
