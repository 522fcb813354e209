"""placement heal_allocations (without ports) against a real Placement,
and against nova-manage 34.0.0 on identical data."""
import json
import uuid

import pytest

from conftest import run_nmtool, server_connection, table_contents
from services import (  # noqa: F401
    PlacementSetup, PlacementStack, compare_with_nova, dead_url,
    flavor_json, nova_deployment, placement, placement_conf_section,
    placement_service)

SKIP = "--skip-port-allocations"


def _uuid():
    return str(uuid.uuid4())


def _heal(nova, url, *args):
    return run_nmtool("--config-file", nova.conf(placement_conf_section(url)),
                      "placement", "heal_allocations", *args)


class World:
    """Two cells; instances of every kind the flavor rules cover."""

    def __init__(self, nova_deployment):
        self.nova = nova = nova_deployment(cells=("cell1", "cell2"))
        self.setup = s = PlacementSetup()
        self.rp1 = s.compute_node(inventory={"PCPU": 16})
        self.rp2 = s.compute_node()
        nova.add_compute_node("host1", self.rp1)
        nova.add_compute_node("host2", self.rp2, cell="cell2")
        t = iter("2024-01-01 00:00:%02d" % n for n in range(60))
        add = nova.add_instance
        self.plain = add(created_at=next(t))
        self.bfv_bdm = add(created_at=next(t), bdms=[(0, "volume")],
                           flavor=flavor_json(root_gb=40))
        self.bfv_noimage = add(created_at=next(t), image_ref="")
        self.local_bdm = add(created_at=next(t), image_ref="",
                             bdms=[(0, "local")])
        self.swap = add(created_at=next(t), flavor=flavor_json(
            swap=1500, ephemeral_gb=5))
        self.override = add(created_at=next(t), flavor=flavor_json(
            extra_specs={"resources:VCPU": "1", "resources:DISK_GB": "0",
                         "resources:BOGUS": "3", "trait:FOO": "required"}))
        self.pinned = add(created_at=next(t), flavor=flavor_json(
            vcpus=4, extra_specs={"hw:cpu_policy": "dedicated"}))
        self.busy = add(created_at=next(t), task_state="migrating")
        self.nowhere = add(created_at=next(t), host=None, node=None)
        self.soft = add(created_at=next(t), vm_state="soft-delete")
        self.done = add(created_at=next(t))
        self.old = add(created_at=next(t), project_id="p-new",
                       user_id="u-new")
        self.other_cell = add(created_at=next(t), host="host2", cell="cell2")
        s.allocate({self.rp1: {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 20}},
                   consumer=self.done)
        s.allocate({self.rp1: {"VCPU": 2, "MEMORY_MB": 2048}},
                   consumer=self.old, project_id="p-old", user_id="u-old")
        self.instances = [self.plain, self.bfv_bdm, self.bfv_noimage,
                          self.local_bdm, self.swap, self.override,
                          self.pinned, self.busy, self.nowhere, self.soft,
                          self.done, self.old, self.other_cell]


