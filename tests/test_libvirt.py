"""libvirt get_machine_type, update_machine_type, list_unset_machine_type.

A small deployment (API database, cell0, cell1) with a handful of
instances written directly, each set up for one branch of nova-manage's
rules. The differential tests at the end run nova-manage 34.0.0 and
nmtool on identical copies and compare exit codes, output and rows.

The Cloud helper is shared with test_image_property.py and
test_volume_attachment.py.
"""
import datetime
import json
import re

import pytest

from conftest import (copy_database, db_url, run_nmtool, server_connection,
                      table_contents)

CELL0 = "00000000-0000-0000-0000-000000000000"
CELL1 = "11111111-1111-1111-1111-111111111111"
SEEDED = datetime.datetime(2020, 1, 1, 12, 0, 0)


def uuid_of(n):
    return "aaaaaaaa-0000-4000-8000-%012d" % n


class Cloud:
    """API database with cell0 and cell1 mapped, and instances in them."""

    def __init__(self, databases, synced, conf_file):
        self.databases = databases
        self.conf_file = conf_file
        self.api = synced("api")
        self.cells = {"cell0": synced("main"), "cell1": synced("main")}
        self._ids = iter(range(1, 10000))
        with server_connection(self.api) as conn:
            cur = conn.cursor()
            for name, uuid in (("cell0", CELL0), ("cell1", CELL1)):
                cur.execute(
                    "INSERT INTO cell_mappings (created_at, uuid, name, "
                    "transport_url, database_connection, disabled) VALUES "
                    "(%s, %s, %s, 'none:///', %s, 0)",
                    (SEEDED, uuid, name, db_url(self.cells[name])))
        self.conf = conf_file(api=self.api, main=self.cells["cell1"])

    def add_cell(self, name, uuid, database):
        """Map one more cell, on database (which need not exist)."""
        self.cells[name] = database
        with server_connection(self.api) as conn:
            conn.cursor().execute(
                "INSERT INTO cell_mappings (created_at, uuid, name, "
                "transport_url, database_connection, disabled) VALUES "
                "(%s, %s, %s, 'none:///', %s, 0)",
                (SEEDED, uuid, name, db_url(database)))

    def cell_id(self, name):
        with server_connection(self.api) as conn:
            cur = conn.cursor()
            cur.execute("SELECT id FROM cell_mappings WHERE name = %s",
                        (name,))
            return cur.fetchone()[0]

    def add_instance(self, uuid, vm_state="stopped", sysmeta=None,
                     cell="cell1", mapped=True, deleted=False,
                     image_ref="155d900f-4e14-4e4c-a73d-069cbf4541e6",
                     request_spec=None):
        """An instance row (with system metadata rows, given as a dict or
        as [(key, value, deleted)]) and its mapping."""
        number = next(self._ids)
        with server_connection(self.cells[cell]) as conn:
            cur = conn.cursor()
            cur.execute(
                "INSERT INTO instances (created_at, updated_at, uuid, "
                "vm_state, image_ref, project_id, user_id, deleted) VALUES "
                "(%s, %s, %s, %s, %s, 'project', 'user', 0)",
                (SEEDED, SEEDED, uuid, vm_state, image_ref))
            rows = sysmeta.items() if isinstance(sysmeta, dict) \
                else (sysmeta or [])
            for row in rows:
                key, value, gone = (tuple(row) + (0,))[:3]
                cur.execute(
                    "INSERT INTO instance_system_metadata (created_at, "
                    "instance_uuid, `key`, value, deleted) VALUES "
                    "(%s, %s, %s, %s, %s)", (SEEDED, uuid, key, value, gone))
            if deleted:
                cur.execute("UPDATE instances SET deleted = id, deleted_at "
                            "= %s WHERE uuid = %s", (SEEDED, uuid))
        if mapped:
            with server_connection(self.api) as conn:
                cell_id = None if mapped == "unscheduled" \
                    else self.cell_id(cell)
                conn.cursor().execute(
                    "INSERT INTO instance_mappings (created_at, "
                    "instance_uuid, cell_id, project_id, user_id, "
                    "queued_for_delete) VALUES (%s, %s, %s, 'project', "
                    "'user', 0)", (SEEDED, uuid, cell_id))
        if request_spec is not None:
            with server_connection(self.api) as conn:
                conn.cursor().execute(
                    "INSERT INTO request_specs (created_at, instance_uuid, "
                    "spec) VALUES (%s, %s, %s)",
                    (SEEDED, uuid, request_spec))
        return number

    def execute(self, db, statement, params=()):
        with server_connection(self.db(db)) as conn:
            cur = conn.cursor()
            cur.execute(statement, params)
            return cur.fetchall()

    def db(self, role):
        return self.api if role == "api" else self.cells[role]

    def run(self, *args):
        return run_nmtool("--config-file", self.conf, *args)

    def sysmeta(self, uuid, cell="cell1"):
        """{key: (value, updated?)} of an instance's system metadata."""
        rows = self.execute(
            cell, "SELECT `key`, value, updated_at FROM "
            "instance_system_metadata WHERE instance_uuid = %s ORDER BY id",
            (uuid,))
        return {k: (v, u is not None and u > SEEDED) for k, v, u in rows}

    def instance_touched(self, uuid, cell="cell1"):
        (updated,), = self.execute(
            cell, "SELECT updated_at FROM instances WHERE uuid = %s",
            (uuid,))
        return updated > SEEDED

    def contents(self):
        """Rows of every database, keyed by role, with the timestamps a
        command wrote replaced by a marker (the two tools write at
        different seconds)."""
        out = {}
        for role in ["api"] + list(self.cells):
            tables = table_contents(self.db(role))
            out[role] = {
                table: sorted((tuple(_normal(v) for v in row)
                               for row in rows), key=repr)
                for table, rows in tables.items()}
        del out["api"]["cell_mappings"]  # the URLs name other databases
        return out

    def twin(self):
        """An identical copy of the whole deployment."""
        copy = Cloud.__new__(Cloud)
        copy.databases = self.databases
        copy.conf_file = self.conf_file
        copy._ids = iter(range(5000, 10000))
        copy.api = self.databases.create("api")
        copy_database(self.api, copy.api)
        copy.cells = {}
        for name, db in self.cells.items():
            copy.cells[name] = self.databases.create("main")
            copy_database(db, copy.cells[name])
            with server_connection(copy.api) as conn:
                conn.cursor().execute(
                    "UPDATE cell_mappings SET database_connection = %s "
                    "WHERE name = %s", (db_url(copy.cells[name]), name))
        copy.conf = self.conf_file(api=copy.api, main=copy.cells["cell1"])
        return copy


