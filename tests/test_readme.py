"""The README keeps its promises: the help texts' "see README: X" point at
headings that exist, its links at files that exist, and the recipe of
"On your own cloud" runs as written."""
import importlib
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, db_url, server_connection

from nmtool.commands import ACTION_MODULES, CATEGORIES

README = os.path.join(ROOT, "README.md")


def readme():
    with open(README) as handle:
        return handle.read()


def headings():
    return {line.lstrip("#").strip() for line in readme().splitlines()
            if line.startswith("#")}


def help_texts():
    modules = {module for module, _, _ in CATEGORIES.values()}
    modules |= set(ACTION_MODULES.values())
    for name in sorted(modules):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for action, text in getattr(module, "USAGE", {}).items():
            yield "%s %s" % (name, action), text


def test_every_see_readme_in_a_help_text_names_a_heading():
    found = headings()
    pointers = 0
    for where, text in help_texts():
        for target in re.findall(r"see README:\s*([^)]+?)\)",
                                 " ".join(text.split())):
            pointers += 1
            assert target.strip() in found, (where, target)
    assert pointers > 0


def test_every_relative_link_of_the_readme_exists():
    for target in re.findall(r"\]\(([^)#:]+)\)", readme()):
        assert os.path.exists(os.path.join(ROOT, target)), target


def recipe_lines():
    text = readme()
    block = text.split("<!-- recipe:", 1)[1].split("```sh\n", 1)[1]
    block = block.split("```", 1)[0]
    return [line for line in block.splitlines() if line.startswith("nmtool")]


def test_the_recipe_runs_as_written(generated, conf_file):
    api, main = generated(120, 0.7, seed=5)
    # The generated cell mapping points nowhere; make it this cell, so
    # that --all-cells reaches it.
    with server_connection(api) as conn:
        conn.cursor().execute("UPDATE cell_mappings SET "
                              "database_connection = %s", (db_url(main),))
    conf = conf_file(api=api, main=main)
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + ":"
               + os.environ["PATH"], conf=conf)
    expected = [{0}, {1}, {1}, {0}, {0, 1}]
    lines = recipe_lines()
    assert len(lines) == len(expected)
    for line, codes in zip(lines, expected):
        result = subprocess.run(["bash", "-c", line], capture_output=True,
                                text=True, env=env)
        assert result.returncode in codes, (line, result.stdout,
                                            result.stderr)
        assert "Traceback" not in result.stderr
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM instances WHERE deleted <> 0")
        assert cur.fetchone()[0] == 0


@pytest.mark.parametrize("page", ["docs/architecture.md", "docs/archive.md",
                                  "docs/compatibility.md"])
def test_the_design_pages_exist(page):
    assert os.path.getsize(os.path.join(ROOT, page)) > 0
