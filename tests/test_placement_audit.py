"""placement audit against a real Placement, and against nova-manage
34.0.0 on identical data."""
import uuid

import pytest

from conftest import run_nmtool
from services import (  # noqa: F401
    PlacementSetup, PlacementStack, compare_with_nova, dead_url,
    nova_deployment, placement, placement_conf_section, placement_service)


def _uuid():
    return str(uuid.uuid4())


def _audit(nova, url, *args):
    return run_nmtool("--config-file", nova.conf(placement_conf_section(url)),
                      "placement", "audit", *args)


class World:
    """Two cells, three compute-node providers (one without a compute node
    row), a child provider, and consumers of every kind."""

    def __init__(self, nova_deployment):
        self.nova = nova = nova_deployment(cells=("cell1", "cell2"))
        self.setup = s = PlacementSetup()
        self.rp1 = s.compute_node(inventory={"CUSTOM_FOO": 10})
        self.child = s.provider(parent=self.rp1,
                                inventory={"NET_BW_EGR_KILOBIT_PER_SEC": 1000})
        self.rp2 = s.compute_node()
        self.rp3 = s.compute_node()          # no compute node anywhere
        nova.add_compute_node("host1", self.rp1, node="node1")
        nova.add_compute_node("host2", self.rp2, cell="cell2")
        live = nova.add_instance(host="host1", node="node1")
        deleted = nova.add_instance(host="host1", node="node1", deleted=True)
        elsewhere = nova.add_instance(host="host2", cell="cell2")
        moving = nova.add_migration(_uuid(), "host9", "host1", "migrating",
                                    dest_node="node1")
        done = nova.add_migration(_uuid(), "host1", "host9", "confirmed",
                                  source_node="node1")
        self.ok = [s.allocate({self.rp1: {"VCPU": 1, "MEMORY_MB": 512}},
                              consumer=live),
                   s.allocate({self.rp1: {"VCPU": 2}}, consumer=moving),
                   s.allocate({self.rp2: {"VCPU": 1}}, consumer=elsewhere),
                   s.allocate({self.rp1: {"CUSTOM_FOO": 1}})]
        self.deleted = s.allocate({self.rp1: {"DISK_GB": 10}},
                                  consumer=deleted)
        self.done = s.allocate({self.rp1: {"MEMORY_MB": 256}}, consumer=done)
        self.bw = s.allocate({self.child: {"NET_BW_EGR_KILOBIT_PER_SEC": 10}})
        self.span = s.allocate({self.rp1: {"VCPU": 1},
                                self.rp2: {"DISK_GB": 1}})
        self.lost = s.allocate({self.rp3: {"VCPU": 4}})


@pytest.mark.nova
def test_reports_orphans_like_nova(placement, nova_deployment, nova_manage,
                                   databases):
    w = World(nova_deployment)
    cmp = compare_with_nova(nova_manage, databases, w.nova, placement,
                            w.setup, ["audit", "--verbose"])
    assert cmp.got.rc == 3
    out = cmp.got.out
    for orphan, rp in ((w.deleted, w.rp1), (w.done, w.rp1), (w.bw, w.child),
                       (w.span, w.rp1), (w.lost, w.rp3)):
        assert ("Allocations were set against consumer UUID %s but no "
                "existing instances or active migrations are related. \n"
                % orphan) in out
        assert "Allocations for consumer UUID %s on Resource Provider %s " \
            "can be deleted: " % (orphan, rp) in out
    assert "can be deleted: {'DISK_GB': 10}" in out
    assert "The compute node for UUID %s can not be found\n" % w.rp3 in out
    for fine in w.ok:
        assert fine not in out
    assert out.endswith("Processed 6 allocations.\n")  # span: on rp1, rp2
    # nothing deleted
    assert cmp.got_state["consumers"][w.lost]["allocations"] == {
        w.rp3: {"VCPU": 4}}

    quiet = _audit(w.nova, placement.url)
    assert (quiet.rc, quiet.out, quiet.err) == (3, "", "")


@pytest.mark.nova
def test_deletes_only_this_providers_part_like_nova(
        placement, nova_deployment, nova_manage, databases):
    w = World(nova_deployment)
    cmp = compare_with_nova(
        nova_manage, databases, w.nova, placement, w.setup,
        ["audit", "--resource_provider", w.rp1, "--delete", "--verbose"])
    assert cmp.got.rc == 4
    consumers = cmp.got_state["consumers"]
    # spanning consumer: only rp1's part is gone
    assert consumers[w.span]["allocations"] == {w.rp2: {"DISK_GB": 1}}
    assert consumers[w.deleted]["allocations"] == {}
    assert consumers[w.done]["allocations"] == {}
    # other providers untouched; live consumers untouched
    assert consumers[w.bw]["allocations"] == {
        w.child: {"NET_BW_EGR_KILOBIT_PER_SEC": 10}}
    for fine in w.ok:
        assert consumers[fine]["allocations"]
    assert "Deleted allocations for consumer UUID %s on Resource Provider " \
        "%s: {'VCPU': 1}\n" % (w.span, w.rp1) in cmp.got.out
    assert cmp.got.out.endswith("Processed 3 allocations.\n")


