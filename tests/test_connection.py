"""The connection layer against the real server: session setup, bound
parameters, deadlock retries, the statement log, connection errors."""
import logging
import threading
import time
import uuid

import pymysql
import pytest

from conftest import db_url, run_nmtool, server_connection
from nmtool.db.connection import RETRY_CAP, ConflictsPersist, Database
from nmtool.errors import DatabaseError


@pytest.fixture
def scratch(databases):
    name = databases.create("conn")
    with server_connection(name) as conn:
        cur = conn.cursor()
        cur.execute("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(255)) "
                    "ENGINE=InnoDB")
        cur.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    return name


def test_session_is_set_up_like_oslo_db(scratch):
    with Database(db_url(scratch)) as db:
        # The server spells TRADITIONAL out into the modes it stands for.
        modes = db.scalar("SELECT @@SESSION.sql_mode").split(",")
        assert {"TRADITIONAL", "STRICT_ALL_TABLES", "NO_ZERO_DATE"} <= \
            set(modes)
        assert db.scalar("SELECT @@SESSION.character_set_client") == "utf8mb3"


def test_values_are_bound_never_spliced(scratch):
    nasty = "x'); DROP TABLE t; -- \u00e9\u4e2d"
    with Database(db_url(scratch)) as db:
        db.execute("INSERT INTO t VALUES (%s, %s)", (3, nasty))
        assert db.scalar("SELECT v FROM t WHERE id = %s", (3,)) == nasty
        assert db.scalar("SELECT COUNT(*) FROM t") == 3


def test_transaction_rolls_back_on_error(scratch):
    with Database(db_url(scratch)) as db:
        with pytest.raises(RuntimeError):
            with db.transaction():
                db.execute("DELETE FROM t")
                raise RuntimeError("boom")
        assert db.scalar("SELECT COUNT(*) FROM t") == 2


def test_a_deadlocked_transaction_is_retried_and_succeeds(scratch):
    """Two sessions lock rows 1 and 2 in opposite orders; InnoDB kills one
    of them and run_in_transaction runs it again."""
    other = server_connection(scratch)
    other.autocommit(False)
    first_lock = threading.Event()
    attempts = []

    def rival():
        cur = other.cursor()
        # Many changed rows make the rival the heavier transaction, so
        # InnoDB picks ours as the deadlock victim.
        cur.executemany("INSERT INTO t VALUES (%s, 'r')",
                        [(i,) for i in range(100, 400)])
        cur.execute("SELECT * FROM t WHERE id = 2 FOR UPDATE")
        first_lock.set()
        try:
            cur.execute("SELECT * FROM t WHERE id = 1 FOR UPDATE")
            cur.execute("UPDATE t SET v = 'rival' WHERE id = 1")
            other.commit()
        except pymysql.err.OperationalError:
            other.rollback()

    def work(db):
        attempts.append(1)
        db.execute("SELECT * FROM t WHERE id = 1 FOR UPDATE")
        if len(attempts) == 1:
            thread.start()
            first_lock.wait(5)
        db.execute("SELECT * FROM t WHERE id = 2 FOR UPDATE")
        db.execute("UPDATE t SET v = 'ours' WHERE id = 2")
        return "done"

    thread = threading.Thread(target=rival)
    with Database(db_url(scratch)) as db:
        db.execute("SET SESSION innodb_lock_wait_timeout = 5")
        assert db.run_in_transaction(work) == "done"
        assert db.retries == 1
        thread.join(10)
        assert db.scalar("SELECT v FROM t WHERE id = 2") == "ours"
        assert db.scalar("SELECT v FROM t WHERE id = 1") == "rival"
    other.close()
    assert len(attempts) == 2


def test_conflicts_are_retried_for_the_budget_then_given_up(scratch):
    """Retried with jittered, capped backoff for as long as the budget
    allows, not a small fixed number of times; then one clean error."""
    calls = []

    def always_deadlocks(db):
        calls.append(time.monotonic())
        raise pymysql.err.OperationalError(1213, "Deadlock found")

    with Database(db_url(scratch), label="main database") as db:
        with pytest.raises(ConflictsPersist, match="main database: gave up "
                                                   "after .* conflicts"):
            db.run_in_transaction(always_deadlocks, budget=3)
        assert db.retries == len(calls) - 1
    # Far more than a fixed five, and the waits stay below the cap.
    assert len(calls) > 6
    assert max(b - a for a, b in zip(calls, calls[1:])) <= RETRY_CAP + 0.5


def test_other_errors_are_not_retried(scratch):
    calls = []

    def fails(db):
        calls.append(1)
        raise pymysql.err.OperationalError(1146, "no such table")

    with Database(db_url(scratch)) as db:
        with pytest.raises(pymysql.err.OperationalError):
            db.run_in_transaction(fails)
    assert calls == [1]


def test_statement_log_has_values_rows_and_duration(scratch, caplog):
    caplog.set_level(logging.DEBUG, logger="nmtool.sql")
    with Database(db_url(scratch), label="main database") as db:
        db.execute("UPDATE t SET v = %s WHERE id > %s", ("z", 0))
    record = [r for r in caplog.records if r.getMessage().startswith(
        "UPDATE")][0]
    assert record.getMessage() == "UPDATE t SET v = %s WHERE id > %s"
    assert record.sql_params == ("z", 0)
    assert record.sql_rows == 2
    assert record.sql_ms >= 0
    assert record.sql_db == "main database"


def test_unknown_database(databases):
    with pytest.raises(DatabaseError, match="database 'nmt_nope_x' does not "
                                            "exist"):
        Database(db_url("nmt_nope_x")).connect()


def test_wrong_password_is_reported_masked(scratch, tmp_path):
    user = "nmt_%s" % uuid.uuid4().hex[:8]
    with server_connection() as conn:
        conn.cursor().execute(
            "CREATE USER %s@'%%' IDENTIFIED BY 'right'", (user,))
    try:
        conf = tmp_path / "nova.conf"
        conf.write_text("[database]\nconnection = mysql+pymysql://%s:wrong@"
                        "127.0.0.1/%s\n" % (user, scratch))
        result = run_nmtool("--config-file", str(conf), "db", "version")
        assert result.rc == 255
        assert result.err == (
            "ERROR: Cannot connect to the main database at mysql+pymysql://"
            "%s:****@127.0.0.1/%s: access denied for user '%s'\n"
            % (user, scratch, user))
    finally:
        with server_connection() as conn:
            conn.cursor().execute("DROP USER %s@'%%'", (user,))
