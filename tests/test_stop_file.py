"""Cron-grade runs of the five long commands (archive, purge,
map_instances, online_data_migrations, heal_allocations):
--progress-interval (log lines on stderr when it is not a terminal),
--stop-file (the run ends after the batch in hand, with the command's
"more to do" code) and, for the three whose signals used to be a bare
"Interrupted" (exit 130), SIGTERM/SIGINT ending them the same way.

Each run is real: nmtool in a subprocess on the tests' MariaDB (and the
real Placement for heal, in test_stop_file_heal.py). A file or signal
that comes mid-run comes while the run waits for a row lock the test
holds in its third batch (purge, map_instances, online_data_migrations;
archive: once two batches are committed), so the tests know which batch
the run must end after; they then check the rows, and that a rerun goes
to the end."""
import json
import os
import re
import signal
import time

import pytest

from conftest import run_nmtool, server_connection
from nmtool.ui.progress import Progress
from test_archive import ids_by_table, soft_deleted_left
from test_faults import (ARCHIVE, PURGE, PROMPT, Run, api_rows_left,
                         archive_to_the_end, assert_intact, count, wait_for)

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (?P<what>\w+): "
                      r"(?P<done>\d+) (?P<unit>\w+), \d+ (?P=unit)/s"
                      r"(?:, (?P<percent>\d+)%)?")


class Pipe:
    def __init__(self, terminal=False):
        self.text = ""
        self.terminal = terminal

    def isatty(self):
        return self.terminal

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def touch(path):
    with open(path, "w"):
        pass


def stopped(cause, done):
    return "Stopped by %s after %s, run again to continue\n" % (cause, done)


def log_lines(err):
    return [m for m in map(LOG_LINE.match, err.splitlines()) if m]


class HeldRow:
    """A row write the test's own transaction holds, so that the run
    waits at the batch that needs the row until release()."""

    def __init__(self, database, statement, params=()):
        self.conn = server_connection(database)
        self.conn.begin()
        self.conn.cursor().execute(statement, params)

    def release(self):
        self.conn.rollback()
        self.conn.close()


def stopped_at(run, held, condition, stop):
    """Once condition() holds (the run waits for held), stop() (create
    the file, send the signal), let the run go on, and return how it
    ended."""
    try:
        assert wait_for(condition, run), "the run never reached the lock"
        sent = time.monotonic()
        stop()
    finally:
        held.release()
    return run.finish(sent)


# -- the piece between batches ---------------------------------------------

def test_log_lines_exactly():
    now = [0.0]
    pipe = Pipe()
    meter = Progress("Purged", total=100, stream=pipe, log_every=10,
                     clock=lambda: now[0], wall=lambda: 0.0)
    now[0] = 5.0
    meter.add(10)
    assert pipe.text == ""
    now[0] = 10.0
    meter.add(10)
    assert pipe.text == ("1970-01-01 00:00:00 Purged: 20 rows, 2 rows/s, "
                         "20%, about 40s left\n")
    now[0] = 15.0
    meter.add(30)
    meter.clear()           # a message printed: no line for it
    now[0] = 16.0
    meter.close()           # the end: the rows since the last line
    assert pipe.text.splitlines()[1:] == [
        "1970-01-01 00:00:00 Purged: 50 rows, 3 rows/s, 50%, "
        "about 16s left"]
    meter.close()           # closed twice (heal --jobs): no second line
    assert len(pipe.text.splitlines()) == 2


def test_no_log_line_at_a_terminal_nor_without_the_option():
    terminal = Pipe(terminal=True)
    meter = Progress("Mapped", stream=terminal, log_every=0.001)
    time.sleep(0.01)
    meter.add(5)
    meter.close()
    assert "\n" not in terminal.text and "\rMapped: 5 rows" in terminal.text
    pipe = Pipe()
    meter = Progress("Mapped", stream=pipe)
    meter.add(5)
    meter.close()
    assert pipe.text == ""


def test_the_stop_file_and_signals_ask_to_stop(tmp_path):
    path = str(tmp_path / "stop")
    meter = Progress("x", stream=Pipe(), stop_file=path)
    assert not meter.stop_asked() and not meter.stopped
    touch(path)
    assert meter.stop_asked() and meter.stop_cause == \
        "the stop file %s" % path
    os.unlink(path)
    assert meter.stop_asked()   # once asked, the run ends

    before = signal.getsignal(signal.SIGTERM)
    meter = Progress("x", stream=Pipe())
    with meter.catch_signals():
        signal.raise_signal(signal.SIGTERM)
        # asked, but the run ends early only once its engine sees it (a
        # signal during the last batch ends nothing: no "Stopped" line)
        assert meter.stop_cause == "SIGTERM" and not meter.stopped
        assert meter.stop_asked() and meter.stopped
        # a second signal breaks in at once
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) is before