_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \d+ "
                       r"(ERROR|WARNING|CRITICAL) ")


def without_log_lines(text):
    """nova-manage's stdout minus its ERROR/WARNING log records (the
    traceback of an "Unexpected error" goes there too)."""
    return "".join(line for line in text.splitlines(True)
                   if not _LOG_LINE.match(line))


def _normal(value):
    if isinstance(value, datetime.datetime) and value > SEEDED:
        return "<written>"
    return value


@pytest.fixture
def cloud(databases, synced, conf_file):
    return Cloud(databases, synced, conf_file)


def mtype(value):
    return {"image_hw_machine_type": value}


# -- get_machine_type ------------------------------------------------------

def test_get_machine_type_codes(cloud):
    cloud.add_instance(uuid_of(1), sysmeta=mtype("pc-q35-5.2"))
    cloud.add_instance(uuid_of(2), sysmeta={"image_hw_disk_bus": "virtio"})
    cloud.add_instance(uuid_of(3), sysmeta=mtype(""))
    cloud.add_instance(uuid_of(4), mapped=False)
    cloud.add_instance(uuid_of(5), deleted=True, sysmeta=mtype("q35"))
    # A soft-deleted metadata row still counts, as in nova.
    cloud.add_instance(uuid_of(6), sysmeta=[
        ("image_hw_machine_type", "pc", 1)])
    # A bad value of another property makes nova's ImageMeta fail.
    cloud.add_instance(uuid_of(7), sysmeta={
        "image_hw_machine_type": "q35", "image_hw_disk_bus": "floppy-ish"})
    cloud.add_instance(uuid_of(8), sysmeta=mtype("virt"), cell="cell0")

    result = cloud.run("libvirt", "get_machine_type", uuid_of(1))
    assert (result.rc, result.out) == (0, "pc-q35-5.2\n")
    for n in (2, 3):
        result = cloud.run("libvirt", "get_machine_type", uuid_of(n))
        assert (result.rc, result.out) == (
            3, "No machine type registered for instance %s\n" % uuid_of(n))
    result = cloud.run("libvirt", "get_machine_type", uuid_of(4))
    assert (result.rc, result.out) == (
        2, "Instance %s has no mapping to a cell.\n" % uuid_of(4))
    result = cloud.run("libvirt", "get_machine_type", uuid_of(5))
    assert (result.rc, result.out) == (
        2, "Instance %s could not be found.\n" % uuid_of(5))
    result = cloud.run("libvirt", "get_machine_type", uuid_of(6))
    assert (result.rc, result.out) == (0, "pc\n")
    result = cloud.run("libvirt", "get_machine_type", uuid_of(7))
    assert (result.rc, result.out) == (
        1, "Unexpected error, see nova-manage.log for the full trace: "
           "Field value floppy-ish is invalid \n")
    result = cloud.run("libvirt", "get_machine_type", uuid_of(8))
    assert (result.rc, result.out) == (0, "virt\n")
    # Malformed uuids are looked up as given, like nova does.
    result = cloud.run("libvirt", "get_machine_type", "not-a-uuid")
    assert (result.rc, result.out, result.err) == (
        2, "Instance not-a-uuid has no mapping to a cell.\n", "")


