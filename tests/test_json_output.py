"""--format json: one document on stdout that validates against its schema
in nmtool/schemas, the same numbers as the table output of the same run
on the same data, messages on stderr, the same exit code."""
import json
import pathlib
import re

import jsonschema
import pytest

import novadata
import online_migration_data as omdata
from cellworld import World, uid
from conftest import run_nmtool, server_connection

SCHEMAS = pathlib.Path(__file__).resolve().parent.parent / "nmtool" / \
    "schemas"


def document(result, name):
    """The one JSON document of a --format json run, validated."""
    doc = json.loads(result.out)  # fails on anything but one document
    schema = json.loads((SCHEMAS / (name + ".json")).read_text())
    jsonschema.Draft202012Validator(schema).validate(doc)
    return doc


def both(name, *args):
    """The run as a table and as JSON; same exit code, the document
    validated."""
    table = run_nmtool(*args)
    as_json = run_nmtool(*args, "--format", "json")
    assert as_json.rc == table.rc, (table, as_json)
    return table, document(as_json, name), as_json


def table_rows(text):
    """The cells of a nova-manage table's body rows."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")]
            for row in rows[1:]]


def test_every_schema_is_valid_draft_2020_12():
    names = sorted(p.stem for p in SCHEMAS.glob("*.json"))
    assert len(names) == 18
    for path in SCHEMAS.glob("*.json"):
        schema = json.loads(path.read_text())
        assert schema["$schema"] == \
            "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(schema)


def test_bad_format_is_a_usage_error(conf_file, synced):
    result = run_nmtool("--config-file", conf_file(api=synced("api")),
                        "cell_v2", "list_cells", "--format", "xml")
    assert result.rc == 2 and result.out == ""
    assert "argument --format: invalid choice: 'xml'" in result.err


# -- db archive_deleted_rows / purge ------------------------------------------

@pytest.fixture
def deployment(databases, synced, conf_file):
    api, main = synced("api"), synced("main")
    with server_connection(main) as m, server_connection(api) as a:
        m.autocommit(False)
        a.autocommit(False)
        novadata.generate(m, a, 80, 0.7, seed=5)
    return conf_file(api=api, main=main)


def test_archive_counts_match_the_table(deployment):
    args = ("--config-file", deployment, "db", "archive_deleted_rows",
            "--verbose", "--until-complete", "--dry-run")
    table, doc, raw = both("db_archive_deleted_rows", *args)
    assert table.rc == 1
    shown = {row[0]: int(row[1]) for row in table_rows(table.out)}
    got = {(r["database"] + "." if r["database"] else "") + r["table"]:
           r["rows"] for r in doc["archived"]}
    assert got == shown and doc["total"] == sum(shown.values()) > 0
    assert doc["stopped"] is False and doc["purge"] is None
    # the messages (progress dots, "Archiving..") went to stderr
    assert "complete" in raw.err and "Archiving" in raw.err


def test_archive_with_purge_and_purge_counts(deployment):
    args = ("--config-file", deployment, "db", "archive_deleted_rows",
            "--verbose", "--until-complete", "--purge", "--dry-run")
    table, doc, _ = both("db_archive_deleted_rows", *args)
    lines = re.findall(r"^DB: Deleted (\d+) rows from (\S+) based on "
                       r"timestamp column (\S+)$", table.out, re.M)
    assert lines
    assert [(str(r["rows"]), r["table"], r["column"] or "(n/a)")
            for r in doc["purge"]["purged"]] == lines
    # the API database rows are deleted, not moved to shadow tables
    assert doc["purge"]["total"] == sum(
        r["rows"] for r in doc["archived"] if r["database"] != "API_DB")

    # db purge on archived rows (the archive for real, purges dry)
    assert run_nmtool("--config-file", deployment, "db",
                      "archive_deleted_rows", "--until-complete").rc == 1
    for extra in (["--all"], ["--before", "2100-01-01"]):
        table, doc, _ = both("db_purge", "--config-file", deployment, "db",
                             "purge", "--verbose", "--dry-run", *extra)
        assert table.rc == 0
        lines = re.findall(r"^DB: Deleted (\d+) rows from (\S+)", table.out,
                           re.M)
        assert [(str(r["rows"]), r["table"]) for r in doc["purged"]] == lines
        assert doc["total"] == sum(int(n) for n, _ in lines) > 0


def test_purge_document_follows_the_verbose_lines_per_cell(databases,
                                                          synced, conf_file):
    """--all-cells --before: each cell's deleted tables and the tables
    without a timestamp column, in the order the lines name them."""
    from conftest import db_url
    api, main = synced("api"), synced("main")
    with server_connection(main) as m, server_connection(api) as a:
        m.autocommit(False)
        a.autocommit(False)
        novadata.generate(m, a, 40, 0.7, seed=8, cell_uuid=uid(7))
        a.cursor().execute("UPDATE cell_mappings SET database_connection = "
                           "%s WHERE uuid = %s", (db_url(main), uid(7)))
        a.commit()
    conf = conf_file(api=api, main=main)
    assert run_nmtool("--config-file", conf, "db", "archive_deleted_rows",
                      "--until-complete").rc == 1
    table, doc, _ = both("db_purge", "--config-file", conf, "db", "purge",
                         "--all-cells", "--before", "2100-01-01",
                         "--verbose", "--dry-run", "--jobs", "2")
    assert table.rc == 0
    deleted = re.findall(r"^(.*): Deleted (\d+) rows from (\S+) based on "
                         r"timestamp column (\S+)$", table.out, re.M)
    skipped = re.findall(r"^(.*): Unable to purge table (\S+) because",
                         table.out, re.M)
    assert deleted and skipped
    assert {name for name, _, _, _ in deleted} == {
        "Cell %s(gen-%s)" % (uid(7), uid(7)[:8])}
    assert [(r["database"], str(r["rows"]), r["table"], r["column"])
            for r in doc["purged"]] == deleted
    assert [(r["database"], r["table"]) for r in doc["skipped_tables"]] \
        == skipped
    assert doc["total"] == sum(int(n) for _, n, _, _ in deleted)


def test_nothing_to_purge_still_gives_a_document(deployment):
    table, doc, _ = both("db_purge", "--config-file", deployment, "db",
                         "purge", "--all")
    assert table.rc == 3 and doc == {"purged": [], "skipped_tables": [],
                                     "total": 0, "stopped": False,
                                     "retries": 0}


def test_errors_before_a_result_print_no_document(deployment):
    for args in (["archive_deleted_rows", "--max_rows", "0"],
                 ["purge"]):
        result = run_nmtool("--config-file", deployment, "db", *args,
                            "--format", "json")
        table = run_nmtool("--config-file", deployment, "db", *args)
        assert result.rc == table.rc != 0
        assert result.out == "" and result.err == table.out


# -- db online_data_migrations, db status -----------------------------------

def test_online_data_migrations(synced, conf_file):
    dep = omdata.seed(omdata.empty_deployment(synced))
    args = ("--config-file", dep.conf(conf_file), "db",
            "online_data_migrations", "--dry-run")
    table, doc, raw = both("db_online_data_migrations", *args)
    shown = [[row[0], int(row[1]), int(row[2])]
             for row in table_rows(table.out)]
    assert [[m["migration"], m["total_needed"], m["completed"]]
            for m in doc["migrations"]] == shown
    assert any(row[1] for row in shown)
    assert doc["failed"] is (table.rc == 2)
    assert "Running batches" in raw.err


def test_db_status(deployment):
    table, doc, _ = both("db_status", "--config-file", deployment, "db",
                         "status")
    assert table.rc == 0
    rows = {row[0]: row for row in table_rows(table.out)}
    (database,) = doc["databases"]
    assert len(database["tables"]) == len(rows)
    for entry in database["tables"]:
        row = rows[entry["table"]]
        for index, key in ((1, "live_rows"), (2, "soft_deleted")):
            figure = entry[key]
            text = "?" if figure["value"] is None else \
                ("~" if figure["estimated"] else "") + str(figure["value"])
            assert row[index] == text


# -- cell_v2 --------------------------------------------------------------

@pytest.fixture
def world(databases, synced, tmp_path):
    w = World(databases, synced, {
        "cell1": {"name": "cell1", "uuid": uid(1), "password": "s3cret",
                  "nodes": [("cmp%d" % n, 0, 0) for n in range(4)],
                  "instances": [(uid(1000 + n), n == 1, "cmp1",
                                 "2026-01-01 00:00:%02d" % n)
                                for n in range(6)]},
        "cell2": {"name": "cell2", "uuid": uid(2),
                  "nodes": [("other%d" % n, 0, 0) for n in range(2)]}},
        host_mappings=[("cmp0", "cell1")],
        instance_mappings=[(uid(1000), "cell1"), (uid(1001), "cell1"),
                           (uid(1002), None)])
    w.path = w.conf(tmp_path)
    return w


def cell_v2(world, name, *args):
    return both("cell_v2_" + name, "--config-file", world.path, "cell_v2",
                name, *args)


def test_list_cells_masks_passwords_unless_verbose(world):
    table, doc, _ = cell_v2(world, "list_cells")
    assert table.rc == 0
    assert [[c["name"], c["uuid"], c["transport_url"],
             c["database_connection"], str(c["disabled"])]
            for c in doc["cells"]] == table_rows(table.out)
    assert "s3cret" not in json.dumps(doc) and "****" in json.dumps(doc)
    _, verbose, _ = cell_v2(world, "list_cells", "--verbose")
    assert "s3cret" in json.dumps(verbose)


def test_list_hosts(world):
    table, doc, _ = cell_v2(world, "list_hosts")
    assert [[h["cell_name"], h["cell_uuid"], h["hostname"]]
            for h in doc["hosts"]] == table_rows(table.out)
    assert doc["hosts"]
    missing = run_nmtool("--config-file", world.path, "cell_v2",
                         "list_hosts", "--cell_uuid", uid(99), "--format",
                         "json")
    assert (missing.rc, missing.out) == (1, "")
    assert "Cell with uuid %s was not found." % uid(99) in missing.err


@pytest.mark.parametrize("instance, code, status", [
    (uid(1000), 0, "mapped"), (uid(1001), 3, "deleted"),
    (uid(1002), 2, "no_cell"), (uid(1005), 1, "not_mapped")])
def test_verify_instance(world, instance, code, status):
    table, doc, raw = cell_v2(world, "verify_instance", "--uuid", instance)
    assert table.rc == code and doc["status"] == status
    assert raw.err.startswith(table.out.splitlines()[0])
    if status in ("mapped", "deleted"):
        assert (doc["cell_uuid"], doc["cell_name"]) == (uid(1), "cell1")
    quiet = run_nmtool("--config-file", world.path, "cell_v2",
                       "verify_instance", "--uuid", instance, "--quiet",
                       "--format", "json")
    assert quiet.rc == code and json.loads(quiet.out) == doc
    assert quiet.err == ""


def test_discover_hosts(world):
    table, doc, raw = cell_v2(world, "discover_hosts", "--verbose",
                              "--dry-run")
    created = re.findall(r"^Creating host mapping for compute host "
                         r"'(.*)': (.*)$", table.out, re.M)
    assert [(h["host"], h["node"]) for h in doc["hosts"]] == created
    assert doc["mapped"] == len(created) == 5
    assert {h["cell_uuid"] for h in doc["hosts"]} == {uid(1), uid(2)}
    assert "Found 3 unmapped computes in cell" in raw.err


def test_discover_hosts_by_service(databases, synced, tmp_path):
    w = World(databases, synced, {
        "cell1": {"name": "cell1", "uuid": uid(1), "services": [
            ("svc1", "nova-compute", 0), ("svc2", "nova-compute", 0),
            ("sched", "nova-scheduler", 0)]},
        "cell2": {"name": None, "uuid": uid(2), "services": [
            ("svc3", "nova-compute", 0)]}})
    w.path = w.conf(tmp_path)
    table, doc, _ = cell_v2(w, "discover_hosts", "--by-service",
                            "--verbose", "--dry-run")
    created = re.findall(r"^Creating host mapping for service (.*)$",
                         table.out, re.M)
    assert created == ["svc1", "svc2", "svc3"]
    assert doc == {"mapped": 3, "hosts": [
        {"cell_uuid": uid(n), "host": host, "node": None}
        for n, host in ((1, "svc1"), (1, "svc2"), (2, "svc3"))]}
    assert "Getting computes from cell: %s" % uid(2) in table.out


def test_map_instances(world):
    table, doc, _ = cell_v2(world, "map_instances", "--cell_uuid", uid(1),
                            "--dry-run")
    assert table.rc == 0 and table.out == ""
    # uid(1000..1002) are mapped already; 1003..1005 are not
    assert doc == {"cell_uuid": uid(1), "mapped": 3, "more": False}


# -- libvirt, image_property, volume_attachment -----------------------------

@pytest.fixture
def cloud(databases, synced, conf_file):
    from test_libvirt import Cloud
    return Cloud(databases, synced, conf_file)


def in_cloud(cloud, name, *args):
    return both(name, "--config-file", cloud.conf, *args)


def test_libvirt_and_image_property(cloud):
    from test_libvirt import uuid_of
    cloud.add_instance(uuid_of(1), sysmeta={"image_hw_machine_type": "q35",
                                            "image_hw_disk_bus": "virtio"})
    cloud.add_instance(uuid_of(2), sysmeta={"image_hw_disk_bus": "virtio"})
    for n, code in ((1, 0), (2, 3)):
        table, doc, _ = in_cloud(cloud, "libvirt_get_machine_type",
                                 "libvirt", "get_machine_type", uuid_of(n))
        assert table.rc == code
        assert doc["machine_type"] == ("q35" if n == 1 else None)
        if n == 1:
            assert table.out == "q35\n"
    table, doc, _ = in_cloud(cloud, "libvirt_list_unset_machine_type",
                             "libvirt", "list_unset_machine_type")
    assert table.rc == 3
    assert doc["instance_uuids"] == table.out.split() == [uuid_of(2)]
    table, doc, _ = in_cloud(cloud, "image_property_show", "image_property",
                             "show", uuid_of(1), "hw_disk_bus")
    assert (table.rc, table.out) == (0, "virtio\n")
    assert doc["value"] == "virtio"

    # the writes: the table run first, then the JSON run on another
    # instance in the same state
    from test_image_property import add
    for n in (3, 4):
        add(cloud, n, sysmeta={"image_hw_machine_type": "pc"})
    args = [("libvirt", "update_machine_type", "UUID", "q35", "--force"),
            ("image_property", "set", "UUID", "--property",
             "hw_disk_bus=sata")]
    for command in args:
        name = "_".join(command[:2])
        table = cloud.run(*[uuid_of(3) if a == "UUID" else a
                            for a in command])
        raw = cloud.run(*[uuid_of(4) if a == "UUID" else a
                          for a in command], "--format", "json")
        assert raw.rc == table.rc == 0
        assert raw.err == table.out.replace(uuid_of(3), uuid_of(4))
        doc = document(raw, name)
        assert doc["instance_uuid"] == uuid_of(4)
    assert cloud.sysmeta(uuid_of(4))["image_hw_disk_bus"][0] == "sata"


def test_volume_attachment_show_is_the_json_document(cloud):
    from test_libvirt import uuid_of
    from test_volume_attachment import VOLUME, add_bdm
    cloud.add_instance(uuid_of(1))
    add_bdm(cloud, uuid_of(1))
    base = ("volume_attachment", "show", uuid_of(1), VOLUME)
    for extra in ([], ["--connection_info"]):
        nova_json = cloud.run(*base, *extra, "--json")
        raw = cloud.run(*base, *extra, "--format", "json")
        assert raw.rc == nova_json.rc == 0
        doc = document(raw, "volume_attachment_show")
        expected = json.loads(nova_json.out)
        if extra:  # --json prints connection_info as stored (JSON text)
            assert isinstance(doc, dict)
        assert doc == expected
    missing = cloud.run("volume_attachment", "show", uuid_of(1),
                        uuid_of(9), "--format", "json")
    assert (missing.rc, missing.out) == (3, "")


# -- placement ------------------------------------------------------------

from services import (  # noqa: E402,F401
    nova_deployment, placement, placement_service)


def test_placement_audit(placement, nova_deployment):
    from test_placement_audit import World, _audit
    w = World(nova_deployment)
    w.setup.build(placement.admin)
    table = _audit(w.nova, placement.url, "--verbose")
    raw = _audit(w.nova, placement.url, "--verbose", "--format", "json")
    assert raw.rc == table.rc == 3
    doc = document(raw, "placement_audit")
    listed = re.findall(r"^Allocations for consumer UUID (\S+) on Resource "
                        r"Provider (\S+) can be deleted", table.out, re.M)
    # Two runs: a provider's consumers come in the order Placement lists
    # them, which one run may not share with the next.
    assert sorted((o["consumer_uuid"], o["resource_provider_uuid"])
                  for o in doc["orphaned_allocations"]) == sorted(listed)
    assert len(listed) == len(doc["orphaned_allocations"]) > 0
    assert doc["processed"] == 6 and "Processed 6" in table.out
    assert sorted(raw.err.splitlines()) == sorted(table.out.splitlines())


def test_placement_heal_allocations_dry_run(placement, nova_deployment):
    from test_placement_heal import World, _heal
    w = World(nova_deployment)
    w.setup.build(placement.admin)
    args = ("--dry-run", "--verbose", "--skip-port-allocations")
    table = _heal(w.nova, placement.url, *args)
    raw = _heal(w.nova, placement.url, *args, "--format", "json")
    assert raw.rc == table.rc == 4
    doc = document(raw, "placement_heal_allocations")
    would = re.findall(r"^\[dry-run\] (Create|Update) allocations for "
                       r"instance (\S+): (.*)$", table.out, re.M)
    assert [(i["action"], i["instance_uuid"], i["allocations"])
            for i in doc["instances"] if i["action"].startswith("would")] \
        == [("would_" + a.lower(), u, json.loads(body))
            for a, u, body in would]
    # a dry run also shows its statements on stderr (--print-sql)
    messages = [line for line in raw.err.splitlines()
                if not line.startswith(("SQL ", "nmtool: dry run"))]
    assert doc["processed"] == 0 and messages == table.out.splitlines()


def test_placement_sync_aggregates(placement, nova_deployment):
    """The document names the hosts, providers and aggregates the table
    run printed, and what Placement holds afterwards (read back over
    HTTP); exit 6 for the provider Placement does not know."""
    import uuid
    from services import placement_conf_section
    from test_placement_sync_aggregates import Scenario, _run
    nova = nova_deployment()
    sc = Scenario(nova, placement)
    agg_a, agg_b, other = (str(uuid.uuid4()) for _ in range(3))
    for host in ("host1", "host2", "host3"):
        nova.add_host(host)
        nova.add_compute_node(host, sc.provider(
            host, aggregates=[other] if host == "host2" else []))
    nova.add_host("gone")
    nova.add_compute_node("gone", str(uuid.uuid4()), deleted=True)
    ghost = str(uuid.uuid4())  # a compute node Placement does not know
    nova.add_host("ghost")
    nova.add_compute_node("ghost", ghost)
    nova.add_aggregate("agg-a", ["host1", "host2", "unmapped", "gone"],
                       uuid=agg_a)
    nova.add_aggregate("agg-b", ["host3", "host1", "ghost"], uuid=agg_b)
    conf = nova.conf(placement_conf_section(placement.url))

    def fresh_run(*args):
        placement.admin.wipe()
        sc.build_placement()
        return _run(conf, "--verbose", *args), sc.state()
    table, table_state = fresh_run()
    raw, state = fresh_run("--format", "json")
    assert raw.rc == table.rc == 6
    assert raw.err == table.out
    doc = document(raw, "placement_sync_aggregates")

    added = re.findall(r"^Successfully added host \((.*)\) and provider "
                       r"\((.*)\) to aggregate \((.*)\)\.$", table.out, re.M)
    assert [(a["host"], a["resource_provider_uuid"], a["aggregate_uuid"])
            for a in doc["added"]] == added
    assert sorted(added) == sorted([
        ("host1", sc.providers["host1"], agg_a),
        ("host1", sc.providers["host1"], agg_b),
        ("host2", sc.providers["host2"], agg_a),
        ("host3", sc.providers["host3"], agg_b)])

    def missing(start):
        (hosts,) = re.findall(r"^%s.* Missing: (.*)$" % start, table.out,
                              re.M)
        return hosts.split(",")
    assert doc["hosts_without_host_mapping"] == \
        missing("The following hosts") == ["unmapped"]
    assert doc["hosts_without_compute_node"] == \
        missing("Unable to find matching compute_nodes") == ["gone"]
    assert doc["hosts_without_resource_provider"] == {"ghost": ghost}
    assert "following hosts: (ghost=%s). Try" % ghost in table.out

    # Placement after the JSON run: what the table run left, and each
    # provider in the aggregates it had plus those the document lists
    assert state == table_state
    for host, rp in sc.providers.items():
        listed = {a["aggregate_uuid"] for a in doc["added"]
                  if a["resource_provider_uuid"] == rp}
        assert state[rp] == sorted(set(sc.preset[rp]) | listed)
