"""limits migrate_to_unified_limits against a real Keystone on loopback,
side by side with nova-manage 34.0.0: both read the same databases (the
command writes none) and each starts from the same Keystone state (the
limits are deleted before each run); the limits each leaves in Keystone,
its output and its exit code must be the same."""
import uuid as uuidlib

import pytest

from conftest import run_nmtool
from services import (  # noqa: F401
    KeystoneStack, dead_url, flavor_json, nova_deployment, nova_stdout)

pytestmark = pytest.mark.nova


@pytest.fixture(scope="module")
def keystone(mariadb):
    """Keystone with the compute service 'nova' (no endpoint: the command
    only needs its id) and a project to migrate."""
    ks = KeystoneStack()
    try:
        ks.nova_service = ks.post("/services", {"service": {
            "type": "compute", "name": "nova"}})["service"]["id"]
        ks.tenant = ks.post("/projects", {"project": {
            "name": "tenant", "domain_id": "default"}})["project"]["id"]
        ks.post("/regions", {"region": {"id": "RegionTwo"}})
        yield ks
    finally:
        ks.stop()


def reset(ks):
    """No limits at all: project limits go first (they need their
    registered limit)."""
    for kind in ("limits", "registered_limits"):
        for item in ks.get("/" + kind)[kind]:
            resp = ks.http.delete("%s/v3/%s/%s" % (ks.url, kind, item["id"]),
                                  timeout=30)
            assert resp.status_code == 204, resp.text


def state(ks):
    """What a user reads back from Keystone: every registered and project
    limit, without the ids Keystone gave them."""
    registered = sorted(
        (r["service_id"], r["region_id"], r["resource_name"],
         r["default_limit"]) for r in ks.get("/registered_limits")[
            "registered_limits"])
    project = sorted(
        (r["service_id"], r["region_id"], r["project_id"], r["resource_name"],
         r["resource_limit"]) for r in ks.get("/limits")["limits"])
    return registered, project


def keystone_sections(ks, auth_url=None):
    """Nova's service credentials as the command reads them: auth from
    [keystone_authtoken], the identity endpoint from [keystone]. Keystone's
    admin user acts system-wide, as limit creation requires."""
    return ("[keystone_authtoken]\nauth_type = password\nauth_url = %s\n"
            "username = admin\npassword = %s\nsystem_scope = all\n"
            "user_domain_name = Default\n"
            "[keystone]\nregion_name = RegionOne\n"
            % (auth_url or ks.url + "/v3", ks.admin_password))


def run_both(nova_manage, ks, conf, args, setup=None):
    """nova-manage, then nmtool, each from a Keystone with no limits (plus
    what setup adds); returns both results with the state each left."""
    results = []
    for tool in (nova_manage, lambda *a: run_nmtool(*a)):
        reset(ks)
        if setup:
            setup(ks)
        result = tool("--config-file", conf, "limits",
                      "migrate_to_unified_limits", *args)
        results.append((result, state(ks)))
    return results


def compare(nova_manage, ks, conf, args, setup=None):
    (ref, ref_state), (got, got_state) = run_both(nova_manage, ks, conf,
                                                  args, setup)
    assert got.rc == ref.rc, (got, ref)
    assert got.out == nova_stdout(ref.out), (got.out, ref.out)
    assert got_state == ref_state
    return got, got_state


def add_flavor(nova, flavorid, specs=None, vcpus=2, memory_mb=512, root_gb=1,
               ephemeral_gb=0, swap=0):
    row = nova.execute(
        nova.api, "INSERT INTO flavors (created_at, name, memory_mb, vcpus, "
        "root_gb, ephemeral_gb, swap, flavorid, is_public, disabled) VALUES "
        "(NOW(), %s, %s, %s, %s, %s, %s, %s, 1, 0)",
        ("f-" + flavorid, memory_mb, vcpus, root_gb, ephemeral_gb, swap,
         flavorid))
    for key, value in (specs or {}).items():
        nova.execute(nova.api, "INSERT INTO flavor_extra_specs (created_at, "
                     "flavor_id, `key`, value) VALUES (NOW(), %s, %s, %s)",
                     (row, key, value))


