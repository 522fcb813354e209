"""placement heal_allocations --jobs N against a real Placement: cells
healed at the same time give the exit code, output and allocations of a
run one cell at a time; runs with one cell or a shared --max-count go one
cell at a time; a bad --jobs is one line and exit 127."""
import json

import pytest

from conftest import server_connection
from services import (  # noqa: F401
    PlacementSetup, flavor_json, nova_deployment, placement,
    placement_conf_section, placement_service)

SKIP = "--skip-port-allocations"
CELLS = ("cell1", "cell2", "cell3", "cell4")


def _heal(nova, url, *args):
    from conftest import run_nmtool
    return run_nmtool("--config-file", nova.conf(placement_conf_section(url)),
                      "placement", "heal_allocations", SKIP, *args)


class Cells:
    """Four cells, one compute node each, and in each cell instances to
    create, to update (pre-1.8 project/user), up to date and skipped."""

    def __init__(self, nova_deployment, cells=CELLS):
        self.nova = nova = nova_deployment(cells=cells)
        self.setup = s = PlacementSetup()
        self.instances = {}
        for n, cell in enumerate(cells):
            host = "host%d" % n
            rp = s.compute_node()
            nova.add_compute_node(host, rp, cell=cell)
            times = iter("2024-01-0%d 00:00:%02d" % (n + 1, t)
                         for t in range(60))

            def add(**kwargs):
                return nova.add_instance(host=host, cell=cell,
                                         created_at=next(times), **kwargs)
            done, old = add(), add(project_id="p-new", user_id="u-new")
            s.allocate({rp: {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 20}},
                       consumer=done)
            s.allocate({rp: {"VCPU": 2, "MEMORY_MB": 2048}}, consumer=old,
                       project_id="p-old", user_id="u-old")
            self.instances[cell] = [
                add(), add(image_ref="", flavor=flavor_json(root_gb=40)),
                add(flavor=flavor_json(swap=512, ephemeral_gb=1)),
                done, old, add(task_state="migrating")]

    def all_instances(self):
        return [uuid for cell in self.instances.values() for uuid in cell]

    def run(self, placement, *args):
        """The run on a freshly built Placement, and the allocations of
        every instance afterwards, read back over HTTP."""
        self.setup.build(placement.admin)
        result = _heal(self.nova, placement.url, *args)
        return result, {uuid: placement.admin.allocations(uuid)
                        for uuid in self.all_instances()}


def test_jobs_heal_like_one_cell_at_a_time(placement, nova_deployment):
    w = Cells(nova_deployment)
    one, one_state = w.run(placement, "--verbose", "--jobs", "1")
    four, four_state = w.run(placement, "--verbose", "--jobs", "4")
    assert one.rc == four.rc == 0
    assert four.out == one.out
    assert four_state == one_state
    # every cell was healed, in cell order, and each reported in one block
    looked = [line for line in four.out.splitlines()
              if line.startswith("Looking for instances in cell: ")]
    assert looked == ["Looking for instances in cell: %s(%s)"
                      % (w.nova.cell_uuid(cell), cell) for cell in CELLS]
    assert four.out.endswith("Processed %d instances.\n" % (4 * 4))
    for cell in CELLS:
        plain = w.instances[cell][0]
        assert four_state[plain]["allocations"]
        assert four_state[w.instances[cell][4]]["project_id"] == "p-new"
        assert four_state[w.instances[cell][5]]["allocations"] == {}

    # quiet and as JSON: the same again
    quiet_one, _ = w.run(placement, "--jobs", "1")
    quiet_four, _ = w.run(placement, "--jobs", "4")
    assert (quiet_four.rc, quiet_four.out) == (quiet_one.rc, quiet_one.out) \
        == (0, "")
    doc_one, _ = w.run(placement, "--jobs", "1", "--format", "json")
    doc_four, _ = w.run(placement, "--jobs", "4", "--format", "json")
    assert doc_one.rc == doc_four.rc == 0
    assert json.loads(doc_four.out) == json.loads(doc_one.out)

    # nothing left to heal: 4 either way
    again = _heal(w.nova, placement.url, "--jobs", "4")
    assert (again.rc, again.out) == (4, "")