def test_get_machine_type_unscheduled_reads_main_database(cloud):
    # No cell in the mapping: nova's untargeted context reads [database]
    # (cell1 here).
    cloud.add_instance(uuid_of(1), sysmeta=mtype("q35"), mapped="unscheduled")
    result = cloud.run("libvirt", "get_machine_type", uuid_of(1))
    assert (result.rc, result.out) == (0, "q35\n")


def test_get_machine_type_unreachable_cell_is_unexpected(cloud):
    cloud.add_instance(uuid_of(1), sysmeta=mtype("q35"))
    cloud.execute("api", "UPDATE cell_mappings SET database_connection = "
                  "'mysql+pymysql://root@127.0.0.1:1/nowhere' "
                  "WHERE name = 'cell1'")
    result = cloud.run("libvirt", "get_machine_type", uuid_of(1))
    assert result.rc == 1
    assert result.out.startswith("Unexpected error, see nova-manage.log for "
                                 "the full trace: ")
    assert "Traceback" not in result.out + result.err


# -- update_machine_type ----------------------------------------------------

UPDATES = [
    # (vm_state, existing, new, code)
    # vm_state rule, both ways
    ("stopped", None, "q35", 0),
    ("shelved", None, "q35", 0),
    ("shelved_offloaded", None, "q35", 0),
    ("active", None, "q35", 3),
    ("building", None, "q35", 3),
    (None, None, "q35", 3),
    # supported types, each pattern, and unsupported ones
    ("stopped", None, "pc", 0),
    ("stopped", None, "virt", 0),
    ("stopped", None, "s390-ccw-virtio", 0),
    ("stopped", None, "pc-1.0", 0),
    ("stopped", None, "pc-i440fx-5.2", 0),
    ("stopped", None, "pc-q35-5.2", 0),
    ("stopped", None, "virt-6.2", 0),
    ("stopped", None, "s390-ccw-virtio-6.0", 0),
    ("stopped", None, "pc-i440fx-rhel7.6.0", 0),
    ("stopped", None, "pc-q35-rhel8.2.0", 0),
    ("stopped", None, "pc-q35-5.2-suffix", 0),  # nova's patterns: no $
    ("stopped", None, "Q35", 5),
    ("stopped", None, "foo", 5),
    ("stopped", None, "pc-", 5),
    ("stopped", None, "q35-5.2", 5),
    # families and alias <-> versioned, both ways
    ("stopped", "pc", "q35", 4),
    ("stopped", "q35", "pc", 4),
    ("stopped", "q35", "pc-q35-5.2", 4),
    ("stopped", "pc-q35-5.2", "q35", 4),
    ("stopped", "pc-i440fx-5.2", "pc-q35-6.0", 4),
    ("stopped", "pc-q35-5.2", "pc-i440fx-6.0", 4),
    ("stopped", "virt-5.0", "s390-ccw-virtio-6.0", 4),
    ("stopped", "pc-q35-rhel8.2.0", "pc-q35-8.4", 4),
    # versions: up is allowed, down is not
    ("stopped", "pc-q35-5.2", "pc-q35-6.0", 0),
    ("stopped", "pc-q35-6.0", "pc-q35-5.2", 4),
    ("stopped", "pc-q35-5.2", "pc-q35-5.2.0", 0),
    ("stopped", "pc-q35-rhel8.2.0", "pc-q35-rhel8.4.0", 0),
    ("stopped", "pc-q35-rhel8.4.0", "pc-q35-rhel8.2.0", 4),
    ("stopped", "virt-6.2", "virt-6.10", 0),
    # the vm_state is checked before the type
    ("active", "pc-q35-6.0", "pc-q35-5.2", 3),
    # an unsupported stored type restricts nothing
    ("stopped", "foo", "q35", 0),
    # an empty stored type counts as none
    ("stopped", "", "pc", 0),
]