@pytest.fixture
def world(nova_deployment):
    """Defaults from the quota class and [quota], flavors asking for
    VCPU, PCPU, a custom class and a granular one, one flavor nova cannot
    read, and instances whose embedded flavors ask for more classes."""
    nova = nova_deployment(cells=("cell1", "cell2"))
    for resource, limit in (("instances", 7), ("cores", 30),
                            ("key_pairs", 3)):
        nova.execute(nova.api, "INSERT INTO quota_classes (created_at, "
                     "class_name, resource, hard_limit) VALUES (NOW(), "
                     "'default', %s, %s)", (resource, limit))
    add_flavor(nova, "small")
    add_flavor(nova, "pinned", {"hw:cpu_policy": "dedicated"})
    add_flavor(nova, "gpu", {"resources:CUSTOM_GPU": "1",
                             "resources1:CUSTOM_FPGA_X": "2",
                             "trait:HW_CPU_X86_AVX": "required"})
    add_flavor(nova, "broken", {"hw:cpu_policy": "bogus",
                                "resources:CUSTOM_ODD": "1"})
    add_flavor(nova, "mixed", {"hw:cpu_policy": "mixed",
                               "hw:cpu_dedicated_mask": "^0"}, vcpus=4)
    add_flavor(nova, "all-pinned", {"hw:cpu_policy": "mixed",
                                    "hw:cpu_dedicated_mask": "0-1"})
    # nova lists instances newest first over all cells: its warnings
    # about them come in that order, not cell by cell
    nova.add_instance(cell="cell1", created_at="2024-01-02", flavor=flavor_json(
        flavorid="enc", extra_specs={"hw:mem_encryption": "yes"}))
    nova.add_instance(cell="cell2", created_at="2024-01-05", flavor=flavor_json(
        flavorid="thr", extra_specs={"hw:cpu_thread_policy": "odd"}))
    nova.add_instance(cell="cell1", flavor=flavor_json(
        flavorid="emb1", extra_specs={"resources:CUSTOM_EMBEDDED": "1"}))
    nova.add_instance(cell="cell2", project_id="other", flavor=flavor_json(
        flavorid="emb2", extra_specs={"hw:pmem": "4GB,small--x"}))
    # cell0 holds instances that failed to build; nova scans them too
    nova.execute(nova.cell0, "INSERT INTO instances (created_at, uuid, "
                 "project_id, deleted) VALUES (NOW(), %s, 'proj', 0)",
                 (str(uuidlib.uuid4()),))
    nova.execute(nova.cell0, "INSERT INTO instance_extra (created_at, "
                 "instance_uuid, flavor, deleted) SELECT NOW(), uuid, %s, 0 "
                 "FROM instances", (flavor_json(flavorid="c0", extra_specs={
                     "resources:CUSTOM_CELL0": "1"}),))
    nova.add_instance(cell="cell2", flavor=flavor_json(
        flavorid="gone", extra_specs={"resources:CUSTOM_DELETED": "1"}),
        deleted=True)
    return nova


def conf_of(nova, ks, extra="[quota]\nram = 4096\n"):
    return nova.conf(keystone_sections(ks) + extra)


