"""nmtool on a real 3-node MariaDB Galera cluster on loopback
(scripts/galera-cluster.sh): nmtool on node 1, Nova's own traffic from
nodes 2 and 3. After each run: no row in both a table and its shadow, no
instance left in the cell without its API mapping, and the three nodes
identical."""
import json
import os
import random
import subprocess
import sys
import threading
import time
import uuid as uuidlib

import pymysql
import pytest

from conftest import ROOT, run_nmtool

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

pytestmark = pytest.mark.galera
SCRIPT = os.path.join(ROOT, "scripts", "galera-cluster.sh")
TABLES = ("instances", "instance_extra", "instance_actions",
          "instance_actions_events", "instance_faults", "instance_info_caches",
          "instance_system_metadata", "block_device_mapping")


@pytest.fixture(scope="module")
def cluster():
    """The ports of a fresh 3-node cluster, stopped after the module."""
    started = subprocess.run(["bash", SCRIPT, "start"], capture_output=True,
                             text=True)
    if started.returncode == 3:
        pytest.skip("Galera could not be installed: " + started.stderr)
    assert started.returncode == 0, started.stderr[-3000:]
    ports = [int(p) for p in started.stdout.split()]
    yield ports
    subprocess.run(["bash", SCRIPT, "stop"], capture_output=True)


def connect(port, database=None, autocommit=True):
    return pymysql.connect(host="127.0.0.1", port=port, user="root",
                           password="", database=database,
                           autocommit=autocommit, charset="utf8mb4")


def url(port, database):
    return "mysql+pymysql://root@127.0.0.1:%d/%s?charset=utf8" % (port,
                                                                   database)


class Deployment:
    """An API and a cell database on the cluster, synced by nmtool on node
    1 and filled with generated Nova data; a nova.conf naming node 1."""

    def __init__(self, ports, tmp_path, instances=300, extra_conf=""):
        self.ports = ports
        tag = uuidlib.uuid4().hex[:8]
        self.api, self.main = "gal_api_" + tag, "gal_main_" + tag
        with connect(ports[0]) as conn:
            for name in (self.api, self.main):
                conn.cursor().execute("CREATE DATABASE `%s`" % name)
        self.conf = str(tmp_path / ("nova-%s.conf" % tag))
        with open(self.conf, "w") as handle:
            handle.write("[api_database]\nconnection = %s\n[database]\n"
                         "connection = %s\n%s" % (url(ports[0], self.api),
                                                  url(ports[0], self.main),
                                                  extra_conf))
        for args in (["api_db", "sync"], ["db", "sync", "--local_cell"]):
            result = self.nmtool(*args)
            assert result.rc == 0, result
        import novadata
        with connect(ports[0], self.main, False) as main, \
                connect(ports[0], self.api, False) as api:
            novadata.generate(main, api, instances, 0.7, seed=11)

    def nmtool(self, *args, **kwargs):
        return run_nmtool("--config-file", self.conf, *args, **kwargs)

    def drop(self):
        with connect(self.ports[0]) as conn:
            for name in (self.api, self.main):
                conn.cursor().execute("DROP DATABASE IF EXISTS `%s`" % name)


@pytest.fixture
def deployment(cluster, tmp_path):
    made = []

    def make(**kwargs):
        made.append(Deployment(cluster, tmp_path, **kwargs))
        return made[-1]
    yield make
    for dep in made:
        dep.drop()


