"""db ironic_flavor_migration (the command of nova 22, Victoria, read in
its source) and db ironic_compute_node_move (nova 34.0.0).

The nova-marked tests run the reference next to nmtool on identical copies
of the same rows: nova-manage 34.0.0 for the move; for the flavor
migration, Victoria's command code run on nova 34.0.0's objects (whose
Flavor and Instance flavor handling are unchanged since Victoria), so the
embedded flavors are re-serialized by nova itself.
"""
import datetime
import json
import os
import subprocess

import pytest

from conftest import (NOVA_VENV, clean_nova_output, copy_database,
                      run_nmtool, server_connection, table_contents)

OLD = datetime.datetime(2020, 1, 1, 0, 0, 0)
NODE = ["1be26c0b-03f2-4d2e-ae87-c02d7f33c%03d" % i for i in range(20)]
INST = ["aaaaaaaa-0000-4000-8000-000000000%03d" % i for i in range(20)]


def flavor(specs=None, version="1.2", **extra):
    data = {"id": 6, "name": "baremetal", "memory_mb": 4096, "vcpus": 2,
            "root_gb": 40, "ephemeral_gb": 0, "flavorid": "bm-1", "swap": 0,
            "rxtx_factor": 1.0, "vcpu_weight": 0, "disabled": False,
            "is_public": True, "extra_specs": specs or {},
            "description": None, "created_at": "2017-06-01T10:00:00Z",
            "updated_at": None, "deleted_at": None, "deleted": False}
    data.update(extra)
    return {"nova_object.name": "Flavor", "nova_object.namespace": "nova",
            "nova_object.version": version, "nova_object.data": data}


def embedded(cur, old=None, new=None):
    return json.dumps({"cur": cur, "old": old, "new": new})


class Cell:
    """Rows of one cell database, inserted directly."""

    def __init__(self, name):
        self.name = name
        self.conn = server_connection(name)
        self.cur = self.conn.cursor()

    def service(self, host, forced_down=False, deleted=False,
                binary="nova-compute"):
        self.cur.execute(
            "INSERT INTO services (created_at, updated_at, host, `binary`, "
            "topic, report_count, disabled, deleted, forced_down, version) "
            "VALUES (%s, %s, %s, %s, 'compute', 0, 0, 0, %s, 66)",
            (OLD, OLD, host, binary, forced_down))
        sid = self.cur.lastrowid
        if deleted:
            self.cur.execute("UPDATE services SET deleted = id WHERE id = %s",
                             (sid,))
        return sid

    def node(self, uuid, host, service_id, hv_type="ironic", deleted=False,
             ratios=(1.0, 1.0, 1.0), hostname=None):
        self.cur.execute(
            "INSERT INTO compute_nodes (created_at, updated_at, service_id, "
            "host, uuid, hypervisor_hostname, vcpus, memory_mb, local_gb, "
            "vcpus_used, memory_mb_used, local_gb_used, hypervisor_type, "
            "hypervisor_version, cpu_info, cpu_allocation_ratio, "
            "ram_allocation_ratio, disk_allocation_ratio, deleted) VALUES "
            "(%s, %s, %s, %s, %s, %s, 1, 1, 1, 0, 0, 0, %s, 1, '', %s, %s, "
            "%s, 0)", (OLD, OLD, service_id, host, uuid, hostname or uuid,
                       hv_type) + tuple(ratios))
        nid = self.cur.lastrowid
        if deleted:
            self.cur.execute("UPDATE compute_nodes SET deleted = id "
                             "WHERE id = %s", (nid,))
        return nid

    def instance(self, uuid, host, node, flavor_text=None, deleted=False,
                 vm_state="active", hidden=False, extra=True):
        self.cur.execute(
            "INSERT INTO instances (created_at, updated_at, uuid, host, node,"
            " vm_state, hidden, deleted) VALUES (%s, %s, %s, %s, %s, %s, %s,"
            " 0)", (OLD, OLD, uuid, host, node, vm_state, hidden))
        if deleted:
            self.cur.execute("UPDATE instances SET deleted = id "
                             "WHERE uuid = %s", (uuid,))
        if extra:
            self.cur.execute(
                "INSERT INTO instance_extra (created_at, updated_at, "
                "instance_uuid, flavor, deleted) VALUES (%s, %s, %s, %s, 0)",
                (OLD, OLD, uuid, flavor_text))

    def one(self, query, *params):
        self.cur.execute(query, params)
        return self.cur.fetchone()

    def flavor_of(self, uuid):
        return self.one("SELECT flavor FROM instance_extra WHERE "
                        "instance_uuid = %s", uuid)[0]

    def extra_updated(self, uuid):
        return self.one("SELECT updated_at FROM instance_extra WHERE "
                        "instance_uuid = %s", uuid)[0]

    def close(self):
        self.conn.close()


