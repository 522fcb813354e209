"""Waits between the batches of archive and purge while the cluster is
struggling: pt-archiver's --max-flow-ctl (Galera paused by flow control
for more than a share of the recent interval) and --max-lag (an
asynchronous replica too far behind). Checked only between batches, so
no transaction is ever held open while waiting."""
import collections
import logging
import threading
import time

import pymysql

from nmtool.db.connection import CONNECT_ERRORS
from nmtool.db.statements import sql
from nmtool.errors import DatabaseError

LOG = logging.getLogger(__name__)

# The shortest interval a flow-control share is measured over: shorter
# ones (a quick batch) are too noisy, so the interval then reaches back
# to the previous mark.
MIN_WINDOW = 1.0
# How long one pause lasts before the throttles are read again.
PAUSE = 1.0
# Server and client errors of a connection that was lost (killed, server
# shut down, gone away) rather than of a statement refused.
LOST = frozenset([1053, 1927, 2006, 2013, 2055, 4031])


class Pauses(collections.namedtuple("Pauses", "flow_control replica_lag")):
    """Seconds paused for each reason (and how many pauses), for the
    --verbose summary."""


class FlowControl:
    """--max-flow-ctl PCT on one Galera node's connection."""

    def __init__(self, db, percent, clock=time.monotonic):
        self.db = db
        self.percent = percent
        self.clock = clock
        first = self._read()
        # None: not a Galera node in a cluster; the option does nothing.
        self.enabled = first is not None
        self._mark = first

    def _read(self):
        status = dict(self.db.query(sql("throttle.flow_control")))
        paused = status.get("wsrep_flow_control_paused_ns")
        if status.get("wsrep_connected") != "ON" or paused is None:
            return None
        return self.clock(), int(paused)

    def busy(self):
        """The percentage of the interval since the mark the cluster spent
        paused by flow control, when it is above PCT; else None."""
        if not self.enabled:
            return None
        now = self._read()
        if now is None:
            return None
        then = self._mark
        elapsed = now[0] - then[0]
        if elapsed <= 0:
            return None
        share = 100.0 * (now[1] - then[1]) / (elapsed * 1e9)
        if elapsed >= MIN_WINDOW:
            self._mark = now
        return share if share > self.percent else None


class StatusRefused(DatabaseError):
    """A replica's server refused SHOW SLAVE STATUS (the account lacks
    SLAVE MONITOR, or REPLICATION CLIENT before MariaDB 10.5)."""


class ReplicaLag:
    """--max-lag SECONDS over the --check-replica connections."""

    def __init__(self, replicas, seconds):
        self.replicas = list(replicas)
        self.seconds = seconds
        # Read once now, before any batch: an account that may not read
        # the replication status is refused here, in one line, rather
        # than after the run's first batch.
        for db in self.replicas:
            self._status(db)

    def _status(self, db):
        """(is a replica, Seconds_Behind_Master or None) of one replica.
        Raises StatusRefused when the status cannot be read (privileges),
        and the client's error when the connection is gone."""
        try:
            cursor = db.execute(sql("throttle.replica_status"))
        except pymysql.err.MySQLError as exc:
            if _gone(exc):
                raise
            code = exc.args[0] if exc.args else None
            detail = exc.args[1] if len(exc.args) > 1 else str(exc)
            raise StatusRefused(
                "Cannot read the replication status of the replica at "
                "%s: (%s) %s" % (db.url.masked(), code, detail)) from exc
        row = cursor.fetchone()
        if row is None:
            return False, None
        names = [column[0] for column in cursor.description]
        lag = dict(zip(names, row)).get("Seconds_Behind_Master")
        return True, None if lag is None else int(lag)

    def behind(self):
        """(label, what) of the first replica to wait for: more than
        SECONDS behind, its replication stopped (so not catching up), or
        its server gone since the run started (reconnected at the next
        check); None when all are close enough."""
        for db in self.replicas:
            label = "the replica at %s" % db.url.masked()
            try:
                replica, lag = self._status(db)
            except StatusRefused:
                raise
            except (pymysql.err.MySQLError, DatabaseError) as exc:
                # (DatabaseError: connecting again failed.)
                if isinstance(exc, pymysql.err.MySQLError) and \
                        not _gone(exc):
                    raise
                # A replica restarting, or a network cut: its lag is
                # unknown, so it is waited for as one that is not
                # replicating; the next check connects again.
                db.close()
                return label, "cannot be reached (%s)" % _detail(db, exc)
            if not replica:
                continue  # not (or no longer) a replica: nothing to wait for
            if lag is None:
                return label, "is not replicating"
            if lag > self.seconds:
                return label, "is %d s behind" % lag
        return None


