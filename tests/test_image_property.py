"""image_property show and set.

Instances are written directly into a small deployment (see
test_libvirt.Cloud), with a request spec in the API database as nova
writes it. The validator is also checked against nova's own
ImageMetaProps on every property with a range of values, and the
commands against nova-manage 34.0.0 on identical copies.
"""
import copy
import json
import os
import subprocess

import pytest

from conftest import NOVA_VENV
from nmtool.maintenance import image_props
from test_libvirt import SEEDED, uuid_of, without_log_lines

# A request spec as nova 34.0.0 serializes one (made with its objects).
SPEC = {
    "nova_object.name": "RequestSpec", "nova_object.namespace": "nova",
    "nova_object.version": "1.15", "nova_object.data": {
        "image": {
            "nova_object.name": "ImageMeta", "nova_object.namespace": "nova",
            "nova_object.version": "1.8", "nova_object.data": {
                "id": "155d900f-4e14-4e4c-a73d-069cbf4541e6", "min_ram": 0,
                "properties": {
                    "nova_object.name": "ImageMetaProps",
                    "nova_object.namespace": "nova",
                    "nova_object.version": "1.44",
                    "nova_object.data": {"hw_disk_bus": "ide"}}}},
        "numa_topology": None,
        "pci_requests": {
            "nova_object.name": "InstancePCIRequests",
            "nova_object.namespace": "nova", "nova_object.version": "1.1",
            "nova_object.data": {"requests": []}},
        "project_id": "project", "user_id": "user",
        "availability_zone": None,
        "flavor": {
            "nova_object.name": "Flavor", "nova_object.namespace": "nova",
            "nova_object.version": "1.2", "nova_object.data": {
                "id": 1, "name": "m1.small", "memory_mb": 512, "vcpus": 1,
                "root_gb": 1, "ephemeral_gb": 0, "flavorid": "1", "swap": 0,
                "rxtx_factor": 1.0, "vcpu_weight": 0, "disabled": False,
                "is_public": True, "extra_specs": {}, "description": None}},
        "num_instances": 1, "ignore_hosts": None, "force_hosts": None,
        "force_nodes": None, "requested_destination": None, "retry": None,
        "limits": {
            "nova_object.name": "SchedulerLimits",
            "nova_object.namespace": "nova", "nova_object.version": "1.0",
            "nova_object.data": {}},
        "instance_group": None, "scheduler_hints": {},
        "instance_uuid": "INSTANCE_UUID",
        "security_groups": {
            "nova_object.name": "SecurityGroupList",
            "nova_object.namespace": "nova", "nova_object.version": "1.1",
            "nova_object.data": {"objects": []}},
        "network_metadata": {
            "nova_object.name": "NetworkMetadata",
            "nova_object.namespace": "nova", "nova_object.version": "1.0",
            "nova_object.data": {"physnets": [], "tunneled": False}},
        "is_bfv": False}}

GROUP = "bbbbbbbb-0000-4000-8000-000000000001"


def spec_for(uuid, group=None, nested_changes=False):
    spec = copy.deepcopy(SPEC)
    data = spec["nova_object.data"]
    data["instance_uuid"] = uuid
    if nested_changes:
        # Nested objects saved with changes of their own: nova lists the
        # fields holding them as changed when it saves the spec again.
        data["flavor"]["nova_object.changes"] = ["name"]
        data["security_groups"]["nova_object.data"]["objects"] = [{
            "nova_object.name": "SecurityGroup",
            "nova_object.namespace": "nova", "nova_object.version": "1.2",
            "nova_object.data": {"name": "default"},
            "nova_object.changes": ["name"]}]
    if group:
        data["instance_group"] = {
            "nova_object.name": "InstanceGroup",
            "nova_object.namespace": "nova", "nova_object.version": "1.11",
            "nova_object.data": {"uuid": group, "members": ["x"],
                                 "hosts": ["h"], "policy": "anti-affinity"}}
        data["scheduler_hints"] = {"group": [group]}
    return json.dumps(spec)


def add(cloud, n, vm_state="stopped", sysmeta=None, group=None, spec=True,
        nested_changes=False, **kwargs):
    uuid = uuid_of(n)
    cloud.add_instance(uuid, vm_state=vm_state,
                       sysmeta=sysmeta or {"image_hw_disk_bus": "ide",
                                           "image_min_ram": "0"},
                       request_spec=spec_for(uuid, group, nested_changes)
                       if spec else None, **kwargs)
    return uuid


