"""Archive throughput: nmtool against nova-manage 34.0.0 and a hand-written
set-based SQL baseline, on identical copies of the same seeded data.

    python benchmarks/archive_bench.py --instances 10000 [--tools nmtool,nova,baseline]

`--instances` is the number of *deleted* instances; the generator adds the
same number of live ones' worth of rows around them (deleted fraction 0.5).
Each tool runs `archive_deleted_rows --until-complete` with the default
--max_rows 1000 on its own copy; the script reports wall time, rows moved
per second and the peak resident memory of the tool's process, and checks
that all three copies end in the same state (same row counts per table).
"""
import argparse
import json
import os
import platform
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

# The benchmarks' own server (benchmarks/bench-mariadb.sh): this script
# changes its global settings, which it must not do to a shared one.
SERVER = dict(host="127.0.0.1", port=3326, user="root", password="",
              charset="utf8")
NMTOOL = os.path.join(os.path.dirname(sys.executable), "nmtool")
NOVA = os.path.expanduser("~/.cache/nmtool/nova-34.0.0/bin/nova-manage")

# The baseline: what a DBA would write by hand for the same job, knowing
# nova's schema: children of a range of deleted instances, then the
# instances, then the other soft-deleted rows, table by table.
BASELINE_CHILDREN = [
    ("instance_actions_events",
     "JOIN instance_actions a ON c.action_id = a.id "
     "JOIN instances i ON a.instance_uuid = i.uuid"),
    ("instance_actions", "JOIN instances i ON c.instance_uuid = i.uuid"),
    ("block_device_mapping", "JOIN instances i ON c.instance_uuid = i.uuid"),
    ("instance_extra", "JOIN instances i ON c.instance_uuid = i.uuid"),
    ("instance_faults", "JOIN instances i ON c.instance_uuid = i.uuid"),
    ("instance_info_caches", "JOIN instances i ON c.instance_uuid = i.uuid"),
    ("instance_metadata", "JOIN instances i ON c.instance_uuid = i.uuid"),
    ("instance_system_metadata",
     "JOIN instances i ON c.instance_uuid = i.uuid"),
    ("migrations", "JOIN instances i ON c.instance_uuid = i.uuid"),
    ("virtual_interfaces", "JOIN instances i ON c.instance_uuid = i.uuid"),
]
BASELINE_ALONE = ["services", "block_device_mapping"]
BASELINE_NODES = ("pci_devices", "compute_nodes")


def connect(database=None, autocommit=True):
    return pymysql.connect(database=database, autocommit=autocommit,
                           **SERVER)


def sync(name, kind):
    conf = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    section = "api_database" if kind == "api" else "database"
    conf.write("[%s]\nconnection = mysql+pymysql://root@127.0.0.1:%d/%s"
               "?charset=utf8\n" % (section, SERVER["port"], name))
    conf.close()
    args = ["api_db", "sync"] if kind == "api" else ["db", "sync",
                                                      "--local_cell"]
    subprocess.run([NMTOOL, "--config-file", conf.name] + args, check=True,
                   capture_output=True)
    os.unlink(conf.name)


def copy_db(source, target, connect=connect):
    """A copy of database source as target, on the server connect()
    reaches (this benchmark's own by default)."""
    with connect() as conn:
        cur = conn.cursor()
        cur.execute("CREATE DATABASE %s DEFAULT CHARACTER SET utf8" % target)
        cur.execute("SET FOREIGN_KEY_CHECKS = 0")
        cur.execute("SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = %s", (source,))
        for (table,) in cur.fetchall():
            cur.execute("SHOW CREATE TABLE %s.`%s`" % (source, table))
            create = cur.fetchone()[1]
            cur.execute("USE %s" % target)
            cur.execute(create)
            cur.execute("INSERT INTO %s.`%s` SELECT * FROM %s.`%s`"
                        % (target, table, source, table))


def counts(name):
    with connect(name) as conn:
        cur = conn.cursor()
        cur.execute("SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = %s", (name,))
        out = {}
        for (table,) in cur.fetchall():
            cur.execute("SELECT COUNT(*) FROM `%s`" % table)
            out[table] = cur.fetchone()[0]
        return out


