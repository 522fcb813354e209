"""Faults injected into real runs of archive and purge: the server's KILL
of each connection a run opens (the cell's, a lane's, the API's), at
several points and between a batch's moves and its commits; SIGTERM,
SIGHUP, SIGINT and SIGKILL at random moments. After each: no row lost or
doubled in any table and its shadow, no instance left in the cell
without its API rows, the process ended within a bound with one line
and the report of what it committed, and a rerun completes.

The command words live in the helpers: conftest marks a test that names
them for a second run on the pure-Python kernel, and these are about
connections and signals (only the short purge ones, which say purge,
run twice)."""
import json
import logging
import os
import random
import re
import signal
import subprocess
import sys
import time
import uuid

import pymysql
import pytest

from conftest import NMTOOL, db_url, run_nmtool, server_connection
from test_archive import ids_by_table, soft_deleted_left

ARCHIVE = ("db", "archive_deleted_rows")
PURGE = ("db", "purge")
HANG = 30           # seconds: a run still alive this long after a fault hung
PROMPT = 20         # seconds: the most a run may take to end after one
LOST = re.compile(
    r"^ERROR: lost the connection to the (?P<label>.+?) \((?:\d+: .*|the "
    r"connection was closed)\); stopped after (?P<rows>\d+) rows (?:archived "
    r"in committed batches|purged), run again to continue$")
LABELS = {"cell": re.compile(r"^main database$"),
          "lane": re.compile(r"^main database \(ahead \d\)$"),
          "api": re.compile(r"^API database$"),
          "purge": re.compile(r"^database DB$")}


# -- the state the tests check ---------------------------------------------

def api_rows_missing(api, main):
    """Instances still in the cell (live or soft-deleted) that lost their
    instance mapping or request spec: what must never happen."""
    with server_connection() as conn:
        cur = conn.cursor()
        cur.execute(
            "SELECT COUNT(*) FROM `{m}`.instances i WHERE NOT EXISTS (SELECT "
            "1 FROM `{a}`.instance_mappings x WHERE x.instance_uuid = i.uuid)"
            " OR NOT EXISTS (SELECT 1 FROM `{a}`.request_specs x WHERE "
            "x.instance_uuid = i.uuid)".format(m=main, a=api))
        return cur.fetchone()[0]


def api_rows_left(api, main):
    """API rows of instances already archived: a batch whose API commit
    did not come after its cell's; the next run deletes them."""
    with server_connection() as conn:
        cur = conn.cursor()
        cur.execute(
            "SELECT (SELECT COUNT(*) FROM `{a}`.instance_mappings x JOIN "
            "`{m}`.shadow_instances s ON s.uuid = x.instance_uuid) + (SELECT "
            "COUNT(*) FROM `{a}`.request_specs x JOIN `{m}`.shadow_instances "
            "s ON s.uuid = x.instance_uuid)".format(m=main, a=api))
        return cur.fetchone()[0]


def count(database, table, where="1 = 1"):
    with server_connection() as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM `%s`.`%s` WHERE %s"
                    % (database, table, where))
        return cur.fetchone()[0]


def assert_intact(api, main, before):
    """No row lost or doubled (every id once, in its table or its shadow)
    and no instance in the cell without its API rows."""
    assert ids_by_table(main) == before
    assert api_rows_missing(api, main) == 0


def archive_to_the_end(conf, api, main, before):
    """Reruns until one says nothing is left; then no API row of an
    archived instance remains either."""
    for _ in range(4):
        result = run_nmtool("--config-file", conf, *ARCHIVE,
                            "--until-complete")
        assert result.rc in (0, 1) and result.err == "", result
        if result.rc == 0:
            break
    assert result.rc == 0, result
    assert_intact(api, main, before)
    assert soft_deleted_left(main) == 0
    assert api_rows_left(api, main) == 0


def report(out):
    """{(database, table): rows} of a --format json archive document."""
    doc = json.loads(out)
    return doc, {(r["database"], r["table"]): r["rows"]
                 for r in doc["archived"]}


# -- runs and the faults ---------------------------------------------------

