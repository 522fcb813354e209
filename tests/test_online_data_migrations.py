"""db online_data_migrations: each migration's effect on the rows, the
batching of --max-count and of the unlimited run, the exit codes, bad
input, and runs killed midway."""
import collections
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import NMTOOL, run_nmtool, server_connection, table_contents
import online_migration_data as data
from online_migration_data import inst_uuid, port, rows

NAMES = sorted([
    "migrate_quota_limits_to_api_db", "migrate_quota_classes_to_api_db",
    "migration_migrate_to_uuid", "populate_uuids",
    "populate_missing_availability_zones", "populate_queued_for_delete",
    "migrate_empty_ratio", "fill_virtual_interface_list",
    "populate_user_id", "populate_dev_uuids",
    "populate_instance_compute_id"])

EMPTY_TABLE = """\
+-------------------------------------+--------------+-----------+
|              Migration              | Total Needed | Completed |
+-------------------------------------+--------------+-----------+
|     fill_virtual_interface_list     |      0       |     0     |
|         migrate_empty_ratio         |      0       |     0     |
|   migrate_quota_classes_to_api_db   |      0       |     0     |
|    migrate_quota_limits_to_api_db   |      0       |     0     |
|      migration_migrate_to_uuid      |      0       |     0     |
|          populate_dev_uuids         |      0       |     0     |
|     populate_instance_compute_id    |      0       |     0     |
| populate_missing_availability_zones |      0       |     0     |
|      populate_queued_for_delete     |      0       |     0     |
|           populate_user_id          |      0       |     0     |
|            populate_uuids           |      0       |     0     |
+-------------------------------------+--------------+-----------+
"""


@pytest.fixture
def empty(synced):
    return data.empty_deployment(synced)


def migrate(dep, conf_file, *args, extra=""):
    return run_nmtool("--config-file", dep.conf(conf_file, extra), "db",
                      "online_data_migrations", *args)


def table(out):
    """{name: (found, done)} from the printed table."""
    result = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("|") and cells[0] != "Migration":
            result[cells[0]] = (int(cells[1]), int(cells[2]))
    return result


def everything(dep):
    return {role: table_contents(name) for role, name in dep.roles().items()}


# -- output and exit codes ---------------------------------------------------

def test_nothing_to_do(empty, conf_file):
    result = migrate(empty, conf_file)
    assert result.rc == 0, result
    assert result.out == "Running batches of 50 until complete\n" + \
        EMPTY_TABLE
    result = migrate(empty, conf_file, "--max-count", "10")
    assert (result.rc, result.out) == (0, EMPTY_TABLE)


@pytest.mark.parametrize("value", ["0", "-3", "abc", "1.5", "", " "])
def test_bad_max_count(value, empty, conf_file):
    data.seed(empty)
    before = everything(empty)
    result = migrate(empty, conf_file, "--max-count", value)
    assert (result.rc, result.out) == (
        127, "Must supply a positive value for max_number\n")
    assert everything(empty) == before


def test_max_count_forms(empty, conf_file):
    """Anything int() takes, as nova does: spaces, a sign, underscores."""
    for value in (" 2", "+2", "0_2", "--max-count=2"):
        args = [value] if value.startswith("--") else ["--max-count", value]
        result = migrate(empty, conf_file, *args)
        assert result.rc == 0, (value, result)


def test_max_count_one_batch(empty, conf_file):
    data.seed(empty)
    result = migrate(empty, conf_file, "--max-count", "3")
    assert result.rc == 1
    assert result.out == """\
3 rows matched query migrate_quota_limits_to_api_db, 3 migrated
+--------------------------------+--------------+-----------+
|           Migration            | Total Needed | Completed |
+--------------------------------+--------------+-----------+
| migrate_quota_limits_to_api_db |      3       |     3     |
+--------------------------------+--------------+-----------+
"""
    # The budget is shared: 2 user limits, then 2 classes, then uuids.
    result = migrate(empty, conf_file, "--max-count", "5")
    assert result.rc == 1
    assert result.out.splitlines()[:3] == [
        "2 rows matched query migrate_quota_limits_to_api_db, 2 migrated",
        "2 rows matched query migrate_quota_classes_to_api_db, 2 migrated",
        "1 rows matched query migration_migrate_to_uuid, 1 migrated"]
    assert table(result.out) == {
        "migrate_quota_limits_to_api_db": (2, 2),
        "migrate_quota_classes_to_api_db": (2, 2),
        "migration_migrate_to_uuid": (1, 1)}


