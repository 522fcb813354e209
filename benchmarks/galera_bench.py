"""Archive on a 3-node Galera cluster against one server of the same
settings, on identical seeded data.

    python benchmarks/galera_bench.py --instances 100000 [--max-rows 1000]

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
  live instances; no soft-deletes, which would only prolong the run).

It reports wall time, rows moved per second, the ratio to the single
server, the conflicts node 1 suffered (wsrep_local_bf_aborts +
wsrep_local_cert_failures) and the time the cluster spent paused by flow
control (wsrep_flow_control_paused_ns on node 1).
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
NODES = (4306, 4307, 4308)
SINGLE_PORT = 4309
SINGLE_BASE = "/var/tmp/nmtool-galera-single"


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


def start_single():
    """A standalone server with the settings of a cluster node, wsrep off."""
    try:
        connect(SINGLE_PORT).close()
        return
    except pymysql.err.OperationalError:
        pass
    node = open("/var/tmp/nmtool-galera/n1.cnf").read()
    lines = [line for line in node.splitlines()
             if not line.startswith("wsrep") or line.startswith("wsrep_on")]
    config = "\n".join(lines).replace("wsrep_on=ON", "wsrep_on=OFF")
    config = config.replace("/var/tmp/nmtool-galera/n1", SINGLE_BASE)
    config = config.replace("port=4306", "port=%d" % SINGLE_PORT)
    os.makedirs(SINGLE_BASE + "/data", exist_ok=True)
    with open(SINGLE_BASE + ".cnf", "w") as handle:
        handle.write(config + "\n")
    subprocess.run(["chown", "-R", "mysql:mysql", SINGLE_BASE], check=True)
    subprocess.run(["mariadb-install-db", "--defaults-file=%s.cnf"
                    % SINGLE_BASE, "--user=mysql",
                    "--auth-root-authentication-method=normal"],
                   check=True, capture_output=True)
    subprocess.Popen(["/usr/sbin/mariadbd", "--defaults-file=%s.cnf"
                      % SINGLE_BASE, "--user=mysql"],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(120):
        try:
            with connect_root_socket() as conn:
                conn.cursor().execute(
                    "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'")
                conn.cursor().execute(
                    "GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT "
                    "OPTION")
            connect(SINGLE_PORT).close()
            return
        except (pymysql.err.OperationalError, FileNotFoundError):
            time.sleep(0.5)
    raise SystemExit("the single server did not start")


def connect_root_socket():
    return pymysql.connect(unix_socket=SINGLE_BASE + "/mysql.sock",
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

    def archive(self, max_rows):
        started = time.monotonic()
        result = subprocess.run(
            [NMTOOL, "--config-file", self.conf, "db", "archive_deleted_rows",
             "--until-complete", "--max_rows", str(max_rows),
             "--format", "json"], capture_output=True, text=True)
        elapsed = time.monotonic() - started
        if result.returncode not in (0, 1):
            raise SystemExit("archive failed (%d): %s" % (result.returncode,
                                                          result.stderr))
        return elapsed, json.loads(result.stdout)["total"], result.returncode

    def drop(self):
        with connect(self.port) as conn:
            for name in (self.api, self.main):
                conn.cursor().execute("DROP DATABASE IF EXISTS `%s`" % name)
        os.unlink(self.conf)


class Writers:
    """Nova's traffic from nodes 2 and 3 (see tests/test_galera.py)."""

    def __init__(self, case):
        self.case = case
        self.stop = threading.Event()
        self.done = 0
        self.threads = [threading.Thread(target=self._loop, args=(port, n))
                        for n, port in enumerate(NODES[1:])]

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


def run_case(label, port, args, writers=False):
    case = Case(port, args.instances, args.seed)
    try:
        if port != SINGLE_PORT:
            time.sleep(5)  # let the cluster apply the generated rows
        watch = NODES[0] if port != SINGLE_PORT else None
        before = status(watch, "wsrep_flow_control_paused_ns",
                        "wsrep_local_bf_aborts",
                        "wsrep_local_cert_failures") if watch else {}
        if writers:
            with Writers(case) as traffic:
                elapsed, rows, code = case.archive(args.max_rows)
            writes = traffic.done
        else:
            elapsed, rows, code = case.archive(args.max_rows)
            writes = 0
        after = status(watch, *before) if watch else {}
        delta = {k: after[k] - before[k] for k in before}
        return {"case": label, "seconds": round(elapsed, 2), "rows": rows,
                "rows_per_s": round(rows / elapsed), "exit": code,
                "writer_ops": writes,
                "flow_control_s": round(
                    delta.get("wsrep_flow_control_paused_ns", 0) / 1e9, 2),
                "conflicts": delta.get("wsrep_local_bf_aborts", 0)
                + delta.get("wsrep_local_cert_failures", 0)}
    finally:
        case.drop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=100000)
    parser.add_argument("--max-rows", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    subprocess.run(["bash", CLUSTER, "start"], check=True,
                   stdout=subprocess.DEVNULL)
    start_single()
    results = [run_case("single server", SINGLE_PORT, args),
               run_case("cluster, idle", NODES[0], args),
               run_case("cluster, writers on nodes 2 and 3", NODES[0], args,
                        writers=True)]
    base = results[0]["rows_per_s"]
    print("%s, Python %s, %d cores; --instances %d --max_rows %d, seed %d"
          % (platform.node(), platform.python_version(), os.cpu_count(),
             args.instances, args.max_rows, args.seed))
    print()
    print("| case | seconds | rows | rows/s | vs single | exit | "
          "flow control (s) | conflicts on node 1 | writer ops |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print("| %s | %.2f | %d | %d | %.2fx | %d | %.2f | %d | %d |" % (
            r["case"], r["seconds"], r["rows"], r["rows_per_s"],
            r["rows_per_s"] / base, r["exit"], r["flow_control_s"],
            r["conflicts"], r["writer_ops"]))


if __name__ == "__main__":
    main()
