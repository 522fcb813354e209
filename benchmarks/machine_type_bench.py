"""libvirt list_unset_machine_type: nmtool against nova-manage 34.0.0 on one
seeded cell (the command only reads, so both run on the same databases;
the script checks that nothing changed).

    python benchmarks/machine_type_bench.py --instances 100000 [--tools nova,nmtool]

The data (seeded, random.Random(--seed)): an API database with cell0 and
cell1 mapped, and in cell1 `--instances` instances as an image-booted
cloud has them: each with the image properties nova copies into system
metadata (base image, disk and container format, minimum disk and RAM,
for half of them a disk bus), 40 % of them with `image_hw_machine_type`
set (booted after the operator set a default type, or set by
update_machine_type), 5 % deleted (deleted = id) and 1 % still building,
which the command skips. nova-manage reads every instance of the cell as
an object with its system metadata and filters in Python; nmtool asks
the server for the live instances without the key.

nova-manage gives a cell 60 s to answer (nova.context.CELL_TIMEOUT), and
reading 100,000 instances as objects takes longer on this project's
machine: it then exits 1 ("'object' object is not iterable"). Tool
`nova-notimeout` is nova-manage with that timeout raised, to time the
whole read. Each tool runs once (nova-manage first by default); the script reports
wall time, peak client memory, the exit code (3: instances found), the
ratio, whether both printed the same UUIDs in the same order, and
whether the cell's tables are unchanged (CHECKSUM TABLE before and
after). It uses the tests' MariaDB (127.0.0.1:3316) by default and
changes none of its settings.
"""
import argparse
import datetime
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from novadata import Rows  # noqa: E402
from odm_bench import NMTOOL, NOVA, Server, write_conf  # noqa: E402

# nova-manage with nova.context.CELL_TIMEOUT (60 s, after which a cell
# that has not answered counts as failed and list_unset_machine_type
# exits 1 with "'object' object is not iterable") raised to a day: the
# time nova needs for the whole cell, where the shipped one gives up.
NOVA_NO_TIMEOUT = (
    "import sys\n"
    "import nova.context\n"
    "nova.context.CELL_TIMEOUT = 86400\n"
    "from nova.cmd.manage import main\n"
    "sys.argv[0] = 'nova-manage'\n"
    "sys.exit(main())\n")
EPOCH = datetime.datetime(2023, 1, 1)
CELL0 = "00000000-0000-0000-0000-000000000000"


def _uuid(rng):
    return str(uuidlib.UUID(int=rng.getrandbits(128), version=4))


def generate(server, api, main, cell0, instances, seed):
    """Fill the synced databases; returns a summary dict."""
    rng = random.Random(seed)
    stats = {"instances": instances, "deleted": 0, "building": 0,
             "with_type": 0}
    with server.connect(api, False) as api_conn, \
            server.connect(main, False) as main_conn:
        cur = api_conn.cursor()
        for uuid, name, db in ((CELL0, "cell0", cell0),
                               (_uuid(rng), "cell1", main)):
            cur.execute("INSERT INTO cell_mappings (created_at, uuid, name, "
                        "transport_url, database_connection, disabled) "
                        "VALUES (%s, %s, %s, 'none:///', %s, 0)",
                        (EPOCH, uuid, name, server.url(db)))
        api_conn.commit()
        rows = Rows(main_conn)
        images = [_uuid(rng) for _ in range(40)]
        for iid in range(1, instances + 1):
            uuid = _uuid(rng)
            created = EPOCH + datetime.timedelta(seconds=iid * 60)
            deleted = rng.random() < 0.05
            building = not deleted and rng.random() < 0.01
            typed = rng.random() < 0.4
            stats["deleted"] += deleted
            stats["building"] += building
            stats["with_type"] += typed
            state = "deleted" if deleted else "building" if building \
                else rng.choice(("active", "active", "active", "stopped"))
            image = rng.choice(images)
            rows.add("instances", {
                "id": iid, "uuid": uuid, "created_at": created,
                "updated_at": created,
                "deleted_at": created if deleted else None,
                "deleted": iid if deleted else 0,
                "user_id": "user-%d" % rng.randrange(200),
                "project_id": "project-%d" % rng.randrange(50),
                "host": "cmp%04d" % rng.randrange(500), "vm_state": state,
                "power_state": 1, "memory_mb": 2048, "vcpus": 2,
                "root_gb": 20, "image_ref": image,
                "display_name": "vm-%d" % iid})
            meta = [("image_base_image_ref", image),
                    ("image_disk_format", "qcow2"),
                    ("image_container_format", "bare"),
                    ("image_min_disk", "20"), ("image_min_ram", "0")]
            if rng.random() < 0.5:
                meta.append(("image_hw_disk_bus", "virtio"))
            if typed:
                meta.append(("image_hw_machine_type",
                             rng.choice(("q35", "pc-q35-8.2", "pc"))))
            for key, value in meta:
                rows.add("instance_system_metadata", {
                    "created_at": created, "instance_uuid": uuid,
                    "key": key, "value": value,
                    "deleted": 0, "deleted_at": None})
        rows.flush()
    return stats