def test_max_count_runs_reach_the_unlimited_end(empty, synced, conf_file):
    """Repeated --max-count 2 runs end where one unlimited run ends."""
    data.seed(empty)
    other = data.seed(data.empty_deployment(synced))
    codes = []
    while not codes or codes[-1] == 1:
        codes.append(migrate(empty, conf_file, "--max-count", "2").rc)
        assert len(codes) < 60
    assert codes[-1] == 0 and len(codes) > 10
    assert migrate(other, conf_file).rc == 0
    assert _shape(empty) == _shape(other)


def _shape(dep):
    """What the migrations decide, without timestamps and generated ids."""
    out = {}
    for table_name, cols in (
            ("instances", "uuid, availability_zone, compute_id, deleted"),
            ("virtual_interfaces", "address, uuid, instance_uuid, tag, "
                                   "deleted <> 0"),
            ("compute_nodes", "host, cpu_allocation_ratio, "
                              "ram_allocation_ratio, disk_allocation_ratio"),
            ("quotas", "project_id, resource, deleted <> 0"),
            ("block_device_mapping", "id, uuid IS NULL"),
            ("pci_devices", "id, uuid IS NULL")):
        with server_connection(dep.main) as conn:
            cur = conn.cursor()
            cur.execute("SELECT %s FROM %s" % (cols, table_name))
            out[table_name] = sorted(cur.fetchall(), key=repr)
    with server_connection(dep.api) as conn:
        cur = conn.cursor()
        cur.execute("SELECT instance_uuid, queued_for_delete, user_id "
                    "FROM instance_mappings")
        out["instance_mappings"] = sorted(cur.fetchall(), key=repr)
        cur.execute("SELECT project_id, resource, hard_limit FROM quotas")
        out["api_quotas"] = sorted(cur.fetchall(), key=repr)
    return out


def test_unlimited_runs_batches_of_50(empty, conf_file):
    with server_connection(empty.main) as main:
        data.instance(main, 1)
        for n in range(120):
            data.insert(main, "block_device_mapping", created_at=data.T0,
                        instance_uuid=inst_uuid(1), deleted=0)
    result = migrate(empty, conf_file)
    assert result.rc == 0
    lines = result.out.splitlines()
    assert lines[0] == "Running batches of 50 until complete"
    matched = [line for line in lines if "rows matched" in line]
    assert [m for m in matched if "populate_uuids" in m] == [
        "50 rows matched query populate_uuids, 50 migrated",
        "50 rows matched query populate_uuids, 50 migrated",
        "20 rows matched query populate_uuids, 20 migrated"]
    assert table(result.out)["populate_uuids"] == (120, 120)
    assert not rows(empty.main, "block_device_mapping", "uuid IS NULL")


def test_a_migration_that_found_nothing_is_not_asked_again(empty,
                                                           conf_file,
                                                           tmp_path):
    """Within one run the zone query, which reads the whole instances
    table to find nothing, runs once, not on each of the 4 batches; one
    that keeps finding rows, or fails, runs on every batch that reaches
    it; and after a failing migration the ones that found nothing are
    asked again on the next batch."""
    with server_connection(empty.main) as main:
        data.instance(main, 1, host="h1", node="n1", availability_zone="z")
        node = data.node(main, "h1", "n1", uuid=None)
        for n in range(120):
            data.insert(main, "pci_devices", created_at=data.T0,
                        compute_node_id=node, address="0000:00:%02x.%d"
                        % divmod(n, 8), product_id="p", vendor_id="v",
                        dev_type="type-PCI", dev_id="pci_%d" % n, label="l",
                        status="available", extra_info="{}", deleted=0)
    log = tmp_path / "run.jsonl"
    result = migrate(empty, conf_file, "--sql-log", str(log))
    assert result.rc == 2
    assert [line for line in result.out.splitlines()
            if "populate_dev_uuids" in line][:4] == [
        "50 rows matched query populate_dev_uuids, 50 migrated",
        "50 rows matched query populate_dev_uuids, 50 migrated",
        "20 rows matched query populate_dev_uuids, 20 migrated"] + [
        line for line in result.out.splitlines()
        if line.startswith("|") and "populate_dev_uuids" in line]
    ran = _statements(log)
    assert ran["online_migrations.instances_without_az"] == 1
    assert ran["online_migrations.pci_devices_without_uuid"] == 4
    # Reached when the devices leave budget: the last two batches.
    assert ran["online_migrations.instances_without_compute_id"] == 2
    with server_connection(empty.main) as main:
        main.cursor().execute("UPDATE pci_devices SET uuid = NULL")
    log = tmp_path / "failing.jsonl"
    result = run_nmtool("--config-file", conf_file(main=empty.main),
                        "--sql-log", str(log), "db",
                        "online_data_migrations")
    assert result.rc == 2
    assert _statements(log)["online_migrations.instances_without_az"] == 4


