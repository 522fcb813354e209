"""Archive on a 3-node Galera cluster against one server of the same
settings, on identical seeded data.

    python benchmarks/galera_bench.py --instances 100000 [--max-rows 1000]

The cluster is scripts/galera-cluster.sh's, started by this script: its
client ports are the ones the script prints, its directory
NMTOOL_GALERA_BASE (NMTOOL_GALERA_PORT_OFFSET moves the ports, for a
cluster beside another one). The single server takes node 1's settings
and the port after node 3's.

--instances is the number of instances generated (benchmarks/novadata.py,
deleted fraction 0.5, seed 2026), so about half of them are archived. Each
case creates its own API and cell databases, fills them, then times
`nmtool db archive_deleted_rows --until-complete --max_rows N` run against
node 1 (or the single server):

- single: one mariadbd with a Galera node's settings and wsrep off
  (127.0.0.1:4309, its own data directory);
- cluster idle: the 3-node cluster of scripts/galera-cluster.sh;
- cluster + writers: the same while two writers on nodes 2 and 3 do
  Nova's traffic (new instances with children and API rows, faults on
  live instances; no soft-deletes, which would only prolong the run);
- cluster + writers + slow node: the same while node 3 stops applying
  for STALL seconds out of every 4 (its shadow tables locked, as a node
  busy with a backup or a long local query would), which makes Galera's
  flow control pause the cluster; once as is, once with
  --max-flow-ctl PCT.

It reports wall time, rows moved per second, the ratio to the single
server, the conflicts node 1 suffered (wsrep_local_bf_aborts +
wsrep_local_cert_failures) and the time the cluster spent paused by flow
control (wsrep_flow_control_paused_ns on node 1).

--pin yes|both: CPU pinning with taskset, to see what the two other
nodes' appliers cost on a machine with few cores. Pinned, node 1 and the
nmtool process run on CPU 0 and nodes 2 and 3 on CPU 1; the single
server and its nmtool on CPU 0 (node 1's core). `both` runs the single
server and the idle cluster unpinned, then pinned, in the same sitting
(the servers are re-pinned between cases: taskset -a -p). --binlog adds
a single server with the binary log on (ROW format, as a node builds its
write sets) after each single-server case. --repeat N
runs those cases N times over (each ratio against the single server of
its own round). --idle-only leaves out the cases with writers and the
slow node.

Each run's CPU is reported too: nmtool's (this script's waited-for
children) and each server's (/proc/PID/stat, all threads), with their
sum over the machine's cores: the least wall time that CPU allows.
--provider-options OPTS sets wsrep_provider_options on every node first.

--sql-log DIR: each run also writes nmtool's --sql-log to DIR, and the
report adds, per batch (one archive.lock_candidates each): the wall time,
the time inside logged statements, and the rest (commits, which the log
does not time, with the client's own work, the same on both servers).
"""
import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuidlib

import pymysql

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import novadata  # noqa: E402

NMTOOL = os.path.join(os.path.dirname(sys.executable), "nmtool")
CLUSTER = os.path.join(ROOT, "scripts", "galera-cluster.sh")
BASE = os.environ.get("NMTOOL_GALERA_BASE", "/var/tmp/nmtool-galera")
# Filled from what galera-cluster.sh prints when it starts the cluster.
NODES = []
SINGLE_BASE = BASE + "-single"
# --binlog: the same with the binary log on, in row format (what a node
# builds for every write set).
BINLOG_BASE = BASE + "-single-binlog"
BINLOG = "log_bin=%(base)s/binlog\nserver_id=9\n"


def connect(port, database=None, autocommit=True):
    return pymysql.connect(host="127.0.0.1", port=port, user="root",
                           password="", database=database,
                           autocommit=autocommit, charset="utf8mb4")


def status(port, *names):
    with connect(port) as conn:
        cur = conn.cursor()
        cur.execute("SHOW GLOBAL STATUS WHERE Variable_name IN (%s)"
                    % ", ".join(["%s"] * len(names)), names)
        return {name: int(value) for name, value in cur.fetchall()}