def test_update_machine_type_rules(cloud):
    # One instance per case, all in one deployment.
    for number, (vm_state, existing, _, _) in enumerate(UPDATES, 1):
        sysmeta = {"image_hw_disk_bus": "virtio"}
        if existing is not None:
            sysmeta.update(mtype(existing))
        cloud.add_instance(uuid_of(number), vm_state=vm_state,
                           sysmeta=sysmeta)
    for number, (vm_state, existing, new, code) in enumerate(UPDATES, 1):
        uuid = uuid_of(number)
        before = cloud.sysmeta(uuid)

        result = cloud.run("libvirt", "update_machine_type", uuid, new)

        messages = {
            0: "Updated instance %s machine type to %s (previously %s)\n" % (
                uuid, new, existing),
            3: "Instance %s in vm_state %s. Cannot update machine type. "
               "while the instance is in this state.\n" % (uuid, vm_state),
            4: "Cannot update machine type %s to %s.\n" % (existing, new),
            5: "Machine type %s is not supported.\n" % new,
        }
        case = (vm_state, existing, new)
        assert (result.rc, result.out, result.err) == (
            code, messages[code], ""), case
        after = cloud.sysmeta(uuid)
        if code:
            assert after == before, case
            assert not cloud.instance_touched(uuid), case
        else:
            assert after["image_hw_machine_type"] == (
                new, existing is not None), case
            assert after["image_hw_disk_bus"] == ("virtio", False), case
            assert cloud.instance_touched(uuid), case


def test_update_machine_type_same_type_writes_nothing(cloud):
    # Even in a state that forbids updates: nova returns before checking.
    cloud.add_instance(uuid_of(1), vm_state="active", sysmeta=mtype("q35"))
    result = cloud.run("libvirt", "update_machine_type", uuid_of(1), "q35")
    assert (result.rc, result.out) == (
        0, "Updated instance %s machine type to q35 (previously q35)\n"
        % uuid_of(1))
    assert cloud.sysmeta(uuid_of(1)) == {"image_hw_machine_type":
                                         ("q35", False)}
    assert not cloud.instance_touched(uuid_of(1))


def test_update_machine_type_force_skips_every_check(cloud):
    cloud.add_instance(uuid_of(1), vm_state="active",
                       sysmeta=mtype("pc-q35-6.0"))
    cloud.add_instance(uuid_of(2), vm_state="building")
    result = cloud.run("libvirt", "update_machine_type", uuid_of(1),
                       "pc-i440fx-1.0", "--force")
    assert (result.rc, result.out) == (
        0, "Forcing update of machine type.\nUpdated instance %s machine "
           "type to pc-i440fx-1.0 (previously pc-q35-6.0)\n" % uuid_of(1))
    assert cloud.sysmeta(uuid_of(1))["image_hw_machine_type"] == (
        "pc-i440fx-1.0", True)
    result = cloud.run("libvirt", "update_machine_type", "--force",
                       uuid_of(2), "anything")
    assert (result.rc, result.out) == (
        0, "Forcing update of machine type.\nUpdated instance %s machine "
           "type to anything (previously None)\n" % uuid_of(2))
    assert cloud.sysmeta(uuid_of(2)) == {"image_hw_machine_type":
                                         ("anything", False)}
    assert cloud.instance_touched(uuid_of(2))
    # --force does not find instances nova cannot find.
    result = cloud.run("libvirt", "update_machine_type", "--force",
                       uuid_of(99), "q35")
    assert (result.rc, result.out) == (
        2, "Forcing update of machine type.\nInstance %s has no mapping to "
           "a cell.\n" % uuid_of(99))