def test_failures_exit_2_and_the_others_go_on(empty, conf_file):
    """Without [api_database]/connection five migrations fail; the ones on
    the main database still run."""
    data.seed(empty, parts=("uuids",))
    conf = conf_file(main=empty.main)
    result = run_nmtool("--config-file", conf, "db", "online_data_migrations")
    assert result.rc == 2
    errors = [line for line in result.out.splitlines()
              if line.startswith("Error attempting to run")]
    # Two batches: the first migrated the uuids, the second nothing.
    assert [e.split()[5] for e in errors] == [
        "migrate_quota_limits_to_api_db", "migrate_quota_classes_to_api_db",
        "populate_queued_for_delete", "fill_virtual_interface_list",
        "populate_user_id"] * 2
    assert result.out.endswith(
        "Some migrations failed unexpectedly. Check log for details.\n")
    assert "[api_database]/connection is not set" in result.err
    assert table(result.out)["populate_uuids"] == (4, 4)
    assert not rows(empty.main, "pci_devices", "uuid IS NULL")
    # --max-count: other work was done in the batch, so exit 1 ...
    with server_connection(empty.main) as main:
        main.cursor().execute("UPDATE block_device_mapping SET uuid = NULL "
                              "WHERE id = 1")
    result = run_nmtool("--config-file", conf, "db", "online_data_migrations",
                        "--max-count", "10")
    assert result.rc == 1, result
    assert "Some migrations failed" not in result.out
    # ... and 2 once nothing else moves.
    result = run_nmtool("--config-file", conf, "db", "online_data_migrations",
                        "--max-count", "10")
    assert result.rc == 2, result


def test_missing_main_database_setting(empty, conf_file):
    conf = conf_file(api=empty.api)
    result = run_nmtool("--config-file", conf, "db", "online_data_migrations")
    assert result.rc == 2
    assert result.out.count("Error attempting to run") == 8


# -- each migration ------------------------------------------------------------

def test_quota_limits_and_classes(empty, conf_file):
    data.seed(empty, parts=("quotas",))
    result = migrate(empty, conf_file)
    assert result.rc == 0
    found = table(result.out)
    assert found["migrate_quota_limits_to_api_db"] == (5, 5)
    assert found["migrate_quota_classes_to_api_db"] == (2, 2)
    api = [(r["project_id"], r["resource"], r["hard_limit"])
           for r in rows(empty.api, "quotas")]
    assert api == [("p1", "instances", 10), ("p1", "cores", 20),
                   ("p2", "ram", 4096), ("p4", "floating_ips", 3)]
    assert [(r["user_id"], r["project_id"], r["resource"], r["hard_limit"])
            for r in rows(empty.api, "project_user_quotas")] == [
        ("u1", "p1", "instances", 5)]
    assert [(r["class_name"], r["resource"], r["hard_limit"])
            for r in rows(empty.api, "quota_classes")] == [
        ("default", "instances", 10), ("default", "cores", 20)]
    for table_name in ("quotas", "project_user_quotas", "quota_classes"):
        for row in rows(empty.main, table_name):
            assert row["deleted"] == row["id"]
            assert row["deleted_at"] is not None
            assert row["updated_at"] is None
    assert migrate(empty, conf_file).out.count("rows matched") == 0


def test_quota_copy_dropped_on_duplicate(empty, conf_file):
    """As nova: one limit already in the API database drops the batch's
    copies; the batch is still deleted from the cell database."""
    data.seed(empty, parts=("quotas",))
    with server_connection(empty.api) as api:
        data.insert(api, "quotas", created_at=data.T0, project_id="p2",
                    resource="ram", hard_limit=1)
    result = migrate(empty, conf_file)
    assert result.rc == 0
    assert [(r["project_id"], r["resource"], r["hard_limit"])
            for r in rows(empty.api, "quotas")] == [
        ("p2", "ram", 1), ("p4", "floating_ips", 3)]
    assert not rows(empty.main, "quotas", "deleted = 0")


