"""Small, hand-built deployments for db online_data_migrations: an API
database, cell0 and one cell (also [database]), with rows that give each
of nova 34.0.0's online migrations work of every kind it handles."""
import re

from conftest import db_url, server_connection

CELL0 = "00000000-0000-0000-0000-000000000000"
CELL1 = "c1c1c1c1-0000-4000-8000-000000000001"
FAKE = CELL0
UUID4 = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
T0 = "2020-01-01 00:00:00"


def inst_uuid(n):
    return "11111111-0000-4000-8000-%012d" % n


def port(n):
    return "aaaaaaaa-0000-4000-8000-%012d" % n


def mac(n):
    return "fa:16:3e:00:00:%02x" % n


class Deployment:
    def __init__(self, api, main, cell0):
        self.api, self.main, self.cell0 = api, main, cell0

    def conf(self, conf_file, extra=""):
        return conf_file(api=self.api, main=self.main, extra=extra)

    def roles(self):
        return {"api": self.api, "main": self.main, "cell0": self.cell0}


def insert(conn, table, **values):
    cur = conn.cursor()
    cur.execute("INSERT INTO `%s` (%s) VALUES (%s)" % (
        table, ", ".join("`%s`" % k for k in values),
        ", ".join(["%s"] * len(values))), list(values.values()))
    return cur.lastrowid


def map_cells(api, main, cell0):
    with server_connection(api) as conn:
        insert(conn, "cell_mappings", created_at=T0, uuid=CELL0,
               name="cell0", transport_url="none:///",
               database_connection=db_url(cell0), disabled=0)
        insert(conn, "cell_mappings", created_at=T0, uuid=CELL1,
               name="cell1", transport_url="rabbit://x",
               database_connection=db_url(main), disabled=0)


def empty_deployment(synced):
    dep = Deployment(synced("api"), synced("main"), synced("main"))
    map_cells(dep.api, dep.main, dep.cell0)
    return dep


def instance(conn, n, **values):
    row = dict(created_at="2020-01-01 00:%02d:%02d" % divmod(n, 60), uuid=inst_uuid(n),
               project_id="p1", user_id="u%d" % n, deleted=0,
               vm_state="active", hidden=0)
    row.update(values)
    row_id = insert(conn, "instances", **row)
    if row["deleted"]:
        conn.cursor().execute("UPDATE instances SET deleted = id "
                              "WHERE id = %s", (row_id,))
    return row_id


def info_cache(conn, n, ports):
    network_info = None if ports is None else "[%s]" % ", ".join(
        '{"id": "%s", "address": "%s"}' % (port(p), mac(p)) for p in ports)
    insert(conn, "instance_info_caches", created_at=T0,
           instance_uuid=inst_uuid(n), network_info=network_info, deleted=0)


def vif(conn, n, p, tag=None, created="2020-01-01 00:00:00"):
    insert(conn, "virtual_interfaces", created_at=created,
           address="%s/%s" % (mac(p), port(p)), uuid=port(p),
           instance_uuid=inst_uuid(n), tag=tag, deleted=0)


def node(conn, host, name, cpu=16.0, ram=1.5, disk=1.0, deleted=0,
         uuid=""):
    if uuid == "":
        uuid = "44444444-0000-4000-8000-%012d" % int(name[1:])
    row_id = insert(conn, "compute_nodes", created_at=T0, host=host,
                    hypervisor_hostname=name, vcpus=8, memory_mb=1024,
                    local_gb=10, vcpus_used=0, memory_mb_used=0,
                    local_gb_used=0, hypervisor_type="qemu",
                    hypervisor_version=1, cpu_info="{}", deleted=0,
                    cpu_allocation_ratio=cpu, ram_allocation_ratio=ram,
                    disk_allocation_ratio=disk, uuid=uuid, mapped=0)
    if deleted:
        conn.cursor().execute("UPDATE compute_nodes SET deleted = id, "
                              "deleted_at = %s WHERE id = %s", (T0, row_id))
    return row_id