def test_update_machine_type_lookup_errors(cloud):
    cloud.add_instance(uuid_of(1), deleted=True)
    result = cloud.run("libvirt", "update_machine_type", uuid_of(1), "q35")
    assert (result.rc, result.out) == (
        2, "Instance %s could not be found.\n" % uuid_of(1))
    result = cloud.run("libvirt", "update_machine_type", "garbage", "q35")
    assert (result.rc, result.out) == (
        2, "Instance garbage has no mapping to a cell.\n")


def test_update_machine_type_version_without_number_is_unexpected(cloud):
    # pc-1x2 matches pc-1.2's pattern ("." is any character) but has no
    # version: nova fails with an IndexError, exit 1, nothing written.
    cloud.add_instance(uuid_of(1), sysmeta=mtype("pc-1.2"))
    result = cloud.run("libvirt", "update_machine_type", uuid_of(1), "pc-1x2")
    assert (result.rc, result.out) == (
        1, "Unexpected error, see nova-manage.log for the full trace: "
           "list index out of range \n")
    assert cloud.sysmeta(uuid_of(1)) == {"image_hw_machine_type":
                                         ("pc-1.2", False)}


def test_update_machine_type_duplicate_rows_are_merged(cloud):
    # Two rows for one key (the later value wins when read): nova's save
    # updates the first and deletes the second.
    cloud.add_instance(uuid_of(1), sysmeta=[
        ("image_hw_machine_type", "pc-q35-4.0"),
        ("image_hw_machine_type", "pc-q35-5.0")])
    result = cloud.run("libvirt", "update_machine_type", uuid_of(1),
                       "pc-q35-4.2")
    assert (result.rc, result.out) == (
        4, "Cannot update machine type pc-q35-5.0 to pc-q35-4.2.\n")
    result = cloud.run("libvirt", "update_machine_type", uuid_of(1),
                       "pc-q35-6.0")
    assert result.rc == 0
    rows = cloud.execute("cell1", "SELECT `key`, value FROM "
                         "instance_system_metadata WHERE instance_uuid = %s",
                         (uuid_of(1),))
    assert rows == (("image_hw_machine_type", "pc-q35-6.0"),)


# -- list_unset_machine_type ---------------------------------------------------

def test_list_unset_machine_type(cloud):
    cloud.add_instance(uuid_of(1), sysmeta=mtype("q35"))
    cloud.add_instance(uuid_of(2), vm_state="active")
    cloud.add_instance(uuid_of(3), vm_state="building")       # skipped
    cloud.add_instance(uuid_of(4), deleted=True)               # skipped
    cloud.add_instance(uuid_of(5), cell="cell0")               # skipped
    cloud.add_instance(uuid_of(6), vm_state=None,
                       sysmeta={"image_hw_disk_bus": "virtio"})
    cloud.add_instance(uuid_of(7), sysmeta=mtype(""))          # set, empty
    cloud.add_instance(uuid_of(8), mapped=False)               # listed
    result = cloud.run("libvirt", "list_unset_machine_type")
    expected = "".join(uuid_of(n) + "\n" for n in (2, 6, 8))
    assert (result.rc, result.out) == (3, expected)
    # --cell-uuid must name a cell, but nova lists all cells anyway.
    result = cloud.run("libvirt", "list_unset_machine_type", "--cell-uuid",
                       CELL0)
    assert (result.rc, result.out) == (3, expected)
    result = cloud.run("libvirt", "list_unset_machine_type",
                       "--cell-uuid=" + uuid_of(9))
    assert (result.rc, result.out) == (
        2, "Cell %s has no mapping.\n" % uuid_of(9))
    result = cloud.run("libvirt", "list_unset_machine_type", "--cell-uuid",
                       "bogus")
    assert (result.rc, result.out) == (2, "Cell bogus has no mapping.\n")