def measured(argv, time_limit=None):
    """Run argv; return (seconds, peak RSS in MiB of that process, whether
    it finished). With time_limit, a run still going after that many
    seconds is killed (its committed batches stay)."""
    wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter();"
               "limit = float(sys.argv[1]) or None;"
               "p = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL)\n"
               "try: rc = p.wait(limit)\n"
               "except subprocess.TimeoutExpired: p.kill(); p.wait(); rc = 'killed'\n"
               "print(time.perf_counter() - t,"
               " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)")
    out = subprocess.run([sys.executable, "-c", wrapper,
                          str(time_limit or 0)] + argv,
                         capture_output=True, text=True, check=True).stdout
    seconds, rss_kb, rc = out.split()
    if rc != "killed" and int(rc) not in (0, 1):
        raise SystemExit("%s exited %s" % (argv, rc))
    return float(seconds), int(rss_kb) / 1024.0, rc != "killed"


def settle(limit=120, connect=connect):
    """Let the server connect() reaches write out what the copy just
    dirtied, so that each tool starts from a clean buffer pool instead of
    paying for the copy's flushing (which otherwise lands on whichever
    tool runs next)."""
    started = time.perf_counter()
    with connect() as conn:
        cur = conn.cursor()
        cur.execute("SELECT @@innodb_max_dirty_pages_pct")
        saved = cur.fetchone()[0]
        cur.execute("SET GLOBAL innodb_max_dirty_pages_pct = 0")
        try:
            least, since = None, time.perf_counter()
            while time.perf_counter() - started < limit:
                cur.execute("SHOW GLOBAL STATUS LIKE "
                            "'Innodb_buffer_pool_pages_dirty'")
                dirty = int(cur.fetchone()[1])
                if dirty < 1000:
                    break
                # The server may keep some pages dirty for good; waiting
                # for them is time lost, not a cleaner start.
                if least is None or dirty < least * 0.98:
                    least, since = dirty, time.perf_counter()
                elif time.perf_counter() - since > 15:
                    break
                time.sleep(1)
        finally:
            cur.execute("SET GLOBAL innodb_max_dirty_pages_pct = %s",
                        (saved,))


STATUS = ("Innodb_buffer_pool_reads", "Innodb_buffer_pool_read_requests",
          "Innodb_pages_written", "Innodb_history_list_length",
          "Innodb_buffer_pool_pages_dirty", "Innodb_checkpoint_age",
          "Innodb_data_read")
# Levels, not counters: their mean over a part of the run.
GAUGES = ("Innodb_history_list_length", "Innodb_buffer_pool_pages_dirty",
          "Innodb_checkpoint_age")


class StatusSampler(threading.Thread):
    """The server's InnoDB counters every `every` seconds while a tool
    runs: [(seconds since start, {name: value})]."""

    def __init__(self, every=5.0):
        super().__init__(daemon=True)
        self.every = every
        self.samples = []
        self.done = threading.Event()

    def run(self):
        started = time.perf_counter()
        with connect() as conn:
            cur = conn.cursor()
            while True:
                cur.execute("SHOW GLOBAL STATUS WHERE Variable_name IN (%s)"
                            % ",".join(["%s"] * len(STATUS)), STATUS)
                self.samples.append((time.perf_counter() - started,
                                     {k: int(v) for k, v in cur.fetchall()}))
                if self.done.wait(self.every):
                    break

    def summary(self, share=0.1):
        """Per-second rates of the counters (of the GAUGES: their mean)
        over the first and the last `share` of the run."""
        if len(self.samples) < 3:
            return {}
        total = self.samples[-1][0]
        out = {}
        for name, lo, hi in (("start", 0, total * share),
                             ("end", total * (1 - share), total)):
            part = [s for s in self.samples if lo <= s[0] <= hi]
            if len(part) < 2:
                part = self.samples[:2] if name == "start" \
                    else self.samples[-2:]
            (t0, a), (t1, b) = part[0], part[-1]
            rates = {k: (b.get(k, 0) - a.get(k, 0)) / (t1 - t0)
                     for k in STATUS if k not in GAUGES}
            for k in GAUGES:
                rates[k] = sum(s[1].get(k, 0) for s in part) / len(part)
            out[name] = rates
        return out


def conf_for(api, main):
    conf = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    conf.write("[DEFAULT]\ntransport_url = rabbit://g:g@127.0.0.1:5672/\n"
               "[api_database]\nconnection = mysql+pymysql://root@127.0.0.1:"
               "%d/%s?charset=utf8\n[database]\nconnection = mysql+pymysql://"
               "root@127.0.0.1:%d/%s?charset=utf8\n"
               % (SERVER["port"], api, SERVER["port"], main))
    conf.close()
    return conf.name


