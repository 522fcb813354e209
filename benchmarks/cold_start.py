"""Cold start: `--version`, `db version` and `cell_v2 verify_instance` (one
mapped instance looked up: a command whose own work is one or two
queries, so its time is start-up), nmtool against nova-manage.

Creates a throwaway API and main database synced by nmtool, runs each
command N times with each tool, and prints a Markdown table of the median
and best wall-clock times. Usage:

    python benchmarks/cold_start.py [--runs 10] [--nova-venv PATH]
"""
import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import pymysql

# The tests' MariaDB (scripts/test-mariadb.sh): only throwaway databases
# are made there, no setting is changed.
SERVER = dict(host="127.0.0.1", port=3316, user="root", password="")
CELL = "11111111-1111-4111-8111-111111111111"
INSTANCE = "22222222-2222-4222-8222-222222222222"


def timed(argv, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0 or "11111111" not in proc.stdout \
                and "verify_instance" in argv:
            raise SystemExit("%s failed: %s" % (argv, proc.stdout + proc.stderr))
    return statistics.median(times), min(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--nova-venv", default=os.path.expanduser(
        "~/.cache/nmtool/nova-34.0.0"))
    parser.add_argument("--nmtool", default=os.path.join(
        os.path.dirname(sys.executable), "nmtool"))
    opts = parser.parse_args()
    nova = os.path.join(opts.nova_venv, "bin", "nova-manage")

    suffix = uuid.uuid4().hex[:8]
    api, main_db = "nmt_bench_api_" + suffix, "nmt_bench_main_" + suffix
    conn = pymysql.connect(autocommit=True, **SERVER)
    conf = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    try:
        for name in (api, main_db):
            conn.cursor().execute("CREATE DATABASE %s" % name)
        conf.write("[api_database]\nconnection = mysql+pymysql://root@"
                   "127.0.0.1:%d/%s?charset=utf8\n[database]\nconnection = "
                   "mysql+pymysql://root@127.0.0.1:%d/%s?charset=utf8\n"
                   % (SERVER["port"], api, SERVER["port"], main_db))
        conf.close()
        for args in (["api_db", "sync"], ["db", "sync", "--local_cell"]):
            subprocess.run([opts.nmtool, "--config-file", conf.name] + args,
                           check=True, capture_output=True)
        cur = conn.cursor()
        cur.execute("INSERT INTO %s.cell_mappings (created_at, uuid, name, "
                    "transport_url, database_connection) VALUES (NOW(), %%s, "
                    "'cell1', 'none:///', %%s)" % api,
                    (CELL, "mysql+pymysql://root@127.0.0.1:%d/%s?charset=utf8"
                     % (SERVER["port"], main_db)))
        cur.execute("INSERT INTO %s.instance_mappings (created_at, "
                    "instance_uuid, cell_id, project_id) VALUES (NOW(), %%s, "
                    "%%s, 'p')" % api, (INSTANCE, cur.lastrowid))
        cur.execute("INSERT INTO %s.instances (created_at, uuid, deleted) "
                    "VALUES (NOW(), %%s, 0)" % main_db, (INSTANCE,))
        rows = []
        for label, args in (("--version", ["--version"]),
                            ("db version", ["--config-file", conf.name,
                                            "db", "version"]),
                            ("cell_v2 verify_instance",
                             ["--config-file", conf.name, "cell_v2",
                              "verify_instance", "--uuid", INSTANCE])):
            for tool, binary in (("nmtool", opts.nmtool),
                                 ("nova-manage 34.0.0", nova)):
                if not os.path.exists(binary):
                    continue
                median, best = timed([binary] + args, opts.runs)
                rows.append((label, tool, median, best))
    finally:
        for name in (api, main_db):
            conn.cursor().execute("DROP DATABASE IF EXISTS %s" % name)
        os.unlink(conf.name)

    print("Cold start, %d runs each, on %s, Python %s, %d cores\n" % (
        opts.runs, platform.node() or "this machine",
        platform.python_version(), os.cpu_count()))
    print("| command | tool | median (s) | best (s) |")
    print("|---|---|---|---|")
    for label, tool, median, best in rows:
        print("| `%s` | %s | %.3f | %.3f |" % (label, tool, median, best))


if __name__ == "__main__":
    main()
