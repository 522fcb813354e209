"""db online_data_migrations: nmtool against nova-manage 34.0.0 on
identical copies of one seeded cell whose instances all need
`populate_instance_compute_id` (a cloud upgraded from before 2023.2).

    python benchmarks/odm_bench.py --instances 100000 --nodes 100 [--tools nmtool,nova]

A tool is `nmtool`, `nova` or NAME=PATH, another nmtool to measure
beside them (an earlier build, say: `before=/path/to/venv/bin/nmtool`).

The data is benchmarks/odm_data.py's (see there). Each tool runs
`db online_data_migrations` with no options (nova's batches of 50 until
a batch migrates nothing) on its own copy of the API, cell0 and cell
databases. The script reports wall time and peak client memory of each
run, the ratio, and compares what both printed (the per-batch lines and
the table; nova-manage's log records, which it writes to stdout too,
left out) and both end states: every row of every table of the three
databases, with the timestamps the runs wrote counted as "now".

It uses the tests' MariaDB on 127.0.0.1:3316 by default (`bash
scripts/test-mariadb.sh start`) and changes none of the server's
settings. Run it with the Python of the virtualenv nmtool is installed
in (the `nmtool` beside that Python is the one measured).
"""
import argparse
import datetime
import hashlib
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import pymysql

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import archive_bench  # noqa: E402
import odm_data  # noqa: E402

NMTOOL = os.path.join(os.path.dirname(sys.executable), "nmtool")
NOVA = os.path.expanduser("~/.cache/nmtool/nova-34.0.0/bin/nova-manage")
# The command's own output; nova-manage also writes its log records to
# stdout (oslo.log's default), nmtool to stderr.
OUTPUT_LINE = re.compile(
    r"^(Running batches of \d+ until complete"
    r"|\d+ rows matched query \w+, \d+ migrated"
    r"|Error attempting to run <.*>"
    r"|[+|].*"
    r"|Some migrations failed unexpectedly\. Check log for details\.)$")
ROLES = ("api", "main", "cell0")


class Server:
    def __init__(self, host, port, user, password):
        self.params = dict(host=host, port=port, user=user,
                           password=password, charset="utf8")

    def connect(self, database=None, autocommit=True):
        return pymysql.connect(database=database, autocommit=autocommit,
                               **self.params)

    def url(self, database):
        auth = self.params["user"]
        if self.params["password"]:
            auth += ":" + self.params["password"]
        return "mysql+pymysql://%s@%s:%d/%s?charset=utf8" % (
            auth, self.params["host"], self.params["port"], database)


def write_conf(server, api, main):
    conf = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    conf.write("[DEFAULT]\ntransport_url = rabbit://g:g@127.0.0.1:5672/\n"
               "[api_database]\nconnection = %s\n[database]\n"
               "connection = %s\n" % (server.url(api), server.url(main)))
    conf.close()
    return conf.name


def create_synced(server, names):
    """Empty databases at head, synced by nmtool (the test suite shows
    its schemas equal to nova-manage's)."""
    with server.connect() as conn:
        for name in names.values():
            conn.cursor().execute("CREATE DATABASE %s DEFAULT CHARACTER SET "
                                  "utf8" % name)
    conf = write_conf(server, names["api"], names["main"])
    try:
        for args, in ((["api_db", "sync"],), (["db", "sync",
                                                "--local_cell"],)):
            subprocess.run([NMTOOL, "--config-file", conf] + args,
                           check=True, capture_output=True)
    finally:
        os.unlink(conf)
    conf = write_conf(server, names["api"], names["cell0"])
    try:
        subprocess.run([NMTOOL, "--config-file", conf, "db", "sync",
                        "--local_cell"], check=True, capture_output=True)
    finally:
        os.unlink(conf)


def copy_db(server, source, target):
    archive_bench.copy_db(source, target, server.connect)


def point_cells(server, names):
    """The copy's cell mappings name the copy's own cell databases."""
    with server.connect(names["api"]) as conn:
        cur = conn.cursor()
        cur.execute("UPDATE cell_mappings SET database_connection = %s "
                    "WHERE name = 'cell0'", (server.url(names["cell0"]),))
        cur.execute("UPDATE cell_mappings SET database_connection = %s "
                    "WHERE name = 'cell1'", (server.url(names["main"]),))


