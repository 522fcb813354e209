"""Cold start: `--version` and `db version`, nmtool against nova-manage.

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

SERVER = dict(host="127.0.0.1", port=3306, user="root", password="")


def timed(argv, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
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
                   "127.0.0.1/%s?charset=utf8\n[database]\nconnection = "
                   "mysql+pymysql://root@127.0.0.1/%s?charset=utf8\n"
                   % (api, main_db))
        conf.close()
        for args in (["api_db", "sync"], ["db", "sync", "--local_cell"]):
            subprocess.run([opts.nmtool, "--config-file", conf.name] + args,
                           check=True, capture_output=True)
        rows = []
        for label, args in (("--version", ["--version"]),
                            ("db version", ["--config-file", conf.name,
                                            "db", "version"])):
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
