"""The next archive batch of a table, running on another connection
while the current one finishes.

Why: most of a long --until-complete run is one table (instances) whose
every pass spends the whole --max_rows on it, batch after batch of the
same statements, and one batch keeps one server thread busy while the
server's other cores wait. So when a pass takes a batch, the batch the
next pass will want starts beside it on a lane (a connection of its
own) and moves its rows in a transaction left open. The next pass takes
it if it asks for exactly that batch (same table, start and budget):
it starts the one after, deletes the batch's API rows, and commits
(the cell's transaction first, then the API's). A
pass that wants anything else rolls the batches ahead back before it
locks a row. So the batches, and the order of their commits, are the
ones of a run on one connection; each is still all-or-nothing.

Who may wait for whom: a batch locks exactly its parents, by id
(archive.lock_candidates), and moves them by id, never by a range, whose
scan would lock the row after its end; so two batches in flight rarely
want the same row. When they do, it is only
ever a lane that waits: the run's own connection locks nothing while a
lane holds a batch, and a lane gives up after LANE_LOCK_WAIT seconds
(its batch fails and a pass runs it itself). The API deletes run at
commit time, one transaction at a time.

A lane whose connection is lost ends the run (ConnectionLost), as any
lost connection of the run does (one that fails while it is opened is
only a lane fewer): whatever fails, the future the main thread waits on
is resolved, so no thread ever waits for good.
"""
import logging
from concurrent.futures import Future, ThreadPoolExecutor

import pymysql

from nmtool.archive.batch import commit_pair, lost_connection
from nmtool.db.connection import RETRYABLE_ERRORS

LOG = logging.getLogger(__name__)

LANES = 2
LANE_LOCK_WAIT = 2  # seconds


class Lane:
    """A cell connection and the thread that drives it."""

    def __init__(self, db):
        self.db = db
        self.batch = None               # the AheadBatch it holds, if any
        self.db.execute("SET SESSION innodb_lock_wait_timeout = %s",
                        (LANE_LOCK_WAIT,))
        self._pool = ThreadPoolExecutor(max_workers=1,
                                        thread_name_prefix="nmtool-ahead")

    def submit(self, fn, *args):
        return self._pool.submit(fn, *args)

    def close(self):
        self._pool.shutdown()
        self.db.close()


class AheadBatch:
    """One batch moving on a lane, its transactions open."""

    def __init__(self, key, lane):
        self.key = key
        self.lane = lane
        self._plan = Future()
        self._work = None

    def begin(self, choose, move):
        try:
            self._work = self.lane.submit(self._run, choose, move)
        except BaseException as exc:  # never started: nothing to wait for
            self._work = Future()
            self._work.set_exception(exc)
            self._plan.set_exception(exc)
            raise

    def _run(self, choose, move):
        db = self.lane.db
        try:
            # BEGIN inside: a lane lost before its first statement must
            # resolve the plan the main thread waits on all the same.
            db.execute("BEGIN")
            rows = choose(db)
        except BaseException as exc:
            self._plan.set_exception(exc)
            self._rollback()
            raise
        self._plan.set_result(rows)
        if not rows:
            self._rollback()
            return None
        try:
            return move(db, rows)
        except BaseException:
            self._rollback()
            raise

    def _rollback(self):
        try:
            self.lane.db.execute("ROLLBACK")
        except Exception:  # the connection is gone; nothing to undo
            pass

    @staticmethod
    def _outcome(future):
        """future's result; None when it failed in a way a pass recovers
        from by running the batch itself; a lost lane ends the run."""
        try:
            return future.result()
        except Exception as exc:
            lost = lost_connection(exc)
            if lost is not None:
                raise lost from exc
            LOG.debug("A batch run ahead failed, the pass runs it itself: "
                      "%s", exc)
            return None

    def planned(self):
        """Its rows (id[, uuid]) once locked; None if it failed."""
        return self._outcome(self._plan)

    def commit(self, held, api_batch=None):
        """Wait for its rows to move, commit the cell's transaction, then
        api_batch (the deletes of their API rows); returns the batch's
        outcome (signals held, see commit_pair), or None when it failed
        (rolled back, api_batch too)."""
        try:
            try:
                moved = self._outcome(self._work)
            except BaseException:
                if api_batch is not None:
                    api_batch.rollback()
                raise
            if moved is None:
                if api_batch is not None:
                    api_batch.rollback()
                return None
            moved.api_batch = api_batch
            try:
                moved.ready()
                return commit_pair(
                    lambda: self.lane.db.execute("COMMIT"), moved, held)
            except pymysql.err.OperationalError as exc:
                # A Galera certification conflict shows at COMMIT: the pass
                # runs the batch again itself, as a failed batch would be.
                moved.abort()
                self._rollback()
                if exc.args[0] not in RETRYABLE_ERRORS:
                    raise
                return None
            except BaseException:
                moved.abort()
                self._rollback()
                raise
        finally:
            self.lane.batch = None

    def rollback(self):
        try:
            moved = self._outcome(self._work)
        finally:
            self.lane.batch = None
        if moved is not None:
            moved.abort()
            self._rollback()


class BatchAhead:
    """The lanes of one run over one cell database. open_lane(n) returns
    lane n's connected cell Database; lanes are opened when first
    needed."""

    def __init__(self, open_lane, lanes=LANES):
        self._open_lane = open_lane
        self._size = lanes
        self.lanes = []
        self.running = []

    def _free_lane(self):
        for lane in self.lanes:
            if lane.batch is None:
                return lane
        if len(self.lanes) < self._size:
            try:
                self.lanes.append(Lane(self._open_lane(len(self.lanes) + 1)))
            except Exception as exc:
                # Batches ahead only ever save time: go on without more.
                LOG.debug("No more lanes for batches ahead: %s", exc)
                self._size = len(self.lanes)
                return None
            return self.lanes[-1]
        return None

    def start(self, key, choose, move):
        """Start the batch named key on a free lane: choose(db) locks its
        rows, move(db, rows) moves them (a Moved batch)."""
        lane = self._free_lane()
        if lane is None:
            return
        batch = AheadBatch(key, lane)
        lane.batch = batch
        self.running.append(batch)
        batch.begin(choose, move)

    def take(self, key):
        """The batch started for key, now the caller's to commit; or None."""
        for batch in self.running:
            if batch.key == key:
                self.running.remove(batch)
                return batch
        return None

    def discard(self):
        """Roll back every batch still running ahead."""
        while self.running:
            self.running.pop().rollback()

    def close(self):
        """Roll back and close everything, whatever else is failing."""
        while self.running:
            try:
                self.running.pop().rollback()
            except Exception:  # its connection is gone, and its batch too
                pass
        for lane in self.lanes:
            lane.close()
        self.lanes = []
