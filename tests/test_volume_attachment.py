"""volume_attachment show, get_connector (through os-brick), and refresh
(which nmtool refuses).

Block device mappings are written directly into a small deployment (see
test_libvirt.Cloud); the differential test runs nova-manage 34.0.0 on an
identical copy and compares exit codes, output and rows.
"""
import json

import pytest

from test_libvirt import SEEDED, uuid_of, without_log_lines

VOLUME = "cccccccc-0000-4000-8000-000000000001"
ATTACHMENT = "dddddddd-0000-4000-8000-000000000001"
CONNECTION = {"driver_volume_type": "iscsi", "serial": VOLUME,
              "data": {"target_lun": 1, "target_iqn": "iqn.2010-10.org:vol",
                       "auth_password": "secret", "encrypted": False},
              "multipath_id": None, "note": "first\\nsecond"}


@pytest.fixture
def cloud(databases, synced, conf_file):
    from test_libvirt import Cloud
    return Cloud(databases, synced, conf_file)


def add_bdm(cloud, instance, volume=VOLUME, connection_info=CONNECTION,
            deleted=False, uuid="auto", device_name="/dev/vdb", tag="データ"):
    if uuid == "auto":
        (count,), = cloud.execute("cell1", "SELECT COUNT(*) FROM "
                                  "block_device_mapping")
        uuid = "eeeeeeee-0000-4000-8000-%012d" % (count + 1)
    info = json.dumps(connection_info) if connection_info is not None \
        else None
    cloud.execute(
        "cell1", "INSERT INTO block_device_mapping (created_at, updated_at, "
        "instance_uuid, uuid, source_type, destination_type, device_type, "
        "disk_bus, boot_index, device_name, delete_on_termination, "
        "volume_id, volume_size, no_device, connection_info, tag, "
        "attachment_id, encrypted, deleted) VALUES (%s, NULL, %s, %s, "
        "'volume', 'volume', 'disk', 'virtio', NULL, %s, 0, %s, 10, NULL, "
        "%s, %s, %s, 0, 0)",
        (SEEDED, instance, uuid, device_name, volume, info, tag, ATTACHMENT))
    if deleted:
        cloud.execute("cell1", "UPDATE block_device_mapping SET deleted = "
                      "id, deleted_at = %s WHERE volume_id = %s",
                      (SEEDED, volume))


TABLE = """\
+------------------------+--------------------------------------+
| Property               | Value                                |
+------------------------+--------------------------------------+
| attachment_id          | dddddddd-0000-4000-8000-000000000001 |
| boot_index             | None                                 |
| connection_info        | CONNECTION_INFO |
| created_at             | 2020-01-01 12:00:00+00:00            |
| delete_on_termination  | False                                |
| deleted                | False                                |
| deleted_at             | None                                 |
| destination_type       | volume                               |
| device_name            | /dev/vdb                             |
| device_type            | disk                                 |
| disk_bus               | virtio                               |
| encrypted              | False                                |
| encryption_format      | None                                 |
| encryption_options     | None                                 |
| encryption_secret_uuid | None                                 |
| guest_format           | None                                 |
| id                     | 1                                    |
| image_id               | None                                 |
| instance_uuid          | aaaaaaaa-0000-4000-8000-000000000001 |
| no_device              | False                                |
| snapshot_id            | None                                 |
| source_type            | volume                               |
| tag                    | データ                               |
| updated_at             | None                                 |
| uuid                   | eeeeeeee-0000-4000-8000-000000000001 |
| volume_id              | cccccccc-0000-4000-8000-000000000001 |
| volume_size            | 10                                   |
| volume_type            | None                                 |
+------------------------+--------------------------------------+
"""


def test_show_table_and_json(cloud):
    instance = uuid_of(1)
    cloud.add_instance(instance)
    add_bdm(cloud, instance, connection_info={"driver_volume_type": "rbd"})
    result = cloud.run("volume_attachment", "show", instance, VOLUME)
    info = '{"driver_volume_type": "rbd"}'
    expected = TABLE.replace("CONNECTION_INFO |", info + " " * 8 + "|")
    assert (result.rc, result.err) == (0, "")
    assert result.out.splitlines() == expected.splitlines()

    result = cloud.run("volume_attachment", "show", instance, VOLUME,
                       "--json")
    assert result.rc == 0
    shown = json.loads(result.out)
    assert list(shown)[:4] == ["id", "uuid", "instance_uuid", "source_type"]
    assert shown["created_at"] == "2020-01-01T12:00:00.000000"
    assert shown["connection_info"] == info
    assert shown["deleted"] is False and shown["volume_size"] == 10


