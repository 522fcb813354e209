"""What `pip install` gives a user: the suite runs against nmtool installed
from a wheel built from this tree (scripts/dev-venv.sh), and here every
action of every category answers -h, and one real command of each
category runs, from that install."""
import importlib.metadata
import json
import os
import uuid

import pytest

from conftest import ROOT, run_nmtool
from services import (  # noqa: F401
    nova_deployment, placement, placement_conf_section, placement_service)

from nmtool.commands import CATEGORIES


def test_the_tests_run_the_installed_wheel_not_the_tree():
    import nmtool
    here = os.path.realpath(os.path.dirname(nmtool.__file__))
    assert not here.startswith(os.path.realpath(ROOT) + os.sep), here
    direct = importlib.metadata.distribution("nmtool").read_text(
        "direct_url.json")
    # An editable install records itself as such; a wheel does not.
    assert direct is None or not json.loads(direct).get(
        "dir_info", {}).get("editable")
    # The SQL and the JSON schemas ship inside the package.
    assert os.path.exists(os.path.join(here, "sql", "queries",
                                       "archive.sql"))
    assert os.listdir(os.path.join(here, "schemas"))


@pytest.mark.parametrize("category, action", [
    (category, action) for category, (_, _, actions) in CATEGORIES.items()
    for action in actions])
def test_every_action_answers_help(category, action):
    result = run_nmtool(category, action, "-h")
    assert result.rc == 0, result
    assert result.out.startswith("usage: nmtool %s %s" % (category, action))
    assert result.err == ""


@pytest.mark.parametrize("category", list(CATEGORIES))
def test_every_category_answers_help(category):
    result = run_nmtool(category, "-h")
    assert result.rc == 0, result
    assert result.err == ""


def test_one_real_command_of_each_category(nova_deployment, placement):
    nova = nova_deployment(cells=("cell1",))
    conf = nova.conf(placement_conf_section(placement.url))
    missing = str(uuid.uuid4())

    def run(*args):
        return run_nmtool("--config-file", conf, *args)
    assert run("api_db", "version").rc == 0
    assert run("db", "version").rc == 0
    cells = run("cell_v2", "list_cells")
    assert cells.rc == 0 and "cell1" in cells.out
    # Each exit code is nova-manage's for what the data holds.
    assert run("placement", "sync_aggregates").rc == 0
    unset = run("libvirt", "list_unset_machine_type")
    assert unset.rc == 0 and "No instances found" in unset.out
    shown = run("image_property", "show", missing, "hw_machine_type")
    assert shown.rc == 2 and "has no mapping" in shown.out
    attached = run("volume_attachment", "show", missing, missing)
    assert attached.rc == 2 and "has no mapping" in attached.out
    # No Keystone in this nova.conf: one line saying what is missing.
    limits = run("limits", "migrate_to_unified_limits")
    assert limits.rc == 255 and limits.err.strip().endswith(
        "auth_type is not set"), limits
    listed = run("sql", "list", "db", "version")
    assert listed.rc == 0 and "schema_version.current" in listed.out