def test_verbose_run_creates_what_nova_creates(keystone, world, nova_manage):
    got, (registered, project) = compare(
        nova_manage, keystone, conf_of(world, keystone), ["--verbose"])
    assert got.rc == 3
    made = {name: limit for _, region, name, limit in registered}
    assert made["servers"] == 7 and made["class:VCPU"] == 30
    assert made["class:PCPU"] == 30 and made["class:MEMORY_MB"] == 4096
    assert made["server_key_pairs"] == 3 and project == []
    assert {region for _, region, _, _ in registered} == {None}
    # the flavors' classes without a limit, the embedded ones included
    for name in ("class:CUSTOM_GPU", "class:CUSTOM_FPGA_X", "class:DISK_GB",
                 "class:CUSTOM_ODD", "class:CUSTOM_EMBEDDED",
                 "class:CUSTOM_CELL0",
                 "class:CUSTOM_PMEM_NAMESPACE_4GB",
                 # a run of other characters in a label is one "_"
                 "class:CUSTOM_PMEM_NAMESPACE_SMALL_X"):
        assert "| %s" % name in got.out
    assert "CUSTOM_DELETED" not in got.out
    assert "An exception was raised: CPU policy requested from 'flavor " \
        "extra specs' is invalid, given: 'bogus'" in got.out
    assert "Creating default limit: class:PCPU = 30" in got.out
    assert got.out.index("skipping flavor thr") < got.out.index(
        "skipping flavor enc")


def test_plain_and_quiet_runs_like_nova(keystone, world, nova_manage):
    """With nova's own service user, project-scoped as nova.conf usually
    has it (Keystone lets a project admin create limits)."""
    conf = world.conf(
        "[keystone_authtoken]\nauth_type = password\nauth_url = %s/v3\n"
        "username = nova\npassword = %s\nproject_name = service\n"
        "user_domain_name = Default\nproject_domain_name = Default\n"
        % (keystone.url, keystone.service_password))
    got, made = compare(nova_manage, keystone, conf, [])
    assert got.rc == 3 and "missing" in got.out and "Creating" not in got.out
    # --quiet: nothing printed (nova prints nothing either), the same done
    reset(keystone)
    quiet = run_nmtool("--config-file", conf, "limits",
                       "migrate_to_unified_limits", "--quiet")
    assert (quiet.rc, quiet.out, state(keystone)) == (3, "", made)


def test_no_embedded_scan_and_existing_limits_like_nova(
        keystone, world, nova_manage):
    """Limits Keystone already has are kept; with a limit for every class
    the flavors ask for, the scan succeeds (exit 0)."""
    def setup(ks):
        for name, value in (("servers", 99), ("class:DISK_GB", 1000),
                            ("class:CUSTOM_GPU", 1), ("class:CUSTOM_ODD", 1),
                            ("class:CUSTOM_FPGA_X", 4)):
            ks.post("/registered_limits", {"registered_limits": [{
                "service_id": ks.nova_service, "resource_name": name,
                "default_limit": value}]})
    got, (registered, _) = compare(
        nova_manage, keystone, conf_of(world, keystone),
        ["--verbose", "--no-embedded-flavor-scan"], setup)
    assert got.rc == 0
    assert "SUCCESS: All resource classes have registered limits set." \
        in got.out
    assert "A default limit: servers = 99 already exists" in got.out
    assert ("servers", 99) in {(n, v) for _, _, n, v in registered}


def test_project_limits_like_nova(keystone, world, nova_manage):
    ks = keystone
    world.execute(world.api, "INSERT INTO quotas (created_at, project_id, "
                  "resource, hard_limit) VALUES (NOW(), %s, 'ram', 2048), "
                  "(NOW(), %s, 'cores', 4)", (ks.tenant, ks.tenant))
    world.execute(world.main, "INSERT INTO quotas (created_at, project_id, "
                  "resource, hard_limit, deleted) VALUES (NOW(), %s, "
                  "'instances', 2, 0), (NOW(), %s, 'ram', 1, 0)",
                  (ks.tenant, ks.tenant))
    got, (_, project) = compare(
        nova_manage, ks, conf_of(world, ks),
        ["--verbose", "--project-id", ks.tenant, "--region-id", "RegionTwo"])
    assert got.rc == 3
    assert sorted((name, limit) for _, region, _, name, limit in project) == [
        ("class:MEMORY_MB", 2048), ("class:PCPU", 4), ("class:VCPU", 4),
        ("servers", 2)]
    assert {region for _, region, _, _, _ in project} == {"RegionTwo"}
    assert "Scanning project %s non-deleted" % ks.tenant in got.out