def start_single(port, base=SINGLE_BASE, extra=""):
    """A standalone server with the settings of a cluster node, wsrep off,
    on `port` (extra: more settings)."""
    try:
        connect(port).close()
        return
    except pymysql.err.OperationalError:
        pass
    node = open(BASE + "/n1.cnf").read()
    lines = [line for line in node.splitlines()
             if not line.startswith("wsrep") or line.startswith("wsrep_on")]
    config = "\n".join(lines).replace("wsrep_on=ON", "wsrep_on=OFF")
    config = config.replace(BASE + "/n1", base)
    config = config.replace("port=%d" % NODES[0], "port=%d" % port)
    os.makedirs(base + "/data", exist_ok=True)
    with open(base + ".cnf", "w") as handle:
        handle.write(config + "\n" + extra % {"base": base})
    subprocess.run(["chown", "-R", "mysql:mysql", base], check=True)
    subprocess.run(["mariadb-install-db", "--defaults-file=%s.cnf"
                    % base, "--user=mysql",
                    "--auth-root-authentication-method=normal"],
                   check=True, capture_output=True)
    subprocess.Popen(["/usr/sbin/mariadbd", "--defaults-file=%s.cnf"
                      % base, "--user=mysql"],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(120):
        try:
            with connect_root_socket(base) as conn:
                conn.cursor().execute(
                    "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'")
                conn.cursor().execute(
                    "GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT "
                    "OPTION")
            connect(port).close()
            return
        except (pymysql.err.OperationalError, FileNotFoundError):
            time.sleep(0.5)
    raise SystemExit("the single server did not start")


def connect_root_socket(base=SINGLE_BASE):
    return pymysql.connect(unix_socket=base + "/mysql.sock",
                           user="root", password="", autocommit=True)


class Case:
    def __init__(self, port, instances, seed):
        tag = uuidlib.uuid4().hex[:8]
        self.port = port
        self.api, self.main = "gb_api_" + tag, "gb_main_" + tag
        with connect(port) as conn:
            for name in (self.api, self.main):
                conn.cursor().execute("CREATE DATABASE `%s`" % name)
        conf = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
        conf.write("[api_database]\nconnection = mysql+pymysql://root@"
                   "127.0.0.1:%d/%s?charset=utf8\n[database]\nconnection = "
                   "mysql+pymysql://root@127.0.0.1:%d/%s?charset=utf8\n"
                   % (port, self.api, port, self.main))
        conf.close()
        self.conf = conf.name
        for args in (["api_db", "sync"], ["db", "sync", "--local_cell"]):
            subprocess.run([NMTOOL, "--config-file", self.conf] + args,
                           check=True, capture_output=True)
        with connect(port, self.main, False) as main, \
                connect(port, self.api, False) as api:
            novadata.generate(main, api, instances, 0.5, seed=seed)

    def archive(self, max_rows, extra=(), prefix=(), sql_log=None):
        started = time.monotonic()
        log = ["--sql-log", sql_log] if sql_log else []
        result = subprocess.run(
            list(prefix) + [NMTOOL] + log +
            ["--config-file", self.conf, "db", "archive_deleted_rows",
             "--until-complete", "--max_rows", str(max_rows), "--verbose",
             "--format", "json"] + list(extra), capture_output=True,
            text=True)
        elapsed = time.monotonic() - started
        if result.returncode not in (0, 1):
            raise SystemExit("archive failed (%d): %s" % (result.returncode,
                                                          result.stderr))
        doc = json.loads(result.stdout)
        paused = [line for line in result.stderr.splitlines()
                  if line.startswith("Paused ")]
        return elapsed, doc["total"], result.returncode, doc["retries"], \
            paused[0] if paused else ""

    def drop(self):
        with connect(self.port) as conn:
            for name in (self.api, self.main):
                conn.cursor().execute("DROP DATABASE IF EXISTS `%s`" % name)
        os.unlink(self.conf)


class Writers:
    """Nova's traffic from nodes 2 and 3 (see tests/test_galera.py)."""

    def __init__(self, case, on=True):
        self.case = case
        self.stop = threading.Event()
        self.done = 0
        self.threads = [threading.Thread(target=self._loop, args=(port, n))
                        for n, port in enumerate(NODES[1:])] if on else []

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def _loop(self, port, seed):
        rng = random.Random(seed)
        main = connect(port, self.case.main)
        api = connect(port, self.case.api)
        while not self.stop.is_set():
            try:
                cur = main.cursor()
                step = rng.random()
                if step < 0.4:
                    uuid = str(uuidlib.uuid4())
                    cur.execute("BEGIN")
                    cur.execute("INSERT INTO instances (created_at, uuid, "
                                "vm_state, deleted) VALUES (NOW(), %s, "
                                "'active', 0)", (uuid,))
                    cur.execute("INSERT INTO instance_extra (created_at, "
                                "instance_uuid, deleted) VALUES (NOW(), %s, "
                                "0)", (uuid,))
                    cur.execute("INSERT INTO instance_actions (created_at, "
                                "action, instance_uuid, request_id, deleted) "
                                "VALUES (NOW(), 'create', %s, 'r', 0)",
                                (uuid,))
                    cur.execute("COMMIT")
                    api.cursor().execute(
                        "INSERT INTO instance_mappings (created_at, "
                        "instance_uuid, queued_for_delete) VALUES (NOW(), "
                        "%s, 0)", (uuid,))
                else:
                    cur.execute("SELECT uuid FROM instances WHERE deleted = 0"
                                " ORDER BY id DESC LIMIT 50")
                    rows = cur.fetchall()
                    if not rows:
                        continue
                    uuid = rng.choice(rows)[0]
                    # No soft-deletes here: they would only keep an
                    # --until-complete run going, not change its rate.
                    cur.execute("INSERT INTO instance_faults (created_at,"
                                " instance_uuid, code, message, deleted) "
                                "VALUES (NOW(), %s, 500, 'x', 0)", (uuid,))
                self.done += 1
            except pymysql.err.OperationalError:
                continue  # aborted by a conflict: as nova, try again


class SlowNode:
    """Node 3 stops applying for `stall` seconds out of every 4: its
    shadow tables locked (LOCK TABLES), so the applier waits, its queue
    grows and flow control pauses the whole cluster."""

    def __init__(self, case, stall):
        self.case = case
        self.stall = stall
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop)

    def __enter__(self):
        if self.stall:
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        if self.stall:
            self.thread.join(60)

    def _loop(self):
        with connect(NODES[2], self.case.main) as conn:
            cur = conn.cursor()
            cur.execute("SHOW TABLES LIKE 'shadow\\_%%'")
            lock = "LOCK TABLES " + ", ".join(
                "`%s` WRITE" % row[0] for row in cur.fetchall())
            while not self.stop.wait(4 - self.stall):
                cur.execute(lock)
                self.stop.wait(self.stall)
                cur.execute("UNLOCK TABLES")


