"""Sessions over pymysql, set up the way nova's oslo.db sets them up.

Every statement goes through Database.execute(): bound parameters only,
timed, and written to the "nmtool.sql" logger (the base of SQL auditing).
"""
import logging
import random
import time
from contextlib import contextmanager

from nmtool.db import sql_audit
from nmtool.db.statements import sql as named_sql
from nmtool.db.url import parse_db_url
from nmtool.errors import DatabaseError

SQL_LOG = logging.getLogger("nmtool.sql")
LOG = logging.getLogger(__name__)

# MySQL error numbers worth retrying a whole transaction for: a deadlock
# (also what Galera reports for a certification conflict or a brute-force
# abort by a replicated write set) and a lock wait timeout.
RETRYABLE_ERRORS = frozenset([1213, 1205])
# A Galera node outside the primary component refuses every statement.
ER_WSREP_NOT_READY = 1047
# How conflicts are retried: full-jitter exponential backoff from
# RETRY_BASE seconds, capped at RETRY_CAP, for as long as RETRY_BUDGET
# seconds since the transaction first failed (on Galera under Nova's own
# traffic one batch was seen to need 43 attempts in a row).
RETRY_BASE = 0.05
RETRY_CAP = 2.0
RETRY_BUDGET = 300.0
NOT_PRIMARY = "this Galera node is not part of the primary component " \
    "(wsrep_ready is OFF)"


class ConflictsPersist(DatabaseError):
    """A transaction kept being aborted by conflicts for the whole retry
    budget."""


class NotPrimary(DatabaseError):
    """The Galera node left the primary component during the run: every
    statement is refused until it rejoins."""


def retry_delay(attempt, base=RETRY_BASE, cap=RETRY_CAP):
    """Seconds to wait before retry number `attempt` (1, 2, ...): random
    in [0, min(cap, base * 2**attempt)], so that two writers that collided
    do not collide again at the same moment."""
    return random.uniform(0, min(cap, base * 2 ** attempt))
# A COMMIT that failed for a reason of the server's ("Got error N during
# COMMIT"): also what a Galera node says when it leaves the primary
# component with a transaction in flight.
ER_ERROR_DURING_COMMIT = 1180
# The Galera state of a session's node, read at connect and after a failed
# COMMIT (a session statement, not one of sql/queries).
WSREP_STATE = ("SHOW STATUS WHERE Variable_name IN "
               "('wsrep_ready', 'wsrep_cluster_status')")


def _not_primary(wsrep):
    """Whether SHOW STATUS says the node is in a cluster but outside its
    primary component (a server without Galera says Disconnected, or
    nothing)."""
    return wsrep.get("wsrep_ready") == "OFF" and wsrep.get(
        "wsrep_cluster_status", "Disconnected") != "Disconnected"


# Client errors meaning the server was never reached.
CONNECT_ERRORS = frozenset([2002, 2003, 2005, 2006, 2013])
ER_BAD_DB_ERROR = 1049
# Access denied: with a password, and (MariaDB) for a user whose
# account takes no password or another plugin.
ER_ACCESS_DENIED = frozenset([1045, 1698])