def baseline(api, main, batch=1000):
    """Hand-written set-based archive, batches of `batch` instances."""
    conn = connect(main, autocommit=False)
    cur = conn.cursor()
    api_conn = connect(api)
    while True:
        cur.execute("SELECT id, uuid FROM instances WHERE deleted <> 0 "
                    "ORDER BY id LIMIT %s FOR UPDATE", (batch,))
        rows = cur.fetchall()
        if not rows:
            break
        first, last = rows[0][0], rows[-1][0]
        where = "i.id BETWEEN %s AND %s AND i.deleted <> 0"
        for table, join in BASELINE_CHILDREN:
            cur.execute("INSERT INTO shadow_%s SELECT c.* FROM %s c %s WHERE %s"
                        % (table, table, join, where), (first, last))
            cur.execute("DELETE c FROM %s c %s WHERE %s"
                        % (table, join, where), (first, last))
        cur.execute("INSERT INTO shadow_instances SELECT * FROM instances i "
                    "WHERE %s" % where, (first, last))
        cur.execute("DELETE i FROM instances i WHERE %s" % where,
                    (first, last))
        uuids = tuple(r[1] for r in rows)
        for table in ("instance_mappings", "request_specs",
                      "instance_group_member"):
            api_conn.cursor().execute(
                "DELETE FROM %s WHERE instance_uuid IN %%s" % table, (uuids,))
        conn.commit()
    for table in BASELINE_ALONE:
        cur.execute("INSERT INTO shadow_%s SELECT * FROM %s WHERE deleted <> 0"
                    % (table, table))
        cur.execute("DELETE FROM %s WHERE deleted <> 0" % table)
        conn.commit()
    child, parent = BASELINE_NODES
    cur.execute("INSERT INTO shadow_%s SELECT c.* FROM %s c JOIN %s p ON "
                "c.compute_node_id = p.id WHERE p.deleted <> 0"
                % (child, child, parent))
    cur.execute("DELETE c FROM %s c JOIN %s p ON c.compute_node_id = p.id "
                "WHERE p.deleted <> 0" % (child, parent))
    cur.execute("INSERT INTO shadow_%s SELECT * FROM %s WHERE deleted <> 0"
                % (parent, parent))
    cur.execute("DELETE FROM %s WHERE deleted <> 0" % parent)
    conn.commit()


