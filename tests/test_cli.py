"""The command-line surface: categories, actions, global options, errors."""
import json

import pytest

from conftest import run_nmtool

CATEGORIES = ["version", "bash-completion", "api_db", "cell_v2", "db",
              "placement", "libvirt", "volume_attachment", "image_property",
              "limits"]


def test_no_arguments_lists_the_categories_and_exits_2():
    result = run_nmtool()
    assert result.rc == 2
    for category in CATEGORIES:
        assert "\n  %s " % category in result.err
    assert "error: the following arguments are required: category" \
        in result.err
    assert result.out == ""


def test_category_alone_lists_its_actions():
    result = run_nmtool("db")
    assert result.rc == 2
    for action in ("archive_deleted_rows", "online_data_migrations", "purge",
                   "sync", "version"):
        assert "\n  %s " % action in result.err
    assert "the following arguments are required: action" in result.err


def test_help_of_a_category_exits_0():
    result = run_nmtool("api_db", "-h")
    assert result.rc == 0
    assert "  sync     Upgrade the API database schema.\n  version  " \
        in result.out


def test_action_help_shows_its_usage():
    result = run_nmtool("db", "sync", "-h")
    assert result.rc == 0
    assert result.out.startswith("usage: nmtool db sync [--local_cell] "
                                 "[VERSION]")
    assert "--local_cell" in result.out


def test_top_level_help_lists_global_options():
    result = run_nmtool("--help")
    assert result.rc == 0
    for option in ("--config-file", "--config-dir", "--log-config-append",
                   "--log_config", "--logdir", "--logfile", "--use-journal",
                   "--nouse-json", "--watch-log-file", "--post-mortem",
                   "--syslog-log-facility", "--version"):
        assert option in result.out


@pytest.mark.parametrize("argv", [["--version"], ["db", "version",
                                                   "--version"]])
def test_version_option(argv):
    # nova-manage's string alone: scripts compare it.
    result = run_nmtool(*argv)
    assert (result.rc, result.out) == (0, "34.0.0\n")


def test_version_category_prints_the_nova_version():
    result = run_nmtool("version")
    assert (result.rc, result.out.split()[0]) == (0, "34.0.0")


def test_version_names_the_active_kernel():
    assert run_nmtool("version", "--verbose").out == \
        "34.0.0 (nmtool 0.1.0, cython kernel)\n"
    forced = run_nmtool("version", "--verbose",
                        env={"NMTOOL_PURE_PYTHON": "1"})
    assert forced.out == "34.0.0 (nmtool 0.1.0, python kernel)\n"


def test_bash_completion():
    assert run_nmtool("bash-completion").out.split() == CATEGORIES[2:]
    assert run_nmtool("bash-completion", "api_db").out == "sync version\n"
    assert run_nmtool("bash-completion", "nope").out == ""


def test_unknown_category():
    result = run_nmtool("foo")
    assert result.rc == 2
    assert result.err.splitlines()[-1].startswith(
        "nmtool: error: argument category: invalid choice: 'foo'")


def test_unknown_action():
    result = run_nmtool("db", "foo")
    assert result.rc == 2
    assert "argument action: invalid choice: 'foo' (choose from " \
        "'archive_deleted_rows'" in result.err


@pytest.mark.parametrize("argv, message", [
    (["db", "version", "--bogus"], "unrecognized arguments: --bogus"),
    (["--bogus", "db", "version"], "unrecognized arguments: --bogus"),
    (["db", "sync", "-x"], "unrecognized arguments: -x"),
    (["db", "sync", "a", "b"], "unrecognized arguments: b"),
    (["db", "version", "--config-file"],
     "argument --config-file: expected one argument"),
])
def test_bad_arguments_exit_2_with_one_error_line(argv, message):
    result = run_nmtool(*argv)
    assert result.rc == 2
    assert result.err.splitlines()[-1] == "nmtool: error: " + message
    assert "Traceback" not in result.err


def test_missing_config_file(tmp_path):
    missing = tmp_path / "nope.conf"
    result = run_nmtool("--config-file", str(missing), "db", "version")
    assert result.rc == 1
    assert len(result.err.splitlines()) == 1
    assert str(missing) in result.err
    assert "Traceback" not in result.err


def test_unparsable_config_file(tmp_path):
    bad = tmp_path / "bad.conf"
    bad.write_text("[DEFAULT\nfoo\n")
    result = run_nmtool("db", "version", "--config-file", str(bad))
    assert result.rc == 1
    assert len(result.err.splitlines()) == 1
    assert str(bad) in result.err and "line 1" in result.err


def test_missing_config_dir(tmp_path):
    result = run_nmtool("--config-dir", str(tmp_path / "nodir"), "db",
                        "version")
    assert result.rc == 1
    assert str(tmp_path / "nodir") in result.err
    assert len(result.err.splitlines()) == 1