@pytest.mark.nova
def test_heals_like_nova(placement, nova_deployment, nova_manage, databases):
    w = World(nova_deployment)
    cmp = compare_with_nova(nova_manage, databases, w.nova, placement,
                            w.setup, ["heal_allocations", "--verbose", SKIP],
                            consumers=w.instances)
    assert cmp.got.rc == 0
    got = cmp.got_state["consumers"]

    def alloc(uuid):
        return got[uuid]["allocations"]
    assert alloc(w.plain) == {w.rp1: {"VCPU": 2, "MEMORY_MB": 2048,
                                      "DISK_GB": 20}}
    assert alloc(w.bfv_bdm) == {w.rp1: {"VCPU": 2, "MEMORY_MB": 2048}}
    assert alloc(w.bfv_noimage) == {w.rp1: {"VCPU": 2, "MEMORY_MB": 2048}}
    assert alloc(w.local_bdm) == {w.rp1: {"VCPU": 2, "MEMORY_MB": 2048,
                                          "DISK_GB": 20}}
    assert alloc(w.swap) == {w.rp1: {"VCPU": 2, "MEMORY_MB": 2048,
                                     "DISK_GB": 27}}
    assert alloc(w.override) == {w.rp1: {"VCPU": 1, "MEMORY_MB": 2048}}
    assert alloc(w.pinned) == {w.rp1: {"PCPU": 4, "MEMORY_MB": 2048,
                                       "DISK_GB": 20}}
    for untouched in (w.busy, w.nowhere, w.soft):
        assert alloc(untouched) == {}
    assert got[w.old]["project_id"] == "p-new"
    assert got[w.old]["user_id"] == "u-new"
    assert alloc(w.old) == {w.rp1: {"VCPU": 2, "MEMORY_MB": 2048}}
    assert alloc(w.other_cell) == {w.rp2: {"VCPU": 2, "MEMORY_MB": 2048,
                                           "DISK_GB": 20}}
    out = cmp.got.out
    assert out.startswith("Running batches of 50 until complete\n"
                          "Looking for instances in cell: %s(cell1)\n"
                          "Found 11 candidate instances.\n"
                          % w.nova.cell_uuid("cell1"))
    assert ("Instance %s is undergoing a task state transition: migrating"
            % w.busy) in out
    assert "Instance %s is not on a host." % w.nowhere in out
    assert ("The allocation of instance %s is up-to-date. Nothing to be "
            "healed." % w.done) in out
    assert "Successfully updated allocations for instance %s." % w.old in out
    assert out.endswith("Processed 9 instances.\n")

    again = _heal(w.nova, placement.url, SKIP)
    assert (again.rc, again.out) == (4, "")


@pytest.mark.nova
def test_dry_run_and_force_like_nova(placement, nova_deployment,
                                     nova_manage, databases):
    w = World(nova_deployment)
    cmp = compare_with_nova(nova_manage, databases, w.nova, placement,
                            w.setup, ["heal_allocations", "--verbose",
                                      "--dry-run", SKIP],
                            consumers=w.instances)
    assert cmp.got.rc == 4
    assert '[dry-run] Create allocations for instance %s: {"allocations": ' \
        '{"%s": {"resources": {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": ' \
        '20}}}, "project_id": "proj", "user_id": "user", ' \
        '"consumer_generation": null}' % (w.plain, w.rp1) in cmp.got.out
    assert cmp.got_state["consumers"][w.plain]["allocations"] == {}

    cmp = compare_with_nova(nova_manage, databases, w.nova, placement,
                            w.setup, ["heal_allocations", "--instance",
                                      w.done, "--force", "--verbose", SKIP],
                            consumers=[w.done])
    assert cmp.got.rc == 0
    assert "Force flag passed for instance %s" % w.done in cmp.got.out


@pytest.mark.nova
def test_bad_input_like_nova(placement, nova_deployment, nova_manage,
                             databases):
    w = World(nova_deployment)
    cases = [
        (["--instance", w.plain, "--cell", w.nova.cell_uuid()],
         "The --cell and --instance options are mutually exclusive.\n"),
        (["--force"],
         "The --instance flag is required when using --force flag.\n"),
        (["--max-count", "0"],
         "Must supply a positive integer for --max-count.\n"),
        (["--max-count", "x"],
         "Must supply a positive integer for --max-count.\n"),
        (["--instance", "f" * 8 + "-0000-0000-0000-" + "0" * 12],
         'Unable to find cell for instance ffffffff-0000-0000-0000-'
         '000000000000, is it mapped? Try running "nova-manage cell_v2 '
         'verify_instance" or "nova-manage cell_v2 map_instances".\n'),
        (["--cell", "c" * 8 + "-0000-0000-0000-" + "0" * 12],
         "Cell with uuid cccccccc-0000-0000-0000-000000000000 was not "
         "found.\n"),
    ]
    for args, message in cases:
        cmp = compare_with_nova(nova_manage, databases, w.nova, placement,
                                w.setup, ["heal_allocations", SKIP] + args,
                                consumers=[w.plain])
        assert (cmp.got.rc, cmp.got.out) == (127, message)
        assert cmp.got_state["consumers"][w.plain]["allocations"] == {}