def _stats_file(source):
    return os.path.join(tempfile.gettempdir(), "nmb_%s.json" % source)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=10000,
                        help="deleted instances in the data set")
    parser.add_argument("--tools", default="nmtool,nova,baseline")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--time-limit", type=float, metavar="SECONDS",
                        help="kill a tool still running after this long and "
                        "report the rows it moved until then (a tool too "
                        "slow to finish in the time there is)")
    parser.add_argument("--buffer-pool-mib", type=int, default=4096,
                        help="raise the server's InnoDB buffer pool to this "
                        "(the figures in README.md were taken at 4096)")
    parser.add_argument("--redo-log-mib", type=int, default=1024,
                        help="raise the server's InnoDB redo log to this "
                        "(MariaDB 10.9 and later resize it live); with the "
                        "96 MiB default a fast tool spends much of its run "
                        "waiting on checkpoint flushing. 0 leaves it alone "
                        "(stop 12's figures and earlier were taken so)")
    parser.add_argument("--source", metavar="TAG",
                        help="keep the generated data in nmb_api_TAG and "
                        "nmb_main_TAG and reuse them when they exist (each "
                        "tool still runs on its own copy), so a large data "
                        "set is generated once; drop them by hand")
    parser.add_argument("--end-states", metavar="FILE",
                        help="JSON file of end states (row counts per table) "
                        "by tool: earlier runs' are compared with this run's, "
                        "this run's are added, so tools measured in separate "
                        "runs (same --instances and --seed) are still checked "
                        "against each other")
    parser.add_argument("--port", type=int, default=SERVER["port"],
                        help="MariaDB on 127.0.0.1 to use (its global "
                        "settings are changed: start benchmarks/"
                        "bench-mariadb.sh, never point this at a shared "
                        "server)")
    parser.add_argument("--sql-log", metavar="DIR",
                        help="give nmtool --sql-log DIR/nmtool_<instances>"
                        ".jsonl (benchmarks/sql_log_profile.py reads it)")
    parser.add_argument("--sample", type=float, metavar="SECONDS",
                        help="sample the server's InnoDB counters this "
                        "often during each tool's run; print their rates "
                        "over the first and last tenth of the run and keep "
                        "the samples in DIR of --sql-log (or the temp dir)")
    parser.add_argument("--in-place", action="store_true",
                        help="with --source and one tool: run it on the "
                        "kept data itself, not a copy (saves copying a "
                        "1,000,000 set; the kept data is archived after)")
    opts = parser.parse_args()
    # A kill runs the finally below (dropping the copies) and settle's
    # restore of the server's setting, as ^C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    SERVER["port"] = opts.port
    tools = [t for t in opts.tools.split(",") if t]
    tag = uuid.uuid4().hex[:6]
    source = opts.source or tag
    api_t, main_t = "nmb_api_%s" % source, "nmb_main_%s" % source
    created = [] if opts.source else [api_t, main_t]
    try:
        with connect() as conn:
            cur = conn.cursor()
            cur.execute("SELECT COUNT(*) FROM information_schema.schemata "
                        "WHERE schema_name IN (%s, %s)", (api_t, main_t))
            found = cur.fetchone()[0]
            reuse = opts.source and found == 2 and \
                os.path.exists(_stats_file(source))
            if opts.source and found and not reuse:
                raise SystemExit("%s/%s: left by a run that did not finish; "
                                 "drop them or take another --source"
                                 % (api_t, main_t))
            for name in () if reuse else (api_t, main_t):
                conn.cursor().execute("CREATE DATABASE %s DEFAULT CHARACTER "
                                      "SET utf8" % name)
            cur.execute("SELECT @@innodb_buffer_pool_size")
            if cur.fetchone()[0] < opts.buffer_pool_mib * 2 ** 20:
                cur.execute("SET GLOBAL innodb_buffer_pool_size = %s",
                            (opts.buffer_pool_mib * 2 ** 20,))
            cur.execute("SELECT @@innodb_log_file_size")
            if cur.fetchone()[0] < opts.redo_log_mib * 2 ** 20:
                try:
                    cur.execute("SET GLOBAL innodb_log_file_size = %s",
                                (opts.redo_log_mib * 2 ** 20,))
                except pymysql.err.MySQLError as exc:  # before 10.9
                    print("redo log left as it is: %s" % exc)
            cur.execute("SELECT @@innodb_buffer_pool_size, VERSION(), "
                        "@@innodb_flush_log_at_trx_commit, "
                        "@@innodb_log_file_size")
            pool, version, flush, redo = cur.fetchone()
        if reuse:
            with open(_stats_file(source)) as f:
                stats, gen_time = json.load(f)
            print("(data %s reused)" % source)
        else:
            sync(api_t, "api")
            sync(main_t, "main")
            started = time.perf_counter()
            with connect(main_t, False) as gen_main, \
                    connect(api_t, False) as gen_api:
                stats = novadata.generate(gen_main, gen_api,
                                          instances=opts.instances * 2,
                                          deleted_fraction=0.5,
                                          seed=opts.seed)
            gen_time = time.perf_counter() - started
            if opts.source:
                with open(_stats_file(source), "w") as f:
                    json.dump([stats, gen_time], f)
        before = counts(main_t)
        print("data: %s; %d rows in the cell DB; generated in %.1f s"
              % (stats, sum(before.values()), gen_time))
        print("server: MariaDB %s, innodb_buffer_pool_size %d MiB, "
              "innodb_log_file_size %d MiB, innodb_flush_log_at_trx_commit "
              "%s; client: Python %s, %d cores\n" % (
                  version, pool // 2 ** 20, redo // 2 ** 20, flush,
                  platform.python_version(), os.cpu_count()))
        if not tools:  # --tools "": only generate (with --source)
            return
        results, ends, partial = [], {}, []
        for tool in tools:
            api, main = "nmb_api_%s_%s" % (tag, tool), \
                "nmb_main_%s_%s" % (tag, tool)
            if opts.in_place and opts.source and len(tools) == 1:
                api, main = api_t, main_t
                os.unlink(_stats_file(source))  # no longer the set
            else:
                copy_db(api_t, api)
                copy_db(main_t, main)
                created += [api, main]
            conf = conf_for(api, main)
            settle()
            sampler = None
            if opts.sample:
                sampler = StatusSampler(opts.sample)
                sampler.start()
            if tool == "baseline":
                t0 = time.perf_counter()
                baseline(api, main)
                seconds, rss = time.perf_counter() - t0, float("nan")
            else:
                binary = NMTOOL if tool == "nmtool" else NOVA
                log = []
                if opts.sql_log and tool == "nmtool":
                    log = ["--sql-log", os.path.join(
                        opts.sql_log, "nmtool_%d.jsonl" % opts.instances)]
                seconds, rss, finished = measured(
                    [binary, "--config-file", conf] + log +
                    ["db", "archive_deleted_rows", "--until-complete"],
                    opts.time_limit)
            if sampler is not None:
                sampler.done.set()
                sampler.join()
                keep = os.path.join(opts.sql_log or tempfile.gettempdir(),
                                    "status_%s_%d.json" % (tool,
                                                           opts.instances))
                with open(keep, "w") as f:
                    json.dump(sampler.samples, f)
                for part, rates in sampler.summary().items():
                    print("%s, %s of the run: %s" % (tool, part, ", ".join(
                        "%s %.0f" % (k.replace("Innodb_", ""), v)
                        for k, v in rates.items())), flush=True)
            if tool != "baseline":
                if not finished:
                    # Rows moved in the time allowed: a rate, not an end
                    # state to compare or keep.
                    moved = sum(v for k, v in counts(main).items()
                                if k.startswith("shadow_"))
                    print("%s stopped after %.0f s: %d rows moved, %.0f "
                          "rows/s, peak RSS %.1f MiB" % (
                              tool, seconds, moved, moved / seconds, rss))
                    partial.append(tool)
                    os.unlink(conf)
                    continue
            os.unlink(conf)
            end = counts(main)
            ends[tool] = end
            moved = sum(v for k, v in end.items() if k.startswith("shadow_"))
            results.append((tool, seconds, moved, moved / seconds, rss))
        for tool in partial:
            tools.remove(tool)
        if not tools:
            return
        key = "%d/%d" % (opts.instances, opts.seed)
        everything = {}
        if opts.end_states and os.path.exists(opts.end_states):
            with open(opts.end_states) as f:
                everything = json.load(f)
        earlier = everything.get(key, {})
        for tool, saved in earlier.items():
            if tool not in ends:
                ends[tool] = saved["end"]
                results.append(tuple(saved["result"]) + ("earlier run",))
                tools.append(tool)
        print("| tool | seconds | rows moved | rows/s | peak RSS (MiB) |")
        print("|---|---|---|---|---|")
        for tool, seconds, moved, rate, rss, *note in results:
            rss = None if rss is None or rss != rss else rss
            print("| %s | %.2f | %d | %.0f | %s |%s" % (
                tool, seconds, moved, rate,
                "-" if rss is None else "%.1f" % rss,
                " (%s)" % note[0] if note else ""))
        reference = ends[tools[0]]
        for tool in tools[1:]:
            same = ends[tool] == reference
            print("\nend state of %s %s %s" % (
                tool, "equals" if same else "DIFFERS FROM", tools[0]))
            if not same:
                for table in sorted(reference):
                    if reference[table] != ends[tool].get(table):
                        print("  %s: %s vs %s" % (table, reference[table],
                                                  ends[tool].get(table)))
        if opts.end_states:
            for tool, seconds, moved, rate, rss, *note in results:
                if not note:
                    everything.setdefault(key, {})[tool] = {
                        "end": ends[tool],
                        "result": [tool, seconds, moved, rate,
                                   None if rss != rss else rss]}
            with open(opts.end_states, "w") as f:
                json.dump(everything, f, indent=1, sort_keys=True)
        # Ratios only between tools of this run: an earlier run may have
        # been on another machine, or beside other work.
        rates = {r[0]: r[3] for r in results if len(r) == 5}
        if "nova" in rates and "nmtool" in rates:
            print("nmtool / nova-manage throughput: %.1fx"
                  % (rates["nmtool"] / rates["nova"]))
        if "baseline" in rates and "nmtool" in rates:
            print("baseline / nmtool throughput: %.2fx"
                  % (rates["baseline"] / rates["nmtool"]))
    finally:
        with connect() as conn:
            for name in created:
                conn.cursor().execute("DROP DATABASE IF EXISTS %s" % name)


if __name__ == "__main__":
    main()