def checksums(server, name):
    with server.connect(name) as conn:
        cur = conn.cursor()
        cur.execute("CHECKSUM TABLE instances, instance_system_metadata")
        return tuple(cur.fetchall())


def run(argv, conf):
    """(seconds, peak RSS MiB, exit code, stdout)."""
    out = tempfile.NamedTemporaryFile("w+", suffix=".out", delete=False)
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "with open(sys.argv[1], 'w') as out:\n"
        "    rc = subprocess.call(sys.argv[2:], stdout=out,\n"
        "                         stderr=subprocess.DEVNULL)\n"
        "print(time.perf_counter() - t,\n"
        "      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)\n")
    result = subprocess.run(
        [sys.executable, "-c", wrapper, out.name] + argv + [
            "--config-file", conf, "libvirt", "list_unset_machine_type"],
        capture_output=True, text=True, check=True).stdout
    seconds, rss_kb, rc = result.split()
    with open(out.name) as handle:
        text = handle.read()
    os.unlink(out.name)
    return float(seconds), int(rss_kb) / 1024.0, int(rc), text


def uuids(text):
    """The printed instance UUIDs (nova-manage also writes its log records
    to stdout)."""
    return [line for line in text.splitlines()
            if len(line) == 36 and line.count("-") == 4]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--tools", default="nova,nova-notimeout,nmtool",
                        help="nova (as shipped), nova-notimeout (its 60 s "
                        "cell timeout raised), nmtool")
    parser.add_argument("--port", type=int, default=3316)
    parser.add_argument("--keep", action="store_true",
                        help="keep the databases (mtb_*); drop them by hand")
    opts = parser.parse_args()
    server = Server("127.0.0.1", opts.port, "root", "")
    tag = uuidlib.uuid4().hex[:6]
    names = {role: "mtb_%s_%s" % (role, tag)
             for role in ("api", "main", "cell0")}
    try:
        with server.connect() as conn:
            for name in names.values():
                conn.cursor().execute("CREATE DATABASE %s DEFAULT CHARACTER "
                                      "SET utf8" % name)
        for target, args in ((names["main"], ["api_db", "sync"]),
                             (names["main"], ["db", "sync", "--local_cell"]),
                             (names["cell0"], ["db", "sync",
                                               "--local_cell"])):
            conf = write_conf(server, names["api"], target)
            subprocess.run([NMTOOL, "--config-file", conf] + args,
                           check=True, capture_output=True)
            os.unlink(conf)
        started = time.perf_counter()
        stats = generate(server, names["api"], names["main"], names["cell0"],
                         opts.instances, opts.seed)
        gen_time = time.perf_counter() - started
        with server.connect() as conn:
            cur = conn.cursor()
            cur.execute("SELECT VERSION(), @@innodb_buffer_pool_size")
            version, pool = cur.fetchone()
        print("data (seed %d): %s; generated in %.1f s" % (
            opts.seed, stats, gen_time))
        print("server: MariaDB %s on 127.0.0.1:%d, innodb_buffer_pool_size "
              "%d MiB; client: Python %s, %d cores\n" % (
                  version, opts.port, pool // 2 ** 20,
                  platform.python_version(), os.cpu_count()), flush=True)
        before = checksums(server, names["main"])
        conf = write_conf(server, names["api"], names["main"])
        binaries = {"nova": [NOVA], "nmtool": [NMTOOL],
                    "nova-notimeout": [os.path.join(os.path.dirname(NOVA),
                                                    "python3"),
                                       "-c", NOVA_NO_TIMEOUT]}
        results, printed = [], {}
        try:
            for tool in opts.tools.split(","):
                seconds, rss, rc, text = run(binaries[tool], conf)
                printed[tool] = uuids(text)
                results.append((tool, seconds, rss, rc, len(printed[tool])))
                print("%s: %.2f s, exit %d, %d UUIDs, peak RSS %.1f MiB" % (
                    tool, seconds, rc, len(printed[tool]), rss), flush=True)
                if rc not in (0, 3):
                    print("  it printed: %s" % " / ".join(
                        text.splitlines()[-5:]))
        finally:
            os.unlink(conf)
        print("\n| tool | seconds | exit | UUIDs printed | peak RSS (MiB) |")
        print("|---|---|---|---|---|")
        for tool, seconds, rss, rc, count in results:
            print("| %s | %.2f | %d | %d | %.1f |" % (tool, seconds, rc,
                                                      count, rss))
        times = {r[0]: r[1] for r in results}
        for nova in ("nova", "nova-notimeout"):
            if nova in times and "nmtool" in times:
                print("\n%s's time / nmtool's: %.1fx" % (
                    nova, times[nova] / times["nmtool"]))
                print("printed UUIDs of %s and nmtool %s" % (
                    nova, "equal (same order)"
                    if printed[nova] == printed["nmtool"] else "DIFFER"))
        print("cell tables %s" % ("unchanged" if checksums(
            server, names["main"]) == before else "CHANGED"))
    finally:
        if opts.keep:
            print("kept: %s" % " ".join(names.values()))
            names = {}
        with server.connect() as conn:
            for name in names.values():
                conn.cursor().execute("DROP DATABASE IF EXISTS %s" % name)


if __name__ == "__main__":
    main()
