"""db online_data_migrations run by nova-manage 34.0.0 and by nmtool on
identical copies of the same deployment (API database, cell0, cell1):
same exit codes, same output (table, per-batch lines, error lines), same
rows afterwards. Generated uuids are compared by form, not value;
timestamps set by the run compare as "NOW"."""
import datetime
import re

import pytest

from conftest import copy_database, db_url, run_nmtool, server_connection
import online_migration_data as data

pytestmark = pytest.mark.nova

ADDRESS = re.compile(r" at 0x[0-9a-f]+>")
# nova-manage writes its log records (some of several lines) to stdout,
# oslo.log's default; nmtool keeps them on stderr. The command's own
# output is made of these lines only.
OUTPUT_LINE = re.compile(
    r"^(Running batches of \d+ until complete"
    r"|\d+ rows matched query \w+, \d+ migrated"
    r"|Error attempting to run <.*>"
    r"|[+|].*"
    r"|Some migrations failed unexpectedly\. Check log for details\."
    r"|Must supply a positive value for max_number)$")


def twin(databases, dep):
    copy = data.Deployment(databases.create("api"), databases.create("main"),
                           databases.create("main"))
    for source, target in ((dep.api, copy.api), (dep.main, copy.main),
                           (dep.cell0, copy.cell0)):
        copy_database(source, target)
    with server_connection(copy.api) as conn:
        cur = conn.cursor()
        for source, target in ((dep.main, copy.main),
                               (dep.cell0, copy.cell0)):
            cur.execute("UPDATE cell_mappings SET database_connection = %s "
                        "WHERE database_connection = %s",
                        (db_url(target), db_url(source)))
    return copy


def end_state(dep, since):
    return {role: data.contents(name, since, data.GENERATED)
            for role, name in dep.roles().items()}


def normal(text, strict=False):
    lines = text.splitlines(True)
    if strict:
        assert all(OUTPUT_LINE.match(line) for line in lines), text
    lines = [line for line in lines if OUTPUT_LINE.match(line)]
    return ADDRESS.sub(" at 0x...>", "".join(lines))


def compare_runs(databases, conf_file, nova_manage, dep, runs, extra=""):
    """Run each argument list in turn with both tools (each on its own
    copy) and compare every run, then the end state."""
    ours = twin(databases, dep)
    since = datetime.datetime.utcnow().replace(microsecond=0) - \
        datetime.timedelta(seconds=1)
    nova_conf = dep.conf(conf_file, extra)
    our_conf = ours.conf(conf_file, extra)
    results = []
    for args in runs:
        nova = nova_manage("--config-file", nova_conf, "db",
                           "online_data_migrations", *args)
        mine = run_nmtool("--config-file", our_conf, "db",
                          "online_data_migrations", *args)
        assert (mine.rc, normal(mine.out, strict=True)) == \
            (nova.rc, normal(nova.out)), (args, mine, nova)
        assert "Traceback" not in mine.err
        results.append(mine)
    theirs_end, ours_end = end_state(dep, since), end_state(ours, since)
    for role in theirs_end:
        for table in theirs_end[role]:
            assert ours_end[role][table] == theirs_end[role][table], \
                (role, table)
    return results


def test_everything_until_complete(databases, synced, conf_file,
                                   nova_manage):
    dep = data.seed(data.empty_deployment(synced))
    results = compare_runs(databases, conf_file, nova_manage, dep,
                           [[], []])
    assert results[0].rc == 0
    assert "rows matched query" in results[0].out


def test_max_count_splits_the_work(databases, synced, conf_file,
                                   nova_manage):
    dep = data.seed(data.empty_deployment(synced))
    results = compare_runs(databases, conf_file, nova_manage, dep,
                           [["--max-count", "3"]] * 9
                           + [["--max-count", "1000"]])
    assert [r.rc for r in results][:2] == [1, 1]


def test_nothing_to_do_and_bad_counts(databases, synced, conf_file,
                                      nova_manage):
    dep = data.empty_deployment(synced)
    results = compare_runs(databases, conf_file, nova_manage, dep,
                           [[], ["--max-count", "0"], ["--max-count", "abc"],
                            ["--max-count", "-4"], ["--max-count", "7"]])
    assert [r.rc for r in results] == [0, 127, 127, 127, 0]