def test_show_connection_info(cloud):
    instance = uuid_of(1)
    cloud.add_instance(instance)
    add_bdm(cloud, instance)
    result = cloud.run("volume_attachment", "show", instance, VOLUME,
                       "--connection_info")
    assert result.rc == 0
    lines = result.out.splitlines()
    # A boxed table, every line as wide, keys sorted, nested values shown
    # as Python prints them, a literal "\\n" split over two rows.
    assert len({len(line) for line in lines}) == 1
    assert lines[0] == lines[2] == lines[-1]
    assert lines[0].startswith("+--------------------+-----")
    cells = [tuple(c.strip() for c in line.strip("|").split("|"))
             for line in lines[1:-1] if line.startswith("|")]
    assert cells == [
        ("Property", "Value"),
        ("data", "{'target_lun': 1, 'target_iqn': 'iqn.2010-10.org:vol', "
                 "'auth_password': 'secret', 'encrypted': False}"),
        ("driver_volume_type", "iscsi"), ("multipath_id", "None"),
        ("note", "first"), ("", "second"), ("serial", VOLUME)]
    result = cloud.run("volume_attachment", "show", instance, VOLUME,
                       "--connection_info", "--json")
    assert (result.rc, json.loads(result.out)) == (0, CONNECTION)


def test_show_errors(cloud):
    instance = uuid_of(1)
    cloud.add_instance(instance)
    add_bdm(cloud, instance, volume="gone", deleted=True)
    add_bdm(cloud, instance, volume="bare", connection_info=None)
    cloud.add_instance(uuid_of(2), mapped=False)
    before = cloud.contents()
    for volume in ("gone", "not-attached"):
        result = cloud.run("volume_attachment", "show", instance, volume)
        assert (result.rc, result.out) == (
            3, "No volume Block Device Mapping with id %s.\n" % volume)
    result = cloud.run("volume_attachment", "show", uuid_of(2), VOLUME)
    assert (result.rc, result.out) == (
        2, "Instance %s has no mapping to a cell.\n" % uuid_of(2))
    result = cloud.run("volume_attachment", "show", "bad", VOLUME, "--json")
    assert (result.rc, result.out, result.err) == (
        2, "Instance bad has no mapping to a cell.\n", "")
    result = cloud.run("volume_attachment", "show", instance, "bare",
                       "--connection_info")
    assert (result.rc, result.out) == (
        1, "Unexpected error, see nova-manage.log for the full trace: "
           "<class 'NoneType'> can't be decoded \n")
    result = cloud.run("volume_attachment", "show", instance, "bare",
                       "--connection_info", "--json")
    assert (result.rc, result.out) == (0, "None\n")
    assert cloud.contents() == before


def test_show_gives_a_uuidless_mapping_a_uuid(cloud):
    instance = uuid_of(1)
    cloud.add_instance(instance)
    add_bdm(cloud, instance, uuid=None)
    result = cloud.run("volume_attachment", "show", instance, VOLUME,
                       "--json")
    assert result.rc == 0
    shown = json.loads(result.out)
    (stored, updated), = cloud.execute(
        "cell1", "SELECT uuid, updated_at FROM block_device_mapping")
    assert shown["uuid"] == stored and len(stored) == 36
    assert updated is not None


def test_refresh_is_refused_and_its_help_gives_novas_codes(cloud):
    result = cloud.run("volume_attachment", "refresh", uuid_of(1), VOLUME,
                       "/tmp/connector.json")
    assert result.rc == 1 and result.out == ""
    assert result.err.startswith("ERROR: volume_attachment refresh is not "
                                 "supported by nmtool")
    assert len(result.err.splitlines()) == 1
    usage = cloud.run("volume_attachment", "refresh", "-h")
    assert usage.rc == 0
    text = " ".join(usage.out.split())
    assert "Not supported by nmtool: it needs Cinder and an RPC call" in text
    for code in ("2: connector path does not exist",
                 "7: connector host is not correct"):
        assert code in text