@pytest.fixture
def cell(synced, conf_file):
    main = synced("main")
    c = Cell(main)
    c.conf = conf_file(main=main)
    yield c
    c.close()


def nmtool(cell, *args):
    return run_nmtool("--config-file", cell.conf, "db", *args)


def migrate(cell, *args):
    return nmtool(cell, "ironic_flavor_migration", *args)


def recent(value):
    return isinstance(value, datetime.datetime) and \
        value > datetime.datetime.utcnow() - datetime.timedelta(minutes=10)


# -- ironic_flavor_migration: arguments -------------------------------------

@pytest.mark.parametrize("args, rc, out", [
    (["--all", "--resource_class", ""], 3,
     "A resource_class is required for all modes of operation\n"),
    (["--all", "--host", "h", "--resource_class", "gold"], 3,
     "--all with --host and/or --node does not make sense\n"),
    (["--all", "--node", NODE[0], "--resource_class", "gold"], 3,
     "--all with --host and/or --node does not make sense\n"),
    (["--node", NODE[0], "--resource_class", "gold"], 3,
     "Either --all, --host, or --host and --node are required\n"),
    (["--resource_class", "gold"], 3,
     "Either --all, --host, or --host and --node are required\n"),
    (["--host", "nowhere", "--resource_class", "gold"], 1,
     "No ironic compute nodes found that match criteria\n"),
    (["--host", "h1", "--node", NODE[9], "--resource_class", "gold"], 1,
     "No ironic compute nodes found that match criteria\n"),
])
def test_flavor_migration_refusals(cell, args, rc, out):
    sid = cell.service("h1")
    cell.node(NODE[0], "h1", sid)
    cell.instance(INST[0], "h1", NODE[0], embedded(flavor()))
    before = table_contents(cell.name)
    result = migrate(cell, *args)
    assert (result.rc, result.out, result.err) == (rc, out, "")
    assert table_contents(cell.name) == before


def test_flavor_migration_needs_resource_class(cell):
    result = migrate(cell, "--all")
    assert result.rc == 2
    assert result.out == ""
    assert result.err.endswith(
        "error: the following arguments are required: --resource_class\n")


def test_flavor_migration_all_without_nodes(cell):
    result = migrate(cell, "--all", "--resource_class", "gold")
    assert (result.rc, result.out) == (
        1, "No ironic compute nodes found that match criteria\n")


def test_flavor_migration_first_node_not_ironic(cell):
    sid = cell.service("h1")
    cell.node(NODE[0], "h1", sid, hv_type="QEMU")
    cell.node(NODE[1], "h1", sid)
    cell.instance(INST[1], "h1", NODE[1], embedded(flavor()))
    before = table_contents(cell.name)
    result = migrate(cell, "--host", "h1", "--resource_class", "gold")
    assert (result.rc, result.out) == (
        1, "Compute node(s) specified is not of type ironic\n")
    assert table_contents(cell.name) == before


# -- ironic_flavor_migration: the migration ---------------------------------

def expected_cur(specs, changes=("extra_specs",), **extra):
    prim = flavor(specs, **extra)
    prim["nova_object.changes"] = list(changes)
    return prim