class SqlLog:
    """What a run's --sql-log shows so far, read as it grows: the run's
    connections by label, and the batches the cell and its lanes ended."""

    def __init__(self, path):
        self.path = path
        self._offset = 0
        self._conns = {}        # kind -> ids seen
        self._commits = 0
        self.moved_by = {}      # instance id -> (label, conn) moving it
        self._entries = []

    def _read(self):
        try:
            with open(self.path) as handle:
                handle.seek(self._offset)
                text = handle.read()
        except FileNotFoundError:
            return
        end = text.rfind("\n") + 1     # the line being written waits
        self._offset += len(text[:end].encode())
        for line in text[:end].splitlines():
            entry = json.loads(line)
            self._entries.append(entry)
            # A batch's end: its COMMIT, or in a dry run its savepoint's.
            if entry["sql"].startswith(("COMMIT", "RELEASE SAVEPOINT")) \
                    and entry["db"].startswith("main database"):
                self._commits += 1
            if entry["name"] == "archive.delete_parents" and \
                    "`instances`" in entry["sql"]:
                for instance in entry["params"]["ids"]:
                    self.moved_by[instance] = (entry["db"], entry["conn"])
            for kind, label in LABELS.items():
                # A connection counts once it is open (its session
                # settings are not enough: a KILL then is a failure to
                # connect), a lane once it has run a batch.
                if label.match(entry["db"]) and entry["conn"] and \
                        not entry["sql"].startswith("SET SESSION") and \
                        (kind != "lane" or entry["sql"] == "BEGIN"):
                    self._conns.setdefault(kind, set()).add(entry["conn"])

    def connections(self, kind):
        self._read()
        return sorted(self._conns.get(kind, ()))

    def commits(self):
        self._read()
        return self._commits

    def entries_of(self, label):
        """Every entry so far of the connections label matches."""
        self._read()
        return [e for e in self._entries if label.match(e["db"])]

    def mover(self, instance):
        self._read()
        return self.moved_by.get(instance)


class Killer:
    """A server connection kept open, so that a KILL goes out at once."""

    def __init__(self):
        self.conn = server_connection()

    def __call__(self, conn_id):
        try:
            self.conn.cursor().execute("KILL %d" % conn_id)
        except pymysql.err.MySQLError:  # gone already
            pass

    def close(self):
        self.conn.close()


@pytest.fixture
def kill():
    killer = Killer()
    yield killer
    killer.close()


def as_from_a_terminal():
    """In the child, before nmtool starts: SIGINT, SIGTERM and SIGHUP at
    their defaults, as a command typed at a terminal has them, whatever
    this test run inherited (under nohup SIGHUP is ignored, and nmtool
    rightly leaves an ignored signal ignored)."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


class Run:
    """A command running in the background, its output going to files (a
    pipe nobody reads yet would stop a dry run's --print-sql)."""

    def __init__(self, conf, tmp_path, *args):
        name = uuid.uuid4().hex[:8]
        self.log = SqlLog(tmp_path / ("sql-%s.jsonl" % name))
        self._out = open(tmp_path / ("out-%s" % name), "w+")
        self._err = open(tmp_path / ("err-%s" % name), "w+")
        self.proc = subprocess.Popen(
            [NMTOOL, "--config-file", conf, "--sql-log", str(self.log.path)]
            + list(args), stdout=self._out, stderr=self._err, text=True,
            preexec_fn=as_from_a_terminal)

    def poll(self):
        return self.proc.poll()

    def send_signal(self, signum):
        self.proc.send_signal(signum)

    def finish(self, since):
        """(rc, stdout, stderr, seconds since `since`) once it ends; fails
        the test if it hangs."""
        try:
            self.proc.wait(timeout=HANG)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail("the run hung %d s after the fault (stderr: %r)"
                        % (HANG, self._read(self._err)[-2000:]))
        seconds = time.monotonic() - since
        return (self.proc.returncode, self._read(self._out),
                self._read(self._err), seconds)

    @staticmethod
    def _read(handle):
        handle.seek(0)
        text = handle.read()
        handle.close()
        return text


def wait_for(condition, run, limit=HANG):
    deadline = time.monotonic() + limit
    while run.poll() is None and time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.002)
    return None


