"""A seeded cell for `db online_data_migrations` benchmarks: a cloud
upgraded from before 2023.2, where no instance points at its compute
node by id yet (every instance needs `populate_instance_compute_id`).

    python benchmarks/odm_data.py --api DB --main DB --instances 100000

What a cell of that age holds besides, so that every other migration
has its usual, mostly empty, work too:

- `--nodes` compute nodes with their services (host and node name
  `cmpNNNNN`); a tenth of them deleted (decommissioned hosts, kept as
  rows), whose allocation ratios are empty (NULL), as nodes of that age
  left them; the live ones have their ratios.
- The instances, spread at random over the nodes, a fifth of them
  deleted (deleted = id); live ones sit on live nodes. Each has an
  availability zone (set since Pike: its host's aggregate zone, else
  "nova"), an info cache with one or two ports in nova's network info
  form, and the matching virtual interfaces, except one live instance in
  200, whose list misses its last interface (the pre-Newton case that
  `fill_virtual_interface_list` rebuilds). Deleted instances' caches and
  interfaces are soft-deleted with them.
- Ten deleted instances on a host that has no node row left (archived):
  nova logs them as not found on every batch that reaches them.
- The API database: instance mappings (cell, owner and queued_for_delete
  set), and two aggregates with a zone holding a tenth of the hosts.

Every value comes from random.Random(seed): the same arguments give the
same rows.
"""
import argparse
import datetime
import json
import random
import uuid as uuidlib

import pymysql

from novadata import Rows

EPOCH = datetime.datetime(2022, 1, 1)
ZONES = ("az-east", "az-west")
LOST_HOST = "cmp-archived"
LOST = 10


def _uuid(rng):
    return str(uuidlib.UUID(int=rng.getrandbits(128), version=4))


def _mac(n):
    """The n-th MAC address: unique, as the interfaces' (address,
    deleted) key wants among live ones."""
    return "fa:16:%02x:%02x:%02x:%02x" % (n >> 24 & 255, n >> 16 & 255,
                                          n >> 8 & 255, n & 255)


def _network_info(ports):
    """The network info nova caches for an instance: one entry per port
    (id, MAC, network, fixed IP), about 600 bytes each."""
    return json.dumps([{
        "id": port, "address": mac, "type": "ovs",
        "devname": "tap" + port[:11], "ovs_interfaceid": port,
        "vnic_type": "normal", "active": True, "preserve_on_delete": False,
        "details": {"port_filter": True, "ovs_hybrid_plug": False,
                    "datapath_type": "system", "bridge_name": "br-int"},
        "profile": {}, "qbh_params": None, "qbg_params": None, "meta": {},
        "network": {"id": net, "bridge": "br-int", "label": "private",
                    "meta": {"injected": False, "tenant_id": "project",
                             "mtu": 1450, "physical_network": None,
                             "tunneled": True},
                    "subnets": [{"cidr": "10.0.0.0/16", "dns": [],
                                 "gateway": {"address": "10.0.0.1",
                                             "type": "gateway",
                                             "version": 4, "meta": {}},
                                 "ips": [{"address": ip, "type": "fixed",
                                          "version": 4, "meta": {},
                                          "floating_ips": []}],
                                 "routes": [], "version": 4,
                                 "meta": {"enable_dhcp": True}}]}}
        for port, mac, net, ip in ports])


