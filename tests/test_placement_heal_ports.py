"""heal_allocations' Neutron part against a real Neutron and Placement:
ports with a minimum-bandwidth request and no allocation in their
binding:profile."""
import pytest

from conftest import run_nmtool
from services import (  # noqa: F401
    PlacementSetup, PlacementStack, compare_with_nova,
    dead_url, neutron_service, nova_deployment, placement,
    placement_conf_section, placement_service)

BW_TRAITS = ["CUSTOM_PHYSNET_PHYSNET1", "CUSTOM_VNIC_TYPE_NORMAL"]


def _conf(nova, placement_url, neutron_url):
    return nova.conf(placement_conf_section(placement_url)
                     + placement_conf_section(neutron_url, group="neutron"))


class World:
    def __init__(self, nova_deployment, neutron, children=1, allocated=True):
        self.nova = nova = nova_deployment()
        self.setup = s = PlacementSetup()
        self.rp = s.compute_node()
        self.children = [s.provider(
            parent=self.rp, inventory={"NET_BW_EGR_KILOBIT_PER_SEC": 10000},
            traits=BW_TRAITS) for _ in range(children)]
        nova.add_compute_node("host1", self.rp)
        self.instance = nova.add_instance()
        if allocated:
            s.allocate({self.rp: {"VCPU": 2, "MEMORY_MB": 2048,
                                  "DISK_GB": 20}}, consumer=self.instance)
        self.port = neutron.admin.create_port(self.instance)
        self.plain_port = neutron.admin.create_port(self.instance, qos=False)
        self.neutron = neutron

    def reset_ports(self):
        self.neutron.admin.call("PUT", "/ports/" + self.port["id"], {
            "port": {"binding:profile": {}}}, expect=200)


def _compare(nova_manage, databases, w, placement, args, neutron_url=None,
             run_url=None):
    """compare_with_nova, with the port reset between the two runs; also
    compares the port's binding:profile afterwards."""
    profiles = []

    class Setup(PlacementSetup):
        def build(self, admin):
            w.reset_ports()
            w.setup.build(admin)

        def state(self, admin, consumers=()):
            profiles.append(w.neutron.admin.profile(w.port["id"]))
            return w.setup.state(admin, consumers)

    extra = placement_conf_section(neutron_url or w.neutron.url,
                                   group="neutron")
    cmp = compare_with_nova(nova_manage, databases, w.nova, placement,
                            Setup(), args, extra_conf=extra,
                            run_url=run_url, consumers=[w.instance])
    assert profiles[0] == profiles[1]
    return cmp, profiles[1]


@pytest.mark.nova
def test_heals_port_allocation_like_nova(placement, neutron_service,
                                         nova_deployment, nova_manage,
                                         databases):
    w = World(nova_deployment, neutron_service)
    group = w.port["resource_request"]["request_groups"][0]["id"]
    cmp, profile = _compare(nova_manage, databases, w, placement,
                            ["heal_allocations", "--verbose"])
    assert cmp.got.rc == 0
    child = w.children[0]
    assert profile == {"allocation": {group: child}}
    assert cmp.got_state["consumers"][w.instance]["allocations"] == {
        w.rp: {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 20},
        child: {"NET_BW_EGR_KILOBIT_PER_SEC": 1000}}
    out = cmp.got.out
    assert ("Found a request group : resource provider mapping {'%s': '%s'} "
            "for the port %s with resource request " % (group, child,
                                                        w.port["id"])) in out
    assert ("Updating port %s with attributes {'binding:profile': "
            "{'allocation': {'%s': '%s'}}}" % (w.port["id"], group, child)) \
        in out
    assert "Successfully updated allocations for instance %s." \
        % w.instance in out

    # healed ports are left alone next time
    again = run_nmtool("--config-file", _conf(w.nova, placement.url,
                                              neutron_service.url),
                       "placement", "heal_allocations")
    assert again.rc == 4


@pytest.mark.nova
def test_port_and_flavor_created_together_dry_run_like_nova(
        placement, neutron_service, nova_deployment, nova_manage,
        databases):
    w = World(nova_deployment, neutron_service, allocated=False)
    cmp, profile = _compare(nova_manage, databases, w, placement,
                            ["heal_allocations", "--verbose", "--dry-run"])
    assert cmp.got.rc == 4
    assert profile == {}
    assert "[dry-run] Create allocations for instance %s" % w.instance \
        in cmp.got.out
    cmp, profile = _compare(nova_manage, databases, w, placement,
                            ["heal_allocations"])
    assert cmp.got.rc == 0
    assert set(cmp.got_state["consumers"][w.instance]["allocations"]) == {
        w.rp, w.children[0]}


@pytest.mark.nova
def test_no_or_many_candidates_like_nova(placement, neutron_service,
                                         nova_deployment, nova_manage,
                                         databases):
    for children, fragment in (
            (0, "Placement returned no allocation candidate to fulfill the "
                "resource request of the port(s) ['%s']"),
            (2, "Placement returned more than one possible allocation "
                "candidates to fulfill the resource request of the port(s) "
                "['%s']. This script does not have enough information")):
        w = World(nova_deployment, neutron_service, children=children)
        cmp, profile = _compare(nova_manage, databases, w, placement,
                                ["heal_allocations"])
        assert cmp.got.rc == 3
        assert cmp.got.out.startswith(
            "Failed to update allocations for consumer %s. Error: %s"
            % (w.instance, fragment % w.port["id"]))
        assert profile == {}


def test_neutron_down_is_5(placement, neutron_service, nova_deployment):
    w = World(nova_deployment, neutron_service)
    w.setup.build(placement.admin)
    nowhere = dead_url()
    result = run_nmtool("--config-file", _conf(w.nova, placement.url,
                                               nowhere),
                        "placement", "heal_allocations")
    assert result.rc == 5
    assert result.out == ("Unable to query ports for instance %s: Neutron "
                          "API at %s/v2.0/ports: connection refused\n"
                          % (w.instance, nowhere))
    skipped = run_nmtool("--config-file", _conf(w.nova, placement.url,
                                                nowhere),
                         "placement", "heal_allocations",
                         "--skip-port-allocations")
    assert skipped.rc == 4


@pytest.mark.nova
def test_refused_placement_write_rolls_ports_back_like_nova(
        placement, neutron_service, nova_deployment, nova_manage,
        databases):
    strict = PlacementStack(database=placement.database,
                            policy={"placement:allocations:update": "!"})
    try:
        w = World(nova_deployment, neutron_service)
        cmp, profile = _compare(nova_manage, databases, w, placement,
                                ["heal_allocations", "--verbose"],
                                run_url=strict.url)
    finally:
        strict.stop()
    assert cmp.got.rc == 3
    assert "Rolling back port update for %s\n" % w.port["id"] in cmp.got.out
    assert cmp.got.out.endswith("Failed to update allocations for consumer "
                                "%s. Error: \n" % w.instance)
    assert profile == {}