def kill_during(kill, conf, tmp_path, kind, rng, args):
    """Run args, KILL one connection of that kind once the run has
    committed zero to two more batches, and return how it ended."""
    run = Run(conf, tmp_path, *args)
    seen = wait_for(lambda: run.log.connections(kind), run)
    assert seen, ("no %s connection seen" % kind, run.finish(0))
    base = run.log.commits()
    wanted = rng.randint(0, 2)
    wait_for(lambda: run.log.commits() >= base + wanted, run)
    time.sleep(rng.uniform(0, 0.003))
    killed = time.monotonic()
    kill(rng.choice(run.log.connections(kind)))
    return run.finish(killed)


def assert_stopped_by_the_kill(kind, rc, out, err, seconds):
    """Exit 1, one line naming the database of the connection killed,
    and the report; within seconds. True when the kill was felt (a lane
    killed after its last batch is not)."""
    assert seconds < PROMPT, (seconds, err)
    assert "Traceback" not in err
    lines = err.splitlines()
    if kind == "api" and rc == 3:
        # Killed while the run was still setting up its API session,
        # before any batch: nova's "cannot reach the API database".
        assert out.startswith("Failed to connect to API DB") and \
            "Lost connection" in out and not lines, (out, err)
        return False
    assert rc == 1, (rc, out, err)
    if not lines:
        assert out.rstrip().endswith("complete") or "|" in out, out
        return False
    assert len(lines) == 1, err
    match = LOST.match(lines[0])
    assert match and LABELS[kind].match(match.group("label")), lines[0]
    if int(match.group("rows")):
        # The report of the committed batches, even without --verbose.
        assert "| Number of Rows Archived |" in out, out
    return True


# -- lost connections ------------------------------------------------------

@pytest.mark.parametrize("kind", ["cell", "lane", "api"])
def test_twenty_kills_of_each_connection_end_the_run_and_lose_nothing(
        kind, generated, conf_file, tmp_path, kill):
    """--until-complete with lanes, a small --max_rows so that a run is
    many batches: each KILL ends it within seconds with one line naming
    the database (a lane's failure used to leave the main thread waiting
    for good), exit 1, and nothing lost, doubled or orphaned."""
    api, main = generated(110, 0.75, seed=21)
    conf = conf_file(api=api, main=main)
    before = ids_by_table(main)
    rng = random.Random(kind)
    felt = 0
    for attempt in range(20):
        rc, out, err, seconds = kill_during(
            kill, conf, tmp_path, kind, rng,
            ARCHIVE + ("--until-complete", "--max_rows", "5", "--verbose"))
        felt += assert_stopped_by_the_kill(kind, rc, out, err, seconds)
        assert_intact(api, main, before)
    # The kills landed while the run had work left.
    assert felt >= 18 and soft_deleted_left(main) > 0
    archive_to_the_end(conf, api, main, before)


@pytest.mark.parametrize("kind", ["cell", "api"])
def test_kills_without_lanes_end_the_run(kind, generated, conf_file,
                                         tmp_path, kill):
    """The same without lanes: a dry run (--until-complete, one session
    per database, nothing changed), and a single pass (no
    --until-complete) losing its cell connection."""
    api, main = generated(60, 0.75, seed=22)
    conf = conf_file(api=api, main=main)
    before = ids_by_table(main)
    rng = random.Random(kind + "without lanes")
    for attempt in range(3):
        rc, out, err, seconds = kill_during(
            kill, conf, tmp_path, kind, rng, ARCHIVE + (
                "--until-complete", "--max_rows", "5", "--dry-run"))
        assert rc == 1 and seconds < PROMPT and "Traceback" not in err
        lost = [line for line in err.splitlines() if LOST.match(line)]
        assert len(lost) == 1 and LABELS[kind].match(
            LOST.match(lost[0]).group("label")), err
        assert ids_by_table(main) == before
        assert count(main, "shadow_instances") == 0
    if kind == "cell":
        # One pass: killed once it moves instances, felt by the tables
        # that follow them, if not by the instances' own COMMIT.
        instance = soft_deleted_instance(main, 0)[0]
        run = Run(conf, tmp_path, *ARCHIVE, "--max_rows", "5000")
        assert wait_for(lambda: run.log.mover(instance), run)
        killed = time.monotonic()
        kill(run.log.connections(kind)[0])
        assert assert_stopped_by_the_kill(kind, *run.finish(killed))
        assert_intact(api, main, before)
    archive_to_the_end(conf, api, main, before)