def server_pids():
    """{name: pid} of the three nodes and the single server."""
    pids = {}
    for name, path in (("n1", BASE + "/n1"), ("n2", BASE + "/n2"),
                       ("n3", BASE + "/n3"), ("single", SINGLE_BASE),
                       ("binlog", BINLOG_BASE)):
        try:
            pids[name] = int(open(path + "/mysql.pid").read())
        except (OSError, ValueError):
            pass
    return pids


def cpu_seconds(pid):
    """CPU time (user + system, all threads) the process has used so far."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_used(pids):
    """{name: CPU seconds so far} of those servers and of this process's
    waited-for children (the nmtool run)."""
    import resource
    used = {name: cpu_seconds(pid) for name, pid in pids.items()}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    used["nmtool"] = children.ru_utime + children.ru_stime
    return used


def pin_servers(pinned):
    """Pinned: node 1 and the single server on CPU 0, nodes 2 and 3 on
    CPU 1; else every server on every CPU. All threads (-a), so the
    connection threads created later inherit it."""
    every = "0-%d" % (os.cpu_count() - 1)
    cpus = {"n1": "0", "single": "0", "binlog": "0", "n2": "1", "n3": "1"}
    for name, pid in server_pids().items():
        subprocess.run(["taskset", "-a", "-p", "-c",
                        cpus[name] if pinned else every, str(pid)],
                       check=True, stdout=subprocess.DEVNULL)


def wait_applied(timeout=300):
    """Until nodes 2 and 3 have applied every write set node 1 committed
    (the generated rows), so the timed run starts on an idle cluster."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = [status(port, "wsrep_last_committed")["wsrep_last_committed"]
                for port in NODES]
        if len(set(seen)) == 1:
            return
        time.sleep(0.5)
    raise SystemExit("the nodes did not catch up in %d s" % timeout)


def quiet(ports, limit=90):
    """Before a timed run: each server has written out its dirty pages
    (archive_bench.settle) and purged what earlier cases deleted and
    dropped (history list short), so that no background work of the
    fill or of the previous case lands on this one."""
    from archive_bench import settle
    for port in ports:
        settle(limit=limit, connect=lambda port=port: connect(port))
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        lengths = [status(port, "Innodb_history_list_length").get(
            "Innodb_history_list_length", 0) for port in ports]
        if max(lengths) < 1000:
            return
        time.sleep(1)


def batch_profile(path, elapsed):
    """Per batch of an --sql-log: (batches, wall ms, ms in statements,
    ms outside them)."""
    batches, statements = 0, 0.0
    with open(path) as handle:
        for line in handle:
            entry = json.loads(line)
            statements += entry["ms"] or 0
            if entry["name"] == "archive.lock_candidates":
                batches += 1
    batches = batches or 1
    wall = elapsed * 1000 / batches
    return batches, wall, statements / batches, wall - statements / batches