def quotas(main, api):
    """Limits and classes in the cell database, one of each kind."""
    insert(main, "quotas", created_at=T0, project_id="p1",
           resource="instances", hard_limit=10, deleted=0)
    insert(main, "quotas", created_at=T0, project_id="p1",
           resource="cores", hard_limit=20, deleted=0)
    insert(main, "quotas", created_at=T0, project_id="p2", resource="ram",
           hard_limit=4096, deleted=0)
    gone = insert(main, "quotas", created_at=T0, project_id="p3",
                  resource="ram", hard_limit=1, deleted=0)
    main.cursor().execute("UPDATE quotas SET deleted = id, deleted_at = %s "
                          "WHERE id = %s", (T0, gone))
    insert(main, "project_user_quotas", created_at=T0, project_id="p1",
           user_id="u1", resource="instances", hard_limit=5, deleted=0)
    # A per-project resource given per user goes to the per-project table.
    insert(main, "project_user_quotas", created_at=T0, project_id="p4",
           user_id="u1", resource="floating_ips", hard_limit=3, deleted=0)
    insert(main, "quota_classes", created_at=T0, class_name="default",
           resource="instances", hard_limit=10, deleted=0)
    insert(main, "quota_classes", created_at=T0, class_name="default",
           resource="cores", hard_limit=20, deleted=0)


def uuids(main):
    """migrations, block device mappings and PCI devices without uuids."""
    instance(main, 90, host=None, availability_zone="az0")
    for n in range(3):
        insert(main, "migrations", created_at=T0, instance_uuid=inst_uuid(90),
               source_compute="h1", dest_compute="h2", status="done",
               old_instance_type_id=1, new_instance_type_id=n % 2 + 1,
               deleted=0, hidden=0)
    insert(main, "migrations", created_at=T0, instance_uuid=inst_uuid(90),
           status="done", deleted=0, uuid="22222222-0000-4000-8000-000000000001")
    gone = insert(main, "migrations", created_at=T0, status="done",
                  instance_uuid=inst_uuid(90), deleted=0)
    main.cursor().execute("UPDATE migrations SET deleted = id WHERE id = %s",
                          (gone,))
    for n in range(4):
        insert(main, "block_device_mapping", created_at=T0,
               instance_uuid=inst_uuid(90), device_name="/dev/vd%s" % "abcd"[n],
               source_type="volume", destination_type="volume",
               deleted=n if n == 3 else 0)
    insert(main, "block_device_mapping", created_at=T0,
           instance_uuid=inst_uuid(90), device_name="/dev/vde",
           deleted=0, uuid="33333333-0000-4000-8000-000000000001")
    cn = node(main, "h9", "n9", uuid="44444444-0000-4000-8000-000000000009")
    main.cursor().execute("UPDATE instances SET host = 'h9', node = 'n9', "
                          "compute_id = %s WHERE uuid = %s",
                          (cn, inst_uuid(90)))
    for n in range(3):
        insert(main, "pci_devices", created_at=T0, compute_node_id=cn,
               address="0000:00:0%d.0" % n, product_id="p", vendor_id="v",
               dev_type="type-PCI", dev_id="pci_%d" % n, label="l", status="available",
               extra_info="{}", deleted=0)
    insert(main, "pci_devices", created_at=T0, compute_node_id=cn,
           address="0000:00:09.0", product_id="p", vendor_id="v",
           dev_type="type-PCI", dev_id="pci_9", label="l", status="available",
           extra_info="{}", deleted=0, uuid="55555555-0000-4000-8000-000000000001")