def soft_deleted_instance(main, position):
    """(id, uuid) of the soft-deleted instance at that position (from 0)
    in id order: the order an archive takes them in."""
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT id, uuid FROM instances WHERE deleted <> 0 "
                    "ORDER BY id LIMIT 1 OFFSET %s", (position,))
        return cur.fetchone()


def lock_waiters():
    """The connections whose transaction waits for a row lock now, as
    InnoDB's monitor shows them. Not information_schema.innodb_trx: the
    server refreshes that snapshot only once nobody has read it for
    100 ms, so a poll (this test's, or a test's beside it) keeps it
    stale for as long as it goes on."""
    with server_connection() as conn:
        cur = conn.cursor()
        cur.execute("SHOW ENGINE INNODB STATUS")
        status = cur.fetchone()[2]
    waiters = set()
    for trx in status.split("\n---TRANSACTION ")[1:]:
        thread = re.search(r"^\S+ thread id (\d+),", trx, re.M)
        if thread and re.search(r"^LOCK WAIT ", trx, re.M):
            waiters.add(int(thread.group(1)))
    return waiters


def lock_waiter(conns):
    """Which of these connections waits for a row lock, if one does."""
    waiting = lock_waiters().intersection(conns) if conns else ()
    return min(waiting) if waiting else None


def log_tail(run, entries=15):
    """The last statements of a run's SQL log, shortened."""
    return [(e["db"], e["conn"], e["sql"][:50], e["rows"], e["error"])
            for e in run.log.entries_of(re.compile(".*"))[-entries:]]


def server_threads(*databases):
    """What every connection to these databases is doing, and whether it
    waits for a row lock: what a failed wait for a lock shows."""
    waiters = lock_waiters()
    with server_connection() as conn:
        cur = conn.cursor()
        cur.execute("SELECT id, db, command, time, state, LEFT(info, 80) "
                    "FROM information_schema.processlist WHERE db IN %s "
                    "ORDER BY id", (databases,))
        return [row + (row[0] in waiters,) for row in cur.fetchall()]


@pytest.mark.parametrize("kind, position", [
    ("cell", 0),    # the first batch of instances runs on the run's own
    ("lane", 3),    # connection, the later ones ahead, on the lanes
    ("api", 3),
])
def test_a_batch_killed_between_its_moves_and_its_commits_keeps_its_api_rows(
        kind, position, generated, conf_file, tmp_path, kill):
    """A batch's API deletes wait for a row lock held here, so the batch
    stands between its moves and its commits; then its cell, lane or API
    connection is KILLed and the lock let go. The API rows must stay with
    their instance, still in the cell (they used to be committed first,
    and gone when the cell's COMMIT then failed)."""
    api, main = generated(40, 0.75, seed=23)
    conf = conf_file(api=api, main=main)
    before = ids_by_table(main)
    instance, instance_uuid = soft_deleted_instance(main, position)
    holder = server_connection(api)
    try:
        holder.cursor().execute("BEGIN")
        holder.cursor().execute("SELECT id FROM instance_mappings WHERE "
                                "instance_uuid = %s FOR UPDATE",
                                (instance_uuid,))
        run = Run(conf, tmp_path, *ARCHIVE, "--until-complete",
                  "--max_rows", "5", "--verbose")
        # Its API deletes wait for the lock; its rows are moved (the two
        # run side by side).
        waiting = wait_for(lambda: run.log.mover(instance) and lock_waiter(
            run.log.connections("api")), run)
        if not waiting:
            # What the log showed, then the run's end once the lock is let
            # go (finishing it with the lock held would only hang).
            seen = (run.log.mover(instance), run.log.connections("api"),
                    lock_waiter(run.log.connections("api")),
                    server_threads(api, main), log_tail(run))
            holder.rollback()
            pytest.fail("no batch of instance %d seen waiting for the API "
                        "lock: (mover, API connections, waiter) %r; run: %r"
                        % (instance, seen, run.finish(0)))
        label, mover = run.log.mover(instance)
        assert LABELS["cell" if position == 0 else "lane"].match(label), \
            label
        target = waiting if kind == "api" else mover
        killed = time.monotonic()
        kill(target)
    finally:
        holder.rollback()
        holder.close()
    rc, out, err, seconds = run.finish(killed)
    # The batch is undone on both sides: its instance is in the cell,
    # with its API rows.
    assert count(main, "instances", "id = %d" % instance) == 1
    assert_intact(api, main, before)
    assert api_rows_left(api, main) == 0
    assert assert_stopped_by_the_kill(kind, rc, out, err, seconds)
    archive_to_the_end(conf, api, main, before)