def generate(main, api, instances=100000, nodes=100, seed=1,
             cell_uuid=None, main_url=None, cell0_url=None):
    """Fill `main` (the cell database) and `api` (pymysql connections,
    autocommit off, both synced and empty). Returns a summary dict."""
    rng = random.Random(seed)
    rows, api_rows = Rows(main), Rows(api)
    stats = {"instances": instances, "deleted_instances": 0,
             "nodes": nodes, "deleted_nodes": 0, "short_vif_lists": 0,
             "ports": 0}
    cur = api.cursor()
    cur.execute("INSERT INTO cell_mappings (created_at, uuid, name, "
                "transport_url, database_connection, disabled) VALUES "
                "(%s, '00000000-0000-0000-0000-000000000000', 'cell0', "
                "'none:///', %s, 0)", (EPOCH, cell0_url or "none:///"))
    cell_uuid = cell_uuid or _uuid(rng)
    cur.execute("INSERT INTO cell_mappings (created_at, uuid, name, "
                "transport_url, database_connection, disabled) VALUES "
                "(%s, %s, 'cell1', 'rabbit://g:g@127.0.0.1:5672/', %s, 0)",
                (EPOCH, cell_uuid, main_url or "none:///"))
    cell_id = cur.lastrowid

    hosts, live_hosts, zone_of = [], [], {}
    for n in range(1, nodes + 1):
        host = "cmp%05d" % n
        deleted = rng.random() < 0.1
        stats["deleted_nodes"] += deleted
        deleted_at = EPOCH + datetime.timedelta(days=rng.randrange(700)) \
            if deleted else None
        ratios = (None, None, None) if deleted else (16.0, 1.5, 1.0)
        rows.add("services", {
            "id": n, "created_at": EPOCH, "host": host,
            "binary": "nova-compute", "topic": "compute", "report_count": 1,
            "disabled": 0, "deleted": n if deleted else 0,
            "deleted_at": deleted_at, "version": 61, "forced_down": 0})
        rows.add("compute_nodes", {
            "id": n, "created_at": EPOCH, "service_id": n, "vcpus": 64,
            "memory_mb": 262144, "local_gb": 2000, "vcpus_used": 0,
            "memory_mb_used": 0, "local_gb_used": 0,
            "hypervisor_type": "QEMU", "hypervisor_version": 6002000,
            "cpu_info": "{}", "host": host, "hypervisor_hostname": host,
            "uuid": _uuid(rng), "mapped": 1,
            "cpu_allocation_ratio": ratios[0],
            "ram_allocation_ratio": ratios[1],
            "disk_allocation_ratio": ratios[2],
            "deleted": n if deleted else 0, "deleted_at": deleted_at})
        hosts.append(host)
        if not deleted:
            live_hosts.append(host)
        if n % 10 == 0:
            zone_of[host] = ZONES[n // 10 % 2]

    for zone in ZONES:
        cur.execute("INSERT INTO aggregates (created_at, uuid, name) "
                    "VALUES (%s, %s, %s)", (EPOCH, _uuid(rng), zone))
        agg = cur.lastrowid
        cur.execute("INSERT INTO aggregate_metadata (created_at, "
                    "aggregate_id, `key`, value) VALUES (%s, %s, "
                    "'availability_zone', %s)", (EPOCH, agg, zone))
        for host in sorted(h for h, z in zone_of.items() if z == zone):
            cur.execute("INSERT INTO aggregate_hosts (created_at, host, "
                        "aggregate_id) VALUES (%s, %s, %s)",
                        (EPOCH, host, agg))

    for iid in range(1, instances + LOST + 1):
        lost = iid > instances
        uuid = _uuid(rng)
        created = EPOCH + datetime.timedelta(seconds=rng.randrange(
            700 * 86400))
        deleted = lost or rng.random() < 0.2
        stats["deleted_instances"] += deleted
        host = LOST_HOST if lost else rng.choice(
            hosts if deleted else live_hosts)
        deleted_at = created + datetime.timedelta(days=1) if deleted \
            else None
        dval = iid if deleted else 0
        project, user = "project-%d" % rng.randrange(50), \
            "user-%d" % rng.randrange(300)
        rows.add("instances", {
            "id": iid, "uuid": uuid, "created_at": created,
            "updated_at": deleted_at or created, "deleted_at": deleted_at,
            "deleted": dval, "user_id": user, "project_id": project,
            "host": host, "node": host,
            "availability_zone": zone_of.get(host, "nova"),
            "vm_state": "deleted" if deleted else "active",
            "power_state": 0 if deleted else 1, "memory_mb": 2048,
            "vcpus": 2, "root_gb": 20, "display_name": "vm-%d" % iid,
            "launched_on": host, "cleaned": 1 if deleted else 0,
            "hidden": 0})
        ports = []
        for _ in range(rng.choice((1, 1, 1, 2))):
            stats["ports"] += 1
            ports.append((_uuid(rng), _mac(stats["ports"]), _uuid(rng),
                          "10.0.%d.%d" % (rng.randrange(256),
                                          rng.randrange(1, 255))))
        rows.add("instance_info_caches", {
            "created_at": created, "instance_uuid": uuid,
            "network_info": _network_info(ports), "deleted": dval,
            "deleted_at": deleted_at})
        listed = ports
        if not deleted and rng.random() < 0.005:
            listed = ports[:-1]
            stats["short_vif_lists"] += 1
        for p, (port, mac, net, _) in enumerate(listed):
            rows.add("virtual_interfaces", {
                "created_at": created + datetime.timedelta(seconds=p),
                "address": mac, "uuid": port, "instance_uuid": uuid,
                "network_id": None, "tag": None, "deleted": 0 if not deleted
                else None, "deleted_at": deleted_at})
        api_rows.add("instance_mappings", {
            "created_at": created, "instance_uuid": uuid,
            "cell_id": cell_id, "project_id": project, "user_id": user,
            "queued_for_delete": 1 if deleted else 0})
    rows.flush()
    api_rows.flush()
    # Soft-deleted interfaces take their own id in `deleted`, as nova's
    # soft delete leaves them; the generator cannot know the ids before.
    cur = main.cursor()
    cur.execute("UPDATE virtual_interfaces SET deleted = id "
                "WHERE deleted IS NULL")
    main.commit()
    api.commit()
    return stats


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--main", required=True, help="cell database name")
    parser.add_argument("--api", required=True, help="API database name")
    parser.add_argument("--instances", type=int, default=100000)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3316)
    parser.add_argument("--user", default="root")
    parser.add_argument("--password", default="")
    opts = parser.parse_args()
    connect = dict(host=opts.host, port=opts.port, user=opts.user,
                   password=opts.password, charset="utf8")
    print(generate(pymysql.connect(database=opts.main, **connect),
                   pymysql.connect(database=opts.api, **connect),
                   opts.instances, opts.nodes, opts.seed))


if __name__ == "__main__":
    main()