def instances_and_nodes(main, api, cell0):
    """Availability zones, compute ids, allocation ratios, instance
    mappings (queued_for_delete and user_id) and interface lists."""
    n1 = node(main, "h1", "n1")
    node(main, "h2", "n2", cpu=None, ram=0.0)          # empty ratios
    node(main, "h3", "n3", cpu=None, disk=None, deleted=1)  # deleted, empty
    node(main, "h4", "n4", cpu=0.0, ram=None, disk=0.0)
    # 1: zone from its aggregate; vifs shorter than the cache.
    instance(main, 1, host="h1", node="n1")
    info_cache(main, 1, [1, 2])
    vif(main, 1, 1, tag="t1")
    # 2: default zone; vifs in another order than the cache.
    instance(main, 2, host="h2", node="n2")
    info_cache(main, 2, [3, 4])
    vif(main, 2, 4, created="2020-01-01 00:00:00")
    vif(main, 2, 3, tag="t3", created="2020-01-01 00:00:01")
    # 3: no host: no zone, no compute node; vifs match the cache.
    instance(main, 3, host=None, node=None)
    info_cache(main, 3, [5])
    vif(main, 3, 5)
    # 4: deleted, on a deleted node (found by compute_id, ratios filled).
    instance(main, 4, host="h3", node="n3", deleted=1)
    # 5: soft-deleted; more vifs than the cache: left alone.
    instance(main, 5, host="h1", node="n1", vm_state="soft-delete")
    info_cache(main, 5, [6])
    vif(main, 5, 6)
    vif(main, 5, 7)
    # 6: no info cache; 7: empty network info; 8: NULL network info.
    instance(main, 6, host="h1", node="n1", availability_zone="az1",
             compute_id=n1)
    instance(main, 7, host="h1", node="n1", availability_zone="az1",
             compute_id=n1)
    info_cache(main, 7, [])
    instance(main, 8, host="h4", node="n4", availability_zone="zz")
    info_cache(main, 8, None)
    # 9: hidden, deleted.
    instance(main, 9, host="h1", node="n1", hidden=1, deleted=1)
    # 10: live, 3 ports in the cache, 1 in the DB, later created.
    instance(main, 10, host="h1", node="n1",
             created_at="2020-01-02 00:00:00")
    info_cache(main, 10, [8, 9, 10])
    vif(main, 10, 9, tag="keep")

    agg = insert(api, "aggregates", created_at=T0,
                 uuid="66666666-0000-4000-8000-000000000001", name="agg1")
    insert(api, "aggregate_hosts", created_at=T0, host="h1",
           aggregate_id=agg)
    insert(api, "aggregate_metadata", created_at=T0, aggregate_id=agg,
           key="availability_zone", value="az1")
    cur = api.cursor()
    cur.execute("SELECT id, uuid FROM cell_mappings")
    cell_ids = {uuid: cell_id for cell_id, uuid in cur.fetchall()}
    for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 90):
        insert(api, "instance_mappings", created_at=T0,
               instance_uuid=inst_uuid(n), cell_id=cell_ids[CELL1],
               project_id="p1")
    # In cell0, where no instance row exists: not deleted, no user.
    instance(cell0, 40, host=None, deleted=1)
    insert(api, "instance_mappings", created_at=T0,
           instance_uuid=inst_uuid(40), cell_id=cell_ids[CELL0],
           project_id="p1")
    insert(api, "instance_mappings", created_at=T0,
           instance_uuid=inst_uuid(41), cell_id=cell_ids[CELL0],
           project_id="p1")
    # Not in a cell yet; and the fake instance's mapping.
    insert(api, "instance_mappings", created_at=T0,
           instance_uuid=inst_uuid(42), cell_id=None, project_id="p1")
    insert(api, "instance_mappings", created_at=T0,
           instance_uuid=inst_uuid(43), cell_id=cell_ids[CELL1],
           project_id=FAKE)
    # Already migrated.
    insert(api, "instance_mappings", created_at=T0,
           instance_uuid=inst_uuid(44), cell_id=cell_ids[CELL1],
           project_id="p1", queued_for_delete=0, user_id="u44")


def node_uuid(n):
    return "44444444-0000-4000-8000-%012d" % n


