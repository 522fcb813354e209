"""placement heal_allocations' progress line: drawn on stderr at a
terminal (instances looked at, against the candidates counted at the
start), erased before every message, absent when stderr is a pipe."""
import re

from conftest import NMTOOL
from services import (  # noqa: F401
    nova_deployment, placement, placement_conf_section, placement_service)
from test_placement_heal import SKIP, World, _heal
from test_progress import run_under_pty


def screen(text):
    """What a terminal shows of text, line by line: a carriage return
    goes back to the first column and what follows overwrites it."""
    lines = []
    for raw in text.split("\n"):
        shown, column = [], 0
        for char in raw:
            if char == "\r":
                column = 0
                continue
            if column < len(shown):
                shown[column] = char
            else:
                shown.append(char)
            column += 1
        lines.append("".join(shown).rstrip())
    return lines


def _under_pty(w, placement, *args):
    w.setup.build(placement.admin)
    conf = w.nova.conf(placement_conf_section(placement.url))
    return run_under_pty([NMTOOL, "--config-file", conf, "placement",
                          "heal_allocations", SKIP, *args])


def _allocated(w, placement):
    return {uuid: placement.admin.allocations(uuid)
            for uuid in w.instances}


def test_progress_at_a_terminal(placement, nova_deployment):
    w = World(nova_deployment)
    rc, err = _under_pty(w, placement)
    assert rc == 0
    # 12 candidates in the two cells (the soft-deleted one is not one);
    # the first instance is drawn at once
    first = re.search(r"\rChecked: 1 instances, \d+ instances/s, (\d+)%",
                      err)
    assert first and int(first.group(1)) == 100 // 12
    # and erased at the end: the terminal shows nothing of it
    assert all(line == "" for line in screen(err))
    healed = _allocated(w, placement)

    # the same run in a pipe: no line at all, same result
    w.setup.build(placement.admin)
    piped = _heal(w.nova, placement.url, SKIP)
    assert (piped.rc, piped.out, piped.err) == (0, "", "")
    assert _allocated(w, placement) == healed

    # --jobs: the cells' threads share the line
    rc, err = _under_pty(w, placement, "--jobs", "2")
    assert rc == 0 and "\rChecked: " in err
    assert _allocated(w, placement) == healed


def test_messages_on_the_terminal_are_not_mixed_with_the_line(
        placement, nova_deployment):
    """--format json puts the messages on stderr, where the line is: each
    message shows on its own, as in the table run's stdout."""
    w = World(nova_deployment)
    w.setup.build(placement.admin)
    table = _heal(w.nova, placement.url, SKIP, "--verbose")
    assert table.rc == 0 and table.err == ""
    rc, err = _under_pty(w, placement, "--verbose", "--format", "json")
    assert rc == 0
    assert "\rChecked: " in err
    shown = [line for line in screen(err) if line]
    assert shown == table.out.splitlines()

    # in a pipe the messages are the same and nothing else is there
    w.setup.build(placement.admin)
    piped = _heal(w.nova, placement.url, SKIP, "--verbose", "--format",
                  "json")
    assert piped.err.splitlines() == table.out.splitlines()
    assert "\r" not in piped.err
