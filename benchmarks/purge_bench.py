"""db purge: nmtool (chunks, each its own transaction) against nova-manage
34.0.0 (one DELETE per shadow table, unbounded) on identical copies of one
archived cell.

    python benchmarks/purge_bench.py --instances 135000 [--modes all,before]
        [--tools nova,nmtool,nmtool@20000] [--source TAG]

The data: benchmarks/novadata.py's cell (seeded) with `--instances` deleted
instances among twice as many, archived by nmtool (`db
archive_deleted_rows --until-complete`) into its shadow tables; 135,000
deleted instances give about 2,000,000 shadow rows. Mode `all` runs
`db purge --all`, mode `before` runs `db purge --before 2025-01-01`, the
middle of the generator's two years of deletions (about half the rows).

A tool is `nova`, `nmtool`, or `nmtool@N`: the installed nmtool with its
chunk size (PURGE_CHUNK) set to N, to find the chunking that does not
lose to one unbounded DELETE. (Until stop 16 also `/noorder`, chunks in
the server's order: chunks now go by key, and that search is over.)

Each run gets its own copy of the archived cell database. While a tool
runs, a thread samples InnoDB's monitor (SHOW ENGINE INNODB STATUS) every
50 ms and keeps the most rows any transaction on that copy had modified
(its undo log entries: the largest transaction seen; a sample can miss
the last rows of a chunk, so it is a lower bound). The end states (row
count and CHECKSUM TABLE of every table of the copy) are compared
between tools of one mode.

"Seconds until purged": a DELETE only marks its rows; InnoDB's purge
threads remove them after the commit. One unbounded DELETE leaves all of
that for after its statement (and its exit), chunks pay it as they go, so
the script also waits, on its own server, until InnoDB's counter of
purged delete-marked records (information_schema.innodb_metrics
`purge_del_mark_records`, which it turns on) has grown by the rows
deleted, and reports that time too: the whole job's cost to the server.

It uses the benchmarks' own MariaDB (`bash benchmarks/bench-mariadb.sh
start`, 127.0.0.1:3326; `--port` another such server) by default and
lets the server flush each fresh copy before the tool runs (`--settle`, a
global setting, set back afterwards; not on the tests' server, 3316). Run it with the Python of the virtualenv nmtool is
installed in.
"""
import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import pymysql

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import novadata  # noqa: E402
from archive_bench import settle  # noqa: E402
from odm_bench import copy_db  # noqa: E402

NMTOOL = os.path.join(os.path.dirname(sys.executable), "nmtool")
NOVA = os.path.expanduser("~/.cache/nmtool/nova-34.0.0/bin/nova-manage")
BEFORE = "2025-01-01"
# nmtool with another chunk size, for the search: PURGE_CHUNK is looked
# up when a table's purge starts.
PATCHED = (
    "import sys\n"
    "import nmtool.archive.purge as purge\n"
    "purge.PURGE_CHUNK = int(sys.argv[1])\n"
    "del sys.argv[1:2]\n"
    "from nmtool.cli import main\n"
    "sys.exit(main())\n")


class Server:
    def __init__(self, port):
        self.port = port

    def connect(self, database=None, autocommit=True):
        return pymysql.connect(host="127.0.0.1", port=self.port, user="root",
                               password="", database=database,
                               autocommit=autocommit, charset="utf8")

    def url(self, database):
        return "mysql+pymysql://root@127.0.0.1:%d/%s?charset=utf8" % (
            self.port, database)


def write_conf(server, api, main):
    conf = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    conf.write("[DEFAULT]\ntransport_url = rabbit://g:g@127.0.0.1:5672/\n"
               "[api_database]\nconnection = %s\n[database]\n"
               "connection = %s\n" % (server.url(api), server.url(main)))
    conf.close()
    return conf.name


def nmtool(server, api, main, *args):
    conf = write_conf(server, api, main)
    try:
        return subprocess.run([NMTOOL, "--config-file", conf] + list(args),
                              capture_output=True, text=True)
    finally:
        os.unlink(conf)