def add_group(cloud):
    cloud.execute("api", "INSERT INTO instance_groups (created_at, user_id, "
                  "project_id, uuid, name) VALUES (%s, 'user', 'project', "
                  "%s, 'grp')", (SEEDED, GROUP))
    cloud.execute("api", "INSERT INTO instance_group_policy (created_at, "
                  "policy, rules, group_id) SELECT %s, 'anti-affinity', "
                  "'{\"max_server_per_host\": \"2\"}', id FROM "
                  "instance_groups WHERE uuid = %s", (SEEDED, GROUP))


def stored_spec(cloud, uuid):
    (spec, updated), = cloud.execute(
        "api", "SELECT spec, updated_at FROM request_specs WHERE "
        "instance_uuid = %s", (uuid,))
    return json.loads(spec), updated


@pytest.fixture
def cloud(databases, synced, conf_file):
    from test_libvirt import Cloud
    return Cloud(databases, synced, conf_file)


# -- show ------------------------------------------------------------------

def test_show(cloud):
    add(cloud, 1, sysmeta={"image_hw_disk_bus": "virtio",
                           "image_hw_cdrom_bus": "",
                           "hw_scsi_model": "virtio-scsi"})
    add(cloud, 2, sysmeta=[("image_os_type", "linux", 1)])
    add(cloud, 3, deleted=True)
    add(cloud, 4, mapped=False)
    run = cloud.run
    assert (run("image_property", "show", uuid_of(1), "hw_disk_bus").rc,
            run("image_property", "show", uuid_of(1), "hw_disk_bus").out) \
        == (0, "virtio\n")
    for name in ("hw_cdrom_bus", "hw_scsi_model", "no_such_thing"):
        result = run("image_property", "show", uuid_of(1), name)
        assert (result.rc, result.out) == (
            3, "Image property %s not found for instance %s.\n"
            % (name, uuid_of(1)))
    # A soft-deleted row is read, as nova reads it.
    result = run("image_property", "show", uuid_of(2), "os_type")
    assert (result.rc, result.out) == (0, "linux\n")
    result = run("image_property", "show", uuid_of(3), "hw_disk_bus")
    assert (result.rc, result.out) == (
        2, "Instance %s could not be found.\n" % uuid_of(3))
    result = run("image_property", "show", uuid_of(4), "hw_disk_bus")
    assert (result.rc, result.out) == (
        2, "Instance %s has no mapping to a cell.\n" % uuid_of(4))
    result = run("image_property", "show", "xyz", "hw_disk_bus")
    assert (result.rc, result.out, result.err) == (
        2, "Instance xyz has no mapping to a cell.\n", "")
    result = run("image_property", "show", uuid_of(1))
    assert result.rc == 2 and result.out == ""


# -- set -------------------------------------------------------------------

def test_set_writes_system_metadata_and_request_spec(cloud):
    uuid = add(cloud, 1, vm_state="shelved_offloaded")
    result = cloud.run("image_property", "set", uuid,
                       "--property", "hw_disk_bus=virtio",
                       "--property=os_type=Linux",
                       "--property", "trait:CUSTOM_GOLD=required",
                       "--property", "hw_video_ram=64")
    assert (result.rc, result.out, result.err) == (0, "", "")
    assert cloud.sysmeta(uuid) == {
        "image_hw_disk_bus": ("virtio", True),
        "image_min_ram": ("0", False),
        "image_os_type": ("Linux", False),   # stored as given
        "image_trait:CUSTOM_GOLD": ("required", False),
        "image_hw_video_ram": ("64", False)}
    assert cloud.instance_touched(uuid)
    spec, updated = stored_spec(cloud, uuid)
    assert updated > SEEDED
    assert spec["nova_object.changes"] == ["image"]
    data = spec["nova_object.data"]
    assert data["image"]["nova_object.data"]["min_ram"] == 0
    props = data["image"]["nova_object.data"]["properties"]
    assert props["nova_object.data"] == {
        "hw_disk_bus": "virtio", "hw_video_ram": 64, "os_type": "linux",
        "traits_required": ["CUSTOM_GOLD"]}
    # Members nova does not persist are gone; retry is nulled.
    assert "network_metadata" not in data
    assert "requested_destination" not in data
    assert data["retry"] is None and data["ignore_hosts"] is None
    assert data["flavor"] == SPEC["nova_object.data"]["flavor"]


