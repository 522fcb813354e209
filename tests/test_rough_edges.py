"""Rough edges an operator met (issues 16 and 18): options refused before
anything connects, one clean line for a bad URL or log file, a closed
stdout, the listings and the version string."""
import json
import os
import re
import subprocess

import pytest

from conftest import (CELL0, NMTOOL, db_url, run_nmtool, server_connection,
                      table_contents)

TOO_BIG = "9" * 26
MAX_INT = 2 ** 31 - 1
CELL1 = "00000000-0000-0000-0000-0000000000c1"


@pytest.fixture
def cloud(generated, conf_file):
    """(conf, api, main): 40 generated instances, 60 % soft-deleted, and
    a cell mapping (CELL1) for the cell database."""
    api, main = generated(40, 0.6, seed=7)
    with server_connection(api) as conn:
        conn.cursor().execute(
            "INSERT INTO cell_mappings (created_at, uuid, name, "
            "transport_url, database_connection, disabled) VALUES "
            "(NOW(), %s, 'cell1', 'none:///', %s, 0)", (CELL1, db_url(main)))
    return conf_file(api=api, main=main), api, main


def unchanged(api, main):
    """A check that nothing changed in either database since this call."""
    before = table_contents(api), table_contents(main)
    return lambda: (table_contents(api), table_contents(main)) == before


def one_line(text):
    return len(text.splitlines()) == 1


# -- numeric options: refused before anything connects ------------------------

@pytest.mark.parametrize("args, code, message", [
    # nova-manage commits a batch, then fails in time.sleep() (exit 255).
    (["db", "archive_deleted_rows", "--until-complete", "--max_rows", "5",
      "--sleep", "-1"], 2, "nmtool: error: argument --sleep: must be 0 or "
                           "more"),
    (["db", "archive_deleted_rows", "--until-complete", "--max_rows", "5",
      "--sleep", TOO_BIG], 2, "nmtool: error: argument --sleep: must be at "
                              "most %d" % MAX_INT),
    # As --max_rows already was (nova-manage's own check and message).
    (["db", "archive_deleted_rows", "--max_rows", TOO_BIG], 2,
     "max rows must be <= %d" % MAX_INT),
    # Reached the SQL as a literal: error 1064, exit 255.
    (["cell_v2", "map_instances", "--cell_uuid", CELL1, "--max-count",
      TOO_BIG], 127, "max-count must be <= %d" % MAX_INT),
    (["cell_v2", "map_instances", "--cell_uuid", CELL1, "--max-count",
      str(MAX_INT + 1)], 127, "max-count must be <= %d" % MAX_INT),
    # Every migration failed on it: exit 2.
    (["db", "online_data_migrations", "--max-count", TOO_BIG], 127,
     "max-count must be <= %d" % MAX_INT),
    (["placement", "heal_allocations", "--max-count", TOO_BIG], 127,
     "max-count must be <= %d" % MAX_INT),
    (["db", "purge", "--all", "--jobs", TOO_BIG], 2,
     "nmtool: error: argument --jobs: must be at most %d" % MAX_INT),
    (["db", "status", "--exact-limit", TOO_BIG], 2,
     "ERROR: --exact-limit must be <= %d" % MAX_INT),
])
def test_out_of_range_numbers_are_refused_with_one_line(cloud, args, code,
                                                        message):
    conf, api, main = cloud
    same = unchanged(api, main)
    result = run_nmtool("--config-file", conf, *args)
    assert result.rc == code, result
    assert (result.out + result.err).strip() == message
    assert same()


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e400",
                                   "-1", "0"])
@pytest.mark.parametrize("command", [
    ["db", "archive_deleted_rows", "--until-complete"],
    ["db", "purge", "--all"],
])
def test_max_duration_must_be_positive_and_finite(cloud, command, value):
    conf, api, main = cloud
    # "nan" used to mean "no limit": the archive ran to the end.
    same = unchanged(api, main)
    result = run_nmtool("--config-file", conf, *command, "--max-duration",
                        value)
    assert (result.rc, result.out) == (2, ""), result
    assert result.err == ("nmtool: error: argument --max-duration: must be a "
                          "positive number of seconds up to %d\n" % MAX_INT)
    assert same()


