"""A fast, seeded generator of realistic Nova data for archive tests and
benchmarks.

Each instance gets the child rows a real one accumulates: instance_extra,
info cache, system metadata, metadata, block device mappings, actions with
events, and for some faults, migrations, virtual interfaces and tags.
Deleted instances look the way nova leaves them: deleted = id, deleted_at
set, and most children soft-deleted with them (actions never are). There
are also soft-deleted rows in other tables (services, compute nodes with
PCI devices, stray block device mappings of live instances), task_log
rows, and the API database rows (instance_mappings, request_specs, server
group members).

    python benchmarks/novadata.py --api DB --main DB --instances 10000

Every value comes from a random.Random(seed), so the same arguments give
the same rows.
"""
import argparse
import datetime
import random
import uuid as uuidlib

import pymysql

EPOCH = datetime.datetime(2024, 1, 1)
# Deleted rows are spread over two years; tests cut with --before in the
# middle of that range.
SPLIT = datetime.datetime(2025, 1, 1)
CHUNK = 2000


def _uuid(rng):
    return str(uuidlib.UUID(int=rng.getrandbits(128), version=4))


def _when(rng, start=EPOCH, days=730):
    return start + datetime.timedelta(seconds=rng.randrange(days * 86400))


class Rows:
    """Collects rows per table and writes them with multi-row INSERTs."""

    def __init__(self, conn):
        self.conn = conn
        self.pending = {}
        # Children may be written before their parents' chunk is; the rows
        # are consistent by construction, so the checks are off meanwhile.
        conn.cursor().execute("SET SESSION FOREIGN_KEY_CHECKS = 0")

    def add(self, table, row):
        columns = tuple(row)
        key = (table, columns)
        self.pending.setdefault(key, []).append(tuple(row.values()))
        if len(self.pending[key]) >= CHUNK:
            self.flush_one(key)

    def flush_one(self, key):
        table, columns = key
        rows = self.pending.pop(key, [])
        if not rows:
            return
        statement = "INSERT INTO `%s` (%s) VALUES (%s)" % (
            table, ", ".join("`%s`" % c for c in columns),
            ", ".join(["%s"] * len(columns)))
        self.conn.cursor().executemany(statement, rows)
        # A chunk per transaction: a set of millions of rows never builds
        # one huge undo log (whose rollback, after a failure, would keep
        # the server busy for an hour).
        self.conn.commit()

    def flush(self):
        for key in list(self.pending):
            self.flush_one(key)
        self.conn.commit()


