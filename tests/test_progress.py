"""The live progress line: drawn under a terminal, absent in a pipe."""
import os
import pty
import re
import subprocess
import threading

from conftest import NMTOOL, run_nmtool
from nmtool.ui.progress import Progress


class FakeTerminal:
    def __init__(self):
        self.text = ""

    def isatty(self):
        return True

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def test_line_shows_rows_rate_and_time_left():
    now = [0.0]
    terminal = FakeTerminal()
    meter = Progress("Archived", total=1000, stream=terminal, interval=0,
                     clock=lambda: now[0])
    now[0] = 2.0
    meter.add(250)
    line = "Archived: 250 rows, 125 rows/s, 25%, about 6s left"
    assert terminal.text == "\r" + line
    meter.close()
    assert terminal.text.endswith("\r" + " " * len(line) + "\r")


def test_nothing_drawn_when_not_a_terminal():
    class Pipe(FakeTerminal):
        def isatty(self):
            return False
    pipe = Pipe()
    meter = Progress("Purged", total=10, stream=pipe, interval=0)
    meter.add(5)
    meter.close()
    assert pipe.text == ""


def run_at_terminal(argv):
    """Run argv with stderr on a pseudo-terminal and stdout on a pipe;
    return (rc, stdout, stderr)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    stdout = []
    # Read stdout meanwhile, so that a long output cannot block the child.
    reader = threading.Thread(target=lambda: stdout.append(
        proc.stdout.read()))
    reader.start()
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    proc.wait()
    reader.join()
    proc.stdout.close()
    return proc.returncode, stdout[0].decode(), b"".join(chunks).decode()


def run_under_pty(argv):
    """Run argv with stderr on a pseudo-terminal; return (rc, stderr)."""
    rc, _, err = run_at_terminal(argv)
    return rc, err


def test_archive_progress_under_a_terminal_only(generated, conf_file):
    api, main = generated(120, 0.8, seed=9)
    conf = conf_file(api=api, main=main)
    rc, err = run_under_pty([NMTOOL, "--config-file", conf, "db",
                             "archive_deleted_rows", "--until-complete",
                             "--max_rows", "3", "--dry-run"])
    assert rc == 1
    assert "\rArchived: " in err and "rows/s" in err and "left" in err
    piped = run_nmtool("--config-file", conf, "db", "archive_deleted_rows",
                       "--until-complete", "--max_rows", "3")
    assert piped.rc == 1
    assert "Archived:" not in piped.err and "\r" not in piped.err


def test_map_instances_progress_under_a_terminal(databases, synced,
                                                 tmp_path):
    from cellworld import World, uid
    world = World(databases, synced, {"cell1": {
        "name": "cell1", "uuid": uid(1),
        "instances": [(uid(100 + n), False, "h", "2026-01-01")
                      for n in range(40)]}})
    rc, err = run_under_pty([NMTOOL, "--config-file", world.conf(tmp_path),
                             "cell_v2", "map_instances", "--cell_uuid",
                             uid(1)])
    assert rc == 0
    assert "\rMapped: 40 rows" in err and "100%" in err


def test_online_data_migrations_progress_under_a_terminal_only(synced,
                                                               conf_file):
    """At a terminal the line is drawn; stdout, exit code and the migrated
    rows are those of the same run in a pipe, which draws nothing."""
    import online_migration_data as data
    from test_online_data_migrations import _shape
    at_terminal = data.seed(data.empty_deployment(synced))
    piped = data.seed(data.empty_deployment(synced))
    rc, out, err = run_at_terminal([
        NMTOOL, "--config-file", at_terminal.conf(conf_file), "db",
        "online_data_migrations"])
    plain = run_nmtool("--config-file", piped.conf(conf_file), "db",
                       "online_data_migrations")
    assert (rc, out) == (plain.rc, plain.out) and "rows matched" in out
    assert re.search(r"\rMigrations: \d+ rows, \d+ rows/s, \d+%", err)
    assert "Migrations:" not in plain.err and "\r" not in plain.err
    assert _shape(at_terminal) == _shape(piped)


def first_line(err):
    """(rows, percent) of the first progress line drawn."""
    return tuple(map(int, re.findall(
        r"\rMigrations: (\d+) rows, \d+ rows/s, (\d+)%", err)[0]))


def test_online_data_migrations_progress_counts_first(synced, conf_file):
    """The percentage is of the rows counted at the start: with only quota
    rows to move (no row matched twice), the sum of the Total Needed
    column; --max-count caps it."""
    import online_migration_data as data
    from test_online_data_migrations import table
    dep = data.seed(data.empty_deployment(synced), parts=("quotas",))
    argv = [NMTOOL, "--config-file", dep.conf(conf_file), "db",
            "online_data_migrations", "--dry-run"]
    rc, out, err = run_at_terminal(argv)
    needed = sum(found for found, _ in table(out).values())
    # the first line: the first migration's rows, the 5 quota limits
    assert (rc, needed) == (0, 7) and first_line(err) == (5, 100 * 5 // 7)
    rc, out, err = run_at_terminal(argv + ["--max-count", "4"])
    assert rc == 1 and first_line(err) == (4, 100)


def test_online_data_migrations_counts_every_migration(synced, conf_file):
    """Every count statement runs (a failing one would count 0, noted in
    the debug log); the rows counted are at most the rows matched, which
    include rows matched again by later batches."""
    import online_migration_data as data
    from test_online_data_migrations import table
    dep = data.seed(data.empty_deployment(synced))
    rc, out, err = run_at_terminal([
        NMTOOL, "--config-file", dep.conf(conf_file), "--debug", "db",
        "online_data_migrations", "--dry-run"])
    assert rc == 0 and "Could not count" not in err
    needed = sum(found for found, _ in table(out).values())
    rows, percent = first_line(err)
    assert 100 * rows // needed <= percent < 100


def test_archive_total_is_the_rows_the_run_moves(generated, conf_file):
    """The progress line's 100% is the end of the run: soft-deleted rows
    plus the children (actions, events, faults, ...) that go with
    soft-deleted parents without being soft-deleted themselves."""
    from conftest import db_url, server_connection
    from nmtool.db.connection import Database
    from nmtool.archive.status import archive_total
    api, main = generated(120, 0.8, seed=9)
    db = Database(db_url(main)).connect()
    try:
        total = archive_total(db)
        before = archive_total(db, "2025-01-01")
    finally:
        db.close()
    conf = conf_file(api=api, main=main)

    def shadow_rows():
        with server_connection(main) as conn:
            cur = conn.cursor()
            cur.execute("SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = %s AND table_name LIKE "
                        "'shadow\\_%%'", (main,))
            rows = 0
            for (table,) in cur.fetchall():
                cur.execute("SELECT COUNT(*) FROM `%s`" % table)
                rows += cur.fetchone()[0]
            return rows
    cut = run_nmtool("--config-file", conf, "db", "archive_deleted_rows",
                     "--until-complete", "--before", "2025-01-01")
    assert cut.rc == 1
    assert shadow_rows() == before > 0
    rest = run_nmtool("--config-file", conf, "db", "archive_deleted_rows",
                      "--until-complete")
    assert rest.rc == 1
    assert shadow_rows() == total > before