def test_uuids(empty, conf_file):
    data.seed(empty, parts=("uuids",))
    result = migrate(empty, conf_file)
    assert result.rc == 0
    found = table(result.out)
    assert found["migration_migrate_to_uuid"] == (3, 3)
    assert found["populate_uuids"] == (4, 4)
    assert found["populate_dev_uuids"] == (3, 3)
    for table_name, kept in (("migrations", "22222222"),
                             ("block_device_mapping", "33333333"),
                             ("pci_devices", "55555555")):
        values = rows(empty.main, table_name)
        new = [r for r in values
               if r["uuid"] and not r["uuid"].startswith(kept)]
        assert all(data.UUID4.match(r["uuid"]) for r in new)
        assert all(r["updated_at"] is not None for r in new)
        assert len(set(r["uuid"] for r in new)) == len(new)
    # A deleted migration record is left alone; deleted BDMs are not.
    assert [r["deleted"] for r in rows(empty.main, "migrations",
                                       "uuid IS NULL")] == [5]
    assert not rows(empty.main, "block_device_mapping", "uuid IS NULL")


def test_availability_zones(empty, conf_file):
    data.seed(empty, parts=("instances",))
    assert migrate(empty, conf_file, extra="[DEFAULT]\n"
                   "default_availability_zone = zone-x\n").rc == 0
    zones = {r["uuid"]: r["availability_zone"]
             for r in rows(empty.main, "instances")}
    assert zones[inst_uuid(1)] == "az1"        # its aggregate's zone
    assert zones[inst_uuid(2)] == "zone-x"     # no aggregate: the default
    assert zones[inst_uuid(4)] == "zone-x"     # deleted instances too
    assert zones[inst_uuid(3)] is None         # no host, no zone
    assert zones[inst_uuid(8)] == "zz"         # already set


def test_instance_mappings(empty, conf_file):
    data.seed(empty, parts=("instances",))
    result = migrate(empty, conf_file)
    assert table(result.out)["populate_queued_for_delete"] == (14, 14)
    maps = {r["instance_uuid"]: (r["queued_for_delete"], r["user_id"])
            for r in rows(empty.api, "instance_mappings")}
    assert maps[inst_uuid(1)] == (0, "u1")
    assert maps[inst_uuid(4)] == (1, "u4")     # deleted
    assert maps[inst_uuid(5)] == (1, "u5")     # soft-deleted
    assert maps[inst_uuid(9)] == (0, None)     # hidden: not listed
    assert maps[inst_uuid(40)] == (1, "u40")   # deleted, in cell0
    assert maps[inst_uuid(41)] == (0, None)    # no instance row at all
    assert maps[inst_uuid(42)] == (None, None)  # no cell yet
    assert maps[inst_uuid(43)] == (0, None)    # the fake project
    assert maps[inst_uuid(44)] == (0, "u44")
    assert "Some instance mappings were not migratable" in result.err


def test_empty_ratios(empty, conf_file):
    data.seed(empty, parts=("instances",))
    result = migrate(empty, conf_file, extra="[DEFAULT]\n"
                     "cpu_allocation_ratio = 2.5\n"
                     "ram_allocation_ratio = 0.0\n"
                     "initial_ram_allocation_ratio = 3.0\n")
    assert table(result.out)["migrate_empty_ratio"] == (2, 2)
    ratios = {r["host"]: (r["cpu_allocation_ratio"],
                          r["ram_allocation_ratio"],
                          r["disk_allocation_ratio"], r["deleted"] != 0)
              for r in rows(empty.main, "compute_nodes")}
    assert ratios["h1"] == (16.0, 1.5, 1.0, False)
    assert ratios["h2"] == (2.5, 3.0, 1.0, False)
    assert ratios["h4"] == (2.5, 3.0, 1.0, False)
    # The deleted node is filled when an instance's compute_id finds it.
    assert ratios["h3"] == (2.5, 1.5, 1.0, True)