def _detail(db, exc):
    """What went wrong with a replica's connection, without the "Cannot
    connect to the replica at URL" its reconnection says first."""
    if isinstance(exc, pymysql.err.MySQLError):
        return exc.args[1] if len(exc.args) > 1 else str(exc)
    text = str(exc)
    prefix = "Cannot connect to the %s at %s: " % (db.label, db.url.masked())
    return text[len(prefix):] if text.startswith(prefix) else text


def _gone(exc):
    """Whether a client error means the connection is lost (or could not
    be made again), not that the statement was refused."""
    if isinstance(exc, pymysql.err.InterfaceError):
        return True     # pymysql refuses a connection it closed
    code = exc.args[0] if exc.args else None
    return code in CONNECT_ERRORS or code in LOST


class Throttle:
    """Between batches, wait() pauses while flow control or a replica's
    lag is above its limit (until the deadline, if any). note(text) is
    told when a pause starts; pauses holds the seconds waited."""

    def __init__(self, flow_control=None, replica_lag=None, note=None,
                 sleep=time.sleep, clock=time.monotonic):
        self.flow_control = flow_control
        self.replica_lag = replica_lag
        self.note = note or (lambda text: None)
        self.sleep = sleep
        self.clock = clock
        self.pauses = Pauses(0.0, 0.0)
        self.count = 0
        # --jobs: cells share one throttle; one of them reads at a time.
        self._lock = threading.Lock()

    def wait(self, deadline=None):
        with self._lock:
            self._wait(deadline)

    def _reason(self):
        """('flow_control' or 'replica_lag', what to say), or None."""
        if self.flow_control is not None:
            share = self.flow_control.busy()
            if share is not None:
                return "flow_control", (
                    "Galera flow control paused the cluster %.0f%% of the "
                    "last interval (--max-flow-ctl %g)" % (
                        share, self.flow_control.percent))
        if self.replica_lag is not None:
            behind = self.replica_lag.behind()
            if behind is not None:
                return "replica_lag", "%s %s (--max-lag %g)" % (
                    behind + (self.replica_lag.seconds,))
        return None

    def _wait(self, deadline):
        reason = self._reason()
        if reason is None:
            return
        self.count += 1
        kind = reason[0]    # the pause is counted for what started it
        started = self.clock()
        self.note("Pausing: %s" % reason[1])
        LOG.info("pausing: %s", reason[1])
        try:
            while reason is not None:
                if deadline is not None and self.clock() >= deadline:
                    break
                pause = PAUSE if deadline is None else \
                    max(0.0, min(PAUSE, deadline - self.clock()))
                self.sleep(pause)
                reason = self._reason()
        finally:
            # Counted even when a signal or an error ends the pause: the
            # summary of a stopped run says how long it waited.
            waited = self.clock() - started
            LOG.info("paused %.1f s", waited)
            self.pauses = self.pauses._replace(
                **{kind: getattr(self.pauses, kind) + waited})

    def summary(self):
        """The --verbose line of what was waited for, or None."""
        if not self.count:
            return None
        return "Paused %d time%s, %.1f s in all, between batches " \
            "(flow control %.1f s, replica lag %.1f s)" % (
                self.count, "" if self.count == 1 else "s",
                sum(self.pauses), self.pauses.flow_control,
                self.pauses.replica_lag)