def test_set_same_value_rewrites_only_the_spec(cloud):
    uuid = add(cloud, 1)
    result = cloud.run("image_property", "set", uuid,
                       "--property", "hw_disk_bus=ide")
    assert (result.rc, result.out) == (0, "")
    assert cloud.sysmeta(uuid)["image_hw_disk_bus"] == ("ide", False)
    assert not cloud.instance_touched(uuid)
    assert stored_spec(cloud, uuid)[1] > SEEDED


def test_set_reloads_the_server_group(cloud):
    add_group(cloud)
    kept = add(cloud, 1, group=GROUP)
    cloud.execute("api", "UPDATE instance_groups SET uuid = 'gone' "
                  "WHERE uuid = %s", (GROUP,))
    dropped = add(cloud, 2, group=GROUP)
    cloud.execute("api", "UPDATE instance_groups SET uuid = %s "
                  "WHERE uuid = 'gone'", (GROUP,))
    cloud.execute("api", "DELETE FROM instance_group_policy")
    cloud.execute("api", "DELETE FROM instance_groups")
    assert cloud.run("image_property", "set", dropped, "--property",
                     "hw_disk_bus=sata").rc == 0
    data = stored_spec(cloud, dropped)[0]["nova_object.data"]
    assert data["instance_group"] is None
    assert data["scheduler_hints"] == {}
    add_group(cloud)
    assert cloud.run("image_property", "set", kept, "--property",
                     "hw_disk_bus=sata").rc == 0
    group = stored_spec(cloud, kept)[0]["nova_object.data"]["instance_group"]
    assert group["nova_object.data"]["uuid"] == GROUP
    assert group["nova_object.data"]["policy"] == "anti-affinity"
    assert group["nova_object.data"]["_rules"] == {
        "max_server_per_host": "2"}
    assert group["nova_object.data"]["members"] is None
    assert group["nova_object.data"]["created_at"] == "2020-01-01T12:00:00Z"


SET_ERRORS = [
    # (vm_state, arguments, code, message)
    ("active", ["hw_disk_bus=virtio"], 3,
     "Instance {uuid} in vm_state active. Cannot image_property set (must be"
     " STOPPED, SHELVED, OR SHELVED_OFFLOADED). while the instance is in "
     "this state."),
    ("active", ["nonsense"], 3, None),         # the state comes first
    ("stopped", ["hw_disk_bus"], 4,
     "--property should use the format key=value"),
    ("stopped", ["foo=bar", "x"], 4, None),    # format before names
    ("stopped", ["foo=bar"], 5, "Invalid image property name foo."),
    ("stopped", ["hw_disk_bus=bogus", "hw_numa_mem.0=1"], 5,
     "Invalid image property name hw_numa_mem.0."),  # names before values
    ("stopped", ["architecture=x86_64"], 5,
     "Invalid image property name architecture."),   # legacy names
    ("stopped", ["hw_disk_bus=bogus"], 6, "Field value bogus is invalid"),
    ("stopped", ["hw_disk_bus=VIRTIO"], 6, "Field value VIRTIO is invalid"),
    ("stopped", ["hw_video_ram=lots"], 6,
     "invalid literal for int() with base 10: 'lots'"),
    ("stopped", ["hw_architecture=z80"], 6,
     "Architecture name 'z80' is not valid"),
    ("stopped", ["img_hv_type=vmw"], 6,
     "Hypervisor virt type 'vmw' is not valid"),
    ("stopped", ["hw_vm_mode=PVH"], 6,
     "Virtual machine mode 'PVH' is not valid"),
    ("stopped", ["os_type=Solaris"], 6, "Field value solaris is invalid"),
    ("stopped", ["img_hv_requested_version=2.6"], 6,
     "Version 2.6 is not a valid predicate in field "
     "img_hv_requested_version"),
    ("stopped", ["img_mappings=x"], 6,
     "A list is required in field img_mappings, not a str"),
    ("stopped", ["hw_disk_bus=a=b"], 6,
     "dictionary update sequence element #0 has length 3; 2 is required"),
    ("stopped", [""], 6,
     "dictionary update sequence element #0 has length 1; 2 is required"),
    ("stopped", [], 1,
     "Unexpected error, see nova-manage.log for the full trace: 'NoneType' "
     "object is not iterable "),
]


