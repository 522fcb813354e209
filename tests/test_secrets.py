"""Passwords in URLs never reach the user, whatever characters they hold,
and the SQL log (which holds every bound value) is private and never
loses an entry silently."""
import json
import os
import resource
import signal
import stat
import uuid
from urllib.parse import quote

import pytest

from conftest import SERVER, db_url, run_nmtool, server_connection
from nmtool.db.url import mask_password, parse_db_url

# Every password holds / ? # @ : and a space; its pieces are distinctive so
# that a leak of any fragment (not only of the whole) is caught.
RAW = "Rw7k/Pq8m?Ts3n#Uv4p@Xy5q:Zb6r Wc9t"
PLAIN = "Ke2d/Lf3g?Mh4j#Nk5l@Om6n:Po7q Rs8u"  # written percent-encoded
ENC = quote(PLAIN, safe="")
# oslo.messaging cuts a transport URL's network location at the first
# "/", "?" or "#", so a transport password that create_cell accepts can
# hold only "@", ":" and spaces raw; the rest must be percent-encoded.
T_RAW = "Jx1a@Ky2b:Lz3c Mw4d"
T_PLAIN = "Ga5e/Hb6f?Ic7g#Jd8h@Ke9i:Lf0j Mg1k"
T_ENC = quote(T_PLAIN, safe="")

SECRETS = [RAW, PLAIN, ENC, T_RAW, T_PLAIN, T_ENC]
PIECES = sorted({piece for secret in (RAW, PLAIN, T_RAW, T_PLAIN)
                 for piece in secret.replace("/", " ").replace("?", " ")
                 .replace("#", " ").replace("@", " ").replace(":", " ")
                 .split()})


def leaks(text):
    """The secrets, or fragments of them, found in text."""
    return [s for s in SECRETS + PIECES if s in text]


def db_url_as(user, password, name, port=None, encode=False):
    return "mysql+pymysql://%s:%s@%s:%d/%s?charset=utf8" % (
        user, quote(password, safe="") if encode else password,
        SERVER["host"], port or SERVER["port"], name)


def write_conf(tmp_path, text):
    path = tmp_path / ("nova-%s.conf" % uuid.uuid4().hex[:8])
    path.write_text(text)
    return str(path)


@pytest.fixture
def users(mariadb):
    """users(password, database) -> a new MariaDB user with that password
    and every right on that database; dropped afterwards."""
    made = []

    def make(password, database):
        name = "nmt_sec_%s" % uuid.uuid4().hex[:10]
        with server_connection() as conn:
            cur = conn.cursor()
            for host in ("%", "localhost", "127.0.0.1"):
                cur.execute("CREATE USER %s@%s IDENTIFIED BY %s",
                            (name, host, password))
                made.append((name, host))
                cur.execute("GRANT ALL ON `%s`.* TO %%s@%%s" % database,
                            (name, host))
        return name
    yield make
    with server_connection() as conn:
        for name, host in made:
            conn.cursor().execute("DROP USER IF EXISTS %s@%s", (name, host))


def assert_masked(result, *texts):
    for text in (result.out, result.err) + texts:
        assert not leaks(text), (leaks(text), result)
    assert "****" in result.out + result.err + "".join(texts), result


# -- the masking function and the parser agree --------------------------------

@pytest.mark.parametrize("text, masked", [
    ("mysql+pymysql://user:pa/ss@host/db?charset=utf8",
     "mysql+pymysql://user:****@host/db?charset=utf8"),
    ("mysql+pymysql://u:%s@h:3306/db" % RAW,
     "mysql+pymysql://u:****@h:3306/db"),
    ("rabbit://u:A@h:5672/,u2:B@h2:5672/",
     "rabbit://u:****@h:5672/,u2:****@h2:5672/"),
    ("rabbit://u:%s@h:5672,u2:%s@h2:5672/v" % (T_RAW, T_ENC),
     "rabbit://u:****@h:5672,u2:****@h2:5672/v"),
    ("failed at https://admin:t0k/en@keystone:5000/v3: refused",
     "failed at https://admin:****@keystone:5000/v3: refused"),
    ("mysql+pymysql://u@h/db?password=pw/x&charset=utf8",
     "mysql+pymysql://u@h/db?password=****&charset=utf8"),
])
def test_mask_password_splits_like_the_parser(text, masked):
    assert mask_password(text) == masked