# -- bad values ------------------------------------------------------------

COMMANDS = {
    "archive": (ARCHIVE + ("--until-complete",), 2),
    "purge": (PURGE + ("--all",), 2),
    "map_instances": (("cell_v2", "map_instances", "--cell_uuid",
                       "00000000-0000-0000-0000-000000000009"), 127),
    "online_data_migrations": (("db", "online_data_migrations"), 127),
    "heal_allocations": (("placement", "heal_allocations"), 127),
}


@pytest.mark.parametrize("option", ["--progress-interval=0",
                                    "--progress-interval=-3",
                                    "--progress-interval=soon",
                                    "--progress-interval=nan",
                                    "--stop-file="])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_bad_values_are_one_line_and_the_usage_code(command, option,
                                                    conf_file):
    words, code = COMMANDS[command]
    result = run_nmtool("--config-file", conf_file(), *words, option)
    assert result.rc == code, result
    lines = (result.out + result.err).splitlines()
    assert len(lines) == 1 and option.split("=")[0] in lines[0], result


# -- archive ---------------------------------------------------------------

def test_archive_stop_file_before_the_start_changes_nothing(
        generated, conf_file, tmp_path):
    api, main = generated(40, 0.75, seed=41)
    conf = conf_file(api=api, main=main)
    before = ids_by_table(main)
    left = soft_deleted_left(main)
    stop = str(tmp_path / "stop")
    touch(stop)
    result = run_nmtool("--config-file", conf, *ARCHIVE, "--until-complete",
                        "--verbose", "--stop-file", stop)
    assert result.rc == 1, result
    assert result.out == "Archiving...stopped\nNothing was archived.\n"
    assert result.err == stopped("the stop file %s" % stop,
                                 "0 rows archived")
    assert ids_by_table(main) == before and soft_deleted_left(main) == left
    assert count(main, "shadow_instances") == 0


def test_archive_stop_file_mid_run_ends_after_a_batch(generated, conf_file,
                                                      tmp_path):
    """Created once two batches are committed: the run ends after the
    batch in hand, reports what it committed (as --max-duration: the
    JSON document says stopped), exit 1, and a rerun finishes. The log
    lines of --progress-interval come before."""
    api, main = generated(80, 0.75, seed=42)
    conf = conf_file(api=api, main=main)
    before = ids_by_table(main)
    stop = str(tmp_path / "stop")
    run = Run(conf, tmp_path, *ARCHIVE, "--until-complete", "--max_rows",
              "5", "--stop-file", stop, "--progress-interval", "0.001",
              "--format", "json")
    assert wait_for(lambda: run.log.commits() >= 2, run)
    sent = time.monotonic()
    touch(stop)
    rc, out, err, seconds = run.finish(sent)
    assert (rc, seconds < PROMPT) == (1, True), (rc, err)
    doc = json.loads(out)
    assert doc["stopped"] is True and doc["total"] > 0
    lines = err.splitlines()
    assert lines[-1] + "\n" == stopped("the stop file %s" % stop,
                                       "%d rows archived" % doc["total"])
    progress = log_lines(err)
    assert progress and len(progress) == len(lines) - 1
    assert all(m.group("what") == "Archived" and m.group("percent")
               for m in progress)
    # the line counts the cell's rows (the API rows go with them)
    assert int(progress[-1].group("done")) == sum(
        r["rows"] for r in doc["archived"] if r["database"] != "API_DB")
    assert_intact(api, main, before)
    assert api_rows_left(api, main) == 0
    assert count(main, "shadow_instances") == \
        next(r["rows"] for r in doc["archived"] if r["table"] == "instances")
    assert soft_deleted_left(main) > 0
    os.unlink(stop)
    archive_to_the_end(conf, api, main, before)


# -- purge -----------------------------------------------------------------

SHADOW = "shadow_instance_system_metadata"


def shadow_rows(main, rows):
    with server_connection(main) as conn:
        conn.cursor().execute(
            "INSERT INTO %s (id, created_at, instance_uuid, `key`, value, "
            "deleted) SELECT seq, NOW(), 'i', 'k', 'v', seq FROM "
            "seq_1_to_%d" % (SHADOW, rows))