def run_case(label, port, args, writers=False, stall=0, extra=(),
             pinned=False):
    case = Case(port, args.instances, args.seed)
    try:
        cluster = port in NODES
        pin_servers(pinned)
        if cluster:
            time.sleep(2)
            wait_applied()
        if args.quiet:
            quiet(NODES if cluster else [port])
        watch = NODES[0] if cluster else None
        before = status(watch, "wsrep_flow_control_paused_ns",
                        "wsrep_local_bf_aborts",
                        "wsrep_local_cert_failures") if watch else {}
        sql_log = None
        if args.sql_log:
            os.makedirs(args.sql_log, exist_ok=True)
            sql_log = os.path.join(args.sql_log, "%s.jsonl" % "".join(
                c if c.isalnum() else "-" for c in label))
            if os.path.exists(sql_log):
                os.unlink(sql_log)
        prefix = ["taskset", "-c", "0"] if pinned else []
        own = None if cluster else server_pid(port)
        pids = {name: pid for name, pid in server_pids().items()
                if (name.startswith("n") if cluster else pid == own)}
        cpu_before = cpu_used(pids)
        with Writers(case, writers) as traffic, SlowNode(case, stall):
            elapsed, rows, code, retries, paused = case.archive(
                args.max_rows, extra, prefix, sql_log)
        cpu = {name: used - cpu_before[name]
               for name, used in cpu_used(pids).items()}
        after = status(watch, *before) if watch else {}
        delta = {k: after[k] - before[k] for k in before}
        with connect(port, case.main) as conn:
            cur = conn.cursor()
            # The writers soft-delete nothing: a complete run leaves none.
            cur.execute("SELECT COUNT(*) FROM instances WHERE deleted <> 0")
            left = cur.fetchone()[0]
        return {"case": label, "left": left, "pinned": pinned, "cpu": cpu,
                "profile": batch_profile(sql_log, elapsed) if sql_log
                else None,
                "seconds": round(elapsed, 2), "rows": rows,
                "rows_per_s": round(rows / elapsed), "exit": code,
                "writer_ops": traffic.done, "retries": retries,
                "paused": paused,
                "flow_control_s": round(
                    delta.get("wsrep_flow_control_paused_ns", 0) / 1e9, 2),
                "conflicts": delta.get("wsrep_local_bf_aborts", 0)
                + delta.get("wsrep_local_cert_failures", 0)}
    finally:
        case.drop()


def server_pid(port):
    """The pid of the server answering on port (of server_pids())."""
    with connect(port) as conn:
        cur = conn.cursor()
        cur.execute("SELECT @@pid_file")
        return int(open(cur.fetchone()[0]).read())


def stop_single(base=SINGLE_BASE):
    pid_file = base + "/mysql.pid"
    try:
        pid = int(open(pid_file).read())
    except (OSError, ValueError):
        return
    subprocess.run(["kill", str(pid)])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=100000)
    parser.add_argument("--max-rows", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--stall", type=float, default=1.0,
                        help="seconds of every 4 node 3 stops applying in "
                        "the slow-node cases (0: no such cases)")
    parser.add_argument("--max-flow-ctl", type=float, default=10.0)
    parser.add_argument("--pin", choices=("no", "yes", "both"),
                        default="no", help="CPU pinning (see above)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the single server and idle cluster "
                        "cases this many times, each ratio against the "
                        "single server of its round")
    parser.add_argument("--binlog", action="store_true",
                        help="also a single server with the binary log on "
                        "(ROW), after each single-server case")
    parser.add_argument("--quiet", action="store_true",
                        help="before each timed run, wait until the "
                        "servers have flushed and purged (see quiet())")
    parser.add_argument("--idle-only", action="store_true",
                        help="only the single server and the idle cluster")
    parser.add_argument("--provider-options", metavar="OPTS",
                        help="SET GLOBAL wsrep_provider_options to this on "
                        "each node before the cases (e.g. "
                        "'evs.send_window=512;evs.user_send_window=512')")
    parser.add_argument("--sql-log", metavar="DIR",
                        help="write each run's --sql-log there and report "
                        "the time per batch")
    args = parser.parse_args()
    started = subprocess.run(["bash", CLUSTER, "start"], check=True,
                             stdout=subprocess.PIPE, text=True)
    NODES[:] = [int(port) for port in started.stdout.split()]
    single = NODES[-1] + 1
    if args.provider_options:
        for port in NODES:
            with connect(port) as conn:
                conn.cursor().execute(
                    "SET GLOBAL wsrep_provider_options = %s",
                    (args.provider_options,))
    start_single(single)
    if args.binlog:
        start_single(single + 1, BINLOG_BASE, BINLOG)
    try:
        results = run_all(args, single)
    finally:
        stop_single()
        stop_single(BINLOG_BASE)
        subprocess.run(["bash", CLUSTER, "stop"])
    report(args, results)


