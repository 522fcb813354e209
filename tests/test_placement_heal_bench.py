"""Benchmark (opt-in): heal_allocations over thousands of instances with
nova-manage 34.0.0 and nmtool, on identical databases and a Placement
emptied between the runs.

    NMTOOL_HEAL_BENCH=2000 python -m pytest tests/test_placement_heal_bench.py -s

prints both wall times and the ratio, and checks both healed the same.
"""
import os
import time
import uuid

import pytest

from conftest import run_nmtool, server_connection
from services import (  # noqa: F401
    PlacementSetup, copy_deployment, flavor_json, nova_deployment,
    placement, placement_conf_section, placement_service)

COUNT = int(os.environ.get("NMTOOL_HEAL_BENCH", "0") or 0)
NODES = 20

pytestmark = [pytest.mark.nova,
              pytest.mark.skipif(not COUNT, reason="set NMTOOL_HEAL_BENCH "
                                 "to the number of instances to run it")]


def _bulk_instances(nova, hosts, count):
    db = nova.cells["cell1"][1]
    flavor = flavor_json()
    rows, extra, maps = [], [], []
    for n in range(count):
        uuid_ = str(uuid.uuid4())
        host = hosts[n % len(hosts)]
        created = "2024-01-01 %02d:%02d:%02d" % (n // 3600 % 24,
                                                 n // 60 % 60, n % 60)
        rows.append((created, uuid_, host, host, "proj", "user", "img",
                     "active", host))
        extra.append((created, uuid_, flavor))
        maps.append((uuid_, nova.cells["cell1"][2], "proj", "user"))
    with server_connection(db) as conn:
        cur = conn.cursor()
        cur.executemany(
            "INSERT INTO instances (created_at, uuid, host, node, project_id,"
            " user_id, image_ref, vm_state, launched_on, deleted) VALUES "
            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, 0)", rows)
        cur.executemany(
            "INSERT INTO instance_extra (created_at, instance_uuid, flavor, "
            "deleted) VALUES (%s, %s, %s, 0)", extra)
    with server_connection(nova.api) as conn:
        conn.cursor().executemany(
            "INSERT INTO instance_mappings (created_at, instance_uuid, "
            "cell_id, project_id, user_id, queued_for_delete) VALUES (NOW(), "
            "%s, %s, %s, %s, 0)", maps)
    return [r[1] for r in rows]


def test_heal_benchmark(placement, nova_deployment, nova_manage, databases):
    nova = nova_deployment()
    setup = PlacementSetup()
    hosts = []
    for n in range(NODES):
        rp = setup.compute_node(inventory={"VCPU": 100000,
                                           "MEMORY_MB": 10 ** 8,
                                           "DISK_GB": 10 ** 6})
        host = "bench%02d" % n
        nova.add_compute_node(host, rp)
        hosts.append(host)
    instances = _bulk_instances(nova, hosts, COUNT)
    copy = copy_deployment(nova, databases)
    extra = placement_conf_section(placement.url)
    args = ("placement", "heal_allocations", "--skip-port-allocations")

    setup.build(placement.admin)
    started = time.monotonic()
    ref = nova_manage("--config-file", copy.conf(extra), *args)
    nova_seconds = time.monotonic() - started
    sample = instances[::max(1, COUNT // 50)]
    ref_state = setup.state(placement.admin, sample)

    setup.build(placement.admin)
    started = time.monotonic()
    got = run_nmtool("--config-file", nova.conf(extra), *args)
    nmtool_seconds = time.monotonic() - started
    got_state = setup.state(placement.admin, sample)

    assert (got.rc, ref.rc) == (0, 0)
    assert got_state == ref_state
    print("\nheal_allocations, %d instances on %d nodes: nova-manage %.1f s, "
          "nmtool %.1f s, ratio %.2fx" % (COUNT, NODES, nova_seconds,
                                          nmtool_seconds,
                                          nova_seconds / nmtool_seconds))
