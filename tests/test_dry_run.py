"""--dry-run changes no row anywhere and predicts the real run exactly;
--max-duration stops between batches with nothing half-done."""
import pytest

from cellworld import World, uid
from conftest import run_nmtool, server_connection, table_contents
from online_migration_data import empty_deployment, instance
import novadata

DRY_NOTE = "nmtool: dry run: every change was rolled back\n"


@pytest.fixture
def archive_world(generated, conf_file):
    api, main = generated(150, 0.7, seed=5)
    return conf_file(api=api, main=main), [api, main]


def everything(names):
    return {name: table_contents(name) for name in names}


def dry_then_real(conf, names, *args):
    """Run args with --dry-run, check nothing changed, then for real;
    return both results."""
    before = everything(names)
    dry = run_nmtool("--config-file", conf, *(args + ("--dry-run",)))
    assert everything(names) == before, "the dry run changed rows"
    assert dry.err.endswith(DRY_NOTE), dry.err
    real = run_nmtool("--config-file", conf, *args)
    assert (dry.rc, dry.out) == (real.rc, real.out)
    return dry, real


def test_archive_and_purge(archive_world):
    conf, names = archive_world
    dry, real = dry_then_real(conf, names, "db", "archive_deleted_rows",
                              "--until-complete", "--verbose",
                              "--max_rows", "40")
    assert real.rc == 1 and "| instances " in real.out
    # The statements it would run are shown (on stderr).
    assert "INSERT INTO `shadow_instances`" in dry.err
    dry, real = dry_then_real(conf, names, "db", "purge", "--all",
                              "--verbose")
    assert real.rc == 0 and "Deleted" in real.out


def test_online_data_migrations(synced, conf_file):
    dep = empty_deployment(synced)
    with server_connection(dep.main) as conn:
        for n in range(1, 8):
            instance(conn, n, host="cmp%d" % n)
    dry, real = dry_then_real(dep.conf(conf_file),
                              [dep.api, dep.main, dep.cell0],
                              "db", "online_data_migrations")
    assert real.rc == 0 and "Total Needed" in real.out


def test_map_instances_and_discover_hosts(databases, synced, tmp_path):
    world = World(databases, synced, {
        "cell1": {"name": "cell1", "uuid": uid(1),
                  "nodes": [("h%d" % (n % 7), 0, 0) for n in range(20)],
                  "instances": [(uid(100 + n), n % 3 == 0, "h1",
                                 "2026-01-01 00:00:%02d" % n)
                                for n in range(30)]}})
    conf = world.conf(tmp_path)
    names = [world.api] + list(world.dbs.values())
    for args in (("map_instances", "--cell_uuid", uid(1), "--max-count",
                  "9"),
                 ("map_instances", "--cell_uuid", uid(1)),
                 ("discover_hosts", "--verbose", "--strict")):
        dry, real = dry_then_real(conf, names, "cell_v2", *args)
    assert "Creating host mapping" in real.out


def test_archive_max_duration_stops_between_batches(archive_world):
    conf, (api, main) = archive_world
    result = run_nmtool("--config-file", conf, "db", "archive_deleted_rows",
                        "--until-complete", "--max_rows", "5",
                        "--max-duration", "0.05")
    assert result.rc == 1  # rows were archived, and more are left
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM instances WHERE deleted <> 0")
        left = cur.fetchone()[0]
        # Whole instances only: none of a moved instance's rows stayed.
        cur.execute("SELECT COUNT(*) FROM instance_extra e JOIN "
                    "shadow_instances s ON s.uuid = e.instance_uuid")
        assert cur.fetchone()[0] == 0
    assert left > 0
    result = run_nmtool("--config-file", conf, "db", "archive_deleted_rows",
                        "--until-complete")
    assert result.rc == 1
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM instances WHERE deleted <> 0")
        assert cur.fetchone()[0] == 0


def test_purge_max_duration(archive_world):
    conf, (api, main) = archive_world
    with server_connection(main) as conn:
        conn.cursor().execute(
            "INSERT INTO shadow_instance_system_metadata (created_at, "
            "deleted_at, instance_uuid, `key`, value, deleted) SELECT "
            "'2020-01-01', '2020-01-02', 'x', CONCAT('k', seq), 'v', seq "
            "FROM seq_1_to_30000")
    result = run_nmtool("--config-file", conf, "db", "purge", "--all",
                        "--max-duration", "0.001")
    assert result.rc == 5
    with server_connection(main) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM shadow_instance_system_metadata")
        left = cur.fetchone()[0]
    assert 0 < left < 30000
    assert run_nmtool("--config-file", conf, "db", "purge", "--all").rc == 0


@pytest.mark.parametrize("value", ["0", "-1", "soon"])
def test_bad_max_duration(archive_world, value):
    conf, names = archive_world
    before = everything(names)
    result = run_nmtool("--config-file", conf, "db", "purge", "--all",
                        "--max-duration", value)
    assert result.rc == 2 and "--max-duration" in result.err
    assert everything(names) == before


def test_jobs_gives_the_same_end_state_and_output(databases, synced,
                                                  conf_file):
    """archive and purge over four cells with --jobs 4 end like --jobs 1."""
    from conftest import db_url

    def deployment():
        api = synced("api")
        cells = []
        for index in range(4):
            main = synced("main")
            with server_connection(main) as m, server_connection(api) as a:
                m.autocommit(False)
                a.autocommit(False)
                cell = "00000000-0000-0000-0000-%012d" % (index + 1)
                novadata.generate(m, a, 60, 0.6, seed=20 + index,
                                  cell_uuid=cell, id_offset=index * 100000)
                a.cursor().execute(
                    "UPDATE cell_mappings SET name = %s, database_connection"
                    " = %s WHERE uuid = %s", ("cell%d" % index, db_url(main),
                                              cell))
                a.commit()
            cells.append(main)
        return api, cells
    runs = {}
    for jobs in ("1", "4"):
        api, cells = deployment()
        conf = conf_file(api=api, main=cells[0])
        archive = run_nmtool("--config-file", conf, "db",
                             "archive_deleted_rows", "--all-cells",
                             "--until-complete", "--verbose", "--max_rows",
                             "50", "--jobs", jobs)
        purge = run_nmtool("--config-file", conf, "db", "purge", "--all",
                           "--all-cells", "--verbose", "--jobs", jobs)
        state = [sorted((table, len(rows)) for table, rows in
                        table_contents(name).items()) for name in cells]
        runs[jobs] = (archive.rc, archive.out.replace(api, "API"),
                      purge.rc, purge.out, state)
    assert runs["1"][0] == 1 and runs["1"][2] == 0
    assert runs["4"] == runs["1"]
