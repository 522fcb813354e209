"""--max-lag with --check-replica against an asynchronous replica that
really lags: a MariaDB primary (binary log, server_id 1) and its replica
(GTID replication, MASTER_USE_GTID=slave_pos) started by this module on
loopback, each with its own data directory, socket and port under a
temporary directory, and stopped after it. The archive runs on the
primary; the replica is held behind (its SQL thread stopped, then
started again a few seconds later) while it runs.

What a user checks: the run said it paused and why, it completed, every
deleted instance is archived on the primary and, once the replica has
caught up, on the replica too; without the lag it does not pause; a
replica that cannot be reached is one line and exit 3."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuidlib

import pymysql
import pytest

from conftest import ROOT, run_nmtool

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

# Servers of its own, as the Galera tests: run with them (-m galera).
pytestmark = pytest.mark.galera

MARIADBD = "/usr/sbin/mariadbd"
# The account --check-replica connects with: SHOW SLAVE STATUS only.
WATCHER, WATCHER_PASSWORD = "watcher", "w4tch-pw"
INSTANCES = 120


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One mariadbd of the installed server under base/name."""

    def __init__(self, base, name, server_id, extra=""):
        self.dir = os.path.join(base, name)
        self.port = free_port()
        self.socket = os.path.join(self.dir, "mysql.sock")
        self.cnf = self.dir + ".cnf"
        os.makedirs(os.path.join(self.dir, "data"))
        # Its own tmpdir too: in a shared /tmp, a bootstrap once failed on
        # another server's temporary table of the same name.
        os.makedirs(os.path.join(self.dir, "tmp"))
        with open(self.cnf, "w") as handle:
            handle.write(
                "[mariadbd]\ndatadir=%(d)s/data\nsocket=%(d)s/mysql.sock\n"
                "pid-file=%(d)s/mysql.pid\nlog-error=%(d)s/error.log\n"
                "tmpdir=%(d)s/tmp\n"
                "port=%(port)d\nbind-address=127.0.0.1\nskip-name-resolve\n"
                "character-set-server=utf8mb4\n"
                "innodb_buffer_pool_size=64M\ninnodb_log_file_size=48M\n"
                "innodb_flush_log_at_trx_commit=2\n"
                "innodb_file_per_table=OFF\nserver_id=%(id)d\n%(extra)s"
                % {"d": self.dir, "port": self.port, "id": server_id,
                   "extra": extra})
        self.proc = None

    def install(self):
        return subprocess.Popen(
            ["mariadb-install-db", "--defaults-file=" + self.cnf,
             "--user=mysql", "--auth-root-authentication-method=normal"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def start(self):
        self.proc = subprocess.Popen(
            [MARIADBD, "--defaults-file=" + self.cnf, "--user=mysql"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)

    def wait(self):
        for _ in range(240):
            if self.proc.poll() is not None:
                break
            try:
                pymysql.connect(unix_socket=self.socket, user="root").close()
                return
            except pymysql.err.OperationalError:
                time.sleep(0.25)
        pytest.fail("mariadbd did not start:\n" + self.log())

    def admin(self, *statements):
        """Run statements as root over the socket, not in the binary log
        (each server gets its own accounts)."""
        with pymysql.connect(unix_socket=self.socket, user="root",
                             autocommit=True) as conn:
            cur = conn.cursor()
            cur.execute("SET SESSION sql_log_bin = 0")
            for statement in statements:
                cur.execute(statement)
            return cur.fetchall()

    def connect(self, database=None, autocommit=True):
        return pymysql.connect(host="127.0.0.1", port=self.port, user="root",
                               database=database, autocommit=autocommit,
                               charset="utf8mb4")

    def log(self):
        try:
            with open(os.path.join(self.dir, "error.log")) as log:
                return log.read()[-3000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Pair:
    """A primary and its replica."""

    def __init__(self, base):
        self.primary = Server(base, "primary", 1,
                              "log_bin=%s/primary/binlog\nbinlog_format=ROW\n"
                              % base)
        self.replica = Server(base, "replica", 2, "skip-slave-start\n")

    def replica_status(self):
        with self.replica.connect() as conn:
            cur = conn.cursor(pymysql.cursors.DictCursor)
            cur.execute("SHOW SLAVE STATUS")
            return cur.fetchone()

    def catch_up(self, timeout=30):
        """Wait until the replica has applied all the primary wrote."""
        with self.primary.connect() as conn:
            cur = conn.cursor()
            cur.execute("SELECT @@gtid_binlog_pos")
            position = cur.fetchone()[0]
        with self.replica.connect() as conn:
            cur = conn.cursor()
            cur.execute("SELECT MASTER_GTID_WAIT(%s, %s)",
                        (position, timeout))
            assert cur.fetchone()[0] == 0, self.replica_status()

    def replica_url(self, database, port=None, password=WATCHER_PASSWORD):
        return "mysql+pymysql://%s:%s@127.0.0.1:%d/%s?charset=utf8" % (
            WATCHER, password, port or self.replica.port, database)


@pytest.fixture(scope="module")
def pair():
    if not os.path.exists(MARIADBD):
        pytest.skip("mariadb-server is not installed")
    # Not under $HOME or pytest's tmp_path: the servers run as the mysql
    # user, who can enter neither.
    base = tempfile.mkdtemp(prefix="nmtool-replica-", dir="/var/tmp")
    pair = Pair(base)
    try:
        subprocess.run(["chown", "-R", "mysql:mysql", base], check=True)
        os.chmod(base, 0o755)
        installs = [pair.primary.install(), pair.replica.install()]
        # Both finished before either is judged: a failure must not
        # remove a directory the other is still writing.
        outputs = [proc.communicate()[0] for proc in installs]
        for server, proc, out in zip((pair.primary, pair.replica), installs,
                                     outputs):
            assert proc.returncode == 0, server.log() + out.decode()[:2000]
        for server in (pair.primary, pair.replica):
            server.start()
        for server in (pair.primary, pair.replica):
            server.wait()
            server.admin("CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'",
                         "GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH "
                         "GRANT OPTION")
        pair.primary.admin(
            "CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY 'repl-pw'",
            "GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1'")
        pair.replica.admin(
            "CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY '%s'"
            % (WATCHER, WATCHER_PASSWORD),
            "GRANT SLAVE MONITOR ON *.* TO '%s'@'127.0.0.1'" % WATCHER,
            "GRANT SELECT ON `rl\\_%%`.* TO '%s'@'127.0.0.1'" % WATCHER,
            "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, "
            "MASTER_USER='repl', MASTER_PASSWORD='repl-pw', "
            "MASTER_USE_GTID=slave_pos" % pair.primary.port,
            "START SLAVE")
        for _ in range(120):
            status = pair.replica_status()
            if status and status["Slave_IO_Running"] == "Yes" and \
                    status["Slave_SQL_Running"] == "Yes":
                break
            time.sleep(0.25)
        else:
            pytest.fail("replication did not start: %r" % (status,))
        yield pair
    finally:
        pair.replica.stop()
        pair.primary.stop()
        shutil.rmtree(base, ignore_errors=True)


class Cloud:
    """An API and a cell database on the primary (replicated), synced by
    nmtool and filled with generated Nova data; a nova.conf naming the
    primary."""

    def __init__(self, pair, tmp_path):
        self.pair = pair
        tag = uuidlib.uuid4().hex[:8]
        self.api, self.main = "rl_api_" + tag, "rl_main_" + tag
        with pair.primary.connect() as conn:
            for name in (self.api, self.main):
                conn.cursor().execute(
                    "CREATE DATABASE `%s` DEFAULT CHARACTER SET utf8" % name)
        self.conf = str(tmp_path / ("nova-%s.conf" % tag))
        url = "mysql+pymysql://root@127.0.0.1:%d/%%s?charset=utf8" % (
            pair.primary.port)
        with open(self.conf, "w") as handle:
            handle.write("[api_database]\nconnection = %s\n[database]\n"
                         "connection = %s\n" % (url % self.api,
                                                url % self.main))
        for args in (["api_db", "sync"], ["db", "sync", "--local_cell"]):
            result = self.nmtool(*args)
            assert result.rc == 0, result
        import novadata
        with pair.primary.connect(self.main, False) as main, \
                pair.primary.connect(self.api, False) as api:
            novadata.generate(main, api, INSTANCES, 0.5, seed=17)
        self.deleted = self.count(pair.primary, "instances",
                                  "deleted <> 0")
        assert self.deleted > 0
        pair.catch_up()

    def nmtool(self, *args):
        return run_nmtool("--config-file", self.conf, *args)

    def archive(self, *args):
        return self.nmtool("db", "archive_deleted_rows", "--until-complete",
                           "--max_rows", "50", "--verbose", *args)

    def count(self, server, table, where="1"):
        with server.connect(self.main) as conn:
            cur = conn.cursor()
            cur.execute("SELECT COUNT(*) FROM `%s` WHERE %s" % (table, where))
            return cur.fetchone()[0]

    def archived_everywhere(self):
        """Every deleted instance in the shadow table, none left, on the
        primary and (once caught up) on the replica."""
        self.pair.catch_up()
        for server in (self.pair.primary, self.pair.replica):
            assert self.count(server, "instances", "deleted <> 0") == 0
            assert self.count(server, "shadow_instances") == self.deleted

    def drop(self):
        with self.pair.primary.connect() as conn:
            for name in (self.api, self.main):
                conn.cursor().execute("DROP DATABASE IF EXISTS `%s`" % name)


def hold_behind(pair, cloud):
    """A backup's global read lock on the replica, and a write on the
    primary the replica then cannot apply: 2.5 s later it is that far
    behind. Returns the backup's connection (UNLOCK TABLES lets go)."""
    backup = pair.replica.connect()
    backup.cursor().execute("FLUSH TABLES WITH READ LOCK")
    with pair.primary.connect(cloud.main) as nova:
        nova.cursor().execute(
            "INSERT INTO instance_faults (created_at, instance_uuid, code, "
            "message, deleted) SELECT NOW(), uuid, 500, 'x', 0 FROM "
            "instances WHERE deleted = 0 LIMIT 1")
    time.sleep(2.5)
    return backup


def watcher_threads(pair):
    """The replica's connections of the runs' watcher account."""
    return [row[0] for row in pair.replica.admin(
        "SELECT id FROM information_schema.processlist WHERE user = '%s'"
        % WATCHER)]


def after_first_batch(cloud, *steps):
    """A thread that waits until the run is under way, then takes each
    (seconds, action) step in turn: timed from the run's progress, not
    from its start, which a loaded machine delays. Under way: its first
    batch is committed on the primary, or it has read the replica's
    status (a replica already behind pauses the run before its first
    batch). Call it once the test's own writes are done."""
    def position():
        with cloud.pair.primary.connect() as conn:
            cur = conn.cursor()
            cur.execute("SELECT @@gtid_binlog_pos")
            return cur.fetchone()[0]

    def watching():
        return bool(watcher_threads(cloud.pair))
    before = position()

    def run():
        for _ in range(600):
            if position() != before or watching():
                break
            time.sleep(0.05)
        for seconds, action in steps:
            time.sleep(seconds)
            action()
    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.fixture
def cloud(pair, tmp_path):
    made = Cloud(pair, tmp_path)
    yield made
    made.drop()


def test_archive_pauses_while_the_replica_lags_then_completes(pair, cloud):
    # Held behind: the replica receives the binary log but applies none
    # of it until a thread starts its SQL thread again, 3 s after the run
    # is under way (it pauses before its first batch); then it applies
    # what piled up.
    pair.replica.admin("STOP SLAVE SQL_THREAD")
    released = after_first_batch(cloud, (3.0, lambda: pair.replica.admin(
        "START SLAVE SQL_THREAD")))
    try:
        result = cloud.archive("--max-lag", "1", "--check-replica",
                               pair.replica_url(cloud.main))
    finally:
        released.join()
    # Completed: rows archived, nothing left.
    assert result.rc == 1, result
    assert "complete" in result.out + result.err, result
    masked = pair.replica_url(cloud.main, password="****")
    pauses = [line for line in result.err.splitlines()
              if line.startswith("Pausing: ")]
    assert pauses, result
    assert pauses[0] == "Pausing: the replica at %s is not replicating " \
        "(--max-lag 1)" % masked, result
    summary = [line for line in result.err.splitlines()
               if line.startswith("Paused ")]
    assert len(summary) == 1, result
    # The replica was held for 3 s from the first batch.
    waited = float(summary[0].split("replica lag ")[1].split(" s")[0])
    assert 1.0 <= waited < 30, summary
    assert "flow control 0.0 s" in summary[0]
    assert WATCHER_PASSWORD not in result.out + result.err
    cloud.archived_everywhere()


def test_a_replica_that_keeps_up_is_not_waited_for(pair, cloud):
    result = cloud.archive("--max-lag", "1", "--check-replica",
                           pair.replica_url(cloud.main))
    assert result.rc == 1, result
    assert "Paus" not in result.err, result
    cloud.archived_everywhere()


def test_a_replica_that_cannot_be_reached_is_one_line(pair, cloud):
    # Wrong password on the real replica, and a closed port.
    for url in (pair.replica_url(cloud.main, password="wrong"),
                pair.replica_url(cloud.main, port=free_port())):
        result = cloud.archive("--max-lag", "1", "--check-replica", url)
        assert result.rc == 3, result
        assert len(result.err.splitlines()) == 1, result
        assert result.err.startswith(
            "ERROR: Cannot connect to the replica at mysql+pymysql://"
            "watcher:****@127.0.0.1:"), result
    # Checked before the first batch: nothing was archived.
    assert cloud.count(pair.primary, "shadow_instances") == 0



def test_archive_pauses_while_the_replica_is_behind(pair, cloud):
    # A backup on the replica holds its global read lock: the replica
    # receives the binary log but cannot apply it, and falls behind the
    # primary, where Nova goes on writing (an instance gets a fault).
    # A thread lets the replica go again 2.5 s after the run's first
    # batch.
    backup = hold_behind(pair, cloud)
    released = after_first_batch(
        cloud, (2.5, lambda: backup.cursor().execute("UNLOCK TABLES")))
    try:
        result = cloud.archive("--max-lag", "1", "--check-replica",
                               pair.replica_url(cloud.main))
    finally:
        released.join()
        backup.close()
    assert result.rc == 1, result
    assert "complete" in result.out + result.err, result
    pauses = [line for line in result.err.splitlines()
              if line.startswith("Pausing: ")]
    assert len(pauses) >= 1, result
    prefix = "Pausing: the replica at %s is " % pair.replica_url(
        cloud.main, password="****")
    assert pauses[0].startswith(prefix), result
    behind = pauses[0][len(prefix):]
    assert behind.endswith(" s behind (--max-lag 1)"), result
    assert int(behind.split()[0]) >= 2, result
    summary = [line for line in result.err.splitlines()
               if line.startswith("Paused ")]
    assert len(summary) == 1, result
    waited = float(summary[0].split("replica lag ")[1].split(" s")[0])
    assert 1.0 <= waited < 30, summary
    cloud.archived_everywhere()


def test_a_replica_lost_during_the_run_is_waited_for(pair, cloud):
    # The run pauses for a replica held behind (as above); while it
    # waits, the replica drops the watcher's connection (a restart, a
    # network cut). The next check connects again, and the run goes on
    # once the replica has caught up, rather than stopping.
    backup = hold_behind(pair, cloud)

    def cut():
        for thread in watcher_threads(pair):
            pair.replica.admin("KILL CONNECTION %d" % thread)
    cutter = after_first_batch(
        cloud, (1.0, cut),
        (1.5, lambda: backup.cursor().execute("UNLOCK TABLES")))
    try:
        result = cloud.archive("--max-lag", "1", "--check-replica",
                               pair.replica_url(cloud.main))
    finally:
        cutter.join()
        backup.close()
    assert result.rc == 1, result
    assert "complete" in result.out + result.err, result
    assert "Pausing: " in result.err, result
    cloud.archived_everywhere()


def test_a_replica_account_that_cannot_read_the_status_is_one_line(pair,
                                                                  cloud):
    pair.replica.admin(
        "CREATE USER IF NOT EXISTS 'nomonitor'@'127.0.0.1' IDENTIFIED BY "
        "'nm-pw'",
        "GRANT SELECT ON `rl\\_%%`.* TO 'nomonitor'@'127.0.0.1'")
    url = "mysql+pymysql://nomonitor:nm-pw@127.0.0.1:%d/%s" % (
        pair.replica.port, cloud.main)
    result = cloud.archive("--max-lag", "1", "--check-replica", url)
    assert len(result.err.splitlines()) == 1, result
    assert result.err.startswith(
        "ERROR: Cannot read the replication status of the replica at "
        "mysql+pymysql://nomonitor:****@127.0.0.1:"), result
    assert "SLAVE MONITOR" in result.err, result
    # Refused before the first batch.
    assert cloud.count(pair.primary, "shadow_instances") == 0
    assert result.rc == 3, result