def end_state(server, name):
    """{table: (rows, CHECKSUM TABLE)} of one database."""
    with server.connect(name) as conn:
        cur = conn.cursor()
        cur.execute("SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = %s", (name,))
        out = {}
        for (table,) in sorted(cur.fetchall()):
            cur.execute("SELECT COUNT(*) FROM `%s`" % table)
            rows = cur.fetchone()[0]
            cur.execute("CHECKSUM TABLE `%s`" % table)
            out[table] = (rows, cur.fetchone()[1])
        return out


def shadow_count(server, name):
    with server.connect(name) as conn:
        cur = conn.cursor()
        cur.execute("SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = %s AND table_name LIKE 'shadow%%'",
                    (name,))
        total = 0
        for (table,) in cur.fetchall():
            cur.execute("SELECT COUNT(*) FROM `%s`" % table)
            total += cur.fetchone()[0]
        return total


def shadow_rows(state):
    return sum(rows for table, (rows, _) in state.items()
               if table.startswith("shadow_"))


class TrxSampler(threading.Thread):
    """The most rows one transaction on `database` had modified, sampled
    from InnoDB's monitor (SHOW ENGINE INNODB STATUS: each transaction's
    undo log entries, one per row a DELETE removed). Not from
    information_schema.innodb_trx: the server refreshes that snapshot only
    once nobody has read it for 100 ms, so a sampler reading it every
    50 ms saw one stale snapshot for a whole run (until stop 17 this
    column said "saw no transaction" for that reason)."""

    def __init__(self, server, database, every=0.05):
        super().__init__(daemon=True)
        self.server, self.database, self.every = server, database, every
        self.largest = 0
        self.done = threading.Event()

    def run(self):
        with self.server.connect() as conn:
            cur = conn.cursor()
            while not self.done.is_set():
                cur.execute("SELECT id FROM information_schema.processlist "
                            "WHERE db = %s", (self.database,))
                threads = {row[0] for row in cur.fetchall()}
                cur.execute("SHOW ENGINE INNODB STATUS")
                for thread, rows in trx_undo_entries(cur.fetchone()[2]):
                    if thread in threads:
                        self.largest = max(self.largest, rows)
                time.sleep(self.every)


def trx_undo_entries(status):
    """(thread id, undo log entries) of each transaction the monitor
    lists with both."""
    for trx in status.split("\n---TRANSACTION ")[1:]:
        thread = re.search(r"^\S+ thread id (\d+),", trx, re.M)
        undo = re.search(r"undo log entries (\d+)", trx)
        if thread and undo:
            yield int(thread.group(1)), int(undo.group(1))


PURGED = ("SELECT `count` FROM information_schema.innodb_metrics "
          "WHERE name = 'purge_del_mark_records'")


def purged_rows(server):
    with server.connect() as conn:
        cur = conn.cursor()
        cur.execute(PURGED)
        return int(cur.fetchone()[0])