def test_flavor_migration_all_verbose(cell):
    s1, s2 = cell.service("h1"), cell.service("h2")
    cell.node(NODE[0], "h1", s1)
    cell.node(NODE[1], "h1", s1)
    cell.node(NODE[2], "h2", s2)                  # no instance
    cell.node(NODE[3], "h2", s2)                  # already migrated
    cell.node(NODE[10], "h2", s2, deleted=True,
              hostname=NODE[0])                # an old record of NODE[0]
    cell.node(NODE[4], "h2", s2, hv_type="QEMU")  # not ironic: not in --all
    cell.instance(INST[0], "h1", NODE[0], embedded(flavor({"a": "b"})))
    cell.instance(INST[1], "h1", NODE[1], embedded(flavor()))
    done = embedded(flavor({"resources:CUSTOM_GOLD": "1"}))
    cell.instance(INST[3], "h2", NODE[3], done)
    cell.instance(INST[4], "h2", NODE[4], embedded(flavor()))
    # Not counted, not migrated: deleted, soft-deleted, hidden instances.
    for uuid, kwargs in ((INST[5], {"deleted": True}),
                         (INST[6], {"vm_state": "soft-delete"}),
                         (INST[7], {"hidden": True})):
        cell.instance(uuid, "h2", NODE[2], embedded(flavor()), **kwargs)
    before = table_contents(cell.name)

    result = migrate(cell, "--all", "--resource_class", "gold", "--verbose")
    assert (result.rc, result.err) == (0, "")
    assert result.out == (
        "Migrated instance %s on node %s\n" % (INST[0], NODE[0])
        + "Migrated instance %s on node %s\n" % (INST[1], NODE[1]))
    assert json.loads(cell.flavor_of(INST[0])) == {
        "cur": expected_cur({"a": "b", "resources:CUSTOM_GOLD": "1"}),
        "old": None, "new": None}
    assert cell.flavor_of(INST[1]) == embedded(
        expected_cur({"resources:CUSTOM_GOLD": "1"}))
    assert recent(cell.extra_updated(INST[0]))
    assert recent(cell.extra_updated(INST[1]))
    after = table_contents(cell.name)
    for table in before:
        if table != "instance_extra":
            assert after[table] == before[table], table
    assert len(set(before["instance_extra"]) - set(after["instance_extra"])) \
        == 2  # only the rows of INST[0] and INST[1] changed

    again = migrate(cell, "--all", "--resource_class", "gold", "--verbose")
    assert (again.rc, again.out) == (0, "")
    assert table_contents(cell.name) == after


def test_flavor_migration_host_and_node_scope(cell):
    s1, s2 = cell.service("h1"), cell.service("h2")
    cell.node(NODE[0], "h1", s1)
    cell.node(NODE[1], "h1", s1)
    cell.node(NODE[2], "h2", s2)
    for i in range(3):
        cell.instance(INST[i], "h1", NODE[i], embedded(flavor()))
    result = migrate(cell, "--host", "h1", "--node", NODE[1],
                     "--resource_class", "gold")
    assert (result.rc, result.out) == (0, "")  # quiet without --verbose
    assert "CUSTOM_GOLD" in cell.flavor_of(INST[1])
    assert "CUSTOM_GOLD" not in cell.flavor_of(INST[0])
    result = migrate(cell, "--host", "h1", "--resource_class", "gold",
                     "--verbose")
    assert (result.rc, result.out) == (
        0, "Migrated instance %s on node %s\n" % (INST[0], NODE[0]))
    assert "CUSTOM_GOLD" not in cell.flavor_of(INST[2])


def test_flavor_migration_stops_at_a_crowded_node(cell):
    sid = cell.service("h1")
    for i in range(3):
        cell.node(NODE[i], "h1", sid)
    cell.instance(INST[0], "h1", NODE[0], embedded(flavor()))
    cell.instance(INST[1], "h1", NODE[1], embedded(flavor()))
    cell.instance(INST[2], "h1", NODE[1], embedded(flavor()))
    cell.instance(INST[3], "h1", NODE[2], embedded(flavor()))
    result = migrate(cell, "--host", "h1", "--resource_class", "gold",
                     "--verbose")
    assert result.rc == 2
    assert result.out == (
        "Migrated instance %s on node %s\n" % (INST[0], NODE[0])
        + "Ironic node %s has multiple instances? Something is wrong.\n"
        % NODE[1])
    assert "CUSTOM_GOLD" in cell.flavor_of(INST[0])
    for uuid in INST[1:4]:
        assert cell.flavor_of(uuid) == embedded(flavor())