def _os_brick_importable():
    import importlib.util
    return importlib.util.find_spec("os_brick") is not None


def test_get_connector_without_os_brick_names_the_package(cloud):
    if _os_brick_importable():
        pytest.skip("os-brick is installed in nmtool's virtualenv")
    for args in (["get_connector"], ["get_connector", "--json"]):
        result = cloud.run("volume_attachment", *args)
        assert result.rc == 1 and result.out == ""
        assert result.err.startswith(
            "ERROR: volume_attachment get_connector needs the os-brick "
            "package, which cannot be imported here")
        assert len(result.err.splitlines()) == 1


def _nmtool_with(site, *args):
    """nmtool with another site-packages searched after its own: os-brick
    and its dependencies come from there, nmtool's from its wheel."""
    import subprocess
    import sys
    from conftest import Result
    code = ("import sys; sys.path.append(%r); sys.argv[0] = 'nmtool'; "
            "from nmtool.cli import main; sys.exit(main())" % site)
    # -P: the nmtool of the wheel, not the source tree in the cwd
    return Result(subprocess.run(
        [sys.executable, "-P", "-c", code] + list(args),
        capture_output=True, text=True))


@pytest.mark.nova
def test_get_connector_matches_nova_manage(nova_manage, tmp_path):
    """nmtool given the os-brick of nova-manage's virtualenv prints what
    nova-manage prints on this host, table and JSON, and fails the same
    way when os-brick fails."""
    import glob
    import os
    from conftest import NOVA_VENV
    site, = glob.glob(os.path.join(NOVA_VENV, "lib", "python3*",
                                   "site-packages"))
    helper = "[privsep_osbrick]\nhelper_command = %s --config-file %%s\n" \
        % os.path.join(NOVA_VENV, "bin", "privsep-helper")
    # as root without sudo, privsep's helper is started directly; without
    # it os-brick goes through sudo and nova-rootwrap, and fails the same
    # way in both (exit 1, nova's line)
    for multipath, privsep in (("false", helper), ("true", helper),
                               ("false", "")):
        conf = tmp_path / ("nova-%s-%d.conf" % (multipath, len(privsep)))
        conf.write_text(
            "[DEFAULT]\nhost = nmt-compute-1\n"
            "my_block_storage_ip = 192.0.2.77\n"
            "[libvirt]\nvolume_use_multipath = %s\n%s"
            % (multipath, privsep.replace("%s", str(conf))))
        for extra in ([], ["--json"]):
            theirs = nova_manage("--config-file", str(conf),
                                 "volume_attachment", "get_connector",
                                 *extra)
            ours = _nmtool_with(site, "--config-file", str(conf),
                                "volume_attachment", "get_connector",
                                *extra)
            assert (ours.rc, ours.out) == (
                theirs.rc, without_log_lines(theirs.out)), (multipath, extra)
            if not privsep:
                assert ours.rc == 1 and ours.out.startswith(
                    "Unexpected error, see nova-manage.log for the full "
                    "trace: ")
            else:
                assert ours.rc == 0
                if extra:
                    document = json.loads(ours.out)
                    assert document["host"] == "nmt-compute-1"
                    assert document["ip"] == "192.0.2.77"


@pytest.mark.nova
def test_show_matches_nova_manage(cloud, nova_manage):
    instance = uuid_of(1)
    cloud.add_instance(instance)
    add_bdm(cloud, instance)
    add_bdm(cloud, instance, volume="gone", deleted=True)
    add_bdm(cloud, instance, volume="bare", connection_info=None, tag=None)
    cloud.add_instance(uuid_of(2), mapped=False)
    twin = cloud.twin()
    for command in ([instance, VOLUME], [instance, VOLUME, "--json"],
                    [instance, VOLUME, "--connection_info"],
                    [instance, VOLUME, "--connection_info", "--json"],
                    [instance, "bare"],
                    [instance, "bare", "--connection_info"],
                    [instance, "gone"], [uuid_of(2), VOLUME],
                    ["not-a-uuid", VOLUME]):
        ours = cloud.run("volume_attachment", "show", *command)
        theirs = nova_manage("--config-file", twin.conf,
                             "volume_attachment", "show", *command)
        assert (ours.rc, ours.out) == (
            theirs.rc, without_log_lines(theirs.out)), command
    assert cloud.contents() == twin.contents()