class Writers:
    """Nova's normal traffic on nodes 2 and 3 while a test runs: new
    instances with their children and API rows, actions and faults added
    to live instances, instances soft-deleted (as nova deletes them)."""

    def __init__(self, dep, seed=1):
        self.dep = dep
        self.stop = threading.Event()
        self.errors = []
        self.done = 0
        self.threads = [threading.Thread(target=self._loop,
                                         args=(port, seed + n))
                        for n, port in enumerate(dep.ports[1:])]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(30)

    def _loop(self, port, seed):
        rng = random.Random(seed)
        main = connect(port, self.dep.main)
        api = connect(port, self.dep.api)
        while not self.stop.is_set():
            try:
                step = rng.random()
                if step < 0.4:
                    self._create(main, api, rng)
                elif step < 0.8:
                    self._act(main, rng)
                else:
                    self._delete(main, rng)
                self.done += 1
            except pymysql.err.OperationalError as exc:
                # Writers are aborted by conflicts too; nova retries.
                if exc.args[0] not in (1213, 1205):
                    self.errors.append(exc)
                    return
            except Exception as exc:  # noqa: BLE001 - reported by the test
                self.errors.append(exc)
                return
        main.close()
        api.close()

    def _create(self, main, api, rng):
        uuid = str(uuidlib.UUID(int=rng.getrandbits(128), version=4))
        cur = main.cursor()
        cur.execute("BEGIN")
        cur.execute("INSERT INTO instances (created_at, uuid, project_id, "
                    "user_id, vm_state, deleted) VALUES (NOW(), %s, 'p', "
                    "'u', 'active', 0)", (uuid,))
        cur.execute("INSERT INTO instance_extra (created_at, instance_uuid, "
                    "deleted) VALUES (NOW(), %s, 0)", (uuid,))
        cur.execute("INSERT INTO instance_info_caches (created_at, "
                    "instance_uuid, deleted) VALUES (NOW(), %s, 0)", (uuid,))
        cur.execute("INSERT INTO instance_system_metadata (created_at, "
                    "instance_uuid, `key`, value, deleted) VALUES (NOW(), "
                    "%s, 'image_hw_disk_bus', 'virtio', 0)", (uuid,))
        cur.execute("INSERT INTO instance_actions (created_at, action, "
                    "instance_uuid, request_id, deleted) VALUES (NOW(), "
                    "'create', %s, 'req', 0)", (uuid,))
        cur.execute("COMMIT")
        cur = api.cursor()
        cur.execute("BEGIN")
        cur.execute("INSERT INTO instance_mappings (created_at, "
                    "instance_uuid, project_id, queued_for_delete) VALUES "
                    "(NOW(), %s, 'p', 0)", (uuid,))
        cur.execute("INSERT INTO request_specs (created_at, instance_uuid, "
                    "spec) VALUES (NOW(), %s, '{}')", (uuid,))
        cur.execute("COMMIT")

    def _live(self, main, rng):
        cur = main.cursor()
        cur.execute("SELECT uuid FROM instances WHERE deleted = 0 "
                    "ORDER BY id DESC LIMIT 50")
        rows = cur.fetchall()
        return rng.choice(rows)[0] if rows else None

    def _act(self, main, rng):
        uuid = self._live(main, rng)
        if uuid is None:
            return
        cur = main.cursor()
        cur.execute("BEGIN")
        cur.execute("INSERT INTO instance_actions (created_at, action, "
                    "instance_uuid, request_id, deleted) VALUES (NOW(), "
                    "'reboot', %s, 'req', 0)", (uuid,))
        cur.execute("INSERT INTO instance_faults (created_at, instance_uuid, "
                    "code, message, deleted) VALUES (NOW(), %s, 500, 'x', "
                    "0)", (uuid,))
        cur.execute("COMMIT")

    def _delete(self, main, rng):
        uuid = self._live(main, rng)
        if uuid is None:
            return
        cur = main.cursor()
        cur.execute("BEGIN")
        cur.execute("UPDATE instance_extra SET deleted = id, deleted_at = "
                    "NOW() WHERE instance_uuid = %s", (uuid,))
        cur.execute("UPDATE instances SET deleted = id, deleted_at = NOW() "
                    "WHERE uuid = %s", (uuid,))
        cur.execute("COMMIT")


def node_conflicts(port):
    """Transactions of this node aborted by replicated write sets or
    failing certification, since it started."""
    with connect(port) as conn:
        cur = conn.cursor()
        cur.execute("SHOW STATUS WHERE Variable_name IN "
                    "('wsrep_local_bf_aborts', 'wsrep_local_cert_failures')")
        return sum(int(value) for _, value in cur.fetchall())


def wait_for_sync(ports):
    """Until every node has applied what the cluster committed."""
    for port in ports:
        with connect(port) as conn:
            cur = conn.cursor()
            cur.execute("SET SESSION wsrep_sync_wait = 15")
            cur.execute("SELECT 1")