def test_the_parser_takes_the_password_mask_password_hides():
    url = parse_db_url("mysql+pymysql://u:%s@h:3306/db" % RAW)
    assert (url.user, url.password, url.host, url.port, url.database) == \
        ("u", RAW, "h", 3306, "db")
    # An "@" after the host (a query value) is not taken for the end of
    # the credentials.
    url = parse_db_url("mysql+pymysql://u:pw@h/db?init_command=SET @a=1")
    assert (url.password, url.host, url.query["init_command"]) == \
        ("pw", "h", ["SET @a=1"])


# -- connection errors, their tracebacks, the parser --------------------------

@pytest.mark.parametrize("debug", [[], ["-d"], ["-d", "--use-json"]])
def test_connection_errors_are_masked(tmp_path, databases, debug):
    api = databases.create("api")
    conf = write_conf(tmp_path, (
        "[database]\nconnection = %s\n[api_database]\nconnection = %s\n"
        % (db_url_as("nova", RAW, "nova", port=1),
           db_url_as("nmt_nosuchuser", PLAIN, api, encode=True))))
    unreachable = run_nmtool("--config-file", conf, "db", "version", *debug)
    assert unreachable.rc == 255, unreachable
    assert "nova:****@%s:1/nova" % SERVER["host"] in unreachable.err
    assert_masked(unreachable)
    denied = run_nmtool("--config-file", conf, "api_db", "version", *debug)
    assert denied.rc == 255, denied
    assert "access denied" in denied.err and "nmt_nosuchuser:****@" in \
        denied.err
    assert_masked(denied)
    if debug:
        assert "Traceback" in unreachable.err + denied.err


def test_malformed_url_message_is_masked(tmp_path):
    conf = write_conf(tmp_path, "[database]\nconnection = %s\n" % (
        "mysql+pymysql://nova:%s@127.0.0.1:notaport/nova" % RAW))
    for debug in ([], ["-d"]):
        result = run_nmtool("--config-file", conf, "db", "version", *debug)
        assert result.rc == 255 and "port 'notaport'" in result.err, result
        assert_masked(result)


def test_raw_and_encoded_passwords_connect(synced, users, tmp_path):
    api = synced("api")
    for password, encode in ((RAW, False), (PLAIN, True)):
        user = users(password, api)
        conf = write_conf(tmp_path, "[api_database]\nconnection = %s\n"
                          % db_url_as(user, password, api, encode=encode))
        result = run_nmtool("--config-file", conf, "api_db", "version", "-d")
        assert result.rc == 0 and result.out.strip(), result
        assert not leaks(result.out + result.err), result
        wrong = write_conf(tmp_path, "[api_database]\nconnection = %s\n"
                           % db_url_as(user, password + "x", api,
                                       encode=encode))
        denied = run_nmtool("--config-file", wrong, "api_db", "version")
        assert denied.rc == 255 and "access denied" in denied.err, denied
        assert_masked(denied)


# -- create_cell's statements, and list_cells ---------------------------------

@pytest.fixture
def api(synced, tmp_path):
    name = synced("api")
    conf = write_conf(tmp_path, "[api_database]\nconnection = %s\n"
                      % db_url(name))
    return name, conf


def create_cell(conf, tag, *options, **kwargs):
    """A cell whose URLs carry every kind of secret: a raw and an encoded
    database password, and transport passwords both in a second host of
    the network location and in a host written after a "/"."""
    database = (db_url_as("nova", RAW, "cell_" + tag) if tag.endswith("r")
                else db_url_as("nova", PLAIN, "cell_" + tag, encode=True))
    transport = ("rabbit://tu:%s@mq1:5672,tu2:%s@mq2:5672/v%s"
                 % (T_RAW, T_ENC, tag) if tag.endswith("r") else
                 "rabbit://tu:%s@mq1:5672/,tu2:%s@mq2:5672/%s"
                 % (T_ENC, T_RAW, tag))
    return run_nmtool("--config-file", conf, "cell_v2", "create_cell",
                      "--name", "cell_" + tag, "--database_connection",
                      database, "--transport-url", transport, "--verbose",
                      *options, **kwargs)


def test_sql_log_and_print_sql_are_masked(api, tmp_path):
    name, conf = api
    for tag in ("ar", "ae"):
        log = tmp_path / ("%s.jsonl" % tag)
        result = create_cell(conf, tag, "--sql-log", str(log), "--print-sql")
        assert result.rc == 0, result
        text = log.read_text()
        assert "INSERT INTO cell_mappings" in text and \
            "INSERT INTO cell_mappings" in result.err
        assert_masked(result, text)
        insert = [json.loads(line) for line in text.splitlines()
                  if "INSERT INTO cell_mappings" in line][0]
        assert insert["params"]["database_connection"].startswith(
            "mysql+pymysql://nova:****@%s:" % SERVER["host"])
        assert insert["params"]["transport_url"].startswith(
            "rabbit://tu:****@")
        assert "tu2:****@mq2:5672" in insert["params"]["transport_url"]