def wait_purged(server, base, rows, limit=900):
    """Wait until InnoDB's purge has removed `rows` more delete-marked
    records than `base`: a DELETE only marks its rows, the server's purge
    threads remove them after the commit. One unbounded DELETE leaves all
    of that work for after its statement; chunks pay it as they go."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        if purged_rows(server) - base >= rows * 0.99:
            return True
        time.sleep(0.1)
    return False


def measured(argv):
    """(seconds, peak RSS MiB, exit code, stdout) of one run."""
    out = tempfile.NamedTemporaryFile("w+", suffix=".out", delete=False)
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "with open(sys.argv[1], 'w') as out:\n"
        "    rc = subprocess.call(sys.argv[2:], stdout=out,\n"
        "                         stderr=subprocess.DEVNULL)\n"
        "print(time.perf_counter() - t,\n"
        "      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)\n")
    result = subprocess.run([sys.executable, "-c", wrapper, out.name] + argv,
                            capture_output=True, text=True,
                            check=True).stdout
    seconds, rss_kb, rc = result.split()
    with open(out.name) as handle:
        text = handle.read()
    os.unlink(out.name)
    return float(seconds), int(rss_kb) / 1024.0, int(rc), text


def tool_argv(tool, conf):
    if tool == "nova":
        return [NOVA, "--config-file", conf]
    if tool == "nmtool":
        return [NMTOOL, "--config-file", conf]
    return [sys.executable, "-P", "-c", PATCHED, tool.partition("@")[2],
            "--config-file", conf]


def stats_file(tag):
    return os.path.join(tempfile.gettempdir(), "nmp_%s.json" % tag)


def prepare(server, opts, api, main):
    """Generate and archive the source cell; (generator stats, seconds to
    generate, seconds to archive)."""
    for name in (api, main):
        with server.connect() as conn:
            conn.cursor().execute("CREATE DATABASE %s DEFAULT CHARACTER SET "
                                  "utf8" % name)
    for kind, args in (("api", ["api_db", "sync"]),
                       ("main", ["db", "sync", "--local_cell"])):
        done = nmtool(server, api, main, *args)
        if done.returncode:
            raise SystemExit("%s sync failed: %s" % (kind, done.stderr))
    started = time.perf_counter()
    with server.connect(main, False) as gen_main, \
            server.connect(api, False) as gen_api:
        stats = novadata.generate(gen_main, gen_api,
                                  instances=opts.instances * 2,
                                  deleted_fraction=0.5, seed=opts.seed)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    done = nmtool(server, api, main, "db", "archive_deleted_rows",
                  "--until-complete")
    if done.returncode not in (0, 1):
        raise SystemExit("archive failed: %s" % done.stderr)
    return stats, generated, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=135000,
                        help="deleted instances to archive into the shadow "
                        "tables (135,000: about 2,000,000 shadow rows)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--modes", default="all,before")
    parser.add_argument("--tools", default="nova,nmtool")
    parser.add_argument("--port", type=int, default=3326)
    parser.add_argument("--settle", choices=("yes", "no"), default=None,
                        help="flush each copy before its run (a global "
                        "setting, changed for a moment); default: yes, "
                        "except on the tests' server, port 3316")
    parser.add_argument("--source", metavar="TAG",
                        help="keep the archived cell in nmp_api_TAG and "
                        "nmp_main_TAG and reuse it when it exists")
    opts = parser.parse_args()
    # A kill runs the finally below (dropping the copies) and settle's
    # restore of the server's setting, as ^C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    server = Server(opts.port)
    do_settle = (opts.settle or ("no" if opts.port == 3316 else "yes")) \
        == "yes"
    if do_settle:
        # A counter of InnoDB's own (off by default): rows its purge
        # threads removed, to time the whole job (wait_purged).
        with server.connect() as conn:
            conn.cursor().execute("SET GLOBAL innodb_monitor_enable = "
                                  "'purge_del_mark_records'")
    tools = [t for t in opts.tools.split(",") if t]
    modes = [m for m in opts.modes.split(",") if m]
    tag = uuid.uuid4().hex[:6]
    source = opts.source or tag
    api, main_db = "nmp_api_%s" % source, "nmp_main_%s" % source
    created = [] if opts.source else [api, main_db]
    try:
        with server.connect() as conn:
            cur = conn.cursor()
            cur.execute("SELECT COUNT(*) FROM information_schema.schemata "
                        "WHERE schema_name IN (%s, %s)", (api, main_db))
            found = cur.fetchone()[0]
            cur.execute("SELECT VERSION(), @@innodb_buffer_pool_size, "
                        "@@innodb_log_file_size, "
                        "@@innodb_flush_log_at_trx_commit")
            version, pool, redo, flush = cur.fetchone()
        reuse = opts.source and found == 2 and os.path.exists(
            stats_file(source))
        if opts.source and found and not reuse:
            raise SystemExit("%s/%s: left by a run that did not finish; drop "
                             "them or take another --source" % (api, main_db))
        if reuse:
            with open(stats_file(source)) as f:
                stats, generated, archived = json.load(f)
            print("(archived cell %s reused)" % source)
        else:
            stats, generated, archived = prepare(server, opts, api, main_db)
            if opts.source:
                with open(stats_file(source), "w") as f:
                    json.dump([stats, generated, archived], f)
        start = end_state(server, main_db)
        print("data: %s; generated in %.1f s, archived by nmtool in %.1f s; "
              "%d shadow rows, %d rows in the cell DB" % (
                  stats, generated, archived, shadow_rows(start),
                  sum(rows for rows, _ in start.values())))
        print("server: MariaDB %s on 127.0.0.1:%d, innodb_buffer_pool_size "
              "%d MiB, innodb_log_file_size %d MiB, "
              "innodb_flush_log_at_trx_commit %s; client: Python %s, %d "
              "cores\n" % (version, opts.port, pool // 2 ** 20,
                           redo // 2 ** 20, flush, platform.python_version(),
                           os.cpu_count()))
        results = []
        for mode in modes:
            args = ["db", "purge", "--verbose"] + (
                ["--all"] if mode == "all" else ["--before", BEFORE])
            states, printed = {}, {}
            for tool in tools:
                copy = "nmp_main_%s_%s" % (tag, len(results))
                copy_db(server, main_db, copy)
                created.append(copy)
                if do_settle:
                    settle(300, server.connect)
                conf = write_conf(server, api, copy)
                sampler = TrxSampler(server, copy)
                base = purged_rows(server) if do_settle else None
                sampler.start()
                t0 = time.perf_counter()
                try:
                    seconds, rss, rc, text = measured(
                        tool_argv(tool, conf) + args)
                finally:
                    sampler.done.set()
                    sampler.join()
                    os.unlink(conf)
                deleted = shadow_rows(start) - shadow_count(server, copy) \
                    if base is not None else 0
                until_purged = time.perf_counter() - t0 if base is not None \
                    and wait_purged(server, base, deleted) else float("nan")
                states[tool] = end_state(server, copy)
                printed[tool] = sorted(line for line in text.splitlines()
                                       if line.strip())
                deleted = shadow_rows(start) - shadow_rows(states[tool])
                results.append((mode, tool, seconds, until_purged, deleted,
                                deleted / seconds, sampler.largest, rss, rc))
                print("%s %s: %.2f s, %.2f s until purged, %d rows, exit %d"
                      % (mode, tool, seconds, until_purged, deleted, rc),
                      flush=True)
                with server.connect() as conn:
                    conn.cursor().execute("DROP DATABASE %s" % copy)
                created.remove(copy)
            first = tools[0]
            for tool in tools[1:]:
                print("%s: end state of %s %s %s; printed lines %s" % (
                    mode, tool,
                    "equals" if states[tool] == states[first]
                    else "DIFFERS FROM", first,
                    "equal" if printed[tool] == printed[first]
                    else "differ"))
                if states[tool] != states[first]:
                    for table in sorted(states[first]):
                        if states[first][table] != states[tool].get(table):
                            print("  %s: %s vs %s" % (
                                table, states[first][table],
                                states[tool].get(table)))
        print("\n| mode | tool | seconds | seconds until purged | rows "
              "deleted | rows/s | largest transaction seen (rows) | peak RSS "
              "(MiB) | exit |")
        print("|---|---|---|---|---|---|---|---|---|")
        for mode, tool, seconds, until, deleted, rate, largest, rss, rc \
                in results:
            print("| %s | %s | %.2f | %.2f | %d | %.0f | %d | %.1f | %d |" % (
                mode, tool, seconds, until, deleted, rate, largest, rss, rc))
        for mode in modes:
            for column, label in ((2, "time"), (3, "time until purged")):
                times = {r[1]: r[column] for r in results if r[0] == mode}
                if "nova" in times:
                    for tool, seconds in times.items():
                        if tool != "nova":
                            print("%s: nova-manage / %s %s: %.2fx" % (
                                mode, tool, label, times["nova"] / seconds))
    finally:
        with server.connect() as conn:
            for name in created:
                conn.cursor().execute("DROP DATABASE IF EXISTS %s" % name)


if __name__ == "__main__":
    main()