def checksums(port, database):
    with connect(port, database) as conn:
        cur = conn.cursor()
        cur.execute("SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = %s ORDER BY table_name",
                    (database,))
        tables = [row[0] for row in cur.fetchall()]
        cur.execute("CHECKSUM TABLE " + ", ".join(
            "`%s`" % table for table in tables))
        return dict(cur.fetchall())


def assert_consistent(dep):
    wait_for_sync(dep.ports)
    for database in (dep.api, dep.main):
        sums = [checksums(port, database) for port in dep.ports]
        assert sums[0] == sums[1] == sums[2], database
    with connect(dep.ports[0], dep.main) as conn:
        cur = conn.cursor()
        for table in TABLES:
            cur.execute("SELECT COUNT(*) FROM `%s` t JOIN `shadow_%s` s "
                        "ON s.id = t.id" % (table, table))
            assert cur.fetchone()[0] == 0, "rows in %s and its shadow" % table
        cur.execute("SELECT uuid FROM instances")
        in_cell = {row[0] for row in cur.fetchall()}
    with connect(dep.ports[0], dep.api) as conn:
        cur = conn.cursor()
        cur.execute("SELECT instance_uuid FROM instance_mappings")
        mapped = {row[0] for row in cur.fetchall()}
    # No API row deleted for an instance still in the cell (but for the
    # marker instance online_data_migrations leaves, as nova does).
    assert not in_cell - mapped - {"00000000-0000-0000-0000-000000000000"}


def test_a_node_outside_the_primary_component_is_one_line(cluster, tmp_path):
    conf = tmp_path / "nova.conf"
    conf.write_text("[api_database]\nconnection = %s\n" % url(
        cluster[2], "mysql"))
    with connect(cluster[2]) as conn:
        conn.cursor().execute(
            "SET GLOBAL wsrep_provider_options = 'gmcast.isolate=1'")
    try:
        for _ in range(60):  # until the node sees it is alone
            with connect(cluster[2]) as conn:
                cur = conn.cursor()
                cur.execute("SHOW STATUS LIKE 'wsrep_ready'")
                if cur.fetchone()[1] == "OFF":
                    break
            time.sleep(0.5)
        result = run_nmtool("--config-file", str(conf), "api_db", "version")
        assert result.rc == 255
        assert result.err.splitlines() == [
            "ERROR: Cannot connect to the API database at %s: this Galera "
            "node is not part of the primary component (wsrep_ready is "
            "OFF)" % url(cluster[2], "mysql")]
    finally:
        with connect(cluster[2]) as conn:
            conn.cursor().execute(
                "SET GLOBAL wsrep_provider_options = 'gmcast.isolate=0'")
        for _ in range(120):
            with connect(cluster[2]) as conn:
                cur = conn.cursor()
                cur.execute("SHOW STATUS LIKE 'wsrep_local_state_comment'")
                if cur.fetchone()[1] == "Synced":
                    break
            time.sleep(0.5)


def test_mysql_wsrep_sync_wait_is_applied_to_every_session(deployment,
                                                           tmp_path):
    dep = deployment(instances=20,
                     extra_conf="mysql_wsrep_sync_wait = 1\n")
    log = tmp_path / "sql.jsonl"
    result = dep.nmtool("--sql-log", str(log), "db", "version")
    assert result.rc == 0, result
    assert "SET SESSION wsrep_sync_wait = %s" in log.read_text()


def test_archive_survives_nova_traffic_on_the_other_nodes(deployment):
    """10 of 10 --until-complete runs end with 0 or 1 while writers on
    nodes 2 and 3 do Nova's traffic, and nothing is lost or orphaned."""
    dep = deployment(instances=300)
    conflicts = node_conflicts(dep.ports[0])
    results = []
    with Writers(dep) as writers:
        for _ in range(10):
            result = dep.nmtool("db", "archive_deleted_rows", "--max_rows",
                                "40", "--until-complete", "--verbose",
                                "--max-duration", "6")
            assert "Traceback" not in result.err, result
            results.append(result)
    assert not writers.errors, writers.errors
    assert writers.done > 0
    codes = [result.rc for result in results]
    assert set(codes) <= {0, 1}, [result for result in results
                                  if result.rc not in (0, 1)]
    # The runs did meet Galera's conflicts, and lived through them.
    assert node_conflicts(dep.ports[0]) > conflicts
    assert_consistent(dep)