@pytest.mark.parametrize("url, message", [
    ("notaurl", "Malformed database URL"),
    ("mysql+pymysql://root@127.0.0.1:notaport/x", "port 'notaport'"),
    ("postgresql://u:secretpw@h/x", "Unsupported database backend"),
])
def test_malformed_database_url(tmp_path, url, message):
    conf = tmp_path / "nova.conf"
    conf.write_text("[database]\nconnection = %s\n" % url)
    result = run_nmtool("--config-file", str(conf), "db", "version")
    assert result.rc == 255
    assert len(result.err.splitlines()) == 1
    assert message in result.err
    assert "secretpw" not in result.err


def test_unreachable_database_is_one_masked_line(tmp_path):
    conf = tmp_path / "nova.conf"
    conf.write_text("[api_database]\nconnection = "
                    "mysql+pymysql://nova:hunter2@127.0.0.1:1/nova_api\n")
    result = run_nmtool("--config-file", str(conf), "api_db", "version")
    assert result.rc == 255
    assert result.err.startswith("ERROR: Cannot connect to the API database "
                                 "at mysql+pymysql://nova:****@127.0.0.1:1/")
    assert "unreachable" in result.err
    assert len(result.err.splitlines()) == 1
    assert "hunter2" not in result.err


def test_debug_shows_the_traceback_and_nodebug_after_it_does_not(tmp_path):
    conf = tmp_path / "nova.conf"
    conf.write_text("[database]\nconnection = "
                    "mysql+pymysql://nova:hunter2@127.0.0.1:1/nova\n")
    debug = run_nmtool("--config-file", str(conf), "db", "version", "-d")
    assert debug.rc == 255 and "Traceback" in debug.err
    assert "hunter2" not in debug.err
    quiet = run_nmtool("--debug", "--config-file", str(conf), "db",
                       "version", "--nodebug")
    assert quiet.rc == 255 and "Traceback" not in quiet.err


def test_missing_database_option(tmp_path):
    conf = tmp_path / "nova.conf"
    conf.write_text("[DEFAULT]\n")
    result = run_nmtool("--config-file", str(conf), "db", "version")
    assert result.rc == 255
    assert result.err == ("ERROR: [database]/connection is not set in the "
                          "configuration\n")


def test_limits_help_no_longer_says_not_implemented():
    result = run_nmtool("limits", "migrate_to_unified_limits", "-h")
    assert result.rc == 0
    assert "not implemented" not in result.out.lower()
    assert "--no-embedded-flavor-scan" in result.out


def test_volume_attachment_actions_say_what_works():
    result = run_nmtool("volume_attachment")
    lines = {line.split()[0]: line
             for line in (result.out + result.err).splitlines()
             if line.startswith("  ")}
    assert "not supported" not in lines["get_connector"]
    assert "not supported: needs Cinder" in lines["refresh"]


# -- options work before and after the command, and over several files --------

def _versions_conf(tmp_path, databases, synced):
    api = synced("api")
    conf = tmp_path / "nova.conf"
    conf.write_text("[api_database]\nconnection = bogus://\n")
    good = tmp_path / "good.conf"
    from conftest import db_url
    good.write_text("[api_database]\nconnection = %s\n" % db_url(api))
    return conf, good


def test_later_config_files_win_in_any_position(tmp_path, databases, synced):
    bad, good = _versions_conf(tmp_path, databases, synced)
    for argv in (["--config-file", str(bad), "--config-file", str(good),
                  "api_db", "version"],
                 ["api_db", "--config-file", str(bad), "version",
                  "--config-file=%s" % good],
                 ["api_db", "version", "--config-file", str(bad),
                  "--config-file", str(good)]):
        result = run_nmtool(*argv)
        assert (result.rc, result.out) == (0, "cdeec0c85668\n"), argv
    reversed_order = run_nmtool("--config-file", str(good), "--config-file",
                                str(bad), "api_db", "version")
    assert reversed_order.rc == 255


def test_config_dir_is_read_sorted_after_the_files(tmp_path, databases,
                                                   synced):
    bad, good = _versions_conf(tmp_path, databases, synced)
    confd = tmp_path / "nova.conf.d"
    confd.mkdir()
    (confd / "10-bad.conf").write_text(bad.read_text())
    (confd / "20-good.conf").write_text(good.read_text())
    (confd / "30-ignored.txt").write_text(bad.read_text())
    result = run_nmtool("api_db", "version", "--config-file", str(bad),
                        "--config-dir", str(confd))
    assert (result.rc, result.out) == (0, "cdeec0c85668\n")


def test_log_file_alias_and_log_dir(tmp_path, databases, conf_file):
    api = databases.create("api")
    conf = conf_file(api=api)
    result = run_nmtool("--config-file", conf, "api_db", "sync",
                        "--logdir", str(tmp_path), "--logfile", "nm.log")
    assert result.rc == 0
    text = (tmp_path / "nm.log").read_text()
    assert "Running upgrade  -> d67eeaabee36" in text
    assert " INFO nmtool.db.migrate [-] " in text
    assert result.err == ""


