"""heal_allocations with Keystone in front of Placement and Neutron, next to
nova-manage 34.0.0 on the same data.

Both tools authenticate [placement] and [neutron] with nova's password and
find both services in Keystone's catalog. Neutron enforces its new policy
defaults (no admin bypass) plus one rule of the test's own that refuses
nova some binding:profile updates, so the two exit codes that need a real
refusal are reached: 6 (a port update refused, the others rolled back) and
7 (a rollback refused, the port left for the operator)."""
import pytest

from conftest import run_nmtool
from services import (  # noqa: F401
    RESET_ROLE, NeutronStack, PlacementSetup, PlacementStack,
    copy_deployment, keystone_stack, normalize_ids, nova_deployment,
    nova_stdout)

BW_TRAITS = ["CUSTOM_PHYSNET_PHYSNET1", "CUSTOM_VNIC_TYPE_NORMAL"]
FLAVOR_ALLOCATION = {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 20}

# Neutron's answers to nova's binding:profile updates, by the port's project
# (a port update's policy check sees only the port's id, network, project
# and status besides the updated fields):
# - "locked": refused, 403 (Neutron still lets nova see the port);
# - "hidden": refused, and Neutron then hides the port, as it does when the
#   caller may not see what the update would make of it: 404;
# - "sticky": takes the allocation key but refuses, 403, having it taken
#   away again (nova's rollback writes the profile back as it was: {}).
ANY = "role:%s" % RESET_ROLE  # the tests' admin, resetting ports
POLICY = {
    "update_port:binding:profile":
        "%s or (role:service and not 'locked':%%(tenant_id)s and not "
        "'hidden':%%(tenant_id)s and not ('{}':%%(binding:profile)s and "
        "'sticky':%%(tenant_id)s))" % ANY,
    "get_port":
        "%s or ((role:admin or role:service) and (not "
        "'hidden':%%(tenant_id)s or '{}':%%(binding:profile)s))" % ANY,
}


@pytest.fixture(scope="module")
def services(keystone_stack):
    neutron = NeutronStack(keystone=keystone_stack, policy=POLICY)
    try:
        keystone_stack.add_endpoints("network", "neutron", [
            ("internal", "RegionOne", neutron.url),
            ("public", "RegionOne", keystone_stack.nowhere)])
        yield keystone_stack, neutron
    finally:
        neutron.stop()


def password_sections(ks, placement_override=None):
    """[placement] and [neutron] as a deployment behind Keystone has them:
    nova's service user, the catalog (internal first, nova's default)."""
    text = ""
    for group in ("placement", "neutron"):
        text += ("[%s]\nauth_type = password\nauth_url = %s/v3\n"
                 "username = nova\npassword = %s\nproject_name = service\n"
                 "user_domain_name = Default\nproject_domain_name = Default\n"
                 "region_name = RegionOne\n"
                 % (group, ks.url, ks.service_password))
        if group == "placement" and placement_override:
            text += "endpoint_override = %s\n" % placement_override
        if group == "neutron":
            text += "http_retries = 0\n"
    return text


class World:
    """One instance with its flavor allocated on a compute node that has a
    bandwidth child provider, and bandwidth ports of the given names (and
    projects of the same names)."""

    def __init__(self, nova_deployment, neutron, names):
        self.nova = nova_deployment()
        self.neutron = neutron
        self.setup = s = PlacementSetup()
        self.rp = s.compute_node()
        self.child = s.provider(
            parent=self.rp, inventory={"NET_BW_EGR_KILOBIT_PER_SEC": 10000},
            traits=BW_TRAITS)
        self.nova.add_compute_node("host1", self.rp)
        self.instance = self.nova.add_instance()
        s.allocate({self.rp: FLAVOR_ALLOCATION}, consumer=self.instance)
        self.ports = {name: neutron.admin.create_port(
            self.instance, name=name, project=name) for name in names}

    def reset(self, admin):
        for port in self.ports.values():
            self.neutron.admin.call("PUT", "/ports/" + port["id"], {
                "port": {"binding:profile": {}}}, expect=200)
        self.setup.build(admin)

    def profiles(self):
        return {name: self.neutron.admin.profile(port["id"])
                for name, port in self.ports.items()}


def run_both(nova_manage, databases, ks, w, args, placement_override=None):
    """nova-manage on a copy of the databases, nmtool on the originals, each
    from the same Placement and Neutron state; returns both results, each
    with the Placement state and the port profiles it left."""
    admin = ks.placement.admin
    sections = password_sections(ks, placement_override)
    copy = copy_deployment(w.nova, databases)
    w.reset(admin)
    ref = nova_manage("--config-file", copy.conf(sections), "placement",
                      *args)
    ref_after = (w.setup.state(admin, [w.instance]), w.profiles())
    w.reset(admin)
    got = run_nmtool("--config-file", w.nova.conf(sections), "placement",
                     *args)
    got_after = (w.setup.state(admin, [w.instance]), w.profiles())
    return (ref,) + ref_after, (got,) + got_after