def test_flavor_migration_stops_at_an_instance_without_flavor(cell):
    sid = cell.service("h1")
    for i in range(3):
        cell.node(NODE[i], "h1", sid)
    cell.instance(INST[0], "h1", NODE[0], embedded(flavor()))
    cell.instance(INST[1], "h1", NODE[1], None)
    cell.instance(INST[2], "h1", NODE[2], embedded(flavor()))
    result = migrate(cell, "--host", "h1", "--resource_class", "gold")
    assert result.rc == 255
    assert result.out == ""
    assert result.err == (
        "ERROR: Instance %s on node %s has no usable embedded flavor (no "
        "flavor in instance_extra); stopped before it\n" % (INST[1], NODE[1]))
    assert "CUSTOM_GOLD" in cell.flavor_of(INST[0])
    assert cell.flavor_of(INST[2]) == embedded(flavor())


def test_flavor_reserialized_as_nova_did(cell):
    """An old (1.1) primitive without disabled/is_public, with unknown and
    loosely typed values, a changes list, a description and an old flavor:
    nova's object layer rewrote all of it on save."""
    sid = cell.service("h1")
    cell.node(NODE[0], "h1", sid)
    cur = flavor({"capabilities:boot_mode": "uefi", "quota:x": 5},
                 version="1.1", rxtx_factor=1, memory_mb="4096",
                 created_at="2017-06-01T10:00:00.123456Z", bogus="x")
    for key in ("disabled", "is_public", "description"):
        del cur["nova_object.data"][key]
    cur["nova_object.changes"] = ["name", "nonsense"]
    old = flavor({}, description="small one", projects=["p1"])
    cell.instance(INST[0], "h1", NODE[0], embedded(cur, old))
    result = migrate(cell, "--host", "h1", "--resource_class",
                     "Baremetal-gold.v2")
    assert (result.rc, result.out) == (0, "")
    want_cur = flavor({"capabilities:boot_mode": "uefi", "quota:x": "5",
                       "resources:CUSTOM_BAREMETAL_GOLD_V2": "1"},
                      version="1.1")
    del want_cur["nova_object.data"]["description"]
    want_cur["nova_object.changes"] = ["name", "disabled", "is_public",
                                       "extra_specs"]
    want_old = flavor({}, projects=["p1"])
    data = want_old["nova_object.data"]
    data["projects"] = data.pop("projects")  # field order: after specs
    want_old["nova_object.data"] = {
        k: data[k] for k in ["id", "name", "memory_mb", "vcpus", "root_gb",
                             "ephemeral_gb", "flavorid", "swap",
                             "rxtx_factor", "vcpu_weight", "disabled",
                             "is_public", "extra_specs", "projects",
                             "description", "created_at", "updated_at",
                             "deleted_at", "deleted"]}
    want_old["nova_object.changes"] = ["projects"]
    assert cell.flavor_of(INST[0]) == embedded(want_cur, want_old)


def test_flavor_migration_fills_unset_allocation_ratios(cell):
    sid = cell.service("h1")
    cell.node(NODE[0], "h1", sid, ratios=(None, 0.0, 2.0))
    cell.node(NODE[1], "h1", sid, ratios=(None, None, None), deleted=True)
    with open(cell.conf, "a") as conf:
        conf.write("[DEFAULT]\ncpu_allocation_ratio = 8.0\n")
    result = migrate(cell, "--host", "h1", "--resource_class", "gold")
    assert (result.rc, result.out) == (0, "")
    row = cell.one("SELECT cpu_allocation_ratio, ram_allocation_ratio, "
                   "disk_allocation_ratio, updated_at FROM compute_nodes "
                   "WHERE uuid = %s AND deleted = 0", NODE[0])
    assert row[:3] == (8.0, 1.0, 2.0)
    assert recent(row[3])
    # deleted nodes are left alone
    assert cell.one("SELECT cpu_allocation_ratio, updated_at FROM "
                    "compute_nodes WHERE uuid = %s", NODE[1]) == (None, OLD)


# -- ironic_compute_node_move -------------------------------------------------

def move(cell, node, host):
    return nmtool(cell, "ironic_compute_node_move", "--ironic-node-uuid",
                  node, "--destination-host", host)