def test_use_json_and_date_format(tmp_path, databases, conf_file):
    api = databases.create("api")
    log = tmp_path / "json.log"
    result = run_nmtool("--config-file", conf_file(api=api), "api_db",
                        "sync", "--use-json", "--log-file", str(log),
                        "--log-date-format", "%Y/%m/%d")
    assert result.rc == 0
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert records[0]["levelname"] == "INFO"
    # The first record names the database, the next the first migration.
    assert records[0]["message"].startswith("Upgrading the API database")
    assert "d67eeaabee36" in records[1]["message"]
    assert records[0]["asctime"].count("/") == 2


def test_nouse_json_after_use_json(tmp_path, databases, conf_file):
    api = databases.create("api")
    log = tmp_path / "plain.log"
    run_nmtool("--config-file", conf_file(api=api), "api_db", "sync",
               "--use-json", "--nouse-json", "--log-file", str(log))
    assert not log.read_text().startswith("{")


def test_log_config_append_aliases(tmp_path, databases, conf_file):
    api = databases.create("api")
    target = tmp_path / "from-config.log"
    logconf = tmp_path / "logging.conf"
    logconf.write_text(
        "[loggers]\nkeys=root\n[handlers]\nkeys=file\n[formatters]\n"
        "keys=plain\n[logger_root]\nlevel=INFO\nhandlers=file\n"
        "[handler_file]\nclass=FileHandler\nformatter=plain\n"
        "args=(%r,)\n[formatter_plain]\nformat=CUSTOM %%(message)s\n"
        % str(target))
    result = run_nmtool("--config-file", conf_file(api=api), "api_db",
                        "sync", "--log_config", str(logconf))
    assert result.rc == 0
    assert target.read_text().startswith("CUSTOM Upgrading the API database")
    assert "\nCUSTOM Running upgrade" in target.read_text()


def test_debug_logs_every_statement_with_its_values(tmp_path, databases,
                                                    conf_file):
    api = databases.create("api")
    log = tmp_path / "debug.log"
    run_nmtool("-d", "--config-file", conf_file(api=api), "api_db", "sync",
               "--log-file", str(log))
    text = log.read_text()
    assert "DEBUG nmtool.sql [-] UPDATE alembic_version SET version_num" \
        in text
    assert "params={'revision': 'cdeec0c85668', 'previous': " \
        "'b30f573d3377'} rows=1" in text


def test_combined_short_flags(tmp_path, databases, conf_file):
    api = databases.create("api")
    result = run_nmtool("--config-file", conf_file(api=api), "api_db",
                        "version", "-dh")
    assert result.rc == 0 and result.out.startswith("usage: nmtool api_db")


def test_syslog_options(tmp_path, databases, conf_file):
    conf = conf_file(api=databases.create("api"))
    good = run_nmtool("--config-file", conf, "api_db", "sync", "--use-syslog",
                      "--syslog-log-facility", "LOG_LOCAL3")
    assert good.rc == 0 and good.err == ""
    bad = run_nmtool("--config-file", conf, "api_db", "version",
                     "--use-syslog", "--syslog-log-facility", "LOG_NOPE")
    assert bad.rc == 2
    assert "unknown facility 'LOG_NOPE'" in bad.err


def test_use_journal_without_journald_falls_back_to_stderr(databases,
                                                           conf_file):
    conf = conf_file(api=databases.create("api"))
    result = run_nmtool("--config-file", conf, "api_db", "sync",
                        "--use-journal")
    assert result.rc == 0
    if not __import__("os").path.exists("/run/systemd/journal/socket"):
        assert result.err.startswith("WARNING: journald is not available")
        assert "Running upgrade" in result.err


def test_watch_log_file_follows_a_moved_file(tmp_path, databases, conf_file):
    conf = conf_file(api=databases.create("api"))
    log = tmp_path / "watched.log"
    result = run_nmtool("--config-file", conf, "api_db", "sync",
                        "--log-file", str(log), "--watch-log-file")
    assert result.rc == 0 and "Running upgrade" in log.read_text()


def test_post_mortem_enters_the_debugger(tmp_path):
    conf = tmp_path / "nova.conf"
    conf.write_text("[database]\nconnection = notaurl\n")
    result = run_nmtool("--post-mortem", "--config-file", str(conf), "db",
                        "version", stdin=__import__("subprocess").DEVNULL)
    assert result.rc == 255
    assert "(Pdb)" in result.out
    plain = run_nmtool("--post-mortem", "--nopost-mortem", "--config-file",
                       str(conf), "db", "version")
    assert "(Pdb)" not in plain.out and plain.rc == 255