def archive_here(api, main, on_statement=None, max_rows=5):
    """archive --until-complete in this process (a logging hook sees each
    statement as it is logged); returns the ArchiveRun and its counts."""
    from nmtool.archive.run import ArchiveOptions, ArchiveRun
    from nmtool.db.connection import Database
    dbs = []

    class Hook(logging.Handler):
        def emit(self, record):
            if on_statement is not None:
                on_statement(record)

    def open_db(url, label):
        dbs.append(Database(url, label).connect())
        return dbs[-1]
    sql_log = logging.getLogger("nmtool.sql")
    level, hook = sql_log.level, Hook(logging.DEBUG)
    sql_log.addHandler(hook)
    sql_log.setLevel(logging.DEBUG)
    try:
        run = ArchiveRun(open_db, open_db(db_url(api), "API database"),
                         ArchiveOptions(max_rows=max_rows,
                                        until_complete=True))
        return run, run.run([(None, db_url(main))])
    finally:
        sql_log.removeHandler(hook)
        sql_log.setLevel(level)
        for db in dbs:
            db.close()


def reported(counts, database, table):
    return sum(rows for key, rows in counts.items()
               if key.database == database and key.table == table)


def test_api_lost_after_the_cell_commit_is_swept_by_the_next_run(
        generated, kill):
    """The API connection KILLed right after a batch of instances
    committed in the cell: that batch is counted (its rows moved), its API
    rows are not (they are still there), the run stops; the next run
    deletes them first and counts them. Across both runs, every count is
    the rows moved or deleted."""
    api, main = generated(40, 0.75, seed=27)
    mappings, specs = count(api, "instance_mappings"), \
        count(api, "request_specs")
    moving, api_conn, done = {}, [], []

    def after_second_commit(record):
        if record.sql_db == "API database":
            api_conn.append(record.sql_conn)
        elif getattr(record, "sql_name", None) == \
                "archive.delete_parents" and "`instances`" in record.sql_text:
            moving[record.sql_conn] = True
        elif record.getMessage() == "COMMIT" and \
                moving.pop(record.sql_conn, None):
            done.append(record.sql_conn)
            if len(done) == 2:
                kill(api_conn[-1])
    run, counts = archive_here(api, main, after_second_commit)
    assert run.interrupted and run.failure is not None
    assert run.failure.label == "API database"
    moved = count(main, "shadow_instances")
    assert reported(counts, None, "instances") == moved > 0
    assert reported(counts, "API_DB", "instance_mappings") == \
        mappings - count(api, "instance_mappings")
    left = api_rows_left(api, main)
    assert left > 0 and api_rows_missing(api, main) == 0
    rerun, again = archive_here(api, main)
    assert rerun.failure is None and not rerun.interrupted
    assert api_rows_left(api, main) == 0 and soft_deleted_left(main) == 0
    assert reported(counts, None, "instances") + \
        reported(again, None, "instances") == count(main, "shadow_instances")
    for table, before in (("instance_mappings", mappings),
                          ("request_specs", specs)):
        assert reported(counts, "API_DB", table) + \
            reported(again, "API_DB", table) == \
            before - count(api, table), table


# -- signals ---------------------------------------------------------------

