"""Schemas built by nmtool equal nova 34.0.0's, revision by revision, and
each tool continues the other's migrations."""
import pytest

from conftest import db_url, run_nmtool, server_connection
from schema_compare import diff, snapshot

API_REVISIONS = ["d67eeaabee36", "b30f573d3377", "cdeec0c85668"]
MAIN_REVISIONS = ["8f2f1571d55b", "16f1fbcab42b", "ccb0fa1a2252",
                  "960aac0e09ea", "1b91788ec3a6", "1acf2c98e646",
                  "13863f4e1612", "d60bddf7a903", "2903cd72dc14",
                  "ab450ba04102"]
SYNC = {"api": ["api_db", "sync"], "main": ["db", "sync", "--local_cell"]}
VERSION = {"api": ["api_db", "version"], "main": ["db", "version"]}


def schema(name):
    with server_connection() as conn:
        return snapshot(conn, name)


def conf_for(conf_file, kind, name):
    return conf_file(**{kind: name})


def nmtool_sync(conf_file, databases, kind, revision=None):
    name = databases.create(kind)
    args = SYNC[kind] + ([revision] if revision else [])
    result = run_nmtool("--config-file", conf_for(conf_file, kind, name),
                        *args)
    assert result.rc == 0, result
    return name


def test_the_revision_files_are_nova_chain():
    from nmtool.db.migrate import revisions
    assert [r.revision for r in revisions("api")] == API_REVISIONS
    assert [r.revision for r in revisions("main")] == MAIN_REVISIONS


@pytest.mark.nova
@pytest.mark.parametrize("kind, revision",
                         [("api", r) for r in API_REVISIONS]
                         + [("main", r) for r in MAIN_REVISIONS])
def test_schema_equals_nova_at_every_revision(kind, revision, databases,
                                              conf_file, nova_synced):
    ours = nmtool_sync(conf_file, databases, kind, revision)
    theirs = nova_synced(kind, revision)
    ours_snap, theirs_snap = schema(ours), schema(theirs)
    assert diff(theirs_snap, ours_snap) == []
    # The comparison looks at what matters: it would see a lost index.
    assert ours_snap["tables"]


@pytest.mark.nova
def test_schema_comparison_notices_a_difference(databases, conf_file,
                                                nova_synced):
    ours = nmtool_sync(conf_file, databases, "api")
    with server_connection(ours) as conn:
        conn.cursor().execute("ALTER TABLE cell_mappings DROP INDEX "
                              "uniq_cell_mappings0uuid")
    assert diff(schema(nova_synced("api")), schema(ours)) != []


@pytest.mark.nova
@pytest.mark.parametrize("kind, start", [
    ("api", "d67eeaabee36"), ("api", "b30f573d3377"),
    ("main", "8f2f1571d55b"), ("main", "960aac0e09ea"),
    ("main", "13863f4e1612"), ("main", "2903cd72dc14"),
])
def test_nmtool_brings_a_nova_database_to_head(kind, start, databases,
                                               conf_file, nova_synced):
    name = nova_synced(kind, start)
    conf = conf_for(conf_file, kind, name)
    assert run_nmtool("--config-file", conf, *VERSION[kind]).out == \
        start + "\n"
    result = run_nmtool("--config-file", conf, *SYNC[kind])
    assert result.rc == 0, result
    head = (API_REVISIONS if kind == "api" else MAIN_REVISIONS)[-1]
    assert run_nmtool("--config-file", conf, *VERSION[kind]).out == \
        head + "\n"
    assert diff(schema(nova_synced(kind)), schema(name)) == []


@pytest.mark.nova
@pytest.mark.parametrize("kind", ["api", "main"])
def test_nova_manage_sees_nmtool_schema_as_current(kind, databases,
                                                   conf_file, nova_manage):
    name = nmtool_sync(conf_file, databases, kind)
    conf = conf_for(conf_file, kind, name)
    head = (API_REVISIONS if kind == "api" else MAIN_REVISIONS)[-1]
    version = nova_manage("--config-file", conf, *VERSION[kind])
    assert (version.rc, version.out) == (0, head + "\n")
    before = schema(name)
    sync = nova_manage("--config-file", conf, *SYNC[kind])
    assert sync.rc == 0, sync
    assert diff(before, schema(name)) == []


@pytest.mark.nova
def test_nova_continues_a_database_nmtool_left_halfway(databases, conf_file,
                                                       nova_manage,
                                                       nova_synced):
    name = nmtool_sync(conf_file, databases, "main", "1b91788ec3a6")
    conf = conf_for(conf_file, "main", name)
    assert nova_manage("--config-file", conf, *SYNC["main"]).rc == 0
    assert diff(schema(nova_synced("main")), schema(name)) == []


@pytest.mark.nova
@pytest.mark.parametrize("kind", ["api", "main"])
def test_version_output_matches_nova(kind, databases, conf_file,
                                     nova_manage):
    empty = databases.create(kind)
    conf = conf_for(conf_file, kind, empty)
    for name in (empty, nmtool_sync(conf_file, databases, kind)):
        conf = conf_for(conf_file, kind, name)
        ours = run_nmtool("--config-file", conf, *VERSION[kind])
        theirs = nova_manage("--config-file", conf, *VERSION[kind])
        assert (ours.rc, ours.out) == (theirs.rc, theirs.out)