def test_bad_ratio_option_fails_that_migration(empty, conf_file):
    data.seed(empty, parts=("instances",))
    result = migrate(empty, conf_file, "--max-count", "40",
                     extra="[DEFAULT]\ncpu_allocation_ratio = -1\n")
    assert result.rc == 1
    assert "Error attempting to run <function migrate_empty_ratio" \
        in result.out
    assert "cpu_allocation_ratio must be >= 0.0" in result.err


def test_virtual_interfaces(empty, conf_file):
    data.seed(empty, parts=("instances",))
    result = migrate(empty, conf_file)
    # Compared: 1, 2, 3 and 10 (5 is soft-deleted, 6-8 have no network
    # info); rebuilt: 1, 2 and 10.
    assert table(result.out)["fill_virtual_interface_list"] == (4, 3)
    live = {}
    for r in rows(empty.main, "virtual_interfaces", "deleted = 0"):
        live.setdefault(r["instance_uuid"], []).append(
            (r["uuid"], r["address"], r["tag"]))
    assert live[inst_uuid(1)] == [
        (port(1), "%s/%s" % (data.mac(1), port(1)), "t1"),
        (port(2), "%s/%s" % (data.mac(2), port(2)), None)]
    assert [v[0] for v in live[inst_uuid(2)]] == [port(3), port(4)]
    assert live[inst_uuid(2)][0][2] == "t3"
    assert [(v[0], v[2]) for v in live[inst_uuid(10)]] == [
        (port(8), None), (port(9), "keep"), (port(10), None)]
    assert len(live[inst_uuid(5)]) == 2
    assert live[data.FAKE] == [
        (data.FAKE, "ff:ff:ff:ff:ff:ff/" + data.FAKE, inst_uuid(10))]
    assert len(rows(empty.main, "virtual_interfaces", "deleted <> 0")) == 4
    fake = rows(empty.main, "instances", "uuid = '%s'" % data.FAKE)
    assert fake[0]["deleted"] == fake[0]["id"]
    for table_name, column in (("instance_info_caches", "instance_uuid"),
                               ("instance_extra", "instance_uuid"),
                               ("instance_id_mappings", "uuid")):
        (row,) = rows(empty.main, table_name,
                      "%s = '%s'" % (column, data.FAKE))
        assert row["deleted"] == row["id"]
    assert [(r["name"], r["project_id"]) for r in rows(
        empty.main, "security_groups")] == [("default", None)]
    # The marker makes the next run start after instance 10.
    again = migrate(empty, conf_file)
    assert "fill_virtual_interface_list" not in again.out.split("+")[0]


def test_compute_ids(empty, conf_file):
    data.seed(empty, parts=("instances",))
    result = migrate(empty, conf_file)
    nodes = {(r["host"], r["hypervisor_hostname"]): r["id"]
             for r in rows(empty.main, "compute_nodes")}
    ids = {r["uuid"]: r["compute_id"] for r in rows(empty.main, "instances")}
    assert ids[inst_uuid(1)] == nodes[("h1", "n1")]
    assert ids[inst_uuid(4)] == nodes[("h3", "n3")]   # deleted node
    assert ids[inst_uuid(3)] is None                   # no host
    assert ids[data.FAKE] is None
    # 3 and the fake instance are found again by every batch.
    assert table(result.out)["populate_instance_compute_id"] == (11, 7)
    assert "Unable to migrate instance because host None with node None " \
        "not found" in result.err


def _statements(log):
    """Named statements of a --sql-log by how often they ran (BEGIN,
    COMMIT and the session's settings have no name)."""
    with open(log) as handle:
        names = [json.loads(line)["name"] for line in handle]
    return collections.Counter(name for name in names if name)


