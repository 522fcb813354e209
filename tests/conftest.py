"""The test rig: a real MariaDB, throwaway databases, the real nova-manage.

Every test gets its own uniquely named databases and drops them. Schemas
are synced once per worker into template databases and cloned from there
(SHOW CREATE TABLE keeps foreign keys, which CREATE TABLE ... LIKE loses).
"""
import os
import pathlib
import signal
import subprocess
import sys
import uuid

import pymysql
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The tests' own MariaDB (scripts/test-mariadb.sh), started when it does
# not answer; NMTOOL_TEST_DB_HOST/PORT point the tests at another server,
# which they then use as it is, never changing its settings.
OWN_SERVER = "NMTOOL_TEST_DB_PORT" not in os.environ and \
    "NMTOOL_TEST_DB_HOST" not in os.environ
SERVER = {
    "host": os.environ.get("NMTOOL_TEST_DB_HOST", "127.0.0.1"),
    "port": int(os.environ.get("NMTOOL_TEST_DB_PORT", "3316")),
    "user": os.environ.get("NMTOOL_TEST_DB_USER", "root"),
    "password": os.environ.get("NMTOOL_TEST_DB_PASSWORD", ""),
}
NOVA_VENV = os.environ.get(
    "NMTOOL_NOVA_VENV", os.path.expanduser("~/.cache/nmtool/nova-34.0.0"))
NMTOOL = os.environ.get("NMTOOL_BIN") or os.path.join(
    os.path.dirname(sys.executable), "nmtool")


# A suite started as a background job without job control (cron, nohup
# ... &) inherits SIGINT ignored, and so would every nmtool it starts:
# nmtool, as it should, leaves an ignored signal ignored. The tests of ^C
# are about an operator's terminal, where it is not: give it back its
# default here, so that they test that and the runs they start inherit it.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


# What reaches a kernel function (nmtool.kernel): archive and purge plan
# their batches with plan_batch, map_instances builds its rows with
# mapping_rows. scripts/test.sh runs the tests naming these twice, the
# second time with NMTOOL_PURE_PYTHON=1 (-m kernel).
KERNEL_WORDS = ("archive_deleted_rows", "purge", "map_instances",
                "ArchiveRun", "plan_batch", "mapping_rows")


def pytest_collection_modifyitems(items):
    import inspect
    for item in items:
        function = getattr(item, "function", None)
        try:
            text = inspect.getsource(function) if function else ""
        except (OSError, TypeError):
            text = ""
        if item.module.__name__ == "test_kernel" or any(
                word in text for word in KERNEL_WORDS):
            item.add_marker("kernel")


def server_connection(database=None):
    return pymysql.connect(database=database, charset="utf8mb4",
                           autocommit=True, **SERVER)


def db_url(name, driver="mysql+pymysql"):
    auth = SERVER["user"]
    if SERVER["password"]:
        auth += ":" + SERVER["password"]
    return "%s://%s@%s:%d/%s?charset=utf8" % (
        driver, auth, SERVER["host"], SERVER["port"], name)


def _worker():
    return os.environ.get("PYTEST_XDIST_WORKER", "gw")


def unique_name(prefix):
    return "nmt_%s_%s_%s" % (prefix, _worker(), uuid.uuid4().hex[:10])


@pytest.fixture(scope="session")
def mariadb():
    """The tests' MariaDB, started (and installed) if need be."""
    try:
        server_connection().close()
    except pymysql.err.OperationalError:
        if not OWN_SERVER:
            pytest.fail("no MariaDB answers at %(host)s:%(port)s" % SERVER)
        script = os.path.join(ROOT, "scripts", "test-mariadb.sh")
        result = subprocess.run(["bash", script, "start"],
                                capture_output=True, text=True)
        if result.returncode:
            pytest.fail("could not start the tests' MariaDB:\n"
                        + result.stdout + result.stderr)
        server_connection().close()
    return SERVER


class Databases:
    """Creates databases for one test and drops them all afterwards."""

    def __init__(self):
        self.names = []

    def create(self, prefix="db"):
        name = unique_name(prefix)
        with server_connection() as conn:
            conn.cursor().execute(
                "CREATE DATABASE `%s` DEFAULT CHARACTER SET utf8" % name)
        self.names.append(name)
        return name

    def clone(self, template, prefix="db"):
        name = self.create(prefix)
        clone_schema(template, name)
        return name

    def drop_all(self):
        with server_connection() as conn:
            for name in self.names:
                conn.cursor().execute("DROP DATABASE IF EXISTS `%s`" % name)
        self.names = []


