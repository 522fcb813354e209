"""heal_allocations reads a page at a time: the page's allocations with
several GETs in flight, its ports in one Neutron call. The output, the
exit code, Placement's end state and the ports' binding:profile stay
those of nova-manage 34.0.0, which reads them one instance at a time."""
import pytest

from services import (  # noqa: F401
    PlacementSetup, compare_with_nova, neutron_service, nova_deployment,
    placement, placement_conf_section, placement_service)

BW_TRAITS = ["CUSTOM_PHYSNET_PHYSNET1", "CUSTOM_VNIC_TYPE_NORMAL"]


class World:
    """Five instances on one node with a bandwidth child provider: the
    first and fourth hold their allocations already, the second and
    fourth have a port asking for bandwidth, the third a port asking for
    nothing, the fifth nothing at all."""

    def __init__(self, nova_deployment, neutron):
        self.nova = nova = nova_deployment()
        self.setup = s = PlacementSetup()
        self.rp = s.compute_node()
        s.provider(parent=self.rp,
                   inventory={"NET_BW_EGR_KILOBIT_PER_SEC": 100000},
                   traits=BW_TRAITS)
        nova.add_compute_node("host1", self.rp)
        self.instances = [nova.add_instance() for _ in range(5)]
        for n in (0, 3):
            s.allocate({self.rp: {"VCPU": 2, "MEMORY_MB": 2048,
                                  "DISK_GB": 20}},
                       consumer=self.instances[n])
        self.neutron = neutron
        self.ports = [neutron.admin.create_port(self.instances[n])
                      for n in (1, 3)]
        self.ports.append(neutron.admin.create_port(self.instances[2],
                                                    qos=False))

    def reset_ports(self):
        for port in self.ports:
            self.neutron.admin.call("PUT", "/ports/" + port["id"], {
                "port": {"binding:profile": {}}}, expect=200)

    def profiles(self):
        return [self.neutron.admin.profile(p["id"]) for p in self.ports]


def _compare(nova_manage, databases, placement, w, args, neutron=True):
    profiles, port_lists = [], []
    neutron_log = w.neutron.service

    class Setup(PlacementSetup):
        def build(self, admin):
            w.reset_ports()
            w.setup.build(admin)
            neutron_log.clear_log()

        def state(self, admin, consumers=()):
            port_lists.append([r for r in neutron_log.requests()
                               if r["method"] == "GET"
                               and r["path"].endswith("/ports")])
            profiles.append(w.profiles())
            return w.setup.state(admin, consumers)

    extra = placement_conf_section(w.neutron.url, group="neutron") \
        if neutron else ""
    cmp = compare_with_nova(nova_manage, databases, w.nova, placement,
                            Setup(), args, extra_conf=extra,
                            consumers=w.instances)
    assert profiles[0] == profiles[1]
    return cmp, port_lists


@pytest.mark.nova
def test_page_heals_like_nova_with_one_port_list(
        placement, neutron_service, nova_deployment, nova_manage, databases):
    w = World(nova_deployment, neutron_service)
    cmp, port_lists = _compare(nova_manage, databases, placement, w,
                               ["heal_allocations", "--verbose"])
    assert cmp.got.rc == 0
    assert "Successfully created allocations for instance %s." \
        % w.instances[1] in cmp.got.out
    # nova-manage lists each instance's ports; nmtool the page's at once
    assert len(port_lists[0]) == 5
    assert len(port_lists[1]) == 1
    assert port_lists[1][0]["query"].count("device_id=") == 5


@pytest.mark.nova
def test_page_dry_run_like_nova(placement, neutron_service, nova_deployment,
                                nova_manage, databases):
    w = World(nova_deployment, neutron_service)
    cmp, _ = _compare(nova_manage, databases, placement, w,
                      ["heal_allocations", "--verbose", "--dry-run"])
    assert cmp.got.rc == 4


@pytest.mark.nova
def test_page_max_count_like_nova(placement, neutron_service,
                                  nova_deployment, nova_manage, databases):
    # the budget ends inside the page: the allocations read ahead for the
    # rest of it are not written
    w = World(nova_deployment, neutron_service)
    cmp, _ = _compare(nova_manage, databases, placement, w,
                      ["heal_allocations", "--verbose", "--max-count", "5",
                       "--skip-port-allocations"], neutron=False)
    assert cmp.got.rc in (0, 1)


@pytest.mark.nova
def test_one_allocation_read_per_instance(placement, neutron_service,
                                          nova_deployment, nova_manage,
                                          databases):
    w = World(nova_deployment, neutron_service)
    placement_log = placement.service
    placement_log.clear_log()
    w.setup.build(placement.admin)
    w.reset_ports()
    placement_log.clear_log()
    from conftest import run_nmtool
    got = run_nmtool("--config-file", w.nova.conf(
        placement_conf_section(placement.url)
        + placement_conf_section(w.neutron.url, group="neutron")),
        "placement", "heal_allocations")
    assert got.rc == 0, got
    reads = [r for r in placement_log.requests() if r["method"] == "GET"
             and r["path"].startswith("/allocations/")]
    assert sorted(r["path"].rsplit("/", 1)[1] for r in reads) == sorted(
        w.instances)
