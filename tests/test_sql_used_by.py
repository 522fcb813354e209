"""`nmtool sql list CATEGORY ACTION` lists every statement the command can
run: each command here runs with --sql-log on a small deployment, and
every named statement its log shows must be listed under it."""
import json
import uuid as uuidlib

import pytest

from conftest import run_nmtool
from services import (  # noqa: F401
    nova_deployment, placement, placement_conf_section, placement_service)


def listed(category, action):
    result = run_nmtool("sql", "list", category, action)
    assert result.rc == 0, result
    return {line.split()[0] for line in result.out.splitlines()[1:]
            if line.strip()}


def ran(log_path):
    with open(log_path) as handle:
        return {json.loads(line)["name"] for line in handle} - {None}


def soft_deleted(nova, count):
    uuids = [nova.add_instance(host="host1", node="node1")
             for _ in range(count)]
    for uuid in uuids:
        nova.execute(nova.main, "UPDATE instances SET deleted = id, "
                     "deleted_at = '2024-02-01' WHERE uuid = %s", (uuid,))
        nova.execute(nova.main, "INSERT INTO instance_actions (created_at, "
                     "action, instance_uuid, request_id, deleted) VALUES "
                     "('2024-01-01', 'create', %s, 'req', 0)", (uuid,))
    return uuids


def test_every_statement_a_command_runs_is_listed_under_it(
        nova_deployment, placement, tmp_path):
    nova = nova_deployment(cells=("cell1", "cell2"))
    nova.add_host("host1")
    nova.add_compute_node("host1", str(uuidlib.uuid4()), node="node1")
    nova.add_compute_node("host2", str(uuidlib.uuid4()))
    # As nova-compute leaves a new node: not mapped yet (to discover).
    nova.execute(nova.main, "UPDATE compute_nodes SET mapped = 0 "
                 "WHERE host = 'host2'")
    live = nova.add_instance(host="host1", node="node1", vm_state="stopped")
    nova.add_instance(host="host1", node="node1", mapped=False)
    soft_deleted(nova, 5)
    nova.add_aggregate("agg1", ["host1"])
    conf = nova.conf(placement_conf_section(placement.url))
    cell1 = nova.cell_uuid("cell1")
    commands = [
        ["api_db", "version"], ["api_db", "sync"],
        ["db", "version"], ["db", "sync"],
        ["db", "status", "--all-cells"],
        ["db", "online_data_migrations"],
        ["db", "null_instance_uuid_scan"],
        ["db", "archive_deleted_rows", "--max_rows", "3",
         "--until-complete", "--before", "2025-01-01", "--task-log"],
        # (purge --before while the shadow tables have rows: a purge of
        # an empty table reads its id bounds and deletes nothing.)
        ["db", "purge", "--before", "2030-01-01", "--all-cells"],
        ["db", "archive_deleted_rows", "--all-cells", "--purge",
         "--verbose"],
        ["db", "purge", "--all"],
        ["cell_v2", "list_cells"], ["cell_v2", "list_hosts"],
        ["cell_v2", "list_hosts", "--cell_uuid", cell1],
        ["cell_v2", "discover_hosts", "--verbose"],
        ["cell_v2", "map_instances", "--cell_uuid", cell1],
        ["cell_v2", "verify_instance", "--uuid", live],
        ["cell_v2", "create_cell", "--name", "c3", "--transport-url",
         "rabbit://u:p@h3:5672/", "--database_connection",
         "mysql+pymysql://root@127.0.0.1/nowhere"],
        ["cell_v2", "update_cell", "--cell_uuid", cell1, "--name", "one"],
        ["cell_v2", "delete_host", "--cell_uuid", cell1, "--host", "host1"],
        ["cell_v2", "delete_cell", "--cell_uuid", nova.cell_uuid("cell2")],
        ["cell_v2", "map_cell0"],
        ["libvirt", "list_unset_machine_type"],
        ["libvirt", "update_machine_type", live, "pc"],
        ["libvirt", "get_machine_type", live],
        ["image_property", "set", live, "--property", "hw_disk_bus=sata"],
        ["image_property", "show", live, "hw_disk_bus"],
        ["volume_attachment", "show", live, str(uuidlib.uuid4())],
        ["placement", "sync_aggregates"],
        ["placement", "audit"],
        ["placement", "heal_allocations", "--dry-run"],
    ]
    seen = set()
    for number, command in enumerate(commands):
        log = tmp_path / ("sql-%d.jsonl" % number)
        result = run_nmtool("--config-file", conf, "--sql-log", str(log),
                            *command)
        assert "Traceback" not in result.err, (command, result)
        names = ran(log)
        assert names, (command, result)
        missing = names - listed(*command[:2])
        assert not missing, (command, sorted(missing))
        seen |= names
    # The runs reached the statements this test is about.
    assert {"archive.copy_parents", "purge.chunk_before",
            "cell_mappings.insert", "host_mappings.of_hosts",
            "instance_mappings.insert"} <= seen


@pytest.mark.parametrize("category, action, statement", [
    ("api_db", "version", "schema_version.insert"),
    ("db", "archive_deleted_rows", "cell_mappings.delete"),
    ("cell_v2", "list_cells", "cell_mappings.insert"),
])
def test_a_command_lists_no_statement_it_cannot_run(category, action,
                                                     statement):
    assert statement not in listed(category, action)