def test_purge_stop_file_before_and_during_the_run(synced, conf_file,
                                                   tmp_path):
    main = synced("main")
    conf = conf_file(main=main)
    shadow_rows(main, 60000)
    stop = str(tmp_path / "stop")
    touch(stop)
    first = run_nmtool("--config-file", conf, *PURGE, "--all", "--verbose",
                       "--stop-file", stop)
    assert (first.rc, first.out) == (5, ""), first
    assert first.err == stopped("the stop file %s" % stop, "0 rows purged")
    assert count(main, SHADOW) == 60000
    os.unlink(stop)

    # the third chunk of 5000 waits for row 12000
    held = HeldRow(main, "SELECT id FROM %s WHERE id = 12000 FOR UPDATE"
                   % SHADOW)
    run = Run(conf, tmp_path, *PURGE, "--all", "--verbose", "--stop-file",
              stop, "--progress-interval", "0.001")
    rc, out, err, seconds = stopped_at(
        run, held, lambda: count(main, SHADOW) == 50000, lambda: touch(stop))
    gone = 60000 - count(main, SHADOW)
    assert (rc, seconds < PROMPT) == (5, True), (rc, out, err)
    # the chunk in hand ends, the next does not start
    assert gone == 15000
    assert out == ("DB: Deleted %d rows from %s based on timestamp column "
                   "(n/a)\n" % (gone, SHADOW))
    assert err.splitlines()[-1] + "\n" == stopped(
        "the stop file %s" % stop, "%d rows purged" % gone)
    progress = log_lines(err)
    assert progress and progress[-1].group("what") == "Purged"
    assert int(progress[-1].group("done")) == gone
    os.unlink(stop)
    rest = run_nmtool("--config-file", conf, *PURGE, "--all")
    assert rest.rc == 0 and count(main, SHADOW) == 0


# -- map_instances -----------------------------------------------------------

MARKER = "INSTANCE_MIGRATION_MARKER"


@pytest.fixture
def big_cell(databases, synced, tmp_path):
    """A cell of 24,000 instances (five chunks of map_instances)."""
    from cellworld import World, uid
    world = World(databases, synced, {"cell1": {
        "name": "cell1", "uuid": uid(1), "instances": []}})
    with server_connection(world.dbs["cell1"]) as conn:
        conn.cursor().execute(
            "INSERT INTO instances (created_at, uuid, project_id, user_id, "
            "deleted) SELECT '2026-01-01' + INTERVAL seq SECOND, "
            "CONCAT('11111111-0000-4000-8000-', LPAD(seq, 12, '0')), "
            "'p', 'u', 0 FROM seq_1_to_24000")
    return world, world.conf(tmp_path), uid(1)


def mappings(api):
    return (count(api, "instance_mappings", "project_id <> '%s'" % MARKER),
            count(api, "instance_mappings", "project_id = '%s'" % MARKER))


def hold_chunk_three(world):
    """An uncommitted mapping of instance 12000: the third chunk's INSERT
    waits for it (and, rolled back, then maps that instance)."""
    return HeldRow(world.api, "INSERT INTO instance_mappings (created_at, "
                   "instance_uuid, project_id, user_id, queued_for_delete) "
                   "VALUES (NOW(), '11111111-0000-4000-8000-000000012000', "
                   "'p', 'u', 0)")


def map_run(conf, cell, *args):
    return run_nmtool("--config-file", conf, "cell_v2", "map_instances",
                      "--cell_uuid", cell, *args)


def test_map_instances_stop_file_before_and_during_the_run(big_cell,
                                                           tmp_path):
    world, conf, cell = big_cell
    stop = str(tmp_path / "stop")
    touch(stop)
    first = map_run(conf, cell, "--stop-file", stop)
    assert (first.rc, first.out) == (1, ""), first
    assert first.err == stopped("the stop file %s" % stop,
                                "0 instances read")
    assert mappings(world.api) == (0, 0)
    os.unlink(stop)

    held = hold_chunk_three(world)
    run = Run(conf, tmp_path, "cell_v2", "map_instances", "--cell_uuid",
              cell, "--stop-file", stop, "--progress-interval", "0.001")
    rc, out, err, seconds = stopped_at(
        run, held, lambda: mappings(world.api)[0] == 10000,
        lambda: touch(stop))
    mapped, markers = mappings(world.api)
    assert (rc, out, seconds < PROMPT) == (1, "", True), (rc, err)
    # the chunk in hand ends, with the marker where it ended
    assert (mapped, markers) == (15000, 1)
    assert err.splitlines()[-1] + "\n" == stopped(
        "the stop file %s" % stop, "%d instances read" % mapped)
    progress = log_lines(err)
    assert progress and progress[-1].group("what") == "Mapped"
    assert int(progress[-1].group("done")) == mapped
    os.unlink(stop)
    rest = map_run(conf, cell)
    assert rest.rc == 0 and mappings(world.api) == (24000, 0)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_map_instances_signal_ends_after_the_chunk(signum, big_cell,
                                                   tmp_path):
    """It used to be "Interrupted", exit 130, wherever the signal fell."""
    world, conf, cell = big_cell
    held = hold_chunk_three(world)
    run = Run(conf, tmp_path, "cell_v2", "map_instances", "--cell_uuid",
              cell)
    rc, out, err, seconds = stopped_at(
        run, held, lambda: mappings(world.api)[0] == 10000,
        lambda: run.send_signal(signum))
    mapped, markers = mappings(world.api)
    assert (rc, out, seconds < PROMPT) == (1, "", True), (rc, err)
    assert (mapped, markers) == (15000, 1)
    assert err == stopped(signal.Signals(signum).name,
                          "%d instances read" % mapped)
    rest = map_run(conf, cell)
    assert rest.rc == 0 and mappings(world.api) == (24000, 0)