def test_a_signal_after_a_commit_keeps_the_pass_counted(generated):
    """A pass archives the retired compute nodes (a batch, committed),
    then goes on to the next tables; SIGTERM comes at the run's next
    statement after that commit. The batch is in: the report must count it, and
    every table's count must be the rows in its shadow table (the pass's
    counts used to be lost when the signal broke into a later table's
    statements)."""
    from nmtool.interrupts import interrupt
    api, main = generated(60, 0.75, seed=24)
    assert count(main, "compute_nodes", "deleted <> 0") > 0
    seen = {"moved": None, "committed": False, "sent": False}

    def after_the_first_commit(record):
        if seen["sent"]:
            return
        if seen["committed"] and record.sql_db == "main database":
            seen["sent"] = True
            os.kill(os.getpid(), signal.SIGTERM)
        elif getattr(record, "sql_name", None) == "archive.delete_parents":
            seen["moved"] = record.sql_conn
        elif record.getMessage() == "COMMIT" and \
                record.sql_conn == seen["moved"]:
            seen["committed"] = True
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        run, counts = archive_here(api, main, after_the_first_commit,
                                   max_rows=50)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert seen["sent"] and run.interrupted and run.signal == "SIGTERM"
    assert count(main, "shadow_compute_nodes") > 0
    for table in ("compute_nodes", "instances", "instance_extra",
                  "instance_actions", "block_device_mapping"):
        assert reported(counts, None, table) == \
            count(main, "shadow_" + table), table
    assert api_rows_left(api, main) == 0


FINALIZER_SIGNAL = """
import os, signal, sys, time
sys.argv = ["nmtool"]
from nmtool import cli
cli._stop_like_sigint()

class Result:
    def __del__(self):
        # The garbage collector runs this wherever the run is; the signal's
        # handler runs in it, as soon as the kill returns.
        os.kill(os.getpid(), signal.%s)
        time.sleep(0.05)

try:
    Result()
    time.sleep(2)
    print("not stopped")
except KeyboardInterrupt as exc:
    print("stopped by", exc)
"""


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_that_lands_in_a_finalizer_still_stops_the_run(name):
    """A stop signal handled inside an object's __del__ (pymysql's results
    have one): Python prints an exception raised there as "Exception
    ignored" and drops it, so the run went on with a traceback on stderr
    (seen once in a SIGINT run). It must stop the run all the same."""
    done = subprocess.run([sys.executable, "-P", "-c",
                           FINALIZER_SIGNAL % name],
                          capture_output=True, text=True, timeout=HANG,
                          preexec_fn=as_from_a_terminal)
    assert (done.returncode, done.stdout, done.stderr) == \
        (0, "stopped by %s\n" % name, "")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP,
                                    signal.SIGINT])
def test_a_signal_stops_the_run_with_the_report_of_what_it_committed(
        signum, generated, conf_file, tmp_path):
    """SIGTERM (systemd, timeout) and SIGHUP behave as ^C: the batch in
    flight finishes or rolls back, one line says so, the report counts
    exactly what was committed, exit 1 (more to do). SIGTERM used to kill
    the run with exit 143 and no report."""
    api, main = generated(60, 0.75, seed=24)
    conf = conf_file(api=api, main=main)
    before = ids_by_table(main)
    start = {table: count(api, table) for table in (
        "instance_mappings", "request_specs", "instance_group_member")}
    rng = random.Random(int(signum))
    totals = {}
    for attempt in range(4):
        run = Run(conf, tmp_path, *ARCHIVE, "--until-complete",
                  "--max_rows", "5", "--format", "json")
        assert wait_for(lambda: run.log.connections("cell"), run)
        wanted = run.log.commits() + rng.randint(0, 3)
        wait_for(lambda: run.log.commits() >= wanted, run)
        time.sleep(rng.uniform(0, 0.005))
        sent = time.monotonic()
        run.send_signal(signum)
        rc, out, err, seconds = run.finish(sent)
        assert (rc, seconds < PROMPT) == (1, True), (rc, seconds, err)
        doc, rows = report(out)
        for key, value in rows.items():
            totals[key] = totals.get(key, 0) + value
        assert_intact(api, main, before)
        # Never between the commits of a batch.
        assert api_rows_left(api, main) == 0
        if not doc["stopped"]:
            # The signal came during the last batch (a loaded machine):
            # the run ended as a complete one, with nothing left.
            assert err == "" and soft_deleted_left(main) == 0, err
            break
        assert err == ("Stopped by %s after %d rows archived in committed "
                       "batches, run again to continue\n"
                       % (signal.Signals(signum).name, doc["total"]))
    assert totals.get((None, "instances"), 0) == \
        count(main, "shadow_instances") > 0
    for table, rows in start.items():
        assert totals.get(("API_DB", table), 0) == rows - count(api, table)
    archive_to_the_end(conf, api, main, before)