@pytest.mark.parametrize("options", [["-d"], ["-d", "--use-json"]])
def test_debug_logs_are_masked(api, tmp_path, options):
    name, conf = api
    for tag in ("br", "be"):
        result = create_cell(conf, tag, *options)
        assert result.rc == 0, result
        assert "INSERT INTO cell_mappings" in result.err, result
        assert_masked(result)
        if "--use-json" in options:
            records = [json.loads(line) for line in result.err.splitlines()]
            assert any("****" in json.dumps(r.get("sql_params"))
                       for r in records)


def test_list_cells_is_masked(api):
    name, conf = api
    for tag in ("cr", "ce"):
        assert create_cell(conf, tag).rc == 0
    table = run_nmtool("--config-file", conf, "cell_v2", "list_cells")
    assert table.rc == 0, table
    assert_masked(table)
    doc = run_nmtool("--config-file", conf, "cell_v2", "list_cells",
                     "--format", "json")
    assert doc.rc == 0, doc
    assert_masked(doc)
    cells = {c["name"]: c for c in json.loads(doc.out)["cells"]}
    # nova-manage's form: everything from the first ":" to the last "@" of
    # the network location is one "****".
    assert cells["cell_cr"]["transport_url"] == "rabbit://tu:****@mq2:5672/vcr"
    assert cells["cell_ce"]["transport_url"] == "rabbit://tu:****@mq2:5672/ce"
    assert cells["cell_cr"]["database_connection"] == \
        "mysql+pymysql://nova:****@%s:%d/cell_cr?charset=utf8" % (
            SERVER["host"], SERVER["port"])
    verbose = run_nmtool("--config-file", conf, "cell_v2", "list_cells",
                         "--verbose")
    assert RAW in verbose.out and T_ENC in verbose.out


def test_refused_transport_url_does_not_quote_the_password(api):
    name, conf = api
    result = run_nmtool("--config-file", conf, "cell_v2", "create_cell",
                        "--transport-url", "rabbit://tu:%s@mq:5672/" % RAW,
                        "--database_connection", db_url("cell_x"))
    assert result.rc == 1, result
    assert result.out.startswith("Invalid transport URL: ")
    assert not leaks(result.out + result.err), result


# -- the SQL log --------------------------------------------------------------

def test_sql_log_is_created_private(api, tmp_path):
    name, conf = api
    log = tmp_path / "private.jsonl"
    result = run_nmtool("--config-file", conf, "api_db", "version",
                        "--sql-log", str(log), umask=0o022)
    assert result.rc == 0, result
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    assert log.read_text().strip()


def cell_count(name):
    with server_connection(name) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM cell_mappings")
        return cur.fetchone()[0]


def test_full_disk_stops_the_run_at_once(api):
    name, conf = api
    before = cell_count(name)
    result = create_cell(conf, "dr", "--sql-log", "/dev/full")
    assert result.rc == 1, result
    assert result.err.startswith("ERROR: ") and "/dev/full" in result.err
    assert "No space left on device" in result.err
    assert len(result.err.splitlines()) == 1, result
    assert "Logging error" not in result.err and result.out == ""
    # The first statement's entry could not be written: the INSERT, two
    # statements later, never ran.
    assert cell_count(name) == before


def _file_size_limit(limit):
    def apply():
        # Over the limit, write() fails with EFBIG instead of the process
        # being killed.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_log_filling_up_mid_run_stops_before_the_next_statement(api,
                                                                 tmp_path):
    name, conf = api
    probe = tmp_path / "probe.jsonl"
    assert create_cell(conf, "er", "--sql-log", str(probe)).rc == 0
    first = probe.read_text().splitlines()[0]
    before = cell_count(name)
    log = tmp_path / "short.jsonl"
    # Room for the first entry and part of the second.
    result = create_cell(conf, "fr", "--sql-log", str(log),
                         preexec_fn=_file_size_limit(len(first) + 40))
    assert result.rc == 1, result
    assert result.err.startswith("ERROR: ") and str(log) in result.err
    assert len(result.err.splitlines()) == 1, result
    assert "Logging error" not in result.err
    assert json.loads(log.read_text().splitlines()[0])["sql"]
    assert cell_count(name) == before