def limit_write_sets(dep, rows):
    for port in dep.ports:
        with connect(port) as conn:
            conn.cursor().execute("SET GLOBAL wsrep_max_ws_rows = %s",
                                  (rows,))


def test_batches_and_purge_chunks_fit_a_write_set_limit(deployment):
    """wsrep_max_ws_rows = 5000: archive --max_rows 3000 (a batch writes
    each row twice, and a parent's children beyond its budget share) and
    purge (chunks of 5,000) complete instead of dying with error 1180;
    at 100, map_instances's chunks (5,000 mappings and the marker's two
    rows) shrink to fit too."""
    dep = deployment(instances=600)
    cell_uuid = make_it_this_cell(dep)
    limit_write_sets(dep, 5000)
    try:
        result = dep.nmtool("db", "archive_deleted_rows", "--max_rows",
                            "3000", "--until-complete")
        assert result.rc == 1 and "Traceback" not in result.err, result
        again = dep.nmtool("db", "archive_deleted_rows", "--max_rows",
                           "3000")
        assert again.rc == 0, again
        purged = dep.nmtool("db", "purge", "--all")
        assert purged.rc == 0, purged
        with connect(dep.ports[0], dep.api) as conn:
            unmapped = conn.cursor().execute(
                "DELETE FROM instance_mappings")
        assert unmapped > 100
        limit_write_sets(dep, 100)
        mapped = dep.nmtool("cell_v2", "map_instances", "--cell_uuid",
                            cell_uuid)
        assert mapped.rc == 0 and not mapped.err, mapped
    finally:
        limit_write_sets(dep, 0)
    with connect(dep.ports[0], dep.main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM instances WHERE deleted <> 0")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT COUNT(*) FROM shadow_instances")
        assert cur.fetchone()[0] == 0
    with connect(dep.ports[0], dep.api) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM instance_mappings")
        assert cur.fetchone()[0] == unmapped
        cur.execute("SELECT COUNT(*) FROM instance_mappings WHERE "
                    "project_id = 'INSTANCE_MIGRATION_MARKER'")
        assert cur.fetchone()[0] == 0
    assert_consistent(dep)


def make_it_this_cell(dep):
    """The generated cell points nowhere: make it this cell; its uuid."""
    with connect(dep.ports[0], dep.api) as conn:
        cur = conn.cursor()
        cur.execute("UPDATE cell_mappings SET database_connection = %s "
                    "WHERE database_connection = 'none:///'",
                    (url(dep.ports[0], dep.main),))
        cur.execute("SELECT uuid FROM cell_mappings WHERE "
                    "database_connection = %s", (url(dep.ports[0],
                                                     dep.main),))
        return cur.fetchone()[0]


def node_conf(dep, port):
    """A copy of dep's nova.conf naming node `port` instead of node 1."""
    path = "%s-%d.conf" % (dep.conf[:-len(".conf")], port)
    with open(dep.conf) as handle:
        text = handle.read()
    with open(path, "w") as handle:
        handle.write(text.replace("127.0.0.1:%d/" % dep.ports[0],
                                  "127.0.0.1:%d/" % port))
    return path