def test_a_batch_costs_the_same_statements_whatever_its_size(empty,
                                                              conf_file,
                                                              tmp_path):
    """1,200 instances on 12 nodes (one deleted, with an empty ratio),
    each with an info cache and its interface, in one --max-count batch:
    no statement runs once per instance; the CASE writes go 1,000 rows a
    statement; every instance gets its own zone and node."""
    count = 1200
    with server_connection(empty.main) as main, \
            server_connection(empty.api) as api:
        nodes = [data.node(main, "h%d" % n, "n%d" % n,
                           cpu=0.0 if n == 3 else 16.0, deleted=n == 3)
                 for n in range(12)]
        cur = main.cursor()
        cur.execute(
            "INSERT INTO instances (created_at, uuid, project_id, user_id, "
            "host, node, deleted, vm_state, hidden) SELECT '2020-01-01' + "
            "INTERVAL seq SECOND, CONCAT('11111111-0000-4000-8000-', "
            "LPAD(seq, 12, '0')), 'p1', 'u1', CONCAT('h', seq %% 12), "
            "CONCAT('n', seq %% 12), 0, 'active', 0 FROM seq_1_to_%d"
            % count)
        cur.execute(
            "INSERT INTO instance_info_caches (created_at, instance_uuid, "
            "network_info, deleted) SELECT created_at, uuid, CONCAT("
            "'[{\"id\": \"', uuid, '\", \"address\": \"m\"}]'), 0 "
            "FROM instances")
        cur.execute(
            "INSERT INTO virtual_interfaces (created_at, address, uuid, "
            "instance_uuid, deleted) SELECT created_at, CONCAT('m/', uuid), "
            "uuid, uuid, 0 FROM instances")
        agg = data.insert(api, "aggregates", created_at=data.T0,
                          uuid="66666666-0000-4000-8000-000000000001",
                          name="agg1")
        data.insert(api, "aggregate_hosts", created_at=data.T0, host="h1",
                    aggregate_id=agg)
        data.insert(api, "aggregate_metadata", created_at=data.T0,
                    aggregate_id=agg, key="availability_zone", value="az1")
    log = tmp_path / "zones.jsonl"
    result = migrate(empty, conf_file, "--max-count", str(count),
                     "--sql-log", str(log))
    assert result.out.splitlines()[0] == \
        "1200 rows matched query populate_missing_availability_zones, " \
        "1200 migrated"
    zones = _statements(log)
    assert zones["online_migrations.set_instance_azs"] == 2
    assert zones["online_migrations.api_hosts_az"] == 1
    log = tmp_path / "nodes.jsonl"
    result = migrate(empty, conf_file, "--max-count", str(count),
                     "--sql-log", str(log))
    assert result.out.splitlines() == [
        "1200 rows matched query fill_virtual_interface_list, 0 migrated",
        "1200 rows matched query populate_instance_compute_id, "
        "1200 migrated"] + result.out.splitlines()[2:]
    nodes_run = _statements(log)
    assert nodes_run["online_migrations.set_instance_compute_ids"] == 2
    assert nodes_run["online_migrations.fill_node_ratios"] == 1
    assert nodes_run["online_migrations.instance_info_caches"] == 1
    assert nodes_run["online_migrations.vifs_of_instances"] == 1
    for counts in (zones, nodes_run):
        assert max(counts.values()) <= 8, counts
    got = dict((r["uuid"], (r["availability_zone"], r["compute_id"]))
               for r in rows(empty.main, "instances", "uuid <> '%s'"
                             % data.FAKE))
    assert got == dict(
        (inst_uuid(n), ("az1" if n % 12 == 1 else "nova", nodes[n % 12]))
        for n in range(1, count + 1))
    (deleted,) = rows(empty.main, "compute_nodes", "id = %d" % nodes[3])
    assert deleted["cpu_allocation_ratio"] == 4.0


# -- crash safety --------------------------------------------------------------

def test_killed_runs_leave_consistent_rows(empty, conf_file):
    """SIGKILL at random moments: every row is either migrated or not, and
    a final run finishes the work."""
    with server_connection(empty.main) as main:
        main.autocommit(False)
        data.instance(main, 1)
        cur = main.cursor()
        cur.executemany(
            "INSERT INTO block_device_mapping (created_at, instance_uuid, "
            "deleted) VALUES (%s, %s, 0)",
            [(data.T0, inst_uuid(1))] * 6000)
        main.commit()
    conf = empty.conf(conf_file)
    for delay in (0.4, 0.7, 1.0):
        proc = subprocess.Popen([NMTOOL, "--config-file", conf, "db",
                                 "online_data_migrations"],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        filled = rows(empty.main, "block_device_mapping", "uuid IS NOT NULL")
        assert all(data.UUID4.match(r["uuid"]) for r in filled)
        assert len(filled) % 50 == 0
    result = migrate(empty, conf_file)
    assert result.rc == 0
    assert not rows(empty.main, "block_device_mapping", "uuid IS NULL")
    assert len(set(r["uuid"] for r in rows(
        empty.main, "block_device_mapping"))) == 6000
