"""The placement commands against nova-manage 34.0.0, with Placement (and
Neutron, for ports) served as production serves them: gunicorn, 4 sync
workers, over MariaDB.

    python benchmarks/placement_bench.py --instances 10000 --nodes 100 \\
        [--port-instances 1000] [--port-chunk 50] \\
        [--scenarios heal,dry_run,...] [--json F]

Run it with the Python of the virtualenv nmtool is installed in (the
`nmtool` beside it is the one measured). It uses the tests' MariaDB on
127.0.0.1:3316 (`bash scripts/test-mariadb.sh start`) with databases of
its own (dropped at the end unless --keep), the Placement and Neutron
virtualenvs of scripts/services-venv.sh, and gunicorn installed with pip
into a directory of its own (~/.cache/nmtool/gunicorn-lib) that the
services' Python imports it from.

The cloud: one cell, --nodes compute nodes (each a provider with room
for everything, in one of nodes/10 aggregates of ten hosts that
Placement already knows), --instances instances of one flavor spread
over them. For the port scenario a second deployment on the same nodes,
each node's provider with a bandwidth child provider, --port-instances
instances with one port each asking for minimum bandwidth.

Scenarios (each tool starts from the same Placement and Neutron state,
restored from a copy of their databases; nova-manage runs on a copy of
the nova databases, nmtool on the originals):

    heal       heal_allocations --skip-port-allocations, all need them
    dry_run    the same with --dry-run
    up_to_date heal_allocations --skip-port-allocations, all healed already
    ports      heal_allocations (Neutron asked), every instance a port
    audit      audit, over the healed state (nothing orphaned)
    sync       sync_aggregates, every host in its aggregate already

For each: wall time of each tool, the ratio, requests served by
Placement and Neutron per instance and the time the servers spent on
each kind of request (from gunicorn's access logs), exit
codes, and whether the end states are identical: every allocation in
Placement's database (consumer, project, user, consumer generation,
provider, class, amount) and every port's binding profile.
"""
import argparse
import hashlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from odm_bench import Server, copy_db, create_synced, point_cells  # noqa: E402

NMTOOL = os.path.join(os.path.dirname(sys.executable), "nmtool")
NOVA = os.path.expanduser("~/.cache/nmtool/nova-34.0.0/bin/nova-manage")
CACHE = os.path.expanduser("~/.cache/nmtool")
PLACEMENT_VENV = os.path.join(CACHE, "placement-16.0.0")
NEUTRON_VENV = os.path.join(CACHE, "neutron-29.0.0")
GUNICORN_LIB = os.path.join(CACHE, "gunicorn-lib")
WORKERS = 4
FLAVOR = {"id": 1, "name": "m1.small", "memory_mb": 2048, "vcpus": 2,
          "root_gb": 20, "ephemeral_gb": 0, "flavorid": "2", "swap": 0,
          "rxtx_factor": 1.0, "vcpu_weight": 0, "disabled": False,
          "is_public": True, "extra_specs": {}, "description": None}
BW_TRAITS = ["CUSTOM_PHYSNET_PHYSNET1", "CUSTOM_VNIC_TYPE_NORMAL"]
NEUTRON_ML2 = """\
[ml2]
type_drivers = flat,vlan
tenant_network_types =
mechanism_drivers = openvswitch
extension_drivers = port_security,qos
[ml2_type_vlan]
network_vlan_ranges = physnet1:100:200
"""
SCENARIOS = ("heal", "dry_run", "up_to_date", "ports", "audit", "sync")


def say(text):
    print(text, flush=True)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_gunicorn():
    if os.path.isdir(os.path.join(GUNICORN_LIB, "gunicorn")):
        return
    subprocess.run([os.path.join(PLACEMENT_VENV, "bin", "python"), "-m",
                    "pip", "install", "-q", "--target", GUNICORN_LIB,
                    "gunicorn"], check=True)