# -- sync behaviour ---------------------------------------------------------

def test_version_of_an_empty_database_is_none(databases, conf_file):
    conf = conf_file(main=databases.create("main"))
    result = run_nmtool("--config-file", conf, "db", "version")
    assert (result.rc, result.out) == (0, "None\n")


def test_sync_twice_changes_nothing(databases, conf_file):
    name = nmtool_sync(conf_file, databases, "api")
    before = schema(name)
    result = run_nmtool("--config-file", conf_file(api=name), "api_db",
                        "sync")
    assert result.rc == 0 and diff(before, schema(name)) == []


def test_sync_to_a_revision_prefix_then_on(databases, conf_file):
    name = databases.create("main")
    conf = conf_file(main=name)
    assert run_nmtool("--config-file", conf, "db", "sync", "--local_cell",
                      "960aac").rc == 0
    assert run_nmtool("--config-file", conf, "db", "version").out == \
        "960aac0e09ea\n"
    assert run_nmtool("--config-file", conf, "db", "sync",
                      "--local_cell").rc == 0
    assert run_nmtool("--config-file", conf, "db", "version").out == \
        MAIN_REVISIONS[-1] + "\n"


@pytest.mark.parametrize("version, message", [
    ("123", "You requested an sqlalchemy-migrate database version"),
    ("deadbeef", "Can't locate revision identified by 'deadbeef'"),
])
def test_bad_sync_version_changes_nothing(version, message, databases,
                                          conf_file):
    name = databases.create("api")
    result = run_nmtool("--config-file", conf_file(api=name), "api_db",
                        "sync", version)
    assert result.rc == 255
    assert message in result.err and len(result.err.splitlines()) == 1
    with server_connection(name) as conn:
        cur = conn.cursor()
        cur.execute("SHOW TABLES")
        assert cur.fetchall() == ()


def test_sync_to_an_older_revision_does_not_downgrade(databases, conf_file):
    # As with nova-manage (alembic): a no-op that succeeds.
    name = nmtool_sync(conf_file, databases, "api")
    before = schema(name)
    result = run_nmtool("--config-file", conf_file(api=name), "api_db",
                        "sync", "d67eeaabee36")
    assert (result.rc, result.out) == (0, "")
    assert diff(before, schema(name)) == []
    assert run_nmtool("--config-file", conf_file(api=name), "api_db",
                      "version").out == API_REVISIONS[-1] + "\n"


def test_db_sync_without_cell0_mapping_warns(databases, conf_file, synced):
    api = synced("api")
    main = databases.create("main")
    result = run_nmtool("--config-file", conf_file(api=api, main=main), "db",
                        "sync")
    assert result.rc == 0
    assert result.out == \
        "WARNING: cell0 mapping not found - not syncing cell0.\n"


def test_db_sync_upgrades_mapped_cell0_too(databases, conf_file, synced):
    api = synced("api")
    main, cell0 = databases.create("main"), databases.create("cell0")
    conf = conf_file(api=api, main=main)
    mapped = run_nmtool("--config-file", conf, "cell_v2", "map_cell0",
                        "--database_connection", db_url(cell0))
    assert mapped.rc == 0, mapped
    result = run_nmtool("--config-file", conf, "db", "sync")
    assert (result.rc, result.out) == (0, "")
    for name in (main, cell0):
        with server_connection(name) as conn:
            cur = conn.cursor()
            cur.execute("SELECT version_num FROM alembic_version")
            assert cur.fetchall() == ((MAIN_REVISIONS[-1],),)


def test_db_sync_with_unreachable_cell0_exits_1(databases, conf_file,
                                                synced):
    api = synced("api")
    main = databases.create("main")
    conf = conf_file(api=api, main=main)
    run_nmtool("--config-file", conf, "cell_v2", "map_cell0",
               "--database_connection",
               "mysql+pymysql://root:sekrit@127.0.0.1:1/nowhere")
    result = run_nmtool("--config-file", conf, "db", "sync")
    assert result.rc == 1
    assert result.out.startswith("ERROR: Could not access cell0.\n")
    assert "127.0.0.1:1" in result.out and "sekrit" not in result.out
    with server_connection(main) as conn:  # the main DB was not touched
        cur = conn.cursor()
        cur.execute("SHOW TABLES")
        assert cur.fetchall() == ()


def test_db_sync_without_api_database_exits_1(databases, conf_file):
    main = databases.create("main")
    result = run_nmtool("--config-file", conf_file(main=main), "db", "sync")
    assert result.rc == 1
    assert "[api_database]/connection is not set" in result.out


def test_local_cell_needs_no_api_database(databases, conf_file):
    main = databases.create("main")
    result = run_nmtool("--config-file", conf_file(main=main), "db", "sync",
                        "--local_cell")
    assert (result.rc, result.out) == (0, "")
