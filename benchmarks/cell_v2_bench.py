"""cell_v2 map_instances and discover_hosts: nmtool against nova-manage
34.0.0 on identical copies of one deployment.

    python benchmarks/cell_v2_bench.py --instances 10000 --hosts 2000 [--tools nmtool,nova]

The cell holds `--instances` instances (a fifth of them deleted, created a
second apart) and `--hosts` compute hosts with one node and one
nova-compute service each, plus one ironic-style host with 50 nodes.
Nothing is mapped at the start. Each tool runs, on its own copy,
`cell_v2 map_instances --cell_uuid <cell>` (everything, nova's default
batches of 50) and then `cell_v2 discover_hosts`. The script reports
wall time, rows written per second and peak client memory, and checks
that both copies end with the same mappings.
"""
import argparse
import platform
import sys
import time
import uuid

from archive_bench import NMTOOL, NOVA, conf_for, connect, copy_db, \
    measured, sync

CELL = "c0ffee00-0000-4000-8000-000000000001"


def build(api, main, instances, hosts):
    with connect(main) as conn:
        cur = conn.cursor()
        cur.execute(
            "INSERT INTO instances (created_at, uuid, project_id, user_id, "
            "host, deleted, vm_state) SELECT '2026-01-01' + INTERVAL seq "
            "SECOND, CONCAT('aaaaaaaa-0000-4000-8000-', LPAD(seq, 12, '0')),"
            " CONCAT('project-', seq %% 97), CONCAT('user-', seq %% 13), "
            "CONCAT('cmp', seq %% %s), IF(seq %% 5 = 0, seq, 0), 'active' "
            "FROM seq_1_to_%d" % (hosts, instances))
        nodes = "FROM seq_1_to_%d" % hosts
        # One node per compute host, then one ironic host with 50 nodes.
        for resources, host, name, prefix, source in (
                ("64, 262144, 2000", "CONCAT('cmp', seq)",
                 "CONCAT('cmp', seq)", "bbbbbbbb", nodes),
                ("1, 1, 1", "'ironic-conductor'", "CONCAT('node', seq)",
                 "cccccccc", "FROM seq_1_to_50")):
            cur.execute(
                "INSERT INTO compute_nodes (created_at, vcpus, memory_mb, "
                "local_gb, vcpus_used, memory_mb_used, local_gb_used, "
                "hypervisor_type, hypervisor_version, cpu_info, host, "
                "hypervisor_hostname, uuid, deleted, mapped, "
                "cpu_allocation_ratio, ram_allocation_ratio, "
                "disk_allocation_ratio) SELECT NOW(), %s, 0, 0, 0, 'QEMU', "
                "1, '', %s, %s, CONCAT('%s-0000-4000-8000-', LPAD(seq, 12, "
                "'0')), 0, 0, 4, 1, 1 %s"
                % (resources, host, name, prefix, source))
        cur.execute(
            "INSERT INTO services (created_at, host, `binary`, topic, "
            "report_count, disabled, deleted, version, forced_down) SELECT "
            "NOW(), CONCAT('cmp', seq), 'nova-compute', 'compute', 0, 0, 0, "
            "66, 0 " + nodes)
    with connect(api) as conn:
        conn.cursor().execute(
            "INSERT INTO cell_mappings (created_at, uuid, name, "
            "transport_url, database_connection, disabled) VALUES (NOW(), "
            "%s, 'cell1', 'rabbit://g:g@127.0.0.1:5672/', %s, 0)",
            (CELL, "mysql+pymysql://root@127.0.0.1/%s?charset=utf8" % main))


def point_at(api, main):
    with connect(api) as conn:
        conn.cursor().execute(
            "UPDATE cell_mappings SET database_connection = %s WHERE "
            "uuid = %s",
            ("mysql+pymysql://root@127.0.0.1/%s?charset=utf8" % main, CELL))


def outcome(api, main):
    with connect(api) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*), COUNT(DISTINCT instance_uuid) FROM "
                    "instance_mappings")
        instance_mappings = cur.fetchone()
        cur.execute("SELECT COUNT(*) FROM host_mappings")
        host_mappings = cur.fetchone()[0]
    with connect(main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM compute_nodes WHERE mapped = 1")
        marked = cur.fetchone()[0]
    return instance_mappings, host_mappings, marked


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=10000)
    parser.add_argument("--hosts", type=int, default=2000)
    parser.add_argument("--tools", default="nmtool,nova")
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:6]
    api, main_db = "bench_api_" + tag, "bench_cell_" + tag
    with connect() as conn:
        for name in (api, main_db):
            conn.cursor().execute("CREATE DATABASE %s DEFAULT CHARACTER SET "
                                  "utf8" % name)
    created = [api, main_db]
    try:
        sync(api, "api")
        sync(main_db, "main")
        build(api, main_db, args.instances, args.hosts)
        with connect() as conn:
            cur = conn.cursor()
            cur.execute("SELECT VERSION(), @@innodb_buffer_pool_size")
            version, pool = cur.fetchone()
        print("data: %d instances, %d hosts + 1 host with 50 nodes"
              % (args.instances, args.hosts))
        print("server: MariaDB %s, innodb_buffer_pool_size %d MiB; client: "
              "Python %s, 2 cores\n" % (version, pool // 2 ** 20,
                                        platform.python_version()))
        print("| tool | command | seconds | rows written | rows/s | "
              "peak RSS (MiB) |")
        print("|---|---|---|---|---|---|")
        results = {}
        for tool in args.tools.split(","):
            tool_api, tool_main = api + "_" + tool, main_db + "_" + tool
            copy_db(api, tool_api)
            copy_db(main_db, tool_main)
            created += [tool_api, tool_main]
            point_at(tool_api, tool_main)
            conf = conf_for(tool_api, tool_main)
            binary = NMTOOL if tool == "nmtool" else NOVA
            for command, extra in (("map_instances", ["--cell_uuid", CELL]),
                                   ("discover_hosts", [])):
                seconds, rss = measured([binary, "--config-file", conf,
                                         "cell_v2", command] + extra)
                done = outcome(tool_api, tool_main)
                rows = done[0][0] if command == "map_instances" \
                    else done[1] + done[2]
                print("| %s | %s | %.2f | %d | %.0f | %.1f |" % (
                    tool, command, seconds, rows, rows / seconds, rss))
                results.setdefault(tool, {})[command] = seconds
                sys.stdout.flush()
            results[tool]["outcome"] = outcome(tool_api, tool_main)
        print()
        outcomes = {tool: r.pop("outcome") for tool, r in results.items()}
        print("end states (instance mappings, distinct, host mappings, "
              "nodes marked):", outcomes)
        if len(set(map(repr, outcomes.values()))) == 1:
            print("end states equal")
        if "nova" in results and "nmtool" in results:
            for command in ("map_instances", "discover_hosts"):
                print("%s: nmtool / nova-manage throughput %.1fx" % (
                    command, results["nova"][command]
                    / results["nmtool"][command]))
    finally:
        with connect() as conn:
            for name in created:
                conn.cursor().execute("DROP DATABASE IF EXISTS %s" % name)


if __name__ == "__main__":
    time.tzset()
    main()
