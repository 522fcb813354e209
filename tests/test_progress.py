"""The live progress line: drawn under a terminal, absent in a pipe."""
import os
import pty
import subprocess

from conftest import NMTOOL, run_nmtool
from nmtool.progress import Progress


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


def run_under_pty(argv):
    """Run argv with stderr on a pseudo-terminal; return (rc, stderr)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
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
    proc.stdout.close()
    return proc.returncode, b"".join(chunks).decode()


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