# -- online_data_migrations --------------------------------------------------

BDMS = 6000     # 120 batches of 50 for populate_uuids


@pytest.fixture
def bdms_without_uuid(synced, conf_file):
    import online_migration_data as data
    dep = data.empty_deployment(synced)
    with server_connection(dep.main) as conn:
        data.instance(conn, 1)
        conn.cursor().execute(
            "INSERT INTO block_device_mapping (created_at, instance_uuid, "
            "source_type, destination_type, deleted) SELECT NOW(), %s, "
            "'image', 'local', 0 FROM seq_1_to_" + str(BDMS),
            (data.inst_uuid(1),))
    return dep, dep.conf(conf_file)


def without_uuid(main):
    return count(main, "block_device_mapping", "uuid IS NULL")


def hold_batch_three(dep):
    """The third batch of 50 (block device mappings 101 to 150) waits for
    mapping 120."""
    with server_connection(dep.main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT id FROM block_device_mapping ORDER BY id "
                    "LIMIT 1 OFFSET 119")
        row = cur.fetchone()[0]
    return HeldRow(dep.main, "SELECT id FROM block_device_mapping WHERE "
                   "id = %s FOR UPDATE", (row,))


def odm_table(out):
    """{migration: (total needed, completed)} of the printed table."""
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 3 and cells[1].isdigit():
            rows[cells[0]] = (int(cells[1]), int(cells[2]))
    return rows


def test_online_data_migrations_stop_file_before_and_during(
        bdms_without_uuid, tmp_path):
    dep, conf = bdms_without_uuid
    stop = str(tmp_path / "stop")
    touch(stop)
    first = run_nmtool("--config-file", conf, "db", "online_data_migrations",
                       "--stop-file", stop)
    assert first.rc == 1, first
    assert first.out.startswith("Running batches of 50 until complete\n")
    assert set(odm_table(first.out).values()) == {(0, 0)}
    assert first.err == stopped("the stop file %s" % stop, "0 rows migrated")
    assert without_uuid(dep.main) == BDMS
    os.unlink(stop)

    held = hold_batch_three(dep)
    run = Run(conf, tmp_path, "db", "online_data_migrations", "--stop-file",
              stop, "--progress-interval", "0.001")
    rc, out, err, seconds = stopped_at(
        run, held, lambda: without_uuid(dep.main) == BDMS - 100,
        lambda: touch(stop))
    done = BDMS - without_uuid(dep.main)
    assert (rc, seconds < PROMPT) == (1, True), (rc, err)
    assert done == 150
    # the totals so far, as a --max-count run prints them
    assert odm_table(out)["populate_uuids"] == (done, done)
    assert err.splitlines()[-1] + "\n" == stopped(
        "the stop file %s" % stop, "%d rows migrated" % done)
    progress = log_lines(err)
    assert progress and progress[0].group("what") == "Migrations"
    assert progress[0].group("percent") is not None
    os.unlink(stop)
    rest = run_nmtool("--config-file", conf, "db", "online_data_migrations")
    assert rest.rc == 0 and without_uuid(dep.main) == 0
    assert odm_table(rest.out)["populate_uuids"] == (BDMS - done,) * 2


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_online_data_migrations_signal_ends_after_the_batch(
        signum, bdms_without_uuid, tmp_path):
    """It used to be "Interrupted", exit 130, with no totals."""
    dep, conf = bdms_without_uuid
    held = hold_batch_three(dep)
    run = Run(conf, tmp_path, "db", "online_data_migrations")
    rc, out, err, seconds = stopped_at(
        run, held, lambda: without_uuid(dep.main) == BDMS - 100,
        lambda: run.send_signal(signum))
    done = BDMS - without_uuid(dep.main)
    assert (rc, seconds < PROMPT) == (1, True), (rc, err)
    assert done == 150
    assert odm_table(out)["populate_uuids"] == (done, done)
    assert err == stopped(signal.Signals(signum).name,
                          "%d rows migrated" % done)
    rest = run_nmtool("--config-file", conf, "db", "online_data_migrations")
    assert rest.rc == 0 and without_uuid(dep.main) == 0