@pytest.mark.nova
def test_max_count_and_cell_like_nova(placement, nova_deployment,
                                      nova_manage, databases):
    w = World(nova_deployment)
    cmp = compare_with_nova(nova_manage, databases, w.nova, placement,
                            w.setup, ["heal_allocations", "--max-count", "3",
                                      "--verbose", SKIP],
                            consumers=w.instances)
    assert cmp.got.rc == 1
    assert cmp.got.out.endswith("Max count reached. Processed 3 instances.\n")
    cmp = compare_with_nova(nova_manage, databases, w.nova, placement,
                            w.setup, ["heal_allocations", "--cell",
                                      w.nova.cell_uuid("cell2"), SKIP],
                            consumers=w.instances)
    assert cmp.got.rc == 0
    healed = [c for c, a in cmp.got_state["consumers"].items()
              if a["allocations"] and c not in (w.done, w.old)]
    assert healed == [w.other_cell]


def _marker_rows(api):
    with server_connection(api) as conn:
        cur = conn.cursor()
        cur.execute("SELECT instance_uuid, cell_id, project_id, user_id "
                    "FROM instance_mappings WHERE project_id LIKE "
                    "'HEAL_ALLOCATIONS_MARKER%%'")
        return cur.fetchall()


def test_max_count_runs_resume_until_done(placement, nova_deployment):
    w = World(nova_deployment)
    w.setup.build(placement.admin)
    before = table_contents(w.nova.api)
    runs = []
    while True:
        result = _heal(w.nova, placement.url, "--max-count", "4", SKIP,
                       "--verbose")
        runs.append(result)
        if result.rc != 1:
            break
        assert len(runs) < 6
    # 10 to heal, 4 a run: 1, 1, then 0 (the last two, and the end)
    assert [r.rc for r in runs] == [1, 1, 0]
    assert "Resuming after instance" not in runs[0].out
    assert "Resuming after instance" in runs[1].out
    # each run looked only at instances after the previous one's stop
    assert w.plain in runs[0].out and w.plain not in runs[1].out
    for instance in w.instances:
        if instance not in (w.busy, w.nowhere, w.soft):
            assert placement.admin.allocations(instance)["allocations"]
    # the marker is gone again: the API DB is as before
    assert _marker_rows(w.nova.api) == ()
    assert table_contents(w.nova.api) == before


def test_marker_is_kept_between_runs_and_per_scope(placement,
                                                   nova_deployment):
    w = World(nova_deployment)
    w.setup.build(placement.admin)
    first = _heal(w.nova, placement.url, "--max-count", "2", SKIP)
    assert first.rc == 1
    (stored, cell_id, project, user), = _marker_rows(w.nova.api)
    assert (cell_id, project, user) == (None, "HEAL_ALLOCATIONS_MARKER",
                                        w.nova.cell_uuid("cell1"))
    assert stored == w.bfv_bdm.replace("-", ".")
    # a --cell run keeps its own position
    cell2 = w.nova.cell_uuid("cell2")
    assert _heal(w.nova, placement.url, "--max-count", "1", "--cell",
                 cell2, SKIP).rc == 1
    assert len(_marker_rows(w.nova.api)) == 2
    # dry runs and single instances leave markers alone
    assert _heal(w.nova, placement.url, "--max-count", "1", "--dry-run",
                 SKIP).rc == 4
    assert len(_marker_rows(w.nova.api)) == 2