@pytest.mark.nova
def test_delete_everything_then_clean_like_nova(
        placement, nova_deployment, nova_manage, databases):
    w = World(nova_deployment)
    cmp = compare_with_nova(nova_manage, databases, w.nova, placement,
                            w.setup, ["audit", "--delete"])
    assert (cmp.got.rc, cmp.got.out) == (4, "")
    for orphan in (w.deleted, w.done, w.bw, w.span, w.lost):
        assert cmp.got_state["consumers"][orphan]["allocations"] == {}
    for fine in w.ok:
        assert cmp.got_state["consumers"][fine]["allocations"]
    again = _audit(w.nova, placement.url, "--verbose")
    assert (again.rc, again.out) == (0, "The compute node for UUID %s can "
                                        "not be found\n" % w.rp3)


@pytest.mark.nova
def test_unknown_provider_like_nova(placement, nova_deployment, nova_manage,
                                    databases):
    nova = nova_deployment()
    setup = PlacementSetup()
    setup.compute_node()
    for wanted in (_uuid(), "not-a-uuid"):
        cmp = compare_with_nova(nova_manage, databases, nova, placement,
                                setup, ["audit", "--resource_provider",
                                        wanted])
        assert cmp.got.rc == 127
        assert cmp.got.out == ("Resource provider with UUID %s does not "
                               "exist.\n" % wanted)


@pytest.mark.nova
def test_refused_delete_is_1_like_nova(placement, nova_deployment,
                                       nova_manage, databases):
    nova = nova_deployment()
    setup = PlacementSetup()
    rp = setup.compute_node()
    orphan = setup.allocate({rp: {"VCPU": 1}})
    strict = PlacementStack(database=placement.database,
                            policy={"placement:allocations:delete": "!"})
    try:
        cmp = compare_with_nova(nova_manage, databases, nova, placement,
                                setup, ["audit", "--delete"],
                                run_url=strict.url)
    finally:
        strict.stop()
    assert cmp.got.rc == 1
    assert cmp.got.out == (
        "Not able to delete allocations for consumer UUID %s\n"
        "The Resource Provider %s had problems when deleting allocations. "
        "Stopping now. Please fix the problem by hand and run again.\n"
        % (orphan, rp))
    assert cmp.got_state["consumers"][orphan]["allocations"] == {
        rp: {"VCPU": 1}}


def test_nothing_orphaned_and_placement_down(placement, nova_deployment):
    nova = nova_deployment()
    rp = placement.admin.compute_node()
    nova.add_compute_node("h", rp)
    inst = nova.add_instance(host="h")
    placement.admin.allocate(inst, {rp: {"VCPU": 1}})
    result = _audit(nova, placement.url, "--verbose")
    assert (result.rc, result.out, result.err) == (0, "", "")

    nowhere = dead_url()
    down = _audit(nova, nowhere)
    assert (down.rc, down.out) == (255, "")
    assert down.err == "ERROR: Placement API at %s/: connection refused\n" \
        % nowhere


def test_delete_rechecks_a_consumer_that_became_an_instance(
        placement, nova_deployment):
    """An instance whose row is written after the audit read the node's
    instances (nova building it while the audit runs): its allocations
    look orphaned in the page, and the re-check right before --delete
    finds the instance and leaves them. The row lands while Placement
    hands out the provider's allocations, through a pass-through proxy,
    so the race is the same on every run."""
    from placement_proxy import PlacementProxy
    nova = nova_deployment()
    setup = PlacementSetup()
    rp = setup.compute_node()
    nova.add_compute_node("host1", rp, node="node1")
    building = setup.allocate({rp: {"VCPU": 1, "MEMORY_MB": 512}})
    orphan = setup.allocate({rp: {"VCPU": 2}})
    setup.build(placement.admin)
    landed = []

    def after(method, path):
        if (method == "GET" and path.endswith("/allocations")
                and path.startswith("/resource_providers/") and not landed):
            landed.append(nova.add_instance(uuid=building, host="host1",
                                            node="node1"))

    proxy = PlacementProxy(placement.url, after)
    try:
        result = _audit(nova, proxy.url, "--delete", "--verbose")
    finally:
        proxy.stop()
    assert landed == [building]
    assert result.rc == 4, result
    assert ("Deleted allocations for consumer UUID %s on Resource Provider "
            "%s: {'VCPU': 2}" % (orphan, rp)) in result.out
    assert building not in result.out
    assert result.out.endswith("Processed 1 allocation.\n")
    assert placement.admin.allocations(building)["allocations"] == {
        rp: {"VCPU": 1, "MEMORY_MB": 512}}
    assert placement.admin.allocations(orphan)["allocations"] == {}
