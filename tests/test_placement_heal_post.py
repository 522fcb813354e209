"""heal_allocations writes a page's allocations with one POST
/allocations; when Placement refuses it (here: a 409 for an instance
nova changed between nmtool's read and its write) the ports updated for
the page are rolled back and the page is healed one instance at a time,
ending like nova-manage 34.0.0 (same lines, exit code, allocations and
port binding profiles)."""
import threading

import pytest

from placement_proxy import PlacementProxy
from services import (  # noqa: F401
    PlacementSetup, compare_with_nova, neutron_service, nova_deployment,
    placement, placement_conf_section, placement_service)

FLAVOR = {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
BW_TRAITS = ["CUSTOM_PHYSNET_PHYSNET1", "CUSTOM_VNIC_TYPE_NORMAL"]


class World:
    """Five instances on one node with a bandwidth child provider, none
    holding allocations: the first and the fourth have a port asking for
    bandwidth, the second holds allocations already made by an older
    nova (another project), the others nothing."""

    def __init__(self, nova_deployment, neutron, count=5):
        self.nova = nova = nova_deployment()
        self.setup = s = PlacementSetup()
        self.rp = s.compute_node()
        s.provider(parent=self.rp,
                   inventory={"NET_BW_EGR_KILOBIT_PER_SEC": 100000},
                   traits=BW_TRAITS)
        nova.add_compute_node("host1", self.rp)
        self.instances = [nova.add_instance() for _ in range(count)]
        s.allocate({self.rp: {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 20}},
                   consumer=self.instances[1], project_id="old")
        self.neutron = neutron
        self.ports = [neutron.admin.create_port(self.instances[n])
                      for n in (0, 3)]

    def profiles(self):
        return [self.neutron.admin.profile(p["id"]) for p in self.ports]


def _compare(nova_manage, databases, placement, w, args, victim=None,
             check=True):
    """compare_with_nova through a proxy; victim: an instance whose
    allocations "nova" creates right after the run has read them (or,
    for a run that lists the provider's allocations instead of reading
    each instance, right after that listing).
    Returns the comparison, the port profiles after each run and the
    Placement requests of each run."""
    profiles, requests = [], []
    lock = threading.Lock()
    pending = {}

    def after(method, path):
        with lock:
            fire = (method == "GET" and victim is not None
                    and path in ("/allocations/" + victim,
                                 "/resource_providers/%s/allocations"
                                 % w.rp)
                    and pending.pop("victim", False))
        if fire:
            placement.admin.allocate(victim, {w.rp: FLAVOR},
                                     project_id="proj", user_id="user")

    proxy = PlacementProxy(placement.url, after)

    class Setup(PlacementSetup):
        def build(self, admin):
            for port in w.ports:
                w.neutron.admin.call("PUT", "/ports/" + port["id"], {
                    "port": {"binding:profile": {}}}, expect=200)
            w.setup.build(admin)
            with lock:
                pending["victim"] = True
                del proxy.requests[:]

        def state(self, admin, consumers=()):
            requests.append(list(proxy.requests))
            profiles.append(w.profiles())
            return w.setup.state(admin, consumers)

    try:
        cmp = compare_with_nova(
            nova_manage, databases, w.nova, placement, Setup(), args,
            run_url=proxy.url, consumers=w.instances,
            extra_conf=placement_conf_section(w.neutron.url,
                                              group="neutron"), check=check)
    finally:
        proxy.stop()
    assert profiles[0] == profiles[1]
    return cmp, profiles[1], requests


def _writes(requests):
    return [(m, p) for m, p in requests
            if m in ("PUT", "POST") and p.startswith("/allocations")]


@pytest.mark.nova
def test_page_written_with_one_post_like_nova(
        placement, neutron_service, nova_deployment, nova_manage,
        databases):
    w = World(nova_deployment, neutron_service)
    cmp, profiles, requests = _compare(nova_manage, databases, placement, w,
                                       ["heal_allocations", "--verbose"])
    assert cmp.got.rc == 0
    assert cmp.got.out.count("Successfully created allocations") == 4
    assert "Successfully updated allocations for instance %s." \
        % w.instances[1] in cmp.got.out
    assert all(p.get("allocation") for p in profiles)
    # nova-manage: one PUT per instance; nmtool: the page in one POST
    assert _writes(requests[0]) == [
        ("PUT", "/allocations/" + uuid) for uuid in w.instances]
    assert _writes(requests[1]) == [("POST", "/allocations")]


@pytest.mark.nova
def test_max_count_inside_the_page_posts_only_its_budget(
        placement, neutron_service, nova_deployment, nova_manage,
        databases):
    w = World(nova_deployment, neutron_service)
    cmp, profiles, requests = _compare(
        nova_manage, databases, placement, w,
        ["heal_allocations", "--verbose", "--max-count", "3"])
    assert cmp.got.rc == 1
    assert _writes(requests[1]) == [("POST", "/allocations")]
    # the fourth instance's port is past the budget: left alone
    assert profiles[0].get("allocation") and profiles[1] == {}


@pytest.mark.nova
def test_concurrent_change_falls_back_and_rolls_ports_back_like_nova(
        placement, neutron_service, nova_deployment, nova_manage,
        databases):
    """The third instance gets allocations from "nova" after both tools
    read it: nova-manage's PUT and nmtool's POST get Placement's 409.
    nmtool then puts the ports of the page back (the fourth instance's
    was updated for the POST), heals the first two one by one and stops
    at the third with nova's message and exit code."""
    w = World(nova_deployment, neutron_service)
    victim = w.instances[2]
    cmp, profiles, requests = _compare(nova_manage, databases, placement, w,
                                       ["heal_allocations", "--verbose"],
                                       victim=victim)
    assert cmp.got.rc == 3
    assert ("Failed to update allocations for consumer %s. Error: "
            % victim) in cmp.got.out
    assert "consumer generation conflict" in cmp.got.out
    assert cmp.got_state == cmp.ref_state
    # the first port healed again one by one, the fourth rolled back
    assert profiles[0].get("allocation") and profiles[1] == {}
    assert _writes(requests[1]) == [("POST", "/allocations")] + [
        ("PUT", "/allocations/" + uuid) for uuid in w.instances[:3]]


# A whole cell with many instances per provider: nmtool lists each
# provider's allocations once instead of reading every instance.
# (24 instances over the node and its bandwidth child: 12 a provider.)
MANY = 24


@pytest.mark.nova
def test_many_per_provider_listed_not_read_one_by_one_like_nova(
        placement, neutron_service, nova_deployment, nova_manage,
        databases):
    w = World(nova_deployment, neutron_service, count=MANY)
    cmp, profiles, requests = _compare(nova_manage, databases, placement, w,
                                       ["heal_allocations", "--verbose"])
    assert cmp.got.rc == 0
    assert cmp.got.out.count("Successfully created allocations") == MANY - 1
    assert all(p.get("allocation") for p in profiles)
    reads = [path for method, path in requests[1] if method == "GET"
             and path.startswith("/allocations/")]
    # only the instance the listing found allocations for is read
    assert reads == ["/allocations/" + w.instances[1]]
    assert ("GET", "/resource_providers/%s/allocations" % w.rp) \
        in requests[1]
    assert _writes(requests[1]) == [("POST", "/allocations")]


@pytest.mark.nova
def test_many_per_provider_new_allocations_after_the_listing_fall_back(
        placement, neutron_service, nova_deployment, nova_manage,
        databases):
    """"nova" allocates for an instance right after nmtool listed the
    provider: the page's POST, which sends it as a new consumer, gets
    Placement's 409; the page then goes one by one, reading each
    instance first, and that instance is found up to date."""
    w = World(nova_deployment, neutron_service, count=MANY)
    victim = w.instances[5]
    cmp, profiles, requests = _compare(
        nova_manage, databases, placement, w,
        ["heal_allocations", "--verbose"], victim=victim, check=False)
    # (nova-manage's own run met the victim after reading it: its 409.)
    assert cmp.got.rc == 0, cmp.got
    assert cmp.got.out.count("Successfully created allocations") == MANY - 2
    assert "instance %s is up-to-date. Nothing to be healed." % victim \
        in cmp.got.out
    writes = _writes(requests[1])
    assert writes[0] == ("POST", "/allocations")
    assert ("PUT", "/allocations/" + victim) not in writes
    assert sorted(writes[1:]) == sorted(
        ("PUT", "/allocations/" + uuid) for uuid in w.instances
        if uuid != victim)
    assert all(p.get("allocation") for p in profiles)
    # every instance holds allocations, the victim those "nova" gave it
    got = cmp.got_state["consumers"]
    assert all(got[uuid] for uuid in w.instances), got
    assert got[victim] != got[w.instances[4]]