def test_set_errors_change_nothing(cloud):
    for number, (vm_state, _, _, _) in enumerate(SET_ERRORS, 1):
        add(cloud, number, vm_state=vm_state)
    before = cloud.contents()
    for number, (vm_state, arguments, code, message) in enumerate(
            SET_ERRORS, 1):
        uuid = uuid_of(number)
        args = [part for a in arguments for part in ("--property", a)]
        result = cloud.run("image_property", "set", uuid, *args)
        assert result.rc == code, (arguments, result)
        if message:
            assert result.out == message.format(uuid=uuid) + "\n", arguments
        assert result.err == ""
    assert cloud.contents() == before


def test_set_lookup_and_spec_errors(cloud):
    add(cloud, 1, deleted=True)
    no_spec = add(cloud, 2, spec=False)
    bad = add(cloud, 3, sysmeta={"image_hw_numa_cpus.0": "1-x"})
    result = cloud.run("image_property", "set", uuid_of(1),
                       "--property", "hw_disk_bus=ide")
    assert (result.rc, result.out) == (
        2, "Instance %s could not be found.\n" % uuid_of(1))
    result = cloud.run("image_property", "set", "nope",
                       "--property", "hw_disk_bus=ide")
    assert (result.rc, result.out) == (
        2, "Instance nope has no mapping to a cell.\n")
    before = cloud.contents()
    result = cloud.run("image_property", "set", no_spec,
                       "--property", "hw_disk_bus=ide")
    assert (result.rc, result.out) == (
        1, "Unexpected error, see nova-manage.log for the full trace: "
           "RequestSpec not found for instance %s \n" % no_spec)
    # A bad stored property fails nova's ImageMeta for the spec.
    result = cloud.run("image_property", "set", bad,
                       "--property", "hw_disk_bus=ide")
    assert (result.rc, result.out) == (
        1, "Unexpected error, see nova-manage.log for the full trace: "
           "Invalid range expression '1-x' \n")
    assert cloud.contents() == before


# -- the validator against nova's objects -------------------------------------

PROBES = ["", "1", "-3", " 7 ", "yes", "No", "abc", "virtio", "VIRTIO",
          "x86_64", "AMD64", "i386", "xapi", "pv", "HV", "Linux", "windows",
          "lsiLogicSAS", "paravirtual", "VirtualE1000", "e1000",
          ">=2.6", "2.6", ">= 2.6, <3.0", "==1.0.post1", "<1.0a", ">=x",
          "==v1.2+local.7", "155d900f-4e14-4e4c-a73d-069cbf4541e6",
          "required", "q35", "1-4,^3", "a=b"]

NOVA_VALIDATE = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
from nova import exception, objects
objects.register_all()
from nova.cmd.manage import ImagePropertyCommands
out = []
for args in json.load(sys.stdin):
    try:
        result = ImagePropertyCommands()._validate_image_properties(args)
        out.append(["ok", sorted(result.items())])
    except ValueError as e:
        out.append([6, str(e)])
    except exception.InvalidImagePropertyName as e:
        out.append([5, str(e)])
    except exception.InvalidInput as e:
        out.append([4, str(e)])
    except Exception as e:
        out.append([type(e).__name__, str(e)])