def test_list_unset_machine_type_reads_metadata_as_stored(cloud):
    """Each instance's metadata comes back as one JSON list: quotes,
    backslashes and non-ASCII text survive it, a key stored twice keeps
    its last row's value (a NULL one counts as unset, as in nova), and
    many instances sharing one image's metadata each get their answer."""
    awkward = {"image_os_distro": 'say "hi" \\ to \u00fc \u2713',
               "image_hw_disk_bus": "virtio"}
    cloud.add_instance(uuid_of(1), sysmeta=awkward)                # listed
    cloud.add_instance(uuid_of(2), sysmeta=dict(awkward, **mtype("q35")))
    cloud.add_instance(uuid_of(3), sysmeta=[                       # listed
        ("image_hw_machine_type", "q35"),
        ("image_hw_machine_type", None, 1)])
    cloud.add_instance(uuid_of(4), sysmeta=[
        ("image_hw_machine_type", None),
        ("image_hw_machine_type", "pc", 1)])
    for n in range(10, 40):
        cloud.add_instance(uuid_of(n),
                           sysmeta=awkward if n % 3 else mtype("pc"))
    result = cloud.run("libvirt", "list_unset_machine_type")
    expected = [1, 3] + [n for n in range(10, 40) if n % 3]
    assert (result.rc, result.out) == (
        3, "".join(uuid_of(n) + "\n" for n in expected))


def test_list_unset_machine_type_none_found(cloud):
    cloud.add_instance(uuid_of(1), sysmeta=mtype("q35"))
    cloud.add_instance(uuid_of(2), vm_state="building")
    result = cloud.run("libvirt", "list_unset_machine_type")
    assert (result.rc, result.out) == (
        0, "No instances found without hw_machine_type set.\n")


def test_list_unset_machine_type_bad_property_is_unexpected(cloud):
    cloud.add_instance(uuid_of(1), sysmeta={"image_hw_video_ram": "lots"})
    result = cloud.run("libvirt", "list_unset_machine_type")
    assert (result.rc, result.out) == (
        1, "Unexpected error, see nova-manage.log for the full trace: "
           "'ValueError' object is not iterable \n")


def _cells_with_unset_types(cloud, synced):
    """Four cells (mapped in an order their names do not sort in), each
    with instances that have a machine type and instances that have none;
    returns the unset ones in the order nova-manage's listing takes."""
    expected = []
    n = 100
    for index, name in enumerate(("cell1", "cell4", "cell2", "cell3")):
        if name != "cell1":
            cloud.add_cell(name, "%08d-1111-4111-8111-111111111111" % index,
                           synced("main"))
        for k in range(6):
            n += 1
            unset = k % 3 != 1
            cloud.add_instance(uuid_of(n), cell=name,
                               sysmeta=None if unset else mtype("q35"))
            if unset:
                expected.append(uuid_of(n))
    return expected


def test_list_unset_machine_type_jobs(cloud, synced):
    """--jobs 4 reads the cells at once; the listing, its order and the
    exit code are those of --jobs 1 (and of the default)."""
    expected = _cells_with_unset_types(cloud, synced)
    runs = [cloud.run("libvirt", "list_unset_machine_type", *jobs)
            for jobs in ([], ["--jobs", "1"], ["--jobs", "4"],
                         ["--jobs=16"])]
    for result in runs:
        assert (result.rc, result.out) == (
            3, "".join(u + "\n" for u in expected)), result
    as_json = cloud.run("libvirt", "list_unset_machine_type", "--jobs", "4",
                        "--format", "json")
    assert as_json.rc == 3
    assert json.loads(as_json.out) == {"instance_uuids": expected}