def test_without_api_database(databases, synced, conf_file, nova_manage,
                              tmp_path):
    dep = data.seed(data.empty_deployment(synced), parts=("uuids",))
    conf = conf_file(main=dep.main)
    since = datetime.datetime.utcnow().replace(microsecond=0)
    ours = twin(databases, dep)
    nova = nova_manage("--config-file", conf, "db", "online_data_migrations")
    mine = run_nmtool("--config-file", conf_file(main=ours.main), "db",
                      "online_data_migrations")
    assert (mine.rc, normal(mine.out, strict=True)) == \
        (nova.rc, normal(nova.out))
    assert mine.rc == 2
    assert end_state(ours, since) == end_state(dep, since)


def test_configured_ratios_and_zone(databases, synced, conf_file,
                                    nova_manage):
    dep = data.seed(data.empty_deployment(synced), parts=("instances",))
    compare_runs(databases, conf_file, nova_manage, dep, [[]],
                 extra="[DEFAULT]\ncpu_allocation_ratio = 2.5\n"
                       "initial_ram_allocation_ratio = 3.0\n"
                       "ram_allocation_ratio = 0.0\n"
                       "default_availability_zone = zone-x\n")


def test_node_and_zone_lookups(databases, synced, conf_file, nova_manage):
    """The node and zone lookups where they are unusual (duplicate node
    rows, names in another case, NULL names, no node, several or no
    zoned aggregates), in batches of 3, then to the end; a batch's
    instances are found and written in a few statements, as the SQL log
    shows."""
    dep = data.seed(data.empty_deployment(synced),
                    parts=("instances", "lookup_edges"))
    results = compare_runs(databases, conf_file, nova_manage, dep,
                           [["--max-count", "3"]] * 8 + [[]],
                           extra="[DEFAULT]\n"
                                 "default_availability_zone = zone-x\n")
    assert "populate_instance_compute_id" in "".join(r.out for r in results)
    rows = {r["uuid"]: r for r in data.rows(dep.main, "instances")}
    nodes = {r["uuid"]: r["id"] for r in data.rows(dep.main, "compute_nodes")}
    # nova-manage's end state, which nmtool's was just compared with.
    assert rows[data.inst_uuid(11)]["compute_id"] == \
        nodes[data.node_uuid(51)]
    assert rows[data.inst_uuid(12)]["compute_id"] == nodes[data.node_uuid(6)]
    assert rows[data.inst_uuid(12)]["availability_zone"] == "az2"
    assert rows[data.inst_uuid(13)]["compute_id"] == nodes[data.node_uuid(7)]
    assert rows[data.inst_uuid(14)]["compute_id"] == nodes[data.node_uuid(8)]
    assert rows[data.inst_uuid(14)]["availability_zone"] == "zone-x"
    assert rows[data.inst_uuid(15)]["compute_id"] is None


def test_failed_compute_id_batch_keeps_filled_ratios(databases, synced,
                                                     conf_file, nova_manage):
    """A node without a uuid fails the batch: nova has already filled
    (and committed) the empty ratios of the nodes it loaded before it,
    and rolls back the instances."""
    dep = data.seed(data.empty_deployment(synced),
                    parts=("instances", "failing_node"))
    results = compare_runs(databases, conf_file, nova_manage, dep,
                           [["--max-count", "100"], []])
    assert [r.rc for r in results] == [1, 2]
    (filled,) = data.rows(dep.main, "compute_nodes", "host = 'h21'")
    assert filled["ram_allocation_ratio"] == 1.0
    assert not data.rows(dep.main, "instances",
                         "compute_id IS NOT NULL AND host LIKE 'h2_'")


def test_quota_already_in_api_database(databases, synced, conf_file,
                                       nova_manage):
    """A batch whose copy hits an existing API row: nova drops the whole
    copy and still deletes the batch from the cell database."""
    dep = data.seed(data.empty_deployment(synced), parts=("quotas",))
    with server_connection(dep.api) as api:
        data.insert(api, "quotas", created_at=data.T0, project_id="p2",
                    resource="ram", hard_limit=1)
        data.insert(api, "quota_classes", created_at=data.T0,
                    class_name="default", resource="cores", hard_limit=1)
    compare_runs(databases, conf_file, nova_manage, dep,
                 [["--max-count", "2"], []])