@pytest.fixture
def databases(mariadb):
    dbs = Databases()
    yield dbs
    dbs.drop_all()


def clone_schema(source, target):
    """Copy every table (with foreign keys) and the alembic stamp."""
    with server_connection(source) as src, server_connection(target) as dst:
        cur = src.cursor()
        cur.execute("SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = %s ORDER BY table_name", (source,))
        tables = [row[0] for row in cur.fetchall()]
        out = dst.cursor()
        out.execute("SET FOREIGN_KEY_CHECKS = 0")
        for table in tables:
            cur.execute("SHOW CREATE TABLE `%s`" % table)
            out.execute(cur.fetchone()[1])
        if "alembic_version" in tables:
            cur.execute("SELECT version_num FROM alembic_version")
            for (rev,) in cur.fetchall():
                out.execute("INSERT INTO alembic_version VALUES (%s)", (rev,))
        out.execute("SET FOREIGN_KEY_CHECKS = 1")


# -- running the tools ------------------------------------------------------

class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def __repr__(self):
        return "Result(rc=%r, out=%r, err=%r)" % (self.rc, self.out, self.err)


def run_nmtool(*args, env=None, **kwargs):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return Result(subprocess.run([NMTOOL] + list(args), capture_output=True,
                                 text=True, env=full_env, **kwargs))


CELL0 = "00000000-0000-0000-0000-000000000000"


def conf_path(tmp_path, api=None, main=None, extra="", top=None):
    """A nova.conf under tmp_path with a fresh name; top replaces the
    default [DEFAULT] section (which sets a transport URL)."""
    path = tmp_path / ("nova-%s.conf" % uuid.uuid4().hex[:8])
    return write_conf(path, api=api, main=main, extra=extra, top=top)


def write_conf(path, api=None, main=None, extra="", top=None):
    lines = [top.rstrip("\n")] if top is not None else [
        "[DEFAULT]", "transport_url = rabbit://guest:guest@127.0.0.1:5672/"]
    if api:
        lines += ["[api_database]", "connection = " + db_url(api)]
    if main:
        lines += ["[database]", "connection = " + db_url(main)]
    path.write_text("\n".join(lines) + "\n" + extra)
    return str(path)


@pytest.fixture
def conf_file(tmp_path):
    """write(api=..., main=...) -> path of a nova.conf for those DBs."""
    counter = iter(range(1000))

    def write(api=None, main=None, extra=""):
        return write_conf(tmp_path / ("nova-%d.conf" % next(counter)),
                          api=api, main=main, extra=extra)
    return write


# -- templates synced once per worker ------------------------------------------

_templates = {}


def _template(kind, builder):
    if kind not in _templates:
        with server_connection() as conn:
            name = "nmt_tpl_%s_%s_%s" % (kind, _worker(), os.getpid())
            conn.cursor().execute("DROP DATABASE IF EXISTS `%s`" % name)
            conn.cursor().execute(
                "CREATE DATABASE `%s` DEFAULT CHARACTER SET utf8" % name)
        builder(name)
        _templates[kind] = name
    return _templates[kind]


@pytest.fixture(scope="session", autouse=True)
def _drop_templates():
    yield
    with server_connection() as conn:
        for name in _templates.values():
            conn.cursor().execute("DROP DATABASE IF EXISTS `%s`" % name)


def _nmtool_sync(kind):
    def build(name):
        conf = os.path.join("/tmp", name + ".conf")
        write_conf(pathlib.Path(conf), api=name if kind == "api" else None,
                   main=name if kind == "main" else None)
        args = ["api_db", "sync"] if kind == "api" else \
            ["db", "sync", "--local_cell"]
        result = run_nmtool("--config-file", conf, *args)
        os.unlink(conf)
        assert result.rc == 0, result
    return build


@pytest.fixture
def synced(databases):
    """synced('api'|'main') -> a fresh database at head, synced by nmtool."""
    def make(kind):
        template = _template("nmtool_" + kind, _nmtool_sync(kind))
        return databases.clone(template, kind)
    return make