def test_list_unset_machine_type_jobs_fail_like_one_at_a_time(cloud,
                                                              synced):
    """A cell that cannot be read in the middle, and a bad property in a
    later cell: both runs report the first failure in cell order."""
    _cells_with_unset_types(cloud, synced)
    cloud.add_cell("gone", "99999999-1111-4111-8111-111111111111",
                   "nmt_no_such_database_here")
    cloud.add_cell("cell5", "88888888-1111-4111-8111-111111111111",
                   synced("main"))
    cloud.add_instance(uuid_of(900), cell="cell5",
                       sysmeta={"image_hw_video_ram": "lots"})
    message = ("Unexpected error, see nova-manage.log for the full trace: "
               "'DBNonExistentDatabase' object is not iterable \n")
    for jobs in ("1", "4"):
        result = cloud.run("libvirt", "list_unset_machine_type", "--jobs",
                           jobs)
        assert (result.rc, result.out) == (1, message), result


@pytest.mark.parametrize("value, reason", [
    ("0", "must be a positive integer"), ("-2", "must be a positive integer"),
    ("two", "invalid int value: 'two'"), ("1.5", "invalid int value: '1.5'"),
    ("", "invalid int value: ''")])
def test_list_unset_machine_type_bad_jobs(cloud, value, reason):
    cloud.add_instance(uuid_of(1))
    result = cloud.run("libvirt", "list_unset_machine_type", "--jobs", value)
    assert (result.rc, result.out) == (2, "")
    assert result.err == "nmtool: error: argument --jobs: %s\n" % reason


def test_usage_errors(cloud):
    result = cloud.run("libvirt", "update_machine_type", uuid_of(1))
    assert result.rc == 2 and result.out == ""
    result = cloud.run("libvirt", "get_machine_type")
    assert result.rc == 2
    result = cloud.run("libvirt", "list_unset_machine_type", "--cell-uuid")
    assert result.rc == 2


# -- against nova-manage 34.0.0 --------------------------------------------------

DIFF_COMMANDS = [
    ["get_machine_type", uuid_of(1)],
    ["get_machine_type", uuid_of(2)],
    ["get_machine_type", "not-a-uuid"],
    ["get_machine_type", uuid_of(4)],
    ["update_machine_type", uuid_of(1), "pc-q35-5.0"],       # 4: down
    ["update_machine_type", uuid_of(1), "q35"],              # 4: alias
    ["update_machine_type", uuid_of(1), "pc-q35-6.2"],       # 0
    ["update_machine_type", uuid_of(2), "q35"],              # 3: active
    ["update_machine_type", uuid_of(3), "pc-i440fx-2.0"],    # 0: none
    ["update_machine_type", uuid_of(3), "foo"],              # 5
    ["update_machine_type", uuid_of(2), "foo", "--force"],   # 0: forced
    ["update_machine_type", uuid_of(5), "pc-q35-6.0"],       # 0: duplicates
    ["update_machine_type", uuid_of(6), "pc-1x2"],           # 1
    ["list_unset_machine_type", "--cell-uuid", uuid_of(9)],  # 2
    ["list_unset_machine_type"],                             # 3
]


@pytest.mark.nova
def test_libvirt_commands_match_nova_manage(cloud, nova_manage):
    cloud.add_instance(uuid_of(1), sysmeta=mtype("pc-q35-6.0"))
    cloud.add_instance(uuid_of(2), vm_state="active")
    cloud.add_instance(uuid_of(3), vm_state="shelved_offloaded",
                       sysmeta={"image_hw_disk_bus": "virtio"})
    cloud.add_instance(uuid_of(4), deleted=True)
    cloud.add_instance(uuid_of(5), sysmeta=[
        ("image_hw_machine_type", "pc-q35-4.0"),
        ("image_hw_machine_type", "pc-q35-5.0", 1)])
    cloud.add_instance(uuid_of(6), sysmeta=mtype("pc-1.2"))
    cloud.add_instance(uuid_of(7), vm_state="building")
    cloud.add_instance(uuid_of(8), cell="cell0")
    twin = cloud.twin()
    for command in DIFF_COMMANDS:
        ours = cloud.run("libvirt", *command)
        theirs = nova_manage("--config-file", twin.conf, "libvirt", *command)
        assert (ours.rc, ours.out) == (
            theirs.rc, without_log_lines(theirs.out)), command
    assert cloud.contents() == twin.contents()