def move_setup(cell, instances=1, source_down=True, dest_down=False,
               source_deleted=False):
    src = cell.service("old-host", forced_down=source_down,
                       deleted=source_deleted)
    dst = cell.service("new-host", forced_down=dest_down)
    cell.node(NODE[0], "old-host", src)
    cell.node(NODE[1], "old-host", src)
    for i in range(instances):
        cell.instance(INST[i], "old-host", NODE[0], embedded(flavor()))
    cell.instance(INST[9], "old-host", NODE[1], embedded(flavor()))
    return src, dst


def test_move_node_and_instance(cell):
    src, dst = move_setup(cell)
    cell.instance(INST[8], "old-host", NODE[0], deleted=True)
    before = table_contents(cell.name)
    result = move(cell, NODE[0], "new-host")
    assert (result.rc, result.out, result.err) == (0, "", "")
    node = cell.one("SELECT host, service_id, updated_at FROM compute_nodes "
                    "WHERE uuid = %s", NODE[0])
    assert node[:2] == ("new-host", dst) and recent(node[2])
    inst = cell.one("SELECT host, node, updated_at FROM instances "
                    "WHERE uuid = %s", INST[0])
    assert inst[:2] == ("new-host", NODE[0]) and recent(inst[2])
    # the other node, its instance and the deleted instance stay
    assert cell.one("SELECT host, service_id FROM compute_nodes WHERE "
                    "uuid = %s", NODE[1]) == ("old-host", src)
    for uuid in (INST[9], INST[8]):
        assert cell.one("SELECT host FROM instances WHERE uuid = %s",
                        uuid) == ("old-host",)
    after = table_contents(cell.name)
    for table in before:
        if table not in ("compute_nodes", "instances"):
            assert after[table] == before[table], table


def test_move_node_without_instance(cell):
    src, dst = move_setup(cell, instances=0)
    result = move(cell, NODE[0], "new-host")
    assert (result.rc, result.out, result.err) == (0, "", "")
    assert cell.one("SELECT host, service_id FROM compute_nodes WHERE "
                    "uuid = %s", NODE[0]) == ("new-host", dst)


@pytest.mark.parametrize("setup, node, host, message", [
    ({}, NODE[0], "no-such-host", "Compute host no-such-host could not be "
     "found."),
    ({"dest_down": True}, NODE[0], "new-host",
     "Destination compute is forced down!"),
    ({}, "not-a-uuid", "new-host", "Compute host not-a-uuid could not be "
     "found."),
    ({}, NODE[7], "new-host", "Compute host %s could not be found." % NODE[7]),
    ({"source_down": False}, NODE[0], "new-host",
     "Source service is not yet forced down!"),
    ({"instances": 2}, NODE[0], "new-host",
     "Found an ironic host with more than one instance! Please delete all "
     "Nova instances that do not match the instance uuid recorded on the "
     "Ironic node."),
])
def test_move_refusals(cell, setup, node, host, message):
    move_setup(cell, **setup)
    before = table_contents(cell.name)
    result = move(cell, node, host)
    assert (result.rc, result.out, result.err) == (
        255, "", "ERROR: %s\n" % message)
    assert table_contents(cell.name) == before


def test_move_source_service_gone(cell):
    src, dst = move_setup(cell, source_deleted=True)
    before = table_contents(cell.name)
    result = move(cell, NODE[0], "new-host")
    assert (result.rc, result.out, result.err) == (
        255, "", "ERROR: Service %d could not be found.\n" % src)
    assert table_contents(cell.name) == before


def test_move_destination_must_be_a_live_compute_service(cell):
    move_setup(cell)
    cell.service("sched-host", binary="nova-scheduler")
    cell.service("gone-host", deleted=True)
    for host in ("sched-host", "gone-host"):
        result = move(cell, NODE[0], host)
        assert (result.rc, result.err) == (
            255, "ERROR: Compute host %s could not be found.\n" % host)


def test_move_missing_options(cell):
    move_setup(cell)
    result = nmtool(cell, "ironic_compute_node_move", "--ironic-node-uuid",
                    NODE[0])
    assert (result.rc, result.err) == (
        255, "ERROR: --destination-host is required\n")
    result = nmtool(cell, "ironic_compute_node_move", "--destination-host",
                    "new-host")
    assert (result.rc, result.err) == (
        255, "ERROR: --ironic-node-uuid is required\n")


# -- against the references ---------------------------------------------------

