"""nmtool.ui.tables draws exactly what prettytable (nova-manage's table
library, from the nova 34.0.0 virtualenv) draws, for random tables."""
import json
import os
import random
import string
import subprocess

import pytest

from conftest import NOVA_VENV
from nmtool.ui.tables import render

ALPHABET = string.ascii_letters + " -:/@" + "é日本ü"

PRETTYTABLE = """
import json, sys, prettytable
out = []
for headers, rows, align in json.load(sys.stdin):
    table = prettytable.PrettyTable(headers)
    table.align = align
    for row in rows:
        table.add_row(row)
    out.append(str(table))
json.dump(out, sys.stdout)
"""


def random_tables(count, seed=1):
    rng = random.Random(seed)

    def text(limit):
        return "".join(rng.choice(ALPHABET)
                       for _ in range(rng.randint(0, limit)))
    cases = []
    while len(cases) < count:
        headers = [text(9) or "h" for _ in range(rng.randint(1, 4))]
        if len(set(headers)) < len(headers):
            continue
        rows = [[rng.choice([None, True, False, rng.randint(-5, 10 ** 6),
                             "a\nbcd", text(12), text(3)])
                 for _ in headers] for _ in range(rng.randint(0, 4))]
        cases.append((headers, rows, rng.choice("clr")))
    return cases


@pytest.mark.nova
def test_same_text_as_prettytable(nova_manage):
    cases = random_tables(1500)
    expected = json.loads(subprocess.run(
        [os.path.join(NOVA_VENV, "bin", "python"), "-c", PRETTYTABLE],
        input=json.dumps(cases), capture_output=True, text=True,
        check=True).stdout)
    got = [render(headers, rows, align) for headers, rows, align in cases]
    mismatches = [case for case, want, have in zip(cases, expected, got)
                  if want != have]
    assert not mismatches, mismatches[:3]


def test_empty_table_keeps_both_rules():
    assert render(["Name", "UUID"], []) == (
        "+------+------+\n| Name | UUID |\n+------+------+\n+------+------+")


def test_odd_padding_follows_str_center():
    assert render(["ab"], [["abcde"]]).splitlines()[1] == "|   ab  |"
    assert render(["ab"], [["abcd"]]).splitlines()[1] == "|  ab  |"