class Database:
    """One connection to one database (API, cell0 or a cell)."""

    def __init__(self, url, label="database", dry_run=False):
        self.url = parse_db_url(url) if isinstance(url, str) else url
        self.label = label
        # A dry run keeps the whole session in one transaction that is
        # never committed: every statement really runs (so the counts are
        # the real run's), and close() rolls all of it back.
        self.dry_run = dry_run
        self._savepoints = 0
        self._conn = None
        # Statements run once on every new session (oslo.db's per-engine
        # settings, such as [database]/mysql_wsrep_sync_wait).
        self.session_settings = []
        # Conflicts retried on this connection (deadlocks, Galera
        # certification failures and brute-force aborts).
        self.retries = 0

    # -- connection ------------------------------------------------------
    def connect(self):
        if self._conn is not None:
            return self
        import pymysql
        args = self.url.connect_args()
        args.setdefault("connect_timeout", 10)
        try:
            self._conn = pymysql.connect(autocommit=True, **args)
        except pymysql.err.MySQLError as exc:
            raise DatabaseError(self._describe_connect_error(exc)) from exc
        except (OSError, ValueError) as exc:
            raise DatabaseError("Cannot connect to the %s at %s: %s" % (
                self.label, self.url.masked(), exc)) from exc
        # oslo.db's MySQL engines run every session in TRADITIONAL mode.
        try:
            self.execute("SET SESSION sql_mode = %s", ("TRADITIONAL",))
            for statement, params in self.session_settings:
                self.execute(statement, params)
            # A Galera node cut off from the primary component still
            # answers SET, SELECT 1 and information_schema, and refuses
            # every table: say so now rather than half-way through. (A
            # server without Galera says Disconnected, or nothing.)
            wsrep = dict(self.query(WSREP_STATE))
        except pymysql.err.MySQLError as exc:
            self.close()
            raise DatabaseError(self._describe_connect_error(exc)) from exc
        if _not_primary(wsrep):
            self.close()
            raise DatabaseError("Cannot connect to the %s at %s: %s" % (
                self.label, self.url.masked(), NOT_PRIMARY))
        if self.dry_run:
            self._conn.autocommit(False)
        return self

    def _describe_connect_error(self, exc):
        code = exc.args[0] if exc.args else None
        detail = exc.args[1] if len(exc.args) > 1 else str(exc)
        if code == ER_WSREP_NOT_READY:
            what = NOT_PRIMARY
        elif code == ER_BAD_DB_ERROR:
            what = "database %r does not exist" % self.url.database
        elif code in ER_ACCESS_DENIED:
            what = "access denied for user %r" % self.url.user
        elif code in CONNECT_ERRORS:
            what = "server unreachable (%s)" % detail
        else:
            what = "(%s) %s" % (code, detail)
        return "Cannot connect to the %s at %s: %s" % (
            self.label, self.url.masked(), what)

    def close(self):
        if self._conn is not None:
            try:
                if self.dry_run:
                    self._conn.rollback()
                self._conn.close()
            except Exception:  # already gone; nothing to release
                pass
            self._conn = None

    def __enter__(self):
        return self.connect()

    def __exit__(self, *exc):
        self.close()

    @property
    def name(self):
        return self.url.database

    # -- statements ------------------------------------------------------
    def _run(self, call, sql, params, cursor_class=None):
        """Send one statement on a new cursor, logging a failure; every
        statement of nmtool goes through here."""
        import pymysql
        if sql_audit.FAILED:
            # The SQL log lost an entry: nothing more may run unrecorded.
            sql_audit.check()
        if self._conn is None:
            self.connect()
        cursor = self._conn.cursor(cursor_class) if cursor_class \
            else self._conn.cursor()
        started = time.perf_counter()
        try:
            getattr(cursor, call)(sql, params)
        except pymysql.err.MySQLError as exc:
            # Which connection failed, for a message that names it (a run
            # of several connections says which one it lost).
            exc.database_label = self.label
            self._log(sql, params, None, started, error=exc, call=call)
            code = exc.args[0] if exc.args else None
            if code == ER_WSREP_NOT_READY or (
                    code == ER_ERROR_DURING_COMMIT and self._left_primary()):
                # The node left the primary component during the run.
                raise NotPrimary("%s at %s: %s" % (
                    self.label, self.url.masked(), NOT_PRIMARY)) from exc
            raise
        return cursor, started

    def _left_primary(self):
        """After a failed COMMIT: whether it failed because the node is
        no longer in the primary component."""
        try:
            return _not_primary(dict(self.query(WSREP_STATE)))
        except Exception:  # the connection is gone: the caller's error stands
            return False

    def execute(self, sql, params=None):
        """Run one statement with bound parameters; return the cursor."""
        cursor, started = self._run("execute", sql, params)
        self._log(sql, params, cursor.rowcount, started)
        return cursor

    def execute_many(self, sql, rows):
        """One INSERT ... VALUES (...) for many rows: pymysql sends them as
        a single multi-row statement. Returns the affected-row count."""
        cursor, started = self._run("executemany", sql, rows)
        self._log(sql, rows, cursor.rowcount, started, call="executemany")
        return cursor.rowcount

    def stream(self, sql, params=None, chunk=1000):
        """Yield the rows of a SELECT in lists of at most chunk rows,
        read from the server as they are needed (one sort on the server,
        constant memory on the client)."""
        import pymysql
        cursor, started = self._run("execute", sql, params,
                                    pymysql.cursors.SSCursor)
        total = 0
        try:
            while True:
                rows = cursor.fetchmany(chunk)
                if not rows:
                    break
                total += len(rows)
                yield rows
        finally:
            cursor.close()
            self._log(sql, params, total, started)

    def query(self, sql, params=None):
        """Run a SELECT and return all rows as tuples."""
        return self.execute(sql, params).fetchall()

    def scalar(self, sql, params=None):
        row = self.execute(sql, params).fetchone()
        return row[0] if row else None

    def write_set_rows(self):
        """The most rows one transaction here may write (Galera's
        wsrep_max_ws_rows), or None when there is no such limit."""
        limits = dict(self.query(named_sql("galera.write_set_limit")))
        rows = int(limits.get("wsrep_max_ws_rows") or 0)
        if limits.get("wsrep_on") != "ON" or rows <= 0:
            return None
        return rows

    def _log(self, sql, params, rowcount, started, error=None,
             call="execute"):
        if not SQL_LOG.isEnabledFor(logging.DEBUG):
            return
        elapsed = (time.perf_counter() - started) * 1000.0
        SQL_LOG.debug(
            "%s", " ".join(sql.split()),
            extra={"sql_params": params, "sql_rows": rowcount,
                   "sql_ms": round(elapsed, 3), "sql_db": self.label,
                   "sql_error": str(error) if error else None,
                   "sql_database": self.url.database, "sql_text": sql,
                   # The named statement of sql/queries it came from
                   # (None for the few session statements built here).
                   "sql_name": getattr(sql, "name", None),
                   "sql_call": call, "sql_dry_run": self.dry_run,
                   "sql_conn": self._conn.thread_id() if self._conn
                   else None})

    # -- transactions ----------------------------------------------------
    @contextmanager
    def transaction(self):
        """BEGIN ... COMMIT, rolled back on any error."""
        if self._conn is None:
            self.connect()
        if self.dry_run:
            with self._savepoint():
                yield self
            return
        self.execute("BEGIN")
        try:
            yield self
        except BaseException:
            # Through execute(), so the SQL log shows the rollback too.
            try:
                self.execute("ROLLBACK")
            except Exception:  # the connection is gone; nothing to undo
                pass
            except sql_audit.SqlLogFailed:
                pass  # closing the connection rolls back instead
            raise
        else:
            self.execute("COMMIT")

    @contextmanager
    def _savepoint(self):
        """A dry run's transaction: a savepoint inside the session's one
        uncommitted transaction."""
        import pymysql
        self._savepoints += 1
        name = "nmtool_%d" % self._savepoints
        self.execute("SAVEPOINT " + name)
        try:
            yield self
        except BaseException:
            try:
                self.execute("ROLLBACK TO SAVEPOINT " + name)
            except pymysql.err.MySQLError:
                pass  # a deadlock already rolled the transaction back
            except sql_audit.SqlLogFailed:
                pass  # closing the connection rolls back instead
            raise
        else:
            self.execute("RELEASE SAVEPOINT " + name)

    def run_in_transaction(self, fn, budget=None, on_conflict=None):
        """Call fn(db) in a transaction, retrying it whole on a conflict
        (deadlock, lock wait timeout, Galera certification failure or
        brute-force abort) with jittered backoff, for up to `budget`
        seconds (RETRY_BASE..RETRY_CAP, RETRY_BUDGET by default); then
        ConflictsPersist.

        fn must be safe to run again: nothing it did in a failed attempt
        survives the rollback.
        """
        return self.retrying(lambda: self._in_transaction(fn), budget,
                             on_conflict)

    def _in_transaction(self, fn):
        with self.transaction():
            return fn(self)

    def retrying(self, call, budget=None, on_conflict=None):
        """call() again after each conflict (see run_in_transaction); for
        a transaction, or one statement in autocommit. on_conflict(n),
        when given, is called before retry n (1, 2, ...), so that the
        caller can make the next try smaller."""
        import pymysql
        budget = RETRY_BUDGET if budget is None else budget
        attempt = 0
        first_failure = None
        while True:
            try:
                return call()
            except pymysql.err.OperationalError as exc:
                code = exc.args[0] if exc.args else None
                if code not in RETRYABLE_ERRORS:
                    raise
                now = time.monotonic()
                first_failure = first_failure or now
                if now - first_failure >= budget:
                    raise ConflictsPersist(
                        "%s: gave up after %d conflicts in a row over %.0f "
                        "s (last: error %s)" % (self.label, attempt + 1,
                                                now - first_failure,
                                                code)) from exc
                attempt += 1
                self.retries += 1
                LOG.info("%s: conflict (error %s), retry %d", self.label,
                         code, attempt)
                time.sleep(retry_delay(attempt))
                if on_conflict is not None:
                    on_conflict(attempt)