def lookup_edges(main, api):
    """Instances whose compute node or zone is found the unusual way:
    duplicate node rows, names in another case, NULL host or node names,
    no node at all; hosts in several aggregates, in none with a zone, or
    stored there in another case."""
    # An older deleted row and a live one of the same host and node: the
    # older one wins, and its empty ratio is filled (it is deleted, so
    # migrate_empty_ratio never sees it).
    node(main, "h5", "n5", cpu=0.0, deleted=1, uuid=node_uuid(51))
    node(main, "h5", "n5", uuid=node_uuid(52))
    instance(main, 11, host="h5", node="n5")
    # Host and node names in another case than the node row's.
    node(main, "h6", "n6", uuid=node_uuid(6))
    instance(main, 12, host="H6", node="N6")
    # A node row without a host (as very old ones were), and one without
    # a node name: NULL matches NULL.
    node(main, None, "n7", uuid=node_uuid(7))
    instance(main, 13, host=None, node="n7")
    node(main, "h8", None, uuid=node_uuid(8))
    instance(main, 14, host="h8", node=None)
    # A host and node with no node row at all, and one whose only row is
    # for another node of the host.
    instance(main, 15, host="h9", node="n9")
    instance(main, 16, host="h8", node="n8", deleted=1)
    # Zones: h5 sits in two aggregates with a zone, h6 is stored in
    # another case than instance 12's host, h8's aggregate has no zone.
    for n, zone, hosts in ((2, "az2", ("h5", "h6")), (3, "az3", ("h5",)),
                           (4, None, ("h8",))):
        agg = insert(api, "aggregates", created_at=T0,
                     uuid="66666666-0000-4000-8000-%012d" % n,
                     name="agg%d" % n)
        for host in hosts:
            insert(api, "aggregate_hosts", created_at=T0, host=host,
                   aggregate_id=agg)
        insert(api, "aggregate_metadata", created_at=T0, aggregate_id=agg,
               key="availability_zone" if zone else "ssd",
               value=zone or "true")


def failing_node(main):
    """A batch that fails at a node without a uuid, after an instance on a
    deleted node with an empty ratio and one with no node at all."""
    node(main, "h21", "n21", ram=None, deleted=1, uuid=node_uuid(21))
    node(main, "h22", "n22", uuid=None)
    instance(main, 21, host="h21", node="n21")
    instance(main, 22, host="h23", node="n23")
    instance(main, 23, host="h22", node="n22")
    instance(main, 24, host="h21", node="n21")


def seed(dep, parts=("quotas", "uuids", "instances")):
    with server_connection(dep.main) as main, \
            server_connection(dep.api) as api, \
            server_connection(dep.cell0) as cell0:
        if "quotas" in parts:
            quotas(main, api)
        if "uuids" in parts:
            uuids(main)
        if "instances" in parts:
            instances_and_nodes(main, api, cell0)
        if "lookup_edges" in parts:
            lookup_edges(main, api)
        if "failing_node" in parts:
            failing_node(main)
    return dep


def rows(database, table, where="1", order="id"):
    """Rows of a table as dicts, in `order`."""
    with server_connection(database) as conn:
        cur = conn.cursor(__import__("pymysql").cursors.DictCursor)
        cur.execute("SELECT * FROM `%s` WHERE %s ORDER BY %s"
                    % (table, where, order))
        return cur.fetchall()


def contents(database, since, generated=()):
    """Every row of every table, for comparing end states: timestamps at
    or after `since` become "NOW", values of the `generated` (table,
    column) pairs become "UUID4" (after checking their form)."""
    import pymysql
    out = {}
    with server_connection(database) as conn:
        cur = conn.cursor(pymysql.cursors.DictCursor)
        cur.execute("SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = %s", (database,))
        for (table,) in [tuple(r.values()) for r in cur.fetchall()]:
            cur.execute("SELECT * FROM `%s`" % table)
            result = []
            for row in cur.fetchall():
                for key, value in row.items():
                    if hasattr(value, "year") and value >= since:
                        row[key] = "NOW"
                    elif (table, key) in generated and value is not None \
                            and not value.startswith(("22222222",
                                                      "33333333",
                                                      "55555555")):
                        assert UUID4.match(value), (table, key, value)
                        row[key] = "UUID4"
                    elif table == "cell_mappings" and \
                            key == "database_connection":
                        row[key] = None
                row = tuple(sorted(row.items()))
                result.append(row)
            out[table] = sorted(result, key=repr)
    return out


GENERATED = {("migrations", "uuid"), ("block_device_mapping", "uuid"),
             ("pci_devices", "uuid")}