def test_sigkill_at_random_moments_loses_nothing_and_a_rerun_cleans_up(
        generated, conf_file, tmp_path):
    """SIGKILL cannot be caught: whatever batch it cuts is rolled back by
    the server, or (cut between the cell's commit and the API's) leaves
    API rows of archived instances, which the next run deletes."""
    api, main = generated(60, 0.75, seed=25)
    conf = conf_file(api=api, main=main)
    before = ids_by_table(main)
    rng = random.Random(25)
    for attempt in range(8):
        run = Run(conf, tmp_path, *ARCHIVE, "--until-complete",
                  "--max_rows", "5")
        assert wait_for(lambda: run.log.connections("cell"), run)
        wanted = run.log.commits() + rng.randint(0, 3)
        wait_for(lambda: run.log.commits() >= wanted, run)
        time.sleep(rng.uniform(0, 0.005))
        sent = time.monotonic()
        run.send_signal(signal.SIGKILL)
        rc, out, err, seconds = run.finish(sent)
        assert rc == -signal.SIGKILL and seconds < PROMPT
        assert_intact(api, main, before)
    assert soft_deleted_left(main) > 0
    archive_to_the_end(conf, api, main, before)


# -- purge -----------------------------------------------------------------

def signal_delivered(pid, signum):
    """Whether no signum is pending for the process any more: its handler
    has run (or is running)."""
    bit = 1 << (signum - 1)
    with open("/proc/%d/status" % pid) as status:
        pending = [int(line.split()[1], 16) for line in status
                   if line.startswith(("SigPnd:", "ShdPnd:"))]
    return not any(mask & bit for mask in pending)


@pytest.mark.parametrize("fault", ["SIGTERM", "KILL"])
def test_purge_stops_on_a_signal_or_a_lost_connection_with_what_it_purged(
        fault, synced, conf_file, tmp_path, kill):
    """purge deletes in chunks, each committed on its own: a signal waits
    for the chunk in flight, a lost connection loses only it; either way
    one line, the rows purged so far (printed even without --verbose),
    and exit 5 (stopped with rows left). SIGTERM used to kill it with no
    word; a lost connection was a bare OperationalError, exit 255."""
    main = synced("main")
    conf = conf_file(main=main)
    table = "shadow_instance_system_metadata"
    with server_connection(main) as conn:
        conn.cursor().execute(
            "INSERT INTO %s (id, created_at, instance_uuid, `key`, value, "
            "deleted) SELECT seq, NOW(), 'i', 'k', 'v', seq FROM "
            "seq_1_to_60000" % table)
    # A row half-way held here: the chunk that reaches it waits, with the
    # chunks before it committed, until the fault has landed (a purge
    # left to run could end before a loaded machine delivers the fault).
    holder = server_connection(main)
    try:
        holder.cursor().execute("BEGIN")
        holder.cursor().execute("SELECT id FROM %s WHERE id = 30000 FOR "
                                "UPDATE" % table)
        run = Run(conf, tmp_path, *PURGE, "--all")
        waiting = wait_for(lambda: lock_waiter(run.log.connections("purge")),
                           run)
        assert waiting, ("purge never waited for the row lock",
                         count(main, table), run.poll(),
                         run.log.connections("purge"), server_threads(main),
                         log_tail(run))
        assert count(main, table) < 60000
        sent = time.monotonic()
        if fault == "KILL":
            kill(waiting)
        else:
            run.send_signal(signal.SIGTERM)
            assert wait_for(lambda: signal_delivered(run.proc.pid,
                                                     signal.SIGTERM), run)
    finally:
        holder.rollback()
        holder.close()
    rc, out, err, seconds = run.finish(sent)
    gone = 60000 - count(main, table)
    assert (rc, seconds < PROMPT) == (5, True), (rc, out, err)
    assert 0 < gone < 60000, (gone, out, err)
    if fault == "KILL":
        match = LOST.match(err.rstrip("\n"))
        assert match and match.group("label") == "database DB", err
        assert int(match.group("rows")) == gone
    else:
        assert err == ("Stopped by SIGTERM after %d rows purged, run again "
                       "to continue\n" % gone)
    assert out == ("DB: Deleted %d rows from %s based on timestamp column "
                   "(n/a)\n" % (gone, table))
    rest = run_nmtool("--config-file", conf, *PURGE, "--all")
    assert rest.rc == 0 and count(main, table) == 0