def end_state(server, names, since):
    """{(role, table): (rows, sha256)} of every table, rows in primary-key
    order; timestamps at or after `since` count as "now", and the cell
    mappings' URLs (which name each copy's databases) are left out."""
    out = {}
    for role in ROLES:
        with server.connect(names[role]) as conn:
            cur = conn.cursor()
            cur.execute("SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = %s ORDER BY table_name",
                        (names[role],))
            for (table,) in cur.fetchall():
                cur.execute("SELECT * FROM `%s`" % table)
                columns = [d[0] for d in cur.description]
                rows = []
                for row in cur.fetchall():
                    values = []
                    for column, value in zip(columns, row):
                        if isinstance(value, datetime.datetime) and \
                                value >= since:
                            value = "NOW"
                        elif table == "cell_mappings" and \
                                column == "database_connection":
                            value = None
                        values.append(value)
                    rows.append(repr(values))
                # Sorted once the run's timestamps are "now": sorted
                # before, two equal tables could come out in two orders.
                digest = hashlib.sha256()
                for row in sorted(rows):
                    digest.update(row.encode())
                out[(role, table)] = (len(rows), digest.hexdigest())
    return out


def run_tool(binary, conf, time_limit=None):
    """(seconds, peak RSS MiB, exit code or 'killed', stdout) of one
    `db online_data_migrations` run."""
    out = tempfile.NamedTemporaryFile("w+", suffix=".out", delete=False)
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter(); limit = float(sys.argv[1]) or None\n"
        "with open(sys.argv[2], 'w') as out:\n"
        "    p = subprocess.Popen(sys.argv[3:], stdout=out,\n"
        "                         stderr=subprocess.DEVNULL)\n"
        "    try: rc = p.wait(limit)\n"
        "    except subprocess.TimeoutExpired: p.kill(); p.wait(); "
        "rc = 'killed'\n"
        "print(time.perf_counter() - t,\n"
        "      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)\n")
    result = subprocess.run(
        [sys.executable, "-c", wrapper, str(time_limit or 0), out.name,
         binary, "--config-file", conf, "db", "online_data_migrations"],
        capture_output=True, text=True, check=True).stdout
    seconds, rss_kb, rc = result.split()
    with open(out.name) as handle:
        text = handle.read()
    os.unlink(out.name)
    return float(seconds), int(rss_kb) / 1024.0, rc, text


def own_output(text):
    return [line for line in text.splitlines() if OUTPUT_LINE.match(line)]


