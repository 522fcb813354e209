"""nmtool's own guarantees for cell_v2: bad input gives one line and the
documented code with nothing changed, odd names are stored as given,
map_instances survives kills and large cells."""
import signal
import subprocess
import time

import pytest

from cellworld import World, uid
from conftest import NMTOOL, run_nmtool, server_connection


@pytest.fixture
def world(databases, synced, tmp_path):
    w = World(databases, synced, {
        "cell1": {"name": "cell1", "uuid": uid(1),
                  "nodes": [("cmp%d" % (n % 40), 0, 0) for n in range(120)],
                  "instances": [(uid(1000 + n), n % 5 == 0, "cmp1",
                                 "2026-01-01 00:00:%02d" % (n % 60))
                                for n in range(300)]}})
    w.path = w.conf(tmp_path)
    return w


def nm(world, *args):
    return run_nmtool("--config-file", world.path, "cell_v2", *args)


@pytest.mark.parametrize("args, missing", [
    (["map_instances"], "--cell_uuid"),
    (["delete_cell", "--force"], "--cell_uuid"),
    (["delete_host", "--cell_uuid", uid(1)], "--host"),
    (["update_cell", "--name", "x"], "--cell_uuid"),
    (["verify_instance", "--quiet"], "--uuid"),
])
def test_missing_required_options(world, args, missing):
    before = world.state()
    result = nm(world, *args)
    assert result.rc == 2
    assert result.out == ""
    assert result.err.splitlines()[-1] == (
        "nmtool: error: the following arguments are required: %s" % missing)
    assert world.state() == before


@pytest.mark.parametrize("args", [
    ["map_instances", "--cell_uuid", "not-a-uuid"],
    ["discover_hosts", "--cell_uuid", "12345"],
])
def test_malformed_cell_uuid_is_one_line(world, args):
    before = world.state()
    result = nm(world, *args)
    assert result.rc == 255
    assert result.out == ""
    assert len(result.err.splitlines()) == 1
    assert "is not a valid UUID" in result.err
    assert world.state() == before


def test_not_found_lookups_keep_nova_output_and_explain(world):
    result = nm(world, "delete_cell", "--cell_uuid", "bogus'; DROP TABLE x")
    assert result.rc == 1
    assert result.out == ("Cell with uuid bogus'; DROP TABLE x was not "
                          "found.\n")
    assert "is not a valid UUID" in result.err


def test_bad_max_count(world):
    before = world.state()
    for value in ("0", "-3", "ten", "1.5"):
        result = nm(world, "map_instances", "--cell_uuid", uid(1),
                    "--max-count", value)
        assert (result.rc, result.out) == (
            127, "Must supply a positive value for max-count\n")
    assert world.state() == before


@pytest.mark.parametrize("url, reason", [
    ("no-scheme-here", "No scheme specified"),
    ("rabbit://u:p@host:port/", "invalid literal for int() with base 10: "
                                "'port'"),
    ("rabbit://[::1/", "Invalid IPv6 URL"),
])
def test_invalid_transport_url(world, url, reason):
    before = world.state()
    result = nm(world, "create_cell", "--transport-url", url,
                "--database_connection", "mysql://a@b/c")
    assert (result.rc, result.out) == (1, "Invalid transport URL: %s\n"
                                       % reason)
    assert world.state() == before


def test_odd_names_and_urls_are_stored_and_shown_as_given(world):
    name = "cellé ‘x’; DELETE FROM cell_mappings; -- " + "ü" * 150
    url = "rabbit://user:p%40ss;word@mq1:5672,user:pw2@mq2:5672/vhost?x=1"
    result = nm(world, "create_cell", "--name", name, "--transport-url", url,
                "--database_connection", "mysql+pymysql://a:b@db/cellx",
                "--verbose")
    assert result.rc == 0, result
    new_uuid = result.out.strip()
    with server_connection(world.api) as conn:
        cur = conn.cursor()
        cur.execute("SELECT name, transport_url FROM cell_mappings WHERE "
                    "uuid = %s", (new_uuid,))
        assert cur.fetchone() == (name, url)
        cur.execute("SELECT COUNT(*) FROM cell_mappings")
        assert cur.fetchone()[0] == 3
    listed = nm(world, "list_cells")
    assert name in listed.out
    assert "user:****@mq2:5672" in listed.out and "p%40ss" not in listed.out
    assert url in nm(world, "list_cells", "--verbose").out


def test_discover_hosts_maps_each_host_once(world):
    result = nm(world, "discover_hosts", "--strict")
    assert result.rc == 0
    with server_connection(world.api) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*), COUNT(DISTINCT host) FROM "
                    "host_mappings")
        assert cur.fetchone() == (40, 40)
    with server_connection(world.dbs["cell1"]) as conn:
        cur = conn.cursor()
        # The first node of each host is marked mapped, as nova marks it.
        cur.execute("SELECT COUNT(*) FROM compute_nodes WHERE mapped = 1")
        assert cur.fetchone()[0] == 40
    assert nm(world, "discover_hosts", "--strict").rc == 1


def mapping_counts(world):
    with server_connection(world.api) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*), COUNT(DISTINCT instance_uuid) FROM "
                    "instance_mappings WHERE project_id <> "
                    "'INSTANCE_MIGRATION_MARKER'")
        return cur.fetchone()


def add_instances(world, count):
    with server_connection(world.dbs["cell1"]) as conn:
        conn.cursor().execute(
            "INSERT INTO instances (created_at, uuid, project_id, user_id, "
            "deleted) SELECT '2026-02-01' + INTERVAL seq SECOND, "
            "CONCAT('bbbbbbbb-0000-0000-0000-', LPAD(seq, 12, '0')), "
            "'p', 'u', 0 FROM seq_1_to_%d" % count)


def test_map_instances_in_many_chunks(world):
    add_instances(world, 12000)
    result = nm(world, "map_instances", "--cell_uuid", uid(1),
                "--max-count", "7000")
    assert result.rc == 1
    assert mapping_counts(world) == (7000, 7000)
    result = nm(world, "map_instances", "--cell_uuid", uid(1))
    assert result.rc == 0
    assert mapping_counts(world) == (12300, 12300)
    with server_connection(world.api) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM instance_mappings WHERE "
                    "project_id = 'INSTANCE_MIGRATION_MARKER'")
        assert cur.fetchone()[0] == 0


def test_killed_map_instances_resumes_without_duplicates(world):
    add_instances(world, 100000)
    counts = [mapping_counts(world)]
    for _ in range(3):
        proc = subprocess.Popen(
            [NMTOOL, "--config-file", world.path, "cell_v2", "map_instances",
             "--cell_uuid", uid(1)], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        # Kill it as soon as it has committed a chunk past the last run.
        deadline = time.time() + 60
        while mapping_counts(world)[0] <= counts[-1][0] + 1 and \
                time.time() < deadline and proc.poll() is None:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        counts.append(mapping_counts(world))
        assert counts[-1][0] == counts[-1][1]  # never a duplicate
    # Each kill landed mid-run, after some work.
    assert counts[0][0] < counts[1][0] < counts[2][0] < counts[3][0] \
        < 100300, counts
    assert nm(world, "map_instances", "--cell_uuid", uid(1)).rc == 0
    assert mapping_counts(world) == (100300, 100300)