def test_jobs_exit_code_is_the_first_failing_cells(placement,
                                                   nova_deployment):
    """cell2 stops with 2 (no compute node), cell3 with 8 (vGPU): the run
    exits 2 either way. With --jobs the cells after cell2 ran at the same
    time, so they are healed and reported too (as --help says)."""
    w = Cells(nova_deployment)
    ghost = w.nova.add_instance(host="ghost", cell="cell2",
                                created_at="2023-01-01")
    vgpu = w.nova.add_instance(host="host2", cell="cell3",
                               created_at="2023-01-01", flavor=flavor_json(
                                   extra_specs={"resources:VGPU": "1"}))
    one, one_state = w.run(placement, "--verbose")
    four, four_state = w.run(placement, "--verbose", "--jobs", "4")
    assert one.rc == four.rc == 2
    assert one.out.endswith("Compute host ghost could not be found.\n")
    # the cells up to the first failure are reported alike
    assert four.out.startswith(one.out)
    assert ("Healing allocation for instance %s with vGPU resource request "
            "is not supported.\n" % vgpu) in four.out
    assert "Processed" not in four.out
    cell1, cell4 = w.instances["cell1"], w.instances["cell4"]
    assert {u: four_state[u] for u in cell1} == \
        {u: one_state[u] for u in cell1}
    assert one_state[cell4[0]]["allocations"] == {}
    assert four_state[cell4[0]]["allocations"]
    assert placement.admin.allocations(ghost)["allocations"] == {}

    doc = json.loads(_heal(w.nova, placement.url, "--jobs", "4",
                           "--format", "json").out)
    assert doc["error"] == "Compute host ghost could not be found."


def _marker_rows(api):
    with server_connection(api) as conn:
        cur = conn.cursor()
        cur.execute("SELECT instance_uuid, user_id FROM instance_mappings "
                    "WHERE project_id LIKE 'HEAL_ALLOCATIONS_MARKER%%'")
        return cur.fetchall()


def _drop_markers(api):
    with server_connection(api) as conn:
        conn.cursor().execute("DELETE FROM instance_mappings WHERE "
                              "project_id LIKE 'HEAL_ALLOCATIONS_MARKER%%'")


@pytest.mark.parametrize("args", [
    ("--max-count", "3"), ("--max-count", "5"), ("--cell", "CELL3"),
    ("--instance", "INSTANCE"), ("--dry-run",)])
def test_jobs_with_one_cell_or_a_shared_budget_go_in_turn(
        placement, nova_deployment, args):
    """--max-count is a budget the cells share in order, --cell and
    --instance name one cell, a dry run shares sessions: --jobs 4 changes
    nothing there, resume marker included."""
    w = Cells(nova_deployment)
    args = [w.nova.cell_uuid("cell3") if a == "CELL3" else
            w.instances["cell2"][1] if a == "INSTANCE" else a for a in args]
    results = []
    for jobs in ("1", "4"):
        _drop_markers(w.nova.api)
        result, state = w.run(placement, "--verbose", "--jobs", jobs, *args)
        results.append((result.rc, result.out, state,
                        _marker_rows(w.nova.api)))
    assert results[0] == results[1]
    assert results[0][0] in (0, 1, 4)


@pytest.mark.parametrize("value", ["0", "-2", "x", "1.5", ""])
def test_bad_jobs_is_one_line_and_127(placement, nova_deployment, value):
    w = Cells(nova_deployment, cells=("cell1", "cell2"))
    w.setup.build(placement.admin)
    before = w.setup.state(placement.admin, w.all_instances())
    result = _heal(w.nova, placement.url, "--jobs", value)
    assert (result.rc, result.out, result.err) == (
        127, "Must supply a positive integer for --jobs.\n", "")
    as_json = _heal(w.nova, placement.url, "--jobs=" + value, "--format",
                    "json")
    assert (as_json.rc, as_json.out, as_json.err) == (
        127, "", "Must supply a positive integer for --jobs.\n")
    assert w.setup.state(placement.admin, w.all_instances()) == before
