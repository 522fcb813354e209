"""--max-flow-ctl, --max-lag and --check-replica of archive and purge on
the tests' single MariaDB (no Galera, no replica): checked before anything
connects, a no-op said in --verbose, an unreachable replica one line with
the command's "cannot connect" code and its password masked. The pauses
themselves are tested on the Galera cluster (tests/test_galera.py)."""
import json

import novadata
from conftest import run_nmtool, server_connection


def filled(conf_file, synced):
    api, main = synced("api"), synced("main")
    with server_connection(main) as cell, server_connection(api) as top:
        cell.autocommit(False)
        top.autocommit(False)
        novadata.generate(cell, top, 30, 0.5, seed=5)
    return conf_file(api=api, main=main)


def test_bad_throttle_options_are_usage_errors(conf_file, synced):
    conf = conf_file(api=synced("api"), main=synced("main"))
    for action, args, message in (
            ("archive_deleted_rows", ["--max-flow-ctl", "0"],
             "argument --max-flow-ctl: must be a"),
            ("archive_deleted_rows", ["--max-flow-ctl", "100"],
             "argument --max-flow-ctl: must be a percentage"),
            ("purge", ["--all", "--max-flow-ctl", "x"],
             "argument --max-flow-ctl: invalid float value: 'x'"),
            ("archive_deleted_rows", ["--max-lag", "5"],
             "argument --max-lag: needs --check-replica"),
            ("purge", ["--all", "--check-replica", "mysql://r@h/d"],
             "argument --check-replica: needs --max-lag")):
        result = run_nmtool("--config-file", conf, "db", action, *args)
        assert result.rc == 2, result
        assert message in result.err and "Traceback" not in result.err


def test_max_flow_ctl_without_galera_is_a_noop_said_in_verbose(conf_file,
                                                                synced):
    conf = filled(conf_file, synced)
    result = run_nmtool("--config-file", conf, "db", "archive_deleted_rows",
                        "--until-complete", "--verbose", "--max_rows", "5",
                        "--max-flow-ctl", "10", "--format", "json")
    assert result.rc == 1, result
    assert "--max-flow-ctl: not a Galera cluster node" in result.err
    doc = json.loads(result.out)
    assert doc["total"] > 0 and doc["retries"] == 0
    purged = run_nmtool("--config-file", conf, "db", "purge", "--all",
                        "--max-flow-ctl", "10", "--verbose")
    assert purged.rc == 0, purged
    assert "--max-flow-ctl: not a Galera cluster node" in purged.err


def test_a_replica_that_cannot_be_reached_is_one_line(conf_file, synced):
    conf = filled(conf_file, synced)
    replica = "mysql+pymysql://watcher:s3cret@127.0.0.1:1/nova"
    for action, code in (("archive_deleted_rows", 3), ("purge", 4)):
        args = ["--until-complete"] if action != "purge" else ["--all"]
        result = run_nmtool("--config-file", conf, "db", action, *args,
                            "--max-lag", "5", "--check-replica", replica,
                            "--check-replica", replica)
        assert result.rc == code, result
        lines = result.err.splitlines()
        assert len(lines) == 1, result
        assert lines[0].startswith(
            "ERROR: Cannot connect to the replica at "
            "mysql+pymysql://watcher:****@127.0.0.1:1/nova: ")
        assert "s3cret" not in result.err + result.out
    # Nothing was archived: the replica is checked before any batch.
    again = run_nmtool("--config-file", conf, "db", "archive_deleted_rows",
                       "--until-complete")
    assert again.rc == 1, again


def test_a_server_that_is_not_a_replica_is_never_waited_for(conf_file,
                                                            synced):
    conf = filled(conf_file, synced)
    not_a_replica = synced("main")
    from conftest import db_url
    result = run_nmtool("--config-file", conf, "db", "archive_deleted_rows",
                        "--until-complete", "--max_rows", "5", "--verbose",
                        "--max-lag", "1", "--check-replica",
                        db_url(not_a_replica))
    assert result.rc == 1, result
    assert "Paus" not in result.err