@pytest.mark.nova
def test_vgpu_and_missing_compute_node_like_nova(placement, nova_deployment,
                                                 nova_manage, databases):
    nova = nova_deployment()
    setup = PlacementSetup()
    rp = setup.compute_node()
    nova.add_compute_node("host1", rp)
    vgpu = nova.add_instance(created_at="2024-01-01", flavor=flavor_json(
        extra_specs={"resources:VGPU": "1"}))
    cmp = compare_with_nova(nova_manage, databases, nova, placement, setup,
                            ["heal_allocations", SKIP], consumers=[vgpu])
    assert (cmp.got.rc, cmp.got.out) == (
        8, "Healing allocation for instance %s with vGPU resource request "
           "is not supported.\n" % vgpu)

    nova = nova_deployment()
    lost = nova.add_instance(host="ghost")
    cmp = compare_with_nova(nova_manage, databases, nova, placement, setup,
                            ["heal_allocations", SKIP], consumers=[lost])
    assert (cmp.got.rc, cmp.got.out) == (
        2, "Compute host ghost could not be found.\n")


@pytest.mark.nova
def test_placement_refusing_the_write_like_nova(placement, nova_deployment,
                                                nova_manage, databases):
    nova = nova_deployment()
    setup = PlacementSetup()
    rp = setup.compute_node()
    nova.add_compute_node("host1", rp)
    inst = nova.add_instance()
    strict = PlacementStack(database=placement.database,
                            policy={"placement:allocations:update": "!"})
    try:
        cmp = compare_with_nova(nova_manage, databases, nova, placement,
                                setup, ["heal_allocations", SKIP],
                                run_url=strict.url, consumers=[inst])
    finally:
        strict.stop()
    assert (cmp.got.rc, cmp.got.out) == (
        3, "Failed to update allocations for consumer %s. Error: \n" % inst)
    assert cmp.got.err.startswith("ERROR: Placement API: HTTP 403: ")


def test_placement_down(placement, nova_deployment):
    nova = nova_deployment()
    nova.add_instance()
    nowhere = dead_url()
    down = _heal(nova, nowhere, SKIP)
    assert (down.rc, down.out) == (255, "")
    assert down.err == "ERROR: Placement API at %s/: connection refused\n" \
        % nowhere


def test_dry_run_output_is_json(placement, nova_deployment):
    w = World(nova_deployment)
    w.setup.build(placement.admin)
    result = _heal(w.nova, placement.url, "--dry-run", "--verbose", SKIP)
    assert result.rc == 4
    lines = [line for line in result.out.splitlines()
             if line.startswith("[dry-run] Update")]
    (line,) = lines
    body = json.loads(line.split(": ", 1)[1])
    assert body["project_id"] == "p-new" and body["consumer_generation"] == 1


def test_max_count_stops_at_the_count_inside_a_page(placement,
                                                    nova_deployment):
    """The second page reaches the count at its first instance: the run
    stops there (nova heals the rest of the page, walks on and crashes on
    the next cell with exit 255)."""
    nova = nova_deployment(cells=("cell1", "cell2"))
    setup = PlacementSetup()
    rp = setup.compute_node()
    nova.add_compute_node("host1", rp)
    t = iter("2024-01-01 00:00:%02d" % n for n in range(60))
    done = nova.add_instance(created_at=next(t))
    setup.allocate({rp: {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 20}},
                   consumer=done)
    todo = [nova.add_instance(created_at=next(t)) for _ in range(4)]
    nova.add_instance(host="host9", cell="cell2")  # no compute node there
    setup.build(placement.admin)

    def healed():
        return [u for u in todo
                if placement.admin.allocations(u)["allocations"]]
    first = _heal(nova, placement.url, "--max-count", "2", "--verbose", SKIP)
    assert first.rc == 1
    assert first.out.endswith("Successfully created allocations for "
                              "instance %s.\nMax count reached. Processed 2 "
                              "instances.\n" % todo[1])
    assert healed() == todo[:2]
    second = _heal(nova, placement.url, "--max-count", "2", SKIP)
    assert (second.rc, healed()) == (1, todo)
    # the cycle ends in cell2, whose instance has no compute node
    third = _heal(nova, placement.url, "--max-count", "2", SKIP)
    assert (third.rc, third.out) == (2, "Compute host host9 could not be "
                                        "found.\n")