def generate(main, api, instances=100, deleted_fraction=0.6, seed=1,
             cell_uuid=None, id_offset=0):
    """Fill `main` (a cell DB) and `api` (pymysql connections, autocommit
    off) with `instances` instances. Returns a summary dict."""
    rng = random.Random(seed)
    rows = Rows(main)
    api_rows = Rows(api)
    stats = {"instances": instances, "deleted_instances": 0}

    cur = api.cursor()
    cell_uuid = cell_uuid or _uuid(rng)
    cur.execute("SELECT id FROM cell_mappings WHERE uuid = %s", (cell_uuid,))
    found = cur.fetchone()
    if found:
        cell_id = found[0]
    else:
        cur.execute("INSERT INTO cell_mappings (created_at, uuid, name, "
                    "transport_url, database_connection) VALUES "
                    "(%s, %s, %s, 'none:///', 'none:///')",
                    (EPOCH, cell_uuid, "gen-%s" % cell_uuid[:8]))
        cell_id = cur.lastrowid
    cur.execute("INSERT INTO instance_groups (created_at, uuid, name, "
                "project_id, user_id) VALUES (%s, %s, 'anti', 'p', 'u')",
                (EPOCH, _uuid(rng)))
    group_id = cur.lastrowid

    # Compute nodes and services; some deleted, with their PCI devices.
    nodes = max(2, instances // 50)
    for n in range(1, nodes + 1):
        node_id = id_offset + n
        deleted = rng.random() < 0.2
        deleted_at = _when(rng) if deleted else None
        rows.add("services", {
            "id": node_id, "created_at": EPOCH, "host": "cmp%05d" % node_id,
            "binary": "nova-compute", "topic": "compute", "report_count": 1,
            "deleted": node_id if deleted else 0, "deleted_at": deleted_at})
        rows.add("compute_nodes", {
            "id": node_id, "created_at": EPOCH, "service_id": node_id,
            "vcpus": 64, "memory_mb": 262144, "local_gb": 2000,
            "vcpus_used": 0, "memory_mb_used": 0, "local_gb_used": 0,
            "hypervisor_type": "QEMU", "hypervisor_version": 8002000,
            "cpu_info": "{}", "host": "cmp%05d" % node_id,
            "hypervisor_hostname": "cmp%05d" % node_id,
            "uuid": _uuid(rng), "deleted": node_id if deleted else 0,
            "deleted_at": deleted_at})
        for d in range(2):
            rows.add("pci_devices", {
                "created_at": EPOCH, "compute_node_id": node_id,
                "address": "0000:%02x:00.%d" % (n % 256, d),
                "product_id": "1572", "vendor_id": "8086",
                "dev_type": "type-PF", "label": "label_8086_1572",
                "status": "available", "deleted": 0, "uuid": _uuid(rng)})

    action_id = id_offset * 4
    for i in range(1, instances + 1):
        iid = id_offset + i
        uuid = _uuid(rng)
        created = _when(rng, EPOCH - datetime.timedelta(days=365), 365)
        deleted = rng.random() < deleted_fraction
        deleted_at = _when(rng) if deleted else None
        dval = iid if deleted else 0
        stats["deleted_instances"] += deleted
        project, user = "project-%d" % rng.randrange(50), "user-%d" % \
            rng.randrange(200)
        rows.add("instances", {
            "id": iid, "uuid": uuid, "created_at": created,
            "updated_at": deleted_at or created, "deleted_at": deleted_at,
            "deleted": dval, "user_id": user, "project_id": project,
            "host": "cmp%05d" % (id_offset + rng.randrange(1, nodes + 1)),
            "vm_state": "deleted" if deleted else "active",
            "power_state": 0 if deleted else 1, "memory_mb": 2048,
            "vcpus": 2, "root_gb": 20, "display_name": "vm-%d" % iid,
            "cleaned": 1 if deleted else 0})
        rows.add("instance_extra", {
            "created_at": created, "instance_uuid": uuid, "deleted": dval,
            "deleted_at": deleted_at,
            "flavor": '{"cur": {"nova_object.name": "Flavor"}}',
            "numa_topology": None})
        rows.add("instance_info_caches", {
            "created_at": created, "instance_uuid": uuid, "deleted": dval,
            "deleted_at": deleted_at, "network_info": "[]"})
        for key in ("image_base_image_ref", "image_disk_format",
                    "image_min_disk"):
            rows.add("instance_system_metadata", {
                "created_at": created, "instance_uuid": uuid, "key": key,
                "value": "v-%d" % rng.randrange(1000), "deleted": dval,
                "deleted_at": deleted_at})
        if rng.random() < 0.5:
            rows.add("instance_metadata", {
                "created_at": created, "instance_uuid": uuid, "key": "role",
                "value": "web", "deleted": dval, "deleted_at": deleted_at})
        for b in range(rng.choice((1, 1, 2))):
            rows.add("block_device_mapping", {
                "created_at": created, "instance_uuid": uuid,
                "device_name": "/dev/vd%s" % "ab"[b],
                "source_type": "image", "destination_type": "local",
                "boot_index": b if b == 0 else None, "uuid": _uuid(rng),
                "deleted": dval, "deleted_at": deleted_at})
        if not deleted and rng.random() < 0.05:
            # A detached volume: a soft-deleted mapping of a live instance.
            rows.add("block_device_mapping", {
                "created_at": created, "instance_uuid": uuid,
                "device_name": "/dev/vdz", "source_type": "volume",
                "destination_type": "volume", "uuid": _uuid(rng),
                "deleted": 1, "deleted_at": _when(rng)})
        for action in ("create", "delete") if deleted else ("create",):
            action_id += 1
            when = created if action == "create" else deleted_at
            rows.add("instance_actions", {
                "id": action_id, "created_at": when, "action": action,
                "instance_uuid": uuid, "request_id": "req-" + _uuid(rng),
                "user_id": user, "project_id": project, "start_time": when,
                "deleted": 0})
            for event in ("compute_%s" % action, "conductor_%s" % action):
                rows.add("instance_actions_events", {
                    "created_at": when, "event": event,
                    "action_id": action_id, "start_time": when,
                    "finish_time": when, "result": "Success", "deleted": 0})
        if rng.random() < 0.1:
            rows.add("instance_faults", {
                "created_at": created, "instance_uuid": uuid, "code": 500,
                "message": "NoValidHost", "details": "", "deleted": 0})
        if rng.random() < 0.1:
            rows.add("migrations", {
                "created_at": created, "instance_uuid": uuid,
                "source_compute": "a", "dest_compute": "b",
                "status": "confirmed", "migration_type": "resize",
                "uuid": _uuid(rng), "deleted": dval,
                "deleted_at": deleted_at})
        if rng.random() < 0.7:
            rows.add("virtual_interfaces", {
                "created_at": created, "instance_uuid": uuid,
                # unique per instance: addresses are a unique key
                "address": "fa:16:%02x:%02x:%02x:%02x" % (
                    iid >> 24 & 255, iid >> 16 & 255, iid >> 8 & 255,
                    iid & 255),
                "uuid": _uuid(rng), "deleted": dval,
                "deleted_at": deleted_at})
        if rng.random() < 0.2:
            rows.add("tags", {"resource_id": uuid, "tag": "tier-a"})
        api_rows.add("instance_mappings", {
            "created_at": created, "instance_uuid": uuid,
            "cell_id": cell_id, "project_id": project, "user_id": user,
            "queued_for_delete": 1 if deleted else 0})
        api_rows.add("request_specs", {
            "created_at": created, "instance_uuid": uuid,
            "spec": '{"nova_object.name": "RequestSpec"}'})
        if rng.random() < 0.2:
            api_rows.add("instance_group_member", {
                "created_at": created, "instance_uuid": uuid,
                "group_id": group_id})

    periods = set()
    for t in range(max(1, instances // 100)):
        begin = _when(rng)
        # (task, host, period) is unique in task_log: a drawn period that
        # is taken already moves on a second (no extra draw, so smaller
        # sets, where no two collide, keep their rows)
        while begin in periods:
            begin += datetime.timedelta(seconds=1)
        periods.add(begin)
        rows.add("task_log", {
            "created_at": begin, "updated_at": begin,
            "task_name": "instance_usage_audit", "state": "DONE",
            "host": "cmp%05d" % (id_offset + 1), "period_beginning": begin,
            "period_ending": begin + datetime.timedelta(hours=1),
            "message": "ok", "deleted": 0})
    rows.flush()
    api_rows.flush()
    return stats


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--main", required=True, help="cell database name")
    parser.add_argument("--api", required=True, help="API database name")
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--deleted-fraction", type=float, default=0.6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--user", default="root")
    parser.add_argument("--password", default="")
    opts = parser.parse_args()
    connect = dict(host=opts.host, user=opts.user, password=opts.password,
                   charset="utf8")
    main_conn = pymysql.connect(database=opts.main, **connect)
    api_conn = pymysql.connect(database=opts.api, **connect)
    print(generate(main_conn, api_conn, opts.instances,
                   opts.deleted_fraction, opts.seed))


if __name__ == "__main__":
    main()