class Gunicorn:
    """One WSGI service under gunicorn; the access log counts requests."""

    def __init__(self, name, venv, app, env, workdir):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.access = os.path.join(workdir, name + ".access")
        full = dict(os.environ, PYTHONPATH=GUNICORN_LIB + ":" + workdir,
                    **env)
        self.log = open(os.path.join(workdir, name + ".log"), "w")
        self.proc = subprocess.Popen(
            [os.path.join(venv, "bin", "python"), "-m", "gunicorn",
             "--workers", str(WORKERS), "--bind", "127.0.0.1:%d" % self.port,
             "--timeout", "300", "--access-logfile", self.access,
             "--access-logformat", "%(m)s %(U)s %(s)s %(D)s", app],
            stdout=self.log, stderr=subprocess.STDOUT, env=full, cwd=workdir)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("%s exited at start, see %s" % (
                    name, self.log.name))
            try:
                requests.get(self.url + "/", timeout=5)
                return
            except requests.RequestException:
                time.sleep(0.3)
        self.stop()   # its workers would be booted again and again
        raise SystemExit("%s did not answer, see %s" % (name,
                                                          self.log.name))

    def served(self):
        try:
            with open(self.access) as handle:
                return sum(1 for _ in handle)
        except OSError:
            return 0

    def timing(self, first, last):
        """Requests first..last-1 of the access log by kind (method and
        path with ids as {id}): [count, seconds the server spent]."""
        kinds = {}
        try:
            with open(self.access) as handle:
                lines = handle.readlines()[first:last]
        except OSError:
            return kinds
        for line in lines:
            parts = line.split()
            if len(parts) < 4:
                continue
            path = "/".join("{id}" if len(p) >= 32 else p
                            for p in parts[1].split("/"))
            entry = kinds.setdefault(parts[0] + " " + path, [0, 0.0])
            entry[0] += 1
            entry[1] = round(entry[1] + int(parts[3]) / 1e6, 3)
        return kinds

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class Bench:
    def __init__(self, args):
        self.args = args
        self.server = Server(args.host, args.port, args.user, args.password)
        self.tag = "pb%s" % uuid.uuid4().hex[:8]
        self.workdir = tempfile.mkdtemp(prefix="nmt-placement-bench-")
        self.databases = []
        self.services = []

    # -- databases --------------------------------------------------------

    def database(self, role):
        name = "%s_%s" % (self.tag, role)
        self.databases.append(name)
        return name

    def snapshot(self, live, label):
        copy = self.database(label)
        with self.server.connect() as conn:
            conn.cursor().execute("CREATE DATABASE %s DEFAULT CHARACTER SET "
                                  "utf8" % copy)
        self.restore(copy, live, create=True)
        return copy

    def restore(self, live, snapshot, create=False):
        """The live database's rows become the snapshot's (same database,
        so the services' connections stay valid). Placement's standard
        resource classes start at id 0, which an AUTO_INCREMENT column
        would renumber without NO_AUTO_VALUE_ON_ZERO."""
        with self.server.connect() as conn:
            cur = conn.cursor()
            cur.execute("SET FOREIGN_KEY_CHECKS = 0")
            cur.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, "
                        "',NO_AUTO_VALUE_ON_ZERO')")
            cur.execute("SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = %s AND table_type = "
                        "'BASE TABLE'", (snapshot,))
            for (table,) in cur.fetchall():
                if create:
                    cur.execute("CREATE TABLE `%s`.`%s` LIKE `%s`.`%s`"
                                % (live, table, snapshot, table))
                cur.execute("DELETE FROM `%s`.`%s`" % (live, table))
                cur.execute("INSERT INTO `%s`.`%s` SELECT * FROM `%s`.`%s`"
                            % (live, table, snapshot, table))

    def drop_all(self):
        with self.server.connect() as conn:
            for name in self.databases:
                conn.cursor().execute("DROP DATABASE IF EXISTS `%s`" % name)

    # -- services ---------------------------------------------------------

    def start_placement(self):
        self.plc_db = self.database("placement")
        with self.server.connect() as conn:
            conn.cursor().execute("CREATE DATABASE %s DEFAULT CHARACTER SET "
                                  "utf8" % self.plc_db)
        conf_dir = os.path.join(self.workdir, "placement")
        os.makedirs(conf_dir)
        with open(os.path.join(conf_dir, "placement.conf"), "w") as conf:
            conf.write("[DEFAULT]\ndebug = False\n[api]\nauth_strategy = "
                       "noauth2\n[placement_database]\nconnection = %s\n"
                       % self.server.url(self.plc_db))
        subprocess.run([os.path.join(PLACEMENT_VENV, "bin",
                                     "placement-manage"), "--config-file",
                        os.path.join(conf_dir, "placement.conf"), "db",
                        "sync"], check=True, capture_output=True)
        self.placement = Gunicorn("placement", PLACEMENT_VENV,
                                  "placement.wsgi.api:application",
                                  {"OS_PLACEMENT_CONFIG_DIR": conf_dir},
                                  conf_dir)
        self.services.append(self.placement)
        self.plc = requests.Session()
        self.plc.headers.update({"X-Auth-Token": "admin",
                                 "OpenStack-API-Version": "placement 1.28",
                                 "Accept": "application/json"})

    def start_neutron(self):
        self.neu_db = self.database("neutron")
        with self.server.connect() as conn:
            conn.cursor().execute("CREATE DATABASE %s DEFAULT CHARACTER SET "
                                  "utf8" % self.neu_db)
        conf_dir = os.path.join(self.workdir, "neutron")
        os.makedirs(os.path.join(conf_dir, "lock"))
        with open(os.path.join(conf_dir, "neutron.conf"), "w") as conf:
            conf.write("\n".join([
                "[DEFAULT]", "core_plugin = ml2", "service_plugins = qos",
                "transport_url = fake:/",
                "api_paste_config = %s/etc/neutron/api-paste.ini"
                % NEUTRON_VENV,
                "notify_nova_on_port_status_changes = False",
                "notify_nova_on_port_data_changes = False",
                "host = nmt-neutron", "auth_strategy = noauth",
                # one project owns every port: Neutron's default quota
                # (500 ports) would refuse a cloud of 1,000
                "[quotas]", "quota_port = -1",
                "[database]", "connection = " + self.server.url(self.neu_db),
                "[oslo_concurrency]", "lock_path = %s/lock" % conf_dir,
                "[oslo_policy]", "enforce_scope = False",
                "enforce_new_defaults = False"]) + "\n")
        with open(os.path.join(conf_dir, "ml2_conf.ini"), "w") as conf:
            conf.write(NEUTRON_ML2)
        subprocess.run([os.path.join(NEUTRON_VENV, "bin",
                                     "neutron-db-manage"), "--config-file",
                        os.path.join(conf_dir, "neutron.conf"),
                        "--config-file", os.path.join(conf_dir,
                                                      "ml2_conf.ini"),
                        "upgrade", "head"], check=True, capture_output=True)
        with open(os.path.join(conf_dir, "neutron_app.py"), "w") as shim:
            # neutron reads sys.argv with oslo.config when imported:
            # gunicorn's options are not its own
            shim.write("import sys\nsys.argv = sys.argv[:1]\n"
                       "from neutron.wsgi.api import application  # noqa\n")
        self.neutron = Gunicorn(
            "neutron", NEUTRON_VENV, "neutron_app:application",
            {"OS_NEUTRON_CONFIG_DIR": conf_dir,
             "OS_NEUTRON_CONFIG_FILES": "neutron.conf;ml2_conf.ini"},
            conf_dir)
        self.services.append(self.neutron)
        self.neu = requests.Session()
        self.neu.headers.update({"X-Auth-Token": "admin",
                                 "Accept": "application/json"})

    def call(self, session, base, method, path, body=None, expect=None):
        resp = session.request(method, base + path, json=body, timeout=600)
        if expect is not None and resp.status_code != expect:
            raise SystemExit("%s %s -> %d %s" % (method, path,
                                                 resp.status_code, resp.text))
        return resp.json() if resp.content else None

    def p(self, method, path, body=None, expect=None):
        return self.call(self.plc, self.placement.url, method, path, body,
                         expect)

    def n(self, method, path, body=None, expect=None):
        return self.call(self.neu, self.neutron.url + "/v2.0", method, path,
                         body, expect)

    def create_ports(self, network, policy, devices, chunk):
        """One port per device, with Neutron's bulk create (POST /ports
        with a list), chunk ports per request; chunk 1 posts them one at
        a time."""
        def port(device):
            return {"network_id": network, "device_id": device,
                    "device_owner": "compute:nova", "project_id": "p",
                    "qos_policy_id": policy}
        for start in range(0, len(devices), chunk):
            part = devices[start:start + chunk]
            if chunk == 1:
                self.n("POST", "/ports", {"port": port(part[0])},
                       expect=201)
            else:
                made = self.n("POST", "/ports", {
                    "ports": [port(d) for d in part]}, expect=201)["ports"]
                if len(made) != len(part):
                    raise SystemExit("bulk create made %d ports of %d"
                                     % (len(made), len(part)))

    # -- the cloud --------------------------------------------------------

    def nova_databases(self, label):
        names = {"api": self.database(label + "_api"),
                 "main": self.database(label + "_cell1"),
                 "cell0": self.database(label + "_cell0")}
        create_synced(self.server, names)
        with self.server.connect(names["api"]) as conn:
            cur = conn.cursor()
            cur.execute("INSERT INTO cell_mappings (created_at, uuid, name, "
                        "transport_url, database_connection, disabled) "
                        "VALUES (NOW(), %s, 'cell0', 'none:///', %s, 0)",
                        ("00000000-0000-0000-0000-000000000000",
                         self.server.url(names["cell0"])))
            cur.execute("INSERT INTO cell_mappings (created_at, uuid, name, "
                        "transport_url, database_connection, disabled) "
                        "VALUES (NOW(), %s, 'cell1', 'rabbit://g:g@127.0.0."
                        "1:5672/', %s, 0)",
                        (str(uuid.uuid4()), self.server.url(names["main"])))
            names["cell_id"] = cur.lastrowid
        return names

    def seed_nova(self, names, nodes, count, aggregates):
        """nodes: [(host, provider uuid)]; instances spread over them in
        turn; aggregates: [(uuid, [hosts])]. Returns the instance uuids."""
        flavor = json.dumps({"cur": {
            "nova_object.name": "Flavor", "nova_object.namespace": "nova",
            "nova_object.version": "1.2", "nova_object.data": FLAVOR,
            "nova_object.changes": []}, "old": None, "new": None})
        uuids = [str(uuid.uuid4()) for _ in range(count)]
        with self.server.connect(names["main"]) as conn:
            cur = conn.cursor()
            cur.executemany(
                "INSERT INTO compute_nodes (created_at, uuid, host, "
                "hypervisor_hostname, vcpus, memory_mb, local_gb, vcpus_used,"
                " memory_mb_used, local_gb_used, hypervisor_type, "
                "hypervisor_version, cpu_info, deleted) VALUES (NOW(), %s, "
                "%s, %s, 64, 131072, 2000, 0, 0, 0, 'QEMU', 8000000, '{}', "
                "0)", [(rp, host, host) for host, rp in nodes])
            rows, extra = [], []
            for n, instance in enumerate(uuids):
                host = nodes[n % len(nodes)][0]
                created = "2024-01-01 %02d:%02d:%02d" % (
                    n // 3600 % 24, n // 60 % 60, n % 60)
                rows.append((created, instance, host, host, "proj", "user",
                             "img", "active", host))
                extra.append((created, instance, flavor))
            for start in range(0, count, 2000):
                cur.executemany(
                    "INSERT INTO instances (created_at, uuid, host, node, "
                    "project_id, user_id, image_ref, vm_state, launched_on, "
                    "deleted) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 0)",
                    rows[start:start + 2000])
                cur.executemany(
                    "INSERT INTO instance_extra (created_at, instance_uuid, "
                    "flavor, deleted) VALUES (%s, %s, %s, 0)",
                    extra[start:start + 2000])
        with self.server.connect(names["api"]) as conn:
            cur = conn.cursor()
            cur.executemany(
                "INSERT INTO instance_mappings (created_at, instance_uuid, "
                "cell_id, project_id, user_id, queued_for_delete) VALUES "
                "(NOW(), %s, %s, 'proj', 'user', 0)",
                [(u, names["cell_id"]) for u in uuids])
            cur.executemany(
                "INSERT INTO host_mappings (created_at, cell_id, host) "
                "VALUES (NOW(), %s, %s)",
                [(names["cell_id"], host) for host, _ in nodes])
            for n, (agg, hosts) in enumerate(aggregates):
                cur.execute("INSERT INTO aggregates (created_at, uuid, name) "
                            "VALUES (NOW(), %s, %s)", (agg, "agg%d" % n))
                agg_id = cur.lastrowid
                cur.executemany(
                    "INSERT INTO aggregate_hosts (created_at, host, "
                    "aggregate_id) VALUES (NOW(), %s, %s)",
                    [(h, agg_id) for h in hosts])
        return uuids

    def copy_nova(self, names, label):
        copy = {role: self.database("%s_%s" % (label, role))
                for role in ("api", "main", "cell0")}
        for role in ("api", "main", "cell0"):
            copy_db(self.server, names[role], copy[role])
        point_cells(self.server, copy)
        return copy

    def conf(self, names, neutron=False):
        path = os.path.join(self.workdir, "%s.conf" % names["api"])
        sections = [("placement", self.placement.url)]
        if neutron:
            sections.append(("neutron", self.neutron.url))
        with open(path, "w") as conf:
            conf.write("[DEFAULT]\ntransport_url = rabbit://g:g@127.0.0.1:"
                       "5672/\n[api_database]\nconnection = %s\n[database]\n"
                       "connection = %s\n" % (self.server.url(names["api"]),
                                              self.server.url(names["main"])))
            for group, url in sections:
                conf.write("[%s]\nauth_type = admin_token\ntoken = admin\n"
                           "endpoint = %s\nendpoint_override = %s\n"
                           % (group, url, url))
                if group == "neutron":
                    conf.write("http_retries = 0\n")
        return path

    # -- end states -------------------------------------------------------

    def placement_state(self):
        with self.server.connect(self.plc_db) as conn:
            cur = conn.cursor()
            cur.execute(
                "SELECT c.uuid, p.external_id, u.external_id, c.generation, "
                "rp.uuid, rc.name, a.used FROM allocations a "
                "JOIN consumers c ON c.uuid = a.consumer_id "
                "JOIN projects p ON p.id = c.project_id "
                "JOIN users u ON u.id = c.user_id "
                "JOIN resource_providers rp ON rp.id = "
                "a.resource_provider_id "
                "LEFT JOIN resource_classes rc ON rc.id = "
                "a.resource_class_id")
            rows = sorted(repr(r) for r in cur.fetchall())
            cur.execute("SELECT rp.uuid, pa.aggregate_id FROM "
                        "resource_provider_aggregates pa JOIN "
                        "resource_providers rp ON rp.id = "
                        "pa.resource_provider_id")
            rows += sorted(repr(r) for r in cur.fetchall())
        return len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()

    def port_state(self):
        if not hasattr(self, "neu_db"):
            return None
        with self.server.connect(self.neu_db) as conn:
            cur = conn.cursor()
            cur.execute("SELECT port_id, profile FROM ml2_port_bindings")
            rows = sorted(repr((port, json.loads(profile or "{}")))
                          for port, profile in cur.fetchall())
        return len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()

    # -- runs -------------------------------------------------------------

    def run(self, binary, conf, args):
        served = [s.served() for s in self.services]
        started = time.monotonic()
        proc = subprocess.run([binary, "--config-file", conf, "placement"]
                              + args, capture_output=True, text=True)
        seconds = time.monotonic() - started
        self.runs = getattr(self, "runs", 0) + 1
        with open(os.path.join(self.workdir, "run%02d-%s.out" % (
                self.runs, os.path.basename(binary))), "w") as out:
            out.write(" ".join(args) + "\n" + proc.stdout + proc.stderr)
        time.sleep(0.5)  # gunicorn's last access lines
        after = [s.served() for s in self.services]
        counts = [a - b for a, b in zip(after, served)]
        timing = {s.access.rsplit("/", 1)[1].split(".")[0]:
                  s.timing(b, a)
                  for s, b, a in zip(self.services, served, after)}
        return {"seconds": seconds, "rc": proc.returncode,
                "server_time": timing,
                "placement_requests": counts[0],
                "neutron_requests": counts[1] if len(counts) > 1 else 0,
                "lines": len(proc.stdout.splitlines()),
                "stderr_tail": proc.stderr[-300:] if proc.returncode not in
                (0, 1, 3, 4) else ""}

    def compare(self, name, args, start, nova_names, names, instances,
                neutron=False, neutron_start=None):
        results = {}
        states = {}
        for tool, binary, db in (("nova", NOVA, nova_names),
                                 ("nmtool", NMTOOL, names)):
            self.restore(self.plc_db, start)
            if neutron_start:
                self.restore(self.neu_db, neutron_start)
            result = self.run(binary, self.conf(db, neutron), args)
            result["requests_per_instance"] = round(
                (result["placement_requests"] + result["neutron_requests"])
                / float(instances), 3)
            results[tool] = result
            states[tool] = (self.placement_state(), self.port_state())
        ratio = results["nova"]["seconds"] / results["nmtool"]["seconds"]
        same = states["nova"] == states["nmtool"]
        say("%-10s nova-manage %7.1f s (rc %s, %.2f req/inst)  nmtool "
            "%7.1f s (rc %s, %.2f req/inst)  %.2fx  end states %s" % (
                name, results["nova"]["seconds"], results["nova"]["rc"],
                results["nova"]["requests_per_instance"],
                results["nmtool"]["seconds"], results["nmtool"]["rc"],
                results["nmtool"]["requests_per_instance"], ratio,
                "identical" if same else "DIFFER"))
        for tool in ("nova", "nmtool"):
            say("  %-6s server time: %s" % (tool, "; ".join(
                "%s %s" % (service, ", ".join(
                    "%s %d x %.1f s" % (kind, n, t) for kind, (n, t) in
                    sorted(kinds.items(), key=lambda kv: -kv[1][1])))
                for service, kinds in
                results[tool]["server_time"].items())))
            if results[tool]["stderr_tail"]:
                say("  %s stderr: %s" % (tool, results[tool]["stderr_tail"]))
        return {"args": args, "instances": instances, "ratio": ratio,
                "end_states_identical": same, "nova": results["nova"],
                "nmtool": results["nmtool"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=int, default=10000)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--port-instances", type=int, default=1000)
    parser.add_argument("--port-chunk", type=int, default=50,
                        help="ports per bulk create request (1: one at a "
                        "time)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--json", help="write the results there")
    parser.add_argument("--keep", action="store_true",
                        help="keep the databases and services' files")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3316)
    parser.add_argument("--user", default="root")
    parser.add_argument("--password", default="")
    args = parser.parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown:
        parser.error("unknown scenarios: %s" % ", ".join(sorted(unknown)))
    ensure_gunicorn()
    bench = Bench(args)
    report = {"machine": {"cpus": os.cpu_count(),
                          "python": platform.python_version(),
                          "load_before": os.getloadavg()},
              "instances": args.instances, "nodes": args.nodes,
              "port_instances": args.port_instances,
              "server": "gunicorn, %d sync workers" % WORKERS,
              "scenarios": {}}
    try:
        bench.start_placement()
        say("placement under gunicorn (%d workers) at %s"
            % (WORKERS, bench.placement.url))
        hosts = ["bench%03d" % n for n in range(args.nodes)]
        nodes = []
        aggregates = [(str(uuid.uuid4()), hosts[n:n + 10])
                      for n in range(0, len(hosts), 10)]
        agg_of = {h: agg for agg, hs in aggregates for h in hs}
        for host in hosts:
            rp = str(uuid.uuid4())
            bench.p("POST", "/resource_providers", {"uuid": rp, "name": host},
                    expect=200)
            bench.p("PUT", "/resource_providers/%s/inventories" % rp, {
                "resource_provider_generation": 0, "inventories": {
                    "VCPU": {"total": 10 ** 6},
                    "MEMORY_MB": {"total": 10 ** 9},
                    "DISK_GB": {"total": 10 ** 7}}}, expect=200)
            bench.p("PUT", "/resource_providers/%s/aggregates" % rp, {
                "resource_provider_generation": 1,
                "aggregates": [agg_of[host]]}, expect=200)
            nodes.append((host, rp))
        empty = bench.snapshot(bench.plc_db, "plc_empty")

        main_scen = [s for s in scenarios if s != "ports"]
        if main_scen:
            started = time.monotonic()
            names = bench.nova_databases("nova")
            bench.seed_nova(names, nodes, args.instances, aggregates)
            copy = bench.copy_nova(names, "novacopy")
            say("seeded %d instances on %d nodes in %.0f s"
                % (args.instances, args.nodes, time.monotonic() - started))
            heal = ["heal_allocations", "--skip-port-allocations"]
            healed = None
            for name in ("heal", "dry_run"):
                if name in scenarios or (name == "heal" and healed is None
                                         and set(scenarios) & {
                                             "up_to_date", "audit", "sync"}):
                    extra = ["--dry-run"] if name == "dry_run" else []
                    report["scenarios"][name] = bench.compare(
                        name, heal + extra, empty, copy, names,
                        args.instances)
                    if name == "heal":
                        # nmtool's end state (identical to nova's, see
                        # above) is where the next scenarios start
                        healed = bench.snapshot(bench.plc_db, "plc_healed")
            for name, cargs in (("up_to_date", heal), ("audit", ["audit"]),
                                ("sync", ["sync_aggregates"])):
                if name in scenarios:
                    report["scenarios"][name] = bench.compare(
                        name, cargs, healed, copy, names, args.instances)

        if "ports" in scenarios:
            bench.start_neutron()
            say("neutron under gunicorn (%d workers) at %s"
                % (WORKERS, bench.neutron.url))
            bench.restore(bench.plc_db, empty)
            for host, rp in nodes:
                child = str(uuid.uuid4())
                bench.p("POST", "/resource_providers", {
                    "uuid": child, "name": host + ":bw",
                    "parent_provider_uuid": rp}, expect=200)
                bench.p("PUT", "/resource_providers/%s/inventories" % child, {
                    "resource_provider_generation": 0, "inventories": {
                        "NET_BW_EGR_KILOBIT_PER_SEC": {"total": 10 ** 9}}},
                    expect=200)
                for trait in BW_TRAITS:
                    bench.p("PUT", "/traits/" + trait)
                bench.p("PUT", "/resource_providers/%s/traits" % child, {
                    "resource_provider_generation": 1, "traits": BW_TRAITS},
                    expect=200)
            ports_start = bench.snapshot(bench.plc_db, "plc_ports")
            pnames = bench.nova_databases("novaports")
            instances = bench.seed_nova(pnames, nodes, args.port_instances,
                                        [])
            pcopy = bench.copy_nova(pnames, "novaportscopy")
            network = bench.n("POST", "/networks", {"network": {
                "name": "n", "provider:network_type": "vlan",
                "provider:physical_network": "physnet1",
                "project_id": "p"}}, expect=201)["network"]["id"]
            policy = bench.n("POST", "/qos/policies", {"policy": {
                "name": "minbw", "project_id": "p"}},
                expect=201)["policy"]["id"]
            bench.n("POST", "/qos/policies/%s/minimum_bandwidth_rules"
                    % policy, {"minimum_bandwidth_rule": {
                        "min_kbps": 1000, "direction": "egress"}},
                    expect=201)
            started = time.monotonic()
            bench.create_ports(network, policy, instances, args.port_chunk)
            say("created %d ports in %.0f s" % (len(instances),
                                                 time.monotonic() - started))
            neutron_start = bench.snapshot(bench.neu_db, "neu_start")
            report["scenarios"]["ports"] = bench.compare(
                "ports", ["heal_allocations"], ports_start, pcopy, pnames,
                args.port_instances, neutron=True,
                neutron_start=neutron_start)
    finally:
        report["machine"]["load_after"] = os.getloadavg()
        for service in bench.services:
            service.stop()
        if not args.keep:
            bench.drop_all()
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