def compare(nova_manage, databases, ks, w, args, placement_override=None):
    """run_both, checking that both tools did the same: same code, same
    output, same Placement and Neutron state; returns nmtool's."""
    (ref, *ref_after), (got, *got_after) = run_both(
        nova_manage, databases, ks, w, args, placement_override)
    assert got.rc == ref.rc, (got, ref)
    assert normalize_ids(got.out) == normalize_ids(nova_stdout(ref.out)), (
        got.out, ref.out)
    assert got_after == ref_after
    return got, got_after[0], got_after[1]


@pytest.mark.nova
def test_password_auth_heals_ports_like_nova(services, nova_deployment,
                                             nova_manage, databases):
    ks, neutron = services
    w = World(nova_deployment, neutron, ["ok"])
    got, state, profiles = compare(nova_manage, databases, ks, w,
                                   ["heal_allocations", "--verbose"])
    assert got.rc == 0
    group = w.ports["ok"]["resource_request"]["request_groups"][0]["id"]
    assert profiles == {"ok": {"allocation": {group: w.child}}}
    assert state["consumers"][w.instance]["allocations"] == {
        w.rp: FLAVOR_ALLOCATION,
        w.child: {"NET_BW_EGR_KILOBIT_PER_SEC": 1000}}
    assert "Successfully updated allocations for instance %s.\n" \
        % w.instance in got.out


@pytest.mark.nova
def test_port_gone_at_update_is_6_and_rolls_back_like_nova(
        services, nova_deployment, nova_manage, databases):
    ks, neutron = services
    w = World(nova_deployment, neutron, ["ok", "hidden"])
    got, state, profiles = compare(nova_manage, databases, ks, w,
                                   ["heal_allocations", "--verbose"])
    assert got.rc == 6
    # whichever port Neutron lists first: nothing is left half-done
    assert profiles == {"ok": {}, "hidden": {}}
    assert state["consumers"][w.instance]["allocations"] == {
        w.rp: FLAVOR_ALLOCATION}
    assert "Updating port %s failed: " % w.ports["hidden"]["id"] in got.out
    assert got.out.endswith("The healing of the instance is aborted. It is "
                            "safe to try to heal the instance again.\n")


@pytest.mark.nova
def test_refused_port_update_is_6_where_nova_crashes(
        services, nova_deployment, nova_manage, databases):
    """A 403 from Neutron: nova-manage 34.0.0 lets nova's Forbidden escape
    (exit 255, a traceback, and the ports it updated before stay updated);
    nmtool rolls them back and exits 6 as the man page says."""
    ks, neutron = services
    w = World(nova_deployment, neutron, ["ok", "locked"])
    (ref, _, _), (got, state, profiles) = run_both(
        nova_manage, databases, ks, w, ["heal_allocations", "--verbose"])
    assert ref.rc == 255 and "nova.exception.Forbidden" in ref.err + ref.out
    assert got.rc == 6 and got.err == ""
    assert profiles == {"ok": {}, "locked": {}}
    assert state["consumers"][w.instance]["allocations"] == {
        w.rp: FLAVOR_ALLOCATION}
    # Neutron's message, worded as nova-manage words the other refusals
    assert ("Updating port %s failed: (rule:update_port and "
            "rule:update_port:binding:profile) is disallowed by policy\n"
            "Neutron server returns request_ids: ['req-"
            % w.ports["locked"]["id"]) in got.out


@pytest.mark.nova
def test_refused_rollback_is_7_where_nova_crashes(
        services, nova_deployment, nova_manage, databases):
    ks, neutron = services
    # Placement refuses the allocation write, so the port update that went
    # through is rolled back, and Neutron refuses the rollback (403: nova
    # crashes there, exit 255, as above).
    strict = PlacementStack(keystone=ks, database=ks.placement.database,
                            policy={"placement:allocations:update": "!"})
    try:
        w = World(nova_deployment, neutron, ["sticky"])
        (ref, _, ref_profiles), (got, state, profiles) = run_both(
            nova_manage, databases, ks, w, ["heal_allocations", "--verbose"],
            placement_override=strict.url)
    finally:
        strict.stop()
    assert ref.rc == 255 and "nova.exception.Forbidden" in ref.err + ref.out
    assert got.rc == 7 and got.err == ""
    port = w.ports["sticky"]["id"]
    group = w.ports["sticky"]["resource_request"]["request_groups"][0]["id"]
    # the operator is told which port to fix, and it is as nova left it
    assert profiles == ref_profiles == {
        "sticky": {"allocation": {group: w.child}}}
    assert "Rolling back update for port %s failed: " % port in got.out
    assert port in got.out.splitlines()[-1]
    assert state["consumers"][w.instance]["allocations"] == {
        w.rp: FLAVOR_ALLOCATION}