def normalized(contents):
    """Timestamps written by the run itself become "NOW"; embedded flavor
    JSON keeps its key order but its changes lists are sorted (nova writes
    a set, in hash order)."""
    def fix(value):
        if recent(value):
            return "NOW"
        if isinstance(value, str) and value.startswith('{"cur"'):
            return json.dumps(json.loads(value, object_hook=_sort_changes))
        return value
    return {table: sorted((tuple(fix(v) for v in row) for row in rows),
                          key=repr)
            for table, rows in contents.items()}


def _sort_changes(obj):
    if "nova_object.changes" in obj:
        obj["nova_object.changes"] = sorted(obj["nova_object.changes"])
    return obj


def twin(databases, cell, conf_file):
    copy = databases.create("main")
    copy_database(cell.name, copy)
    return copy, conf_file(main=copy)


def nova_error(stdout):
    """The exception line at the end of nova-manage's traceback."""
    lines = stdout.strip().splitlines()
    assert lines[0] == "An error has occurred:"
    return lines[-1].split(": ", 1)[1]


MOVE_CASES = [
    ("moved", {}, NODE[0], "new-host"),
    ("no instance", {"instances": 0}, NODE[0], "new-host"),
    ("unknown destination", {}, NODE[0], "nowhere"),
    ("destination down", {"dest_down": True}, NODE[0], "new-host"),
    ("unknown node", {}, "bogus", "new-host"),
    ("source up", {"source_down": False}, NODE[0], "new-host"),
    ("crowded", {"instances": 2}, NODE[0], "new-host"),
    ("source gone", {"source_deleted": True}, NODE[0], "new-host"),
]


@pytest.mark.nova
@pytest.mark.parametrize("case, setup, node, host", MOVE_CASES,
                         ids=[c[0] for c in MOVE_CASES])
def test_move_same_as_nova_manage(cell, databases, conf_file, nova_manage,
                                  case, setup, node, host):
    move_setup(cell, **setup)
    # unset ratios: loading the node fills them in, even when a later
    # check refuses the move
    cell.cur.execute("UPDATE compute_nodes SET cpu_allocation_ratio = NULL,"
                     " ram_allocation_ratio = 0 WHERE uuid = %s", (NODE[0],))
    copy, copy_conf = twin(databases, cell, conf_file)
    ref = nova_manage("--config-file", copy_conf, "db",
                      "ironic_compute_node_move", "--ironic-node-uuid", node,
                      "--destination-host", host)
    ours = move(cell, node, host)
    assert ours.rc == ref.rc
    if ref.rc == 0:
        assert (ours.out, ours.err) == (ref.out, "")
    else:
        assert ours.out == ""
        assert ours.err == "ERROR: %s\n" % nova_error(ref.out)
    assert normalized(table_contents(cell.name)) == \
        normalized(table_contents(copy))


# Victoria's DbCommands.ironic_flavor_migration and
# IronicDriver._pike_flavor_migration_for_node, on nova 34.0.0's objects.
VICTORIA_FLAVOR_MIGRATION = r'''
import sys
from nova import config, context, exception, objects, utils

conf, resource_class, host, node, all_hosts, verbose = sys.argv[1:7]
host, node = host or None, node or None
all_hosts, verbose = all_hosts == "1", verbose == "1"
config.parse_args(["nova-manage", "--config-file", conf])
objects.register_all()


def pike_flavor_migration_for_node(ctx, node_rc, instance_uuid):
    normalized_rc = utils.normalize_rc_name(node_rc)
    instance = objects.Instance.get_by_uuid(ctx, instance_uuid,
                                            expected_attrs=["flavor"])
    specs = instance.flavor.extra_specs
    resource_key = "resources:%s" % normalized_rc
    if resource_key in specs:
        return False
    specs[resource_key] = "1"
    instance.save()
    return True


def command():
    if not resource_class:
        print("A resource_class is required for all modes of operation")
        return 3
    ctx = context.get_admin_context()
    if all_hosts:
        if host or node:
            print("--all with --host and/or --node does not make sense")
            return 3
        cns = objects.ComputeNodeList.get_by_hypervisor_type(ctx, "ironic")
    elif host and node:
        try:
            cns = [objects.ComputeNode.get_by_host_and_nodename(ctx, host,
                                                                 node)]
        except exception.ComputeHostNotFound:
            cns = []
    elif host:
        try:
            cns = objects.ComputeNodeList.get_all_by_host(ctx, host)
        except exception.ComputeHostNotFound:
            cns = []
    else:
        print("Either --all, --host, or --host and --node are required")
        return 3
    if len(cns) == 0:
        print("No ironic compute nodes found that match criteria")
        return 1
    if cns[0].hypervisor_type != "ironic":
        print("Compute node(s) specified is not of type ironic")
        return 1
    for cn in cns:
        inst = objects.InstanceList.get_by_filters(
            ctx, {"node": cn.hypervisor_hostname, "deleted": False})
        if len(inst) > 1:
            print("Ironic node %s has multiple instances? "
                  "Something is wrong." % cn.hypervisor_hostname)
            return 2
        elif len(inst) == 1:
            result = pike_flavor_migration_for_node(ctx, resource_class,
                                                    inst[0].uuid)
            if result and verbose:
                print("Migrated instance %s on node %s" % (
                    inst[0].uuid, cn.hypervisor_hostname))
    return 0


sys.exit(command())
'''