def az_query_ms(server, main, repeat=5):
    """How long nova's zone query takes on this cell once every zone is
    set: what each of its batches pays to find nothing."""
    times = []
    with server.connect(main) as conn:
        cur = conn.cursor()
        for _ in range(repeat):
            started = time.perf_counter()
            cur.execute("SELECT * FROM instances WHERE host IS NOT NULL "
                        "AND availability_zone IS NULL LIMIT 50")
            cur.fetchall()
            times.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=100000)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--tools", default="nmtool,nova")
    parser.add_argument("--time-limit", type=float, metavar="SECONDS",
                        help="kill a tool still running after this long "
                        "(its committed batches stay; no end state to "
                        "compare then)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the databases (odmb_*) for a look "
                        "afterwards; drop them by hand")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3316)
    parser.add_argument("--user", default="root")
    parser.add_argument("--password", default="")
    opts = parser.parse_args()
    server = Server(opts.host, opts.port, opts.user, opts.password)
    binaries = {"nmtool": NMTOOL, "nova": NOVA}
    tools = []
    for item in opts.tools.split(","):
        name, _, path = item.partition("=")
        if name:
            tools.append(name)
            binaries.setdefault(name, path)
    tag = uuid.uuid4().hex[:6]
    source = dict((role, "odmb_%s_%s" % (role, tag)) for role in ROLES)
    created = list(source.values())
    try:
        create_synced(server, source)
        started = time.perf_counter()
        with server.connect(source["main"], False) as gen_main, \
                server.connect(source["api"], False) as gen_api:
            stats = odm_data.generate(gen_main, gen_api, opts.instances,
                                      opts.nodes, opts.seed)
        gen_time = time.perf_counter() - started
        copies = {}
        for tool in tools:
            names = dict((role, "odmb_%s_%s_%s" % (role, tag, tool))
                         for role in ROLES)
            for role in ROLES:
                copy_db(server, source[role], names[role])
                created.append(names[role])
            point_cells(server, names)
            copies[tool] = names
        with server.connect() as conn:
            cur = conn.cursor()
            cur.execute("SELECT VERSION(), @@innodb_buffer_pool_size, "
                        "@@innodb_flush_log_at_trx_commit, "
                        "@@innodb_log_file_size")
            version, pool, flush, redo = cur.fetchone()
        print("data (seed %d): %s; generated in %.1f s"
              % (opts.seed, stats, gen_time))
        print("server: MariaDB %s on %s:%d, innodb_buffer_pool_size %d MiB, "
              "innodb_log_file_size %d MiB, innodb_flush_log_at_trx_commit "
              "%s (left as they were); client: Python %s, %d cores\n" % (
                  version, opts.host, opts.port, pool // 2 ** 20,
                  redo // 2 ** 20, flush, platform.python_version(),
                  os.cpu_count()))
        sys.stdout.flush()
        # Let the server write out what the copies dirtied before the
        # first tool starts.
        time.sleep(30)
        since = datetime.datetime.utcnow().replace(microsecond=0) - \
            datetime.timedelta(seconds=1)
        results, outputs, ends, texts = [], {}, {}, {}
        for tool in tools:
            names = copies[tool]
            conf = write_conf(server, names["api"], names["main"])
            seconds, rss, rc, text = run_tool(binaries[tool], conf,
                                              opts.time_limit)
            os.unlink(conf)
            lines = own_output(text)
            batches = sum(1 for line in lines
                          if "populate_instance_compute_id" in line)
            results.append((tool, seconds, rss, rc, batches))
            print("%s: %.2f s, exit %s, peak RSS %.1f MiB, %d batches with "
                  "compute ids" % (tool, seconds, rc, rss, batches))
            sys.stdout.flush()
            if rc == "killed":
                continue
            outputs[tool] = lines
            texts[tool] = text
            ends[tool] = end_state(server, names, since)
        print()
        print("| tool | seconds | exit | instances | instances/s | "
              "peak RSS (MiB) |")
        print("|---|---|---|---|---|---|")
        for tool, seconds, rss, rc, _ in results:
            print("| %s | %.2f | %s | %d | %.0f | %.1f |" % (
                tool, seconds, rc, opts.instances,
                opts.instances / seconds, rss))
        times = dict((r[0], r[1]) for r in results)
        if "nova" in times and "nmtool" in times:
            print("\nnova-manage's time / nmtool's: %.1fx"
                  % (times["nova"] / times["nmtool"]))
        for tool in times:
            if tool not in ("nova", "nmtool") and "nmtool" in times:
                print("%s's time / nmtool's: %.1fx"
                      % (tool, times[tool] / times["nmtool"]))
        done = [r[0] for r in results if r[3] != "killed"]
        for a, b in zip(done, done[1:]):
            same_out = outputs[a] == outputs[b]
            print("printed lines of %s and %s (%d) %s" % (
                a, b, len(outputs[a]), "equal" if same_out else "DIFFER"))
            if not same_out:
                for n, (x, y) in enumerate(zip(outputs[a], outputs[b])):
                    if x != y:
                        print("  first difference, line %d:\n  %s: %s\n"
                              "  %s: %s" % (n + 1, a, x, b, y))
                        break
                # Kept whole (log records and tracebacks too): what a
                # tool printed about a failed batch is gone otherwise.
                for tool in (a, b):
                    path = os.path.join(tempfile.gettempdir(),
                                        "odm_bench_%s_%s.out" % (tag, tool))
                    with open(path, "w") as handle:
                        handle.write(texts[tool])
                    print("  %s's whole output: %s" % (tool, path))
            differ = sorted(key for key in ends[a]
                            if ends[a][key] != ends[b].get(key))
            print("end states of %s and %s (%d tables, %d rows) %s" % (
                a, b, len(ends[a]), sum(v[0] for v in ends[a].values()),
                "equal" if not differ else "DIFFER in %s" % differ))
        if done:
            print("the final table:\n" + "\n".join(
                line for line in outputs[done[0]] if line[:1] in "+|"))
        if "nova" in copies:
            print("\nnova's zone query on the migrated cell: %.1f ms "
                  "(median of 5)" % az_query_ms(server,
                                                copies["nova"]["main"]))
    finally:
        if opts.keep:
            print("kept: %s" % " ".join(created))
            created = []
        with server.connect() as conn:
            for name in created:
                conn.cursor().execute("DROP DATABASE IF EXISTS %s" % name)


if __name__ == "__main__":
    main()