def test_the_largest_max_count_is_taken(cloud):
    conf, api, main = cloud
    result = run_nmtool("--config-file", conf, "cell_v2", "map_instances",
                        "--cell_uuid", CELL1, "--max-count", str(MAX_INT))
    assert result.rc == 0, result


# -- database URLs and log files: one clean line ----------------------------------

def _conf_with_url(tmp_path, url):
    path = tmp_path / "url.conf"
    path.write_text("[database]\nconnection = %s\n[api_database]\n"
                    "connection = %s\n" % (url, url))
    return str(path)


def test_unknown_charset_is_one_line(tmp_path, databases, synced):
    main = synced("main")
    url = db_url(main).replace("charset=utf8", "charset=bogus")
    conf = _conf_with_url(tmp_path, url)
    for args in (["db", "version"], ["api_db", "version"]):
        result = run_nmtool("--config-file", conf, *args)
        assert (result.rc, result.out) == (255, "")
        assert result.err == ("ERROR: Option charset='bogus' in database URL "
                              "is not a character set MySQL knows\n")
    # Charset names are not case-sensitive.
    good = _conf_with_url(tmp_path, url.replace("bogus", "UTF8MB4"))
    assert run_nmtool("--config-file", good, "db", "version").rc == 0


@pytest.mark.parametrize("tail", ["", "/", "/?charset=utf8"])
def test_url_without_a_database_name_is_refused(tmp_path, mariadb, tail):
    # nova-manage fails too (exit 255, an AssertionError traceback).
    server = db_url("x").split("/x?")[0]
    conf = _conf_with_url(tmp_path, server + tail)
    for args in (["db", "version"], ["api_db", "version"]):
        result = run_nmtool("--config-file", conf, *args)
        assert (result.rc, result.out) == (255, ""), result
        assert one_line(result.err)
        assert result.err.startswith("ERROR: The database URL ")
        assert result.err.endswith(" names no database\n")


@pytest.mark.parametrize("option", ["--log-file", "--logfile"])
def test_log_file_that_cannot_be_opened_is_one_line(tmp_path, databases,
                                                    synced, conf_file,
                                                    option):
    conf = conf_file(main=synced("main"))
    result = run_nmtool("--config-file", conf, option, str(tmp_path), "db",
                        "version")
    assert (result.rc, result.out) == (1, "")
    assert result.err == "ERROR: Cannot open the log file %s: Is a " \
        "directory\n" % tmp_path
    missing = tmp_path / "no" / "such.log"
    result = run_nmtool("--config-file", conf, "--log-file", str(missing),
                        "db", "version")
    assert (result.rc, result.out) == (1, "")
    assert result.err == "ERROR: Cannot open the log file %s: No such file " \
        "or directory\n" % missing


# -- issue 18's rough edges --------------------------------------------------------

@pytest.mark.parametrize("args", [["--all"], ["--before", "2030-01-01"],
                                  ["--all", "--verbose", "--dry-run"]])
def test_purge_without_a_main_database_says_so(tmp_path, databases, synced,
                                               conf_file, args):
    api = synced("api")
    conf = conf_file(api=api)
    before = table_contents(api)
    result = run_nmtool("--config-file", conf, "db", "purge", *args)
    assert (result.rc, result.out) == (255, "")
    assert result.err == ("ERROR: [database]/connection is not set in the "
                          "configuration\n")
    assert table_contents(api) == before


@pytest.mark.parametrize("args", [["db", "status", "--format", "json"],
                                  ["db", "status"], ["db", "version"],
                                  ["--version"]])