def victoria_migrate(conf, resource_class, host="", node="", all_hosts=False,
                     verbose=False):
    python = os.path.join(NOVA_VENV, "bin", "python")
    proc = subprocess.run(
        [python, "-c", VICTORIA_FLAVOR_MIGRATION, conf, resource_class, host,
         node, "1" if all_hosts else "0", "1" if verbose else "0"],
        capture_output=True, text=True)
    return proc.returncode, clean_nova_output(proc.stdout), proc.stderr


@pytest.mark.nova
def test_flavor_migration_same_as_victoria_on_nova_objects(
        cell, databases, conf_file, nova_manage):
    s1, s2 = cell.service("h1"), cell.service("h2")
    cell.node(NODE[0], "h1", s1, ratios=(None, 0.0, 1.0))
    cell.node(NODE[1], "h1", s1)
    cell.node(NODE[2], "h2", s2)
    cell.node(NODE[3], "h2", s2)
    cell.node(NODE[4], "h2", s2)
    cell.node(NODE[10], "h2", s2, deleted=True, hostname=NODE[0])
    older = flavor({"capabilities:boot_mode": "uefi"}, version="1.1",
                   rxtx_factor=1, bogus=True)
    for key in ("disabled", "is_public", "description"):
        del older["nova_object.data"][key]
    older["nova_object.changes"] = ["name"]
    cell.instance(INST[0], "h1", NODE[0], embedded(older))
    cell.instance(INST[1], "h1", NODE[1], embedded(
        flavor(description="desc"), flavor({"x": "y"}, projects=["p"]),
        flavor({"z": "1"})))
    cell.instance(INST[2], "h2", NODE[2], embedded(
        flavor({"resources:CUSTOM_GOLD_1": "1"})))
    cell.instance(INST[3], "h2", NODE[3], embedded(flavor()))
    cell.instance(INST[4], "h2", NODE[3], embedded(flavor()),
                  vm_state="soft-delete")
    cell.instance(INST[5], "h2", NODE[4], embedded(flavor()))
    cell.instance(INST[6], "h2", NODE[4], embedded(flavor()))
    cell.instance(INST[7], "h2", NODE[4], embedded(flavor()), deleted=True)
    copy, copy_conf = twin(databases, cell, conf_file)
    runs = [dict(host="h1", node=NODE[1], verbose=True),
            dict(host="h2", verbose=True),       # stops at NODE[4]: 2
            dict(all_hosts=True, verbose=True),  # stops there too
            dict(host="nowhere")]
    for run in runs:
        ref = victoria_migrate(copy_conf, "gold-1", **run)
        args = ["--resource_class", "gold-1"]
        if run.get("all_hosts"):
            args.append("--all")
        if run.get("host"):
            args += ["--host", run["host"]]
        if run.get("node"):
            args += ["--node", run["node"]]
        if run.get("verbose"):
            args.append("--verbose")
        ours = migrate(cell, *args)
        assert (ours.rc, ours.out) == ref[:2], (run, ref)
        assert normalized(table_contents(cell.name)) == \
            normalized(table_contents(copy)), run