# -- the reference nova-manage ----------------------------------------------------

def _ensure_nova_venv():
    marker = os.path.join(NOVA_VENV, ".nmtool-ready")
    if os.path.exists(marker):
        return None
    script = os.path.join(ROOT, "scripts", "nova-venv.sh")
    result = subprocess.run(["bash", script, NOVA_VENV], capture_output=True,
                            text=True)
    if result.returncode == 3:
        return "PyPI cannot be reached to install nova 34.0.0"
    if result.returncode:
        pytest.fail("could not install nova 34.0.0:\n" + result.stdout[-3000:]
                    + result.stderr[-3000:])
    return None


class NovaManage:
    """Runs nova-manage 34.0.0 from its own virtualenv."""

    def __init__(self, venv):
        self.bin = os.path.join(venv, "bin", "nova-manage")

    def __call__(self, *args):
        proc = subprocess.run([self.bin] + list(args), capture_output=True,
                              text=True)
        proc.stdout = clean_nova_output(proc.stdout)
        return Result(proc)


def clean_nova_output(text):
    """nova-manage mixes deprecation warnings and log lines into stdout."""
    keep = []
    for line in text.splitlines():
        if any(token in line for token in ("DeprecationWarning", "UserWarning",
                                           "import eventlet",
                                           "Eventlet based concurrency",
                                           " INFO ", " DEBUG ")):
            continue
        keep.append(line)
    return "\n".join(keep) + ("\n" if keep else "")


@pytest.fixture(scope="session")
def nova_manage(mariadb):
    reason = _ensure_nova_venv()
    if reason:
        pytest.skip(reason)
    return NovaManage(NOVA_VENV)


def _nova_sync(nova, kind, revision=None):
    def build(name):
        conf = os.path.join("/tmp", name + ".conf")
        write_conf(pathlib.Path(conf), api=name if kind == "api" else None,
                   main=name if kind == "main" else None)
        args = ["api_db", "sync"] if kind == "api" else \
            ["db", "sync", "--local_cell"]
        if revision:
            args.append(revision)
        result = nova("--config-file", conf, *args)
        os.unlink(conf)
        assert result.rc == 0, result
    return build


@pytest.fixture
def nova_synced(databases, nova_manage):
    """nova_synced('api'|'main', revision=None) -> a database synced by
    nova-manage 34.0.0 (to head unless a revision is given)."""
    def make(kind, revision=None):
        key = "nova_%s_%s" % (kind, revision or "head")
        template = _template(key, _nova_sync(nova_manage, kind, revision))
        return databases.clone(template, kind)
    return make


# -- data ---------------------------------------------------------------------

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))


def copy_database(source, target):
    """Clone schema and rows of source into the (empty) target."""
    clone_schema(source, target)
    with server_connection(target) as conn:
        cur = conn.cursor()
        cur.execute("SET FOREIGN_KEY_CHECKS = 0")
        cur.execute("SELECT table_name FROM information_schema.tables WHERE "
                    "table_schema = %s AND table_name <> 'alembic_version'",
                    (source,))
        for (table,) in cur.fetchall():
            cur.execute("INSERT INTO `%s`.`%s` SELECT * FROM `%s`.`%s`"
                        % (target, table, source, table))


def table_contents(name):
    """Every row of every table, sorted: the end state tests compare."""
    out = {}
    with server_connection(name) as conn:
        cur = conn.cursor()
        cur.execute("SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = %s ORDER BY table_name", (name,))
        for (table,) in cur.fetchall():
            cur.execute("SELECT * FROM `%s`" % table)
            out[table] = sorted(cur.fetchall(), key=repr)
    return out



@pytest.fixture
def generated(synced):
    """generated(instances, deleted_fraction, seed) -> (api, main): an API
    and a cell database synced by nmtool and filled by benchmarks'
    novadata generator."""
    def make(instances=150, deleted_fraction=0.7, seed=3):
        import novadata
        api, main = synced("api"), synced("main")
        with server_connection(main) as m, server_connection(api) as a:
            m.autocommit(False)
            a.autocommit(False)
            novadata.generate(m, a, instances, deleted_fraction, seed=seed)
        return api, main
    return make