def test_failing_migrations(databases, synced, conf_file, nova_manage):
    """A node without a uuid fails populate_instance_compute_id, a marker
    pointing at a vanished instance fails fill_virtual_interface_list;
    the others go on. Exit 1 while other work was done in a --max-count
    batch, 2 once nothing else moves, and always 2 when unlimited."""
    dep = data.seed(data.empty_deployment(synced), parts=("instances",))
    with server_connection(dep.main) as main:
        main.cursor().execute("UPDATE compute_nodes SET uuid = NULL "
                              "WHERE host = 'h2'")
        fake = data.instance(main, 99, uuid=data.FAKE, project_id=data.FAKE,
                             deleted=1)
        assert fake
        data.insert(main, "virtual_interfaces", created_at=data.T0,
                    address="ff:ff:ff:ff:ff:ff/" + data.FAKE, uuid=data.FAKE,
                    instance_uuid=data.FAKE, tag=data.inst_uuid(77),
                    deleted=0)
    results = compare_runs(databases, conf_file, nova_manage, dep,
                           [["--max-count", "100"], ["--max-count", "5"],
                            []])
    assert [r.rc for r in results] == [1, 2, 2]
    assert "Error attempting to run <function fill_virtual_interface_list" \
        in results[0].out


def test_unreachable_cell(databases, synced, conf_file, nova_manage):
    """A cell whose database does not exist: populate_user_id warns and
    skips it, the migrations that need it fail."""
    dep = data.seed(data.empty_deployment(synced), parts=("instances",))
    with server_connection(dep.api) as api:
        cell = data.insert(api, "cell_mappings", created_at=data.T0,
                           uuid="c2c2c2c2-0000-4000-8000-000000000002",
                           name="cell2", transport_url="rabbit://y",
                           database_connection=db_url("nmt_no_such_db"),
                           disabled=0)
        for n in (60, 61):
            data.insert(api, "instance_mappings", created_at=data.T0,
                        instance_uuid=data.inst_uuid(n), cell_id=cell,
                        project_id="p1")
    results = compare_runs(databases, conf_file, nova_manage, dep,
                           [["--max-count", "1000"], []])
    assert [r.rc for r in results] == [1, 2]


def test_without_main_database_setting(databases, synced, conf_file,
                                       nova_manage):
    """Only the API database configured: the eight migrations of
    [database] fail in both. nova-manage 34.0.0 also fails to reach the
    cells (it formats their URLs from the missing setting: an
    AttributeError), so its cell migrations fail too; nmtool reaches the
    cells by their mapped URLs and migrates them (a documented
    difference)."""
    dep = data.seed(data.empty_deployment(synced), parts=("instances",))
    ours = twin(databases, dep)
    nova = nova_manage("--config-file", conf_file(api=dep.api), "db",
                       "online_data_migrations")
    mine = run_nmtool("--config-file", conf_file(api=ours.api), "db",
                      "online_data_migrations")
    assert mine.rc == nova.rc == 2

    def failed(out):
        return set(line.split()[5 if "<function" in line else 6]
                   for line in normal(out).splitlines()
                   if line.startswith("Error attempting"))
    main_only = {"migrate_quota_limits_to_api_db",
                 "migrate_quota_classes_to_api_db",
                 "migration_migrate_to_uuid", "BlockDeviceMapping.populate_uuids",
                 "populate_missing_availability_zones", "migrate_empty_ratio",
                 "PciDevice.populate_dev_uuids",
                 "populate_instance_compute_id"}
    assert failed(mine.out) == main_only
    assert failed(nova.out) == main_only | {"populate_queued_for_delete",
                                            "fill_virtual_interface_list"}


def test_generated_deployment(databases, synced, conf_file, nova_manage):
    """A few hundred generated instances with work for most migrations:
    partial --max-count batches, then batches of 50 to the end."""
    import novadata
    dep = data.empty_deployment(synced)
    with server_connection(dep.main) as main, \
            server_connection(dep.api) as api:
        main.autocommit(False)
        api.autocommit(False)
        novadata.generate(main, api, 300, 0.4, 11, cell_uuid=data.CELL1)
        main.commit()
        api.commit()
        cur = main.cursor()
        cur.execute("UPDATE block_device_mapping SET uuid = NULL "
                    "WHERE id % 3 = 0")
        cur.execute("UPDATE migrations SET uuid = NULL")
        cur.execute("UPDATE pci_devices SET uuid = NULL WHERE id % 2 = 0")
        cur.execute("UPDATE instances SET node = host WHERE id % 2 = 0")
        cur.execute("UPDATE compute_nodes SET ram_allocation_ratio = 0.0 "
                    "WHERE id % 2 = 1")
        main.commit()
        api.cursor().execute(
            "UPDATE instance_mappings SET queued_for_delete = NULL, "
            "user_id = NULL WHERE id % 3 <> 0")
        api.commit()
    compare_runs(databases, conf_file, nova_manage, dep,
                 [["--max-count", "37"]] * 3 + [[], []])