def test_a_closed_stdout_ends_quietly(cloud, args):
    conf, api, main = cloud
    # What `| head` does: the reader is gone before the output is written.
    proc = subprocess.Popen([NMTOOL, "--config-file", conf] + args,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 141
    assert err == b""


def test_db_status_json_counts_are_integers(cloud):
    conf, api, main = cloud
    result = run_nmtool("--config-file", conf, "db", "status", "--format",
                        "json")
    assert result.rc == 0, result
    (database,) = json.loads(result.out)["databases"]
    kinds = set()
    for table in database["tables"]:
        for key in ("live_rows", "soft_deleted", "deleted_before",
                    "shadow_rows"):
            figure = table[key]
            if figure is not None and figure["value"] is not None:
                kinds.add((key, type(figure["value"]).__name__))
    assert {kind for _, kind in kinds} == {"int"}, kinds
    assert {key for key, _ in kinds} >= {"live_rows", "soft_deleted",
                                         "shadow_rows"}


def test_category_listings_describe_every_action():
    categories = run_nmtool("bash-completion").out.split() + ["sql"]
    for category in categories:
        result = run_nmtool(category)
        assert result.rc == 2
        listing = result.err.split("Actions:\n", 1)[1]
        lines = [line for line in listing.splitlines()
                 if line.startswith("  ")]
        actions = run_nmtool("bash-completion", category).out.split()
        assert [line.split()[0] for line in lines][:len(actions)] == actions
        for line in lines:
            name, _, summary = line.strip().partition(" ")
            assert summary.strip().endswith("."), (category, line)
    db = run_nmtool("db", "-h")
    assert db.rc == 0
    assert re.search(r"\n  purge +Delete rows from the shadow tables\.\n",
                     db.out)


def test_missing_positional_argument_is_named():
    result = run_nmtool("libvirt", "get_machine_type")
    assert (result.rc, result.out) == (2, "")
    assert result.err.splitlines()[-1] == (
        "nmtool: error: the following arguments are required: "
        "<instance_uuid>")
    result = run_nmtool("image_property", "show", "x", "--format", "json")
    assert result.rc == 2
    assert result.err.splitlines()[-1] == (
        "nmtool: error: the following arguments are required: "
        "<image_property>")


@pytest.mark.parametrize("argv", [["--version"], ["version"],
                                  ["db", "version", "--version"]])
def test_version_is_nova_manages_string(argv):
    result = run_nmtool(*argv)
    assert (result.rc, result.out, result.err) == (0, "34.0.0\n", "")


def test_version_matches_the_real_nova_manage(nova_manage):
    assert nova_manage("--version").out == run_nmtool("--version").out


def test_nmtool_version_and_kernel_are_shown_on_request(tmp_path, databases,
                                                        synced, conf_file):
    kind = "python" if os.environ.get("NMTOOL_PURE_PYTHON") else "cython"
    own = "nmtool 0.1.0, %s kernel" % kind
    verbose = run_nmtool("version", "--verbose")
    assert (verbose.rc, verbose.out) == (0, "34.0.0 (%s)\n" % own)
    debug = run_nmtool("--debug", "--version")
    assert (debug.rc, debug.out, debug.err) == (0, "34.0.0\n", own + "\n")
    conf = conf_file(main=synced("main"))
    debug = run_nmtool("--config-file", conf, "--debug", "db", "version")
    assert debug.rc == 0
    assert "DEBUG nmtool [-] %s, as nova-manage 34.0.0\n" % own in debug.err


def test_db_sync_names_the_database_of_each_block(databases, synced,
                                                  conf_file):
    api, cell0, main = synced("api"), databases.create("cell0"), \
        databases.create("main")
    with server_connection(api) as conn:
        conn.cursor().execute(
            "INSERT INTO cell_mappings (created_at, uuid, name, "
            "transport_url, database_connection, disabled) VALUES "
            "(NOW(), %s, 'cell0', 'none:///', %s, 0)", (CELL0, db_url(cell0)))
    conf = conf_file(api=api, main=main)
    result = run_nmtool("--config-file", conf, "db", "sync")
    # stdout stays nova-manage's (nothing); the log lines say which
    # database each block of migration lines is for.
    assert (result.rc, result.out) == (0, "")
    lines = result.err.splitlines()
    firsts = [i for i, line in enumerate(lines)
              if "Running upgrade  -> " in line]
    assert len(firsts) == 2
    for first, name in zip(firsts, (cell0, main)):
        assert first > 0 and name in lines[first - 1]
    # Nothing to run: no heading either.
    again = run_nmtool("--config-file", conf, "db", "sync")
    assert (again.rc, again.out, again.err) == (0, "", "")