def start_nmtool(conf, *args):
    """nmtool running in the background: a Popen with text pipes."""
    from conftest import NMTOOL
    return subprocess.Popen([NMTOOL, "--config-file", conf] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finished(proc, timeout=120):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def wait_state(port, variable, value, tries=240):
    for _ in range(tries):
        with connect(port) as conn:
            cur = conn.cursor()
            cur.execute("SHOW STATUS LIKE %s", (variable,))
            row = cur.fetchone()
            if row and row[1] == value:
                return
        time.sleep(0.5)
    raise AssertionError("node %d: %s never became %s" % (port, variable,
                                                          value))


def test_purge_map_instances_and_online_data_migrations_under_traffic(
        deployment):
    """While nodes 2 and 3 do Nova's traffic, purge, map_instances and
    online_data_migrations on node 1 end with their usual codes and leave
    the three nodes identical, no mapping missing."""
    dep = deployment(instances=200)
    cell_uuid = make_it_this_cell(dep)
    # 40 live instances' mappings taken away for map_instances to restore.
    with connect(dep.ports[0], dep.main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT uuid FROM instances WHERE deleted = 0 "
                    "ORDER BY id LIMIT 40")
        unmapped = [row[0] for row in cur.fetchall()]
    with connect(dep.ports[0], dep.api) as conn:
        conn.cursor().execute("DELETE FROM instance_mappings WHERE "
                              "instance_uuid IN %s", (unmapped,))
    archived = dep.nmtool("db", "archive_deleted_rows", "--until-complete",
                          "--max_rows", "500")
    assert archived.rc == 1, archived
    with Writers(dep, seed=7) as writers:
        purged = dep.nmtool("db", "purge", "--all", "--verbose",
                            "--format", "json")
        mapped = dep.nmtool("cell_v2", "map_instances", "--cell_uuid",
                            cell_uuid)
        migrated = dep.nmtool("db", "online_data_migrations",
                              "--max-count", "50")
    assert not writers.errors, writers.errors
    assert writers.done > 0
    for result in (purged, mapped, migrated):
        assert "Traceback" not in result.err, result
    assert purged.rc == 0, purged
    assert json.loads(purged.out)["total"] > 0
    assert mapped.rc == 0, mapped
    assert migrated.rc in (0, 1), migrated
    assert_consistent(dep)
    with connect(dep.ports[0], dep.main) as conn:
        cur = conn.cursor()
        for table in TABLES:
            cur.execute("SELECT COUNT(*) FROM `shadow_%s`" % table)
            assert cur.fetchone()[0] == 0, table
    with connect(dep.ports[0], dep.api) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM instance_mappings WHERE "
                    "instance_uuid IN %s", (unmapped,))
        assert cur.fetchone()[0] == len(unmapped)