def run_all(args, single):
    results = []
    for round_ in range(1, args.repeat + 1):
        for pinned in {"no": [False], "yes": [True],
                       "both": [False, True]}[args.pin]:
            tail = ", pinned" if pinned else ""
            cases = [("single server" + tail, single)]
            if args.binlog:
                cases.append(("single server with binary log" + tail,
                              single + 1))
            cases.append(("cluster, idle" + tail, NODES[0]))
            for result in [run_case(label, port, args, pinned=pinned)
                           for label, port in cases]:
                result["round"] = round_
                results.append(result)
    if args.idle_only:
        return results
    results.append(run_case("cluster, writers on nodes 2 and 3", NODES[0],
                            args, writers=True))
    if args.stall:
        slow = "cluster, writers, node 3 stalls %gs/4s" % args.stall
        results += [
            run_case(slow, NODES[0], args, writers=True, stall=args.stall),
            run_case(slow + ", --max-flow-ctl %g" % args.max_flow_ctl,
                     NODES[0], args, writers=True, stall=args.stall,
                     extra=["--max-flow-ctl", str(args.max_flow_ctl)])]
    return results


def report(args, results):
    # Each case against the single server of the same pinning.
    # (With --repeat: of the same round.)
    bases = {(r.get("round", 1), r["pinned"]): r["rows_per_s"]
             for r in results if r["case"].startswith("single server")
             and "binary log" not in r["case"]}
    for r in results:
        base = bases.get((r.get("round", 1), r["pinned"])) or \
            bases.get((1, r["pinned"]))
        r["ratio"] = r["rows_per_s"] / base
    print("%s, Python %s, %d cores; --instances %d --max_rows %d, seed %d"
          % (platform.node(), platform.python_version(), os.cpu_count(),
             args.instances, args.max_rows, args.seed))
    print("load average at the end: %s" % " ".join(
        "%.2f" % value for value in os.getloadavg()))
    print()
    if args.repeat > 1:
        for r in results:
            r["case"] += " (round %d)" % r.get("round", 1)
    print("| case | seconds | rows | rows/s | vs single | exit | "
          "flow control (s) | conflicts on node 1 | retried | writer ops | "
          "deleted instances left |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print("| %s | %.2f | %d | %d | %.2fx | %d | %.2f | %d | %d | %d | "
              "%d |" % (
                  r["case"], r["seconds"], r["rows"], r["rows_per_s"],
                  r["ratio"], r["exit"],
                  r["flow_control_s"],
                  r["conflicts"], r["retries"], r["writer_ops"], r["left"]))
    if any(r["profile"] for r in results):
        print()
        print("| case | batches | ms per batch | in statements | outside "
              "statements (commits, client) |")
        print("|---|---|---|---|---|")
        for r in results:
            if r["profile"]:
                print("| %s | %d | %.1f | %.1f | %.1f |" % (
                    (r["case"],) + r["profile"]))
    print()
    print("CPU seconds used during each run (user + system, all threads), "
          "and the least wall time that CPU allows on %d cores:"
          % os.cpu_count())
    print()
    print("| case | wall s | nmtool | node 1 or the single server | "
          "nodes 2 and 3 | total | total / cores |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        cpu = r["cpu"]
        first = cpu.get("n1", sum(v for k, v in cpu.items()
                                  if k not in ("nmtool", "n2", "n3")))
        others = cpu.get("n2", 0) + cpu.get("n3", 0)
        total = cpu["nmtool"] + first + others
        print("| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |" % (
            r["case"], r["seconds"], cpu["nmtool"], first, others, total,
            total / os.cpu_count()))
    if args.repeat > 1:
        print()
        for label in ("cluster, idle", "cluster, idle, pinned",
                      "single server with binary log",
                      "single server with binary log, pinned"):
            ratios = sorted(r["ratio"] for r in results
                            if r["case"].startswith(label + " (round"))
            if ratios:
                middle = len(ratios) // 2
                median = ratios[middle] if len(ratios) % 2 else \
                    (ratios[middle - 1] + ratios[middle]) / 2
                print("%s: ratios %s, median %.2fx" % (
                    label, " ".join("%.2f" % x for x in ratios), median))
    for r in results:
        if r["paused"]:
            print()
            print("%s: %s" % (r["case"], r["paused"]))


if __name__ == "__main__":
    main()
