"""Waits between the batches of archive and purge while the cluster is
struggling: pt-archiver's --max-flow-ctl (Galera paused by flow control
for more than a share of the recent interval) and --max-lag (an
asynchronous replica too far behind). Checked only between batches, so
no transaction is ever held open while waiting."""
import collections
import logging
import threading
import time

from nmtool.db.statements import sql

LOG = logging.getLogger(__name__)

# The shortest interval a flow-control share is measured over: shorter
# ones (a quick batch) are too noisy, so the interval then reaches back
# to the previous mark.
MIN_WINDOW = 1.0
# How long one pause lasts before the throttles are read again.
PAUSE = 1.0


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


class ReplicaLag:
    """--max-lag SECONDS over the --check-replica connections."""

    def __init__(self, replicas, seconds):
        self.replicas = list(replicas)
        self.seconds = seconds

    def behind(self):
        """(label, lag) of the first replica more than SECONDS behind (lag
        None: its replication is stopped, so it is not catching up);
        None when all are close enough."""
        for db in self.replicas:
            cursor = db.execute(sql("throttle.replica_status"))
            row = cursor.fetchone()
            if row is None:
                continue  # not (or no longer) a replica: nothing to wait for
            names = [column[0] for column in cursor.description]
            lag = dict(zip(names, row)).get("Seconds_Behind_Master")
            if lag is None or int(lag) > self.seconds:
                return "the replica at %s" % db.url.masked(), lag
        return None


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
                label, lag = behind
                return "replica_lag", (
                    "%s is %s (--max-lag %g)" % (
                        label, "not replicating" if lag is None else
                        "%s s behind" % lag, self.replica_lag.seconds))
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
        while reason is not None:
            if deadline is not None and self.clock() >= deadline:
                break
            pause = PAUSE if deadline is None else \
                max(0.0, min(PAUSE, deadline - self.clock()))
            self.sleep(pause)
            reason = self._reason()
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