def test_dry_run_creates_nothing(keystone, world, nova_manage):
    got, (registered, project) = compare(
        nova_manage, keystone, conf_of(world, keystone),
        ["--verbose", "--dry-run", "--project-id", keystone.tenant])
    assert got.rc == 3 and "Creating default limit: servers = 7" in got.out
    assert registered == [] and project == []


def test_limit_keystone_refuses_is_1_like_nova(keystone, world, nova_manage):
    """A region Keystone does not know: every create fails, nova prints
    openstacksdk's error for each and stops before the scan (exit 1)."""
    got, (registered, _) = compare(
        nova_manage, keystone, conf_of(world, keystone),
        ["--region-id", "Atlantis"])
    assert got.rc == 1 and registered == []
    assert got.out.startswith("Failed to create default limit: "
                              "BadRequestException: 400: Client Error")
    assert "missing" not in got.out


def test_keystone_unreachable_is_one_line_255(keystone, world, nova_manage):
    conf = world.conf(keystone_sections(
        keystone, auth_url=dead_url() + "/v3"))
    ref = nova_manage("--config-file", conf, "limits",
                      "migrate_to_unified_limits")
    got = run_nmtool("--config-file", conf, "limits",
                     "migrate_to_unified_limits")
    assert got.rc == ref.rc == 255
    assert got.out == ""
    lines = got.err.splitlines()
    assert len(lines) == 1 and "Keystone" in lines[0] \
        and "refused" in lines[0], got.err


def test_verbose_and_quiet_exclusive(keystone, world):
    got = run_nmtool("--config-file", conf_of(world, keystone), "limits",
                     "migrate_to_unified_limits", "--verbose", "--quiet")
    assert got.rc == 1
    assert got.out == "--verbose and --quiet are mutually exclusive\n"


def test_database_unreachable_is_2(keystone, tmp_path):
    conf = tmp_path / "nova.conf"
    conf.write_text("[api_database]\nconnection = mysql+pymysql://"
                    "nobody:pw@127.0.0.1:1/nova_api\n"
                    + keystone_sections(keystone))
    got = run_nmtool("--config-file", str(conf), "limits",
                     "migrate_to_unified_limits")
    assert got.rc == 2
    assert got.out.startswith("Failed to connect to the database")
    assert "pw" not in got.out + got.err


def test_cell_that_cannot_be_read_is_named_like_nova(
        keystone, nova_deployment, nova_manage):
    """A cell whose database is down: its instances are left out and the
    table is followed by nova's note naming it (oslo.db told not to retry,
    so nova gives up on the cell at once)."""
    nova = nova_deployment()
    down = str(uuidlib.uuid4())
    nova.execute(nova.api, "INSERT INTO cell_mappings (created_at, uuid, "
                 "name, transport_url, database_connection, disabled) VALUES "
                 "(NOW(), %s, 'gone', 'none:///', "
                 "'mysql+pymysql://root@127.0.0.1:1/nova', 0)", (down,))
    nova.add_instance(flavor=flavor_json(
        flavorid="e", extra_specs={"resources:CUSTOM_UP": "1"}))
    got, _ = compare(nova_manage, keystone, conf_of(
        nova, keystone, "[database]\nmax_retries = 0\n"), [])
    assert got.rc == 3 and "NOTE: Cells {'%s'} did not respond" % down \
        in got.out.replace("\n", " ")
    assert "CUSTOM_UP" in got.out



def test_database_not_configured_is_2_like_nova(keystone, tmp_path,
                                               nova_manage):
    conf = tmp_path / "nova.conf"
    conf.write_text("[DEFAULT]\n" + keystone_sections(keystone))
    ref = nova_manage("--config-file", str(conf), "limits",
                      "migrate_to_unified_limits")
    got = run_nmtool("--config-file", str(conf), "limits",
                     "migrate_to_unified_limits")
    assert got.rc == ref.rc == 2
    assert got.out == nova_stdout(ref.out)