def test_archives_started_on_all_three_nodes_at_once(deployment):
    """Three --until-complete archives, one per node, abort each other's
    batches (a README once said they wait for each other's locks); all
    end 0 or 1, and nothing is lost, doubled or orphaned."""
    dep = deployment(instances=300)
    procs = [start_nmtool(node_conf(dep, port), "db", "archive_deleted_rows",
                          "--until-complete", "--max_rows", "30",
                          "--verbose", "--format", "json")
             for port in dep.ports]
    results = [finished(proc) for proc in procs]
    for code, out, err in results:
        assert code in (0, 1) and "Traceback" not in err, (code, err)
    total = sum(json.loads(out)["total"] for _, out, _ in results)
    assert total > 0
    again = dep.nmtool("db", "archive_deleted_rows")
    assert again.rc == 0, again
    assert_consistent(dep)
    with connect(dep.ports[0], dep.main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM instances WHERE deleted <> 0")
        assert cur.fetchone()[0] == 0
        # Every instance archived once, each run counted its own.
        cur.execute("SELECT COUNT(*) FROM shadow_instances")
        shadow = cur.fetchone()[0]
    instances = sum(row.get("rows") for _, out, _ in results
                    for row in json.loads(out)["archived"]
                    if row["table"] == "instances")
    assert instances == shadow


def test_a_node_isolated_mid_archive(deployment):
    """Node 1 leaves the primary component while it archives: one line
    naming it, the report of the committed batches, exit 1, no
    traceback; the run continues on node 2, and node 1 catches up."""
    dep = deployment(instances=400)
    first = dep.ports[0]
    proc = start_nmtool(dep.conf, "db", "archive_deleted_rows",
                        "--until-complete", "--max_rows", "10")
    time.sleep(1.5)
    with connect(first) as conn:
        conn.cursor().execute(
            "SET GLOBAL wsrep_provider_options = 'gmcast.isolate=1'")
    try:
        code, out, err = finished(proc)
        on_node2 = run_nmtool("--config-file", node_conf(dep, dep.ports[1]),
                              "db", "archive_deleted_rows",
                              "--until-complete")
    finally:
        with connect(first) as conn:
            conn.cursor().execute(
                "SET GLOBAL wsrep_provider_options = 'gmcast.isolate=0'")
        wait_state(first, "wsrep_local_state_comment", "Synced")
    assert "Traceback" not in err
    # Besides the INFO lines of conflicts retried (logged, as nova's are).
    lines = [line for line in err.splitlines() if " INFO " not in line]
    assert code == 1 and len(lines) == 1, (code, out, err)
    assert "this Galera node is not part of the primary component" in \
        lines[0] and "run again to continue" in lines[0], lines
    assert on_node2.rc == 1, on_node2
    assert dep.nmtool("db", "archive_deleted_rows").rc == 0
    assert_consistent(dep)


def test_archive_pauses_while_flow_control_stalls_the_cluster(deployment):
    """Node 3 stops applying (its shadow tables locked) while node 1
    archives: flow control pauses the cluster, and with --max-flow-ctl
    the archive then waits between batches, says so with --verbose, and
    completes once the cluster is back."""
    dep = deployment(instances=300)
    with connect(dep.ports[2], dep.main) as conn:
        cur = conn.cursor()
        cur.execute("SHOW TABLES LIKE 'shadow\\_%%'")
        shadows = [row[0] for row in cur.fetchall()]
    locker = connect(dep.ports[2], dep.main)
    proc = start_nmtool(dep.conf, "db", "archive_deleted_rows",
                        "--until-complete", "--max_rows", "20", "--verbose",
                        "--max-flow-ctl", "25")
    try:
        locker.cursor().execute("LOCK TABLES " + ", ".join(
            "`%s` WRITE" % table for table in shadows))
        time.sleep(3)
    finally:
        locker.cursor().execute("UNLOCK TABLES")
        locker.close()
    code, out, err = finished(proc)
    assert code == 1 and "Traceback" not in err, (code, err)
    assert "Pausing: Galera flow control paused the cluster" in err, err
    assert "Paused 1 time" in err or "Paused 2 times" in err, err
    assert dep.nmtool("db", "archive_deleted_rows").rc == 0
    assert_consistent(dep)


def test_batches_aborted_again_and_again_are_halved_and_counted(
        deployment):
    """A writer on node 2 keeps touching the three oldest soft-deleted
    instances: node 1's batches that hold them are aborted until they are
    small enough to slip between its writes. The run completes, and
    --verbose and the JSON document count the conflicts retried."""
    dep = deployment(instances=200)
    stop = threading.Event()
    with connect(dep.ports[1], dep.main) as conn:
        cur = conn.cursor()
        # A causal read: node 2 may not have applied the generated rows
        # yet (once it read none, and the writer had nothing to touch).
        cur.execute("SET SESSION wsrep_sync_wait = 1")
        cur.execute("SELECT id FROM instances WHERE deleted <> 0 "
                    "ORDER BY id LIMIT 3")
        oldest = tuple(row[0] for row in cur.fetchall())
    assert len(oldest) == 3

    def hammer():
        # For a few seconds only: enough to abort the batches holding
        # those instances again and again, not to keep a loaded CI
        # machine's run fighting for minutes.
        until = time.monotonic() + 6
        with connect(dep.ports[1], dep.main) as conn:
            cur = conn.cursor()
            while not stop.is_set() and time.monotonic() < until:
                try:
                    cur.execute("UPDATE instances SET progress = "
                                "MOD(COALESCE(progress, 0) + 1, 100) WHERE "
                                "id IN %s", (oldest,))
                except pymysql.err.OperationalError:
                    pass
    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        result = dep.nmtool("db", "archive_deleted_rows", "--until-complete",
                            "--max_rows", "400", "--verbose", "--format",
                            "json")
    finally:
        stop.set()
        thread.join(30)
    assert result.rc == 1 and "Traceback" not in result.err, result
    retries = json.loads(result.out)["retries"]
    assert retries > 0
    assert "%d conflict%s retried" % (retries, "" if retries == 1 else "s") \
        in result.err
    assert "batches halved down to" in result.err, result.err
    assert dep.nmtool("db", "archive_deleted_rows").rc == 0
    assert_consistent(dep)