# -- counts under concurrency ----------------------------------------------

def test_two_archives_at_once_report_exactly_the_rows_they_moved(
        generated, conf_file, tmp_path):
    """Two runs started together, each with its lanes: every instance is
    moved once, and the instances and API rows each reports add up to the
    rows moved or deleted."""
    api, main = generated(80, 0.75, seed=26)
    conf = conf_file(api=api, main=main)
    before = ids_by_table(main)
    start = {table: count(api, table) for table in (
        "instance_mappings", "request_specs", "instance_group_member")}
    runs = [Run(conf, tmp_path, *ARCHIVE, "--until-complete", "--max_rows",
                "5", "--format", "json") for _ in range(2)]
    totals = {}
    for run in runs:
        rc, out, err, seconds = run.finish(time.monotonic())
        assert rc in (0, 1) and err == "", (rc, err)
        for key, value in report(out)[1].items():
            totals[key] = totals.get(key, 0) + value
    assert_intact(api, main, before)
    assert soft_deleted_left(main) == 0 and api_rows_left(api, main) == 0
    assert totals[(None, "instances")] == count(main, "shadow_instances")
    for table, rows in start.items():
        assert totals.get(("API_DB", table), 0) == rows - count(api, table)


@pytest.fixture
def two_cells(databases, synced, conf_file):
    """An API database and two cells mapped in it (cell1, cell2), with
    generated instances; returns (conf, api, {name: database})."""
    import novadata
    api, cells = synced("api"), {}
    for index, name in enumerate(("cell1", "cell2")):
        main = synced("main")
        cell_uuid = "00000000-0000-0000-0000-%012d" % (index + 1)
        with server_connection(main) as m, server_connection(api) as a:
            m.autocommit(False)
            a.autocommit(False)
            novadata.generate(m, a, 50, 0.75, seed=30 + index,
                              cell_uuid=cell_uuid,
                              id_offset=index * 100000)
            a.cursor().execute("UPDATE cell_mappings SET name = %s, "
                               "database_connection = %s WHERE uuid = %s",
                               (name, db_url(main), cell_uuid))
            a.commit()
        cells[name] = main
    return conf_file(api=api, main=cells["cell1"]), api, cells


@pytest.mark.parametrize("fault", ["KILL", "SIGTERM"])
def test_a_fault_stops_every_cell_of_a_parallel_run(fault, two_cells,
                                                     tmp_path, kill):
    """--all-cells --jobs 2: a lost cell connection, or a signal, stops
    both cells after their batch in flight (the other cell used to go on
    to its end first), with one line and the report."""
    conf, api, cells = two_cells
    before = {name: ids_by_table(main) for name, main in cells.items()}
    run = Run(conf, tmp_path, *ARCHIVE, "--all-cells", "--jobs", "2",
              "--until-complete", "--max_rows", "5", "--verbose")
    cell2 = re.compile(r"^cell database cell2$")
    assert wait_for(lambda: [e for e in run.log.entries_of(cell2)
                             if e["sql"] == "COMMIT"], run)
    sent = time.monotonic()
    if fault == "KILL":
        kill(run.log.entries_of(cell2)[0]["conn"])
    else:
        run.send_signal(signal.SIGTERM)
    rc, out, err, seconds = run.finish(sent)
    assert (rc, seconds < PROMPT) == (1, True), (rc, out, err)
    if fault == "KILL":
        match = LOST.match(err.rstrip("\n"))
        assert match and match.group("label") == "cell database cell2", err
    else:
        assert err.startswith("Stopped by SIGTERM after "), err
    assert out.startswith("Archiving") and ".stopped\n" in out, out
    for name, main in cells.items():
        assert_intact(api, main, before[name])
        # Neither cell went on to its end.
        assert soft_deleted_left(main) > 0, name