print(json.dumps(out))
"""


def ours(args):
    try:
        return ["ok", sorted(image_props.parse_properties(args).items())]
    except image_props.PropertyValueError as exc:
        return [6, str(exc)]
    except image_props.PropertyNameError as exc:
        return [5, str(exc)]
    except image_props.InputFormatError as exc:
        return [4, str(exc)]


@pytest.mark.nova
def test_validator_matches_nova_objects(nova_manage):
    cases = [["%s=%s" % (name, value)] for name in
             image_props.property_names() + ["trait:CUSTOM_X", "bogus",
                                             "hw_numa_cpus.0"]
             for value in PROBES]
    cases += [["hw_disk_bus"], ["", "a=b"], ["a=b", "c"],
              ["hw_video_ram=1", "hw_video_ram=x"]]
    proc = subprocess.run(
        [os.path.join(NOVA_VENV, "bin", "python"), "-c", NOVA_VALIDATE],
        input=json.dumps(cases), capture_output=True, text=True, check=True)
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    mismatches = [(case, ours(case), want)
                  for case, want in zip(cases, theirs)
                  if ours(case) != [want[0], want[1] if want[0] != "ok"
                                    else [tuple(p) for p in want[1]]]]
    assert len(cases) > 2500
    assert mismatches == []


# -- against nova-manage 34.0.0 -----------------------------------------------

def normal_spec(value):
    """Parsed spec JSON with nova's unordered change lists sorted."""
    if isinstance(value, dict):
        return {k: sorted(v) if k == "nova_object.changes" else normal_spec(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [normal_spec(v) for v in value]
    return value


def contents_with_parsed_specs(cloud):
    contents = cloud.contents()
    contents["api"]["request_specs"] = [
        tuple(normal_spec(json.loads(v)) if i == 4 else v
              for i, v in enumerate(row))
        for row in contents["api"]["request_specs"]]
    return contents


DIFF_COMMANDS = [
    ["show", uuid_of(1), "hw_disk_bus"],
    ["show", uuid_of(1), "os_type"],
    ["show", "bad-uuid", "os_type"],
    ["set", uuid_of(1), "--property", "hw_disk_bus=virtio",
     "--property", "os_type=Windows", "--property", "hw_video_ram=32",
     "--property", "trait:CUSTOM_X=required",
     "--property", "img_hv_requested_version=>=2.6"],
    ["show", uuid_of(1), "os_type"],
    ["set", uuid_of(2), "--property", "hw_disk_bus=ide"],       # group
    ["set", uuid_of(3), "--property", "hw_scsi_model=paravirtual"],  # gone
    ["set", uuid_of(4), "--property", "hw_disk_bus=virtio"],     # 3
    ["set", uuid_of(1), "--property", "hw_disk_bus"],            # 4
    ["set", uuid_of(1), "--property", "hw_bogus=1"],             # 5
    ["set", uuid_of(1), "--property", "hw_vif_model=rtl"],       # 6
    ["set", uuid_of(1)],                                         # 1
    ["set", uuid_of(5), "--property", "hw_disk_bus=ide"],        # 2
    ["set", uuid_of(1), "--property", "hw_disk_bus=ide"],        # same
    ["set", uuid_of(6), "--property", "hw_numa_nodes=2",
     "--property", "hw_cpu_policy=dedicated"],                   # nested
]


@pytest.mark.nova
def test_image_property_matches_nova_manage(cloud, nova_manage):
    add_group(cloud)
    add(cloud, 1, sysmeta=[("image_hw_disk_bus", "ide"),
                           ("image_min_ram", "0"),
                           ("image_hw_disk_bus", "scsi")])
    add(cloud, 2, vm_state="shelved", group=GROUP)
    add(cloud, 3, group="cccccccc-0000-4000-8000-000000000001")
    add(cloud, 4, vm_state="active")
    add(cloud, 5, deleted=True)
    add(cloud, 6, nested_changes=True,
        sysmeta={"image_hw_numa_mem.0": "512", "image_hw_numa_mem.1": "512",
                 "image_hw_numa_cpus.0": "0-1", "image_hw_numa_cpus.1": "2,3",
                 "image_architecture": "AMD64", "image_min_disk": "1",
                 "image_container_format": "bare", "hw_qemu_guest_agent":
                 "yes", "image_vmware_adaptertype": "lsiLogic"})
    twin = cloud.twin()
    for command in DIFF_COMMANDS:
        ours_ = cloud.run("image_property", *command)
        theirs = nova_manage("--config-file", twin.conf, "image_property",
                             *command)
        assert (ours_.rc, ours_.out) == (
            theirs.rc, without_log_lines(theirs.out)), command
    ours_state = contents_with_parsed_specs(cloud)
    nova_state = contents_with_parsed_specs(twin)
    for role in ours_state:
        for table in ours_state[role]:
            assert ours_state[role][table] == nova_state[role][table], (
                role, table)
