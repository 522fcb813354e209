"""Archive soft-deleted rows into shadow tables, one batch at a time.

One call of archive_batch() does what one call of nova's
db.archive_deleted_rows() does: the same tables in the same order, the
same rows, the same --max_rows accounting and the same reported counts.
It works in sets: per table, one transaction locks a batch of parent
ids, moves each chain of child rows with one INSERT ... SELECT and one
DELETE, then the parents. A batch is all-or-nothing, so a killed run
loses and duplicates nothing, and the next run continues.
"""
import collections
import logging
import signal
import threading

import pymysql

from nmtool.db.connection import ConflictsPersist, NotPrimary
from nmtool.db.statements import sql
from nmtool.errors import NmtoolError
from nmtool.interrupts import STOP_SIGNALS
from nmtool.kernel import plan_batch
from nmtool.db.live_schema import SHADOW_PREFIX, quote

LOG = logging.getLogger(__name__)

ER_ROW_IS_REFERENCED = (1451, 1217)
# Galera refused a transaction's write set (wsrep_max_ws_rows or _size).
ER_WRITE_SET_TOO_BIG = 1180
# A server without the variable, or without the value (MySQL has no
# subquery cache): the setting only ever saved time.
ER_SETTING_REFUSED = (1193, 1231)
SESSION_SETTINGS = ("archive.session_no_index_dives",
                    "archive.session_no_subquery_cache")
# Errors after which a connection is gone: the server's KILL (1927, or
# 2013 once it is closed), a restart (1053, 2006), a network drop (2013,
# 2055), MariaDB's idle timeout (4031). What the statement did is lost
# with the transaction; nothing more can run on it.
LOST_CONNECTION = frozenset([1053, 1927, 2006, 2013, 2055, 4031])
# A batch aborted this many times in a row (Galera: write sets replicated
# from other nodes wanted its locks) is tried again at half its size, down
# to one parent; each committed batch doubles the size back.
CONFLICTS_BEFORE_HALVING = 3


class ConnectionLost(NmtoolError):
    """A connection of the run is gone; label names its database."""

    exit_code = 1

    def __init__(self, label, error):
        code = error.args[0] if error.args else None
        detail = error.args[1] if len(error.args) > 1 else ""
        what = "%s: %s" % (code, detail) if code else \
            "the connection was closed"
        super().__init__("lost the connection to the %s (%s)"
                         % (label, what))
        self.label = label


def lost_connection(exc, label=None):
    """The ConnectionLost that exc stands for, or None when it is another
    error. The database is the one whose statement failed
    (Database._run marks its errors with the connection's label), else
    label: the one the caller was reaching. Conflicts that outlasted the
    retry budget, and a Galera node leaving the primary component, end a
    run the same way (its committed batches reported, run again later),
    so they are returned as they are."""
    if isinstance(exc, (ConnectionLost, ConflictsPersist, NotPrimary)):
        return exc
    if not isinstance(exc, pymysql.err.MySQLError):
        return None
    code = exc.args[0] if exc.args else None
    # InterfaceError: pymysql refuses to use a connection it closed.
    if code in LOST_CONNECTION or isinstance(exc,
                                             pymysql.err.InterfaceError):
        return ConnectionLost(getattr(exc, "database_label", None)
                              or label or "database", exc)
    return None


class HeldSignals:
    """While held, a signal that stops the run waits; on release the
    first one that came is raised again, to be handled as it would have
    been. Held around the commits of a batch, so that a ^C or SIGTERM
    never falls between the cell's COMMIT and the API's. Only the main
    thread is ever interrupted, so only it holds them."""

    def __init__(self):
        self._saved = None
        self._caught = []

    def hold(self):
        if self._saved is not None or \
                threading.current_thread() is not threading.main_thread():
            return
        self._saved = {}
        for signum in STOP_SIGNALS:
            previous = signal.getsignal(signum)
            if previous is None:  # set outside Python: left alone
                continue
            # Noted before it is replaced, so a signal that lands between
            # the two can never leave our catcher installed.
            self._saved[signum] = previous
            signal.signal(signum, self._catch)

    def _catch(self, signum, frame):
        self._caught.append(signum)

    @property
    def pending(self):
        """Whether a signal came while held (release() raises it)."""
        return bool(self._caught)

    def check(self):
        """Raise a signal that came while held, now; otherwise go on
        holding (or not) as before."""
        if self._caught:
            self.release()

    def release(self):
        if self._saved is None:
            return
        saved, self._saved = self._saved, None
        for signum, handler in saved.items():
            signal.signal(signum, handler)
        if self._caught:
            signum, self._caught = self._caught[0], []
            signal.raise_signal(signum)

    def __enter__(self):
        self.hold()
        return self

    def __exit__(self, *exc):
        self.release()


class BatchResult:
    """What one archive_batch() call did, in nova's terms."""

    def __init__(self):
        self.tables = collections.defaultdict(int)  # table -> rows reported
        self.instance_uuids = []
        self.total = 0                              # rows moved, all tables
        self.api = {}                               # API table -> rows deleted
        # What ended the pass after its last batch committed in the cell
        # (its API side failed, or a signal came during its commits):
        # counted first, then raised.
        self.failure = None

    def __bool__(self):
        return any(self.tables.values())


def tune_session(db):
    """Set the optimizer settings an archive's statements run best with
    on a connection (cell, lane or API) before its first batch; returns
    db."""
    for name in SESSION_SETTINGS:
        try:
            db.execute(sql(name))
        except pymysql.err.MySQLError as exc:
            if not exc.args or exc.args[0] not in ER_SETTING_REFUSED:
                raise
            LOG.debug("%s: %s not set: %s", db.label, name, exc)
    return db


def archive_qualifier(table, before, task_log):
    """The WHERE fragment choosing the rows to archive, and its values."""
    if table == "task_log" and task_log:
        if before:
            return sql("archive.where_task_log_before"), {"before": before}
        return sql("archive.where_task_log"), {}
    if before and table != "task_log":
        return sql("archive.where_deleted_before"), {"before": before}
    return sql("archive.where_soft_deleted"), {}


def chain_joins(path, start=1):
    joins = []
    for depth, fk in enumerate(path[start - 1:], start):
        joins.append(sql("archive.join_child").format(
            child_table=quote(fk.child), child=depth,
            child_column=quote(fk.column), parent=depth - 1,
            parent_column=quote(fk.parent_column)))
    return " ".join(joins)


def _chain_exists(path):
    first = path[0]
    return sql("archive.chain_exists").format(
        first_child=quote(first.child), joins=chain_joins(path, start=2),
        child_column=quote(first.column),
        parent_column=quote(first.parent_column))


def _columns(schema, table, alias):
    cols = schema.shared_columns(table)
    return (", ".join(quote(c) for c in cols),
            ", ".join("%s.%s" % (alias, quote(c)) for c in cols))


class PassState:
    """What the passes of one run over one database carry from one pass
    to the next: where each table's last batch stopped, what a parent
    cost there, and the batches already running ahead."""

    def __init__(self, ahead=None):
        self.floors = {}        # table -> last id archived
        self.per_parent = {}    # table -> budget spent per parent
        self.max_rows = None    # a whole pass's budget
        self.ahead = ahead      # nmtool.archive.lanes.BatchAhead or None
        self.budget_cap = None  # the most rows a batch may take (Galera)
        # A smaller budget while batches keep being aborted by conflicts
        # (None: the whole budget); see shrink() and grow().
        self.conflict_cap = None
        self.smallest = None    # the smallest cap conflicts ever set
        self.held = HeldSignals()   # from a batch's commits to its count

    def capped(self, budget):
        """budget, within the cap conflicts have set."""
        if self.conflict_cap is None:
            return budget
        return min(budget, self.conflict_cap)

    def shrink(self, budget):
        """The budget for the next try of a batch of `budget` rows that
        keeps being aborted: half of it, at least one parent."""
        smaller = max(1, budget // 2)
        if smaller < budget:
            self.conflict_cap = smaller
            self.smallest = min(smaller, self.smallest or smaller)
            LOG.info("batches aborted by conflicts again and again: "
                     "batches of %d rows now", smaller)
        return smaller

    def grow(self, max_rows):
        """A batch committed: the cap doubles, until it is the budget."""
        if self.conflict_cap is not None:
            self.conflict_cap *= 2
            if self.conflict_cap >= max_rows:
                self.conflict_cap = None


class BatchOutcome(collections.namedtuple(
        "BatchOutcome", "moved children uuids api last failure",
        defaults=(None,))):
    """One table's committed batch: parent rows moved, {child table: rows
    moved}, the instance uuids among the parents, {API table key: rows
    deleted}, the last parent id (where the next batch starts), and the
    error of its API side when that failed after the cell's commit."""


class Moved:
    """A batch whose rows are moved, its transactions still open."""

    def __init__(self, moved, children, uuids, api_batch, last):
        self.moved, self.children, self.uuids = moved, children, uuids
        self.api_batch = api_batch
        self.last = last

    def ready(self):
        """Wait for the deletes of the API rows (raises their error):
        the commits that follow then take two round trips."""
        if self.api_batch is not None:
            self.api_batch.wait()

    def finish(self):
        """Commit the API side (or undo it when no parent moved) once the
        cell's transaction has committed; returns the BatchOutcome. A
        batch run ahead gets its api_batch only when it is taken."""
        api, failure = {}, None
        if self.api_batch is not None:
            if not self.moved:
                self.api_batch.rollback()
            else:
                try:
                    api = self.api_batch.commit()
                except Exception as exc:
                    # The cell's batch is in and is counted; its API rows
                    # stay until the next run deletes them (ApiCleanup.
                    # sweep), and this run stops here.
                    failure = lost_connection(exc) or exc
        return BatchOutcome(self.moved, self.children, self.uuids, api,
                            self.last, failure)

    def abort(self):
        api_batch, self.api_batch = self.api_batch, None
        if api_batch is not None:
            api_batch.rollback()


def commit_pair(commit_cell, moved, held):
    """Commit a moved batch: the cell's transaction (commit_cell()), then
    its API deletes; returns the BatchOutcome. The cell goes first, so
    that no API row is ever deleted for a row still in the cell. Signals
    are held from the first commit on; archive_batch releases them once
    the outcome is counted (a failure releases them at once)."""
    held.hold()
    try:
        commit_cell()
    except BaseException:
        moved.abort()
        held.release()
        raise
    return moved.finish()


class TableArchiver:
    """Moves one batch of one table (and its children) in one transaction."""

    def __init__(self, schema, table, before, task_log, api_cleanup=None,
                 state=None):
        self.schema = schema
        self.table = table
        self.qualifier, self.params = archive_qualifier(table, before,
                                                        task_log)
        self.paths = schema.child_paths(table)
        self.api_cleanup = api_cleanup
        self.state = state if state is not None else PassState()
        self.fmt = {"table": quote(table), "qualifier": self.qualifier}
        self.width = 2 if table == "instances" else 1   # id[, uuid]
        plan_fmt = dict(
            self.fmt,
            extra_columns=", t0.`uuid`" if table == "instances" else "",
            chain_flags="".join(", " + _chain_exists(p) for p in self.paths))
        self.guards = self._guards()
        self.plan_read = sql("archive.candidates").format(**plan_fmt)
        self.plan_locked = sql("archive.candidates_locked").format(**plan_fmt)
        self.lock_ids = sql("archive.lock_candidates").format(**self.fmt)

    def run(self, db, budget, after=-1):
        """Archive up to `budget` rows' worth of the candidates above id
        `after`; returns the BatchOutcome, or None when there was nothing
        to do or a foreign key blocked the batch."""
        ahead = self.state.ahead
        if ahead is not None:
            outcome = self._take_ahead(ahead, budget, after)
            if outcome is not None:
                return outcome
        if not db.scalar(sql("archive.any_candidate").format(**self.fmt),
                         dict(self.params, after=after)):
            return None
        try:
            outcome = self._here(db, budget, after)
        except pymysql.err.IntegrityError as exc:
            if exc.args[0] not in ER_ROW_IS_REFERENCED:
                raise
            # A row in a table without a shadow twin still points at one of
            # these parents: skip the table this time, as nova-manage does.
            LOG.warning("IntegrityError detected when archiving table %s: "
                        "%s", self.table, exc)
            return None
        if outcome and outcome.failure is None:
            # Only now: a batch of this connection never runs beside one
            # ahead, so it can never wait for a commit that waits for it.
            self._start_next(outcome.last)
        return outcome

    def _here(self, db, budget, after):
        """This pass's batch on the run's own connection, retried whole on
        a conflict; the cell commits first, then the API side (signals
        held from the cell's commit on, as in commit_pair)."""
        pending = []        # the Moved batch of the try in flight
        held = self.state.held
        size = [budget]

        def smaller(retry):
            if retry % CONFLICTS_BEFORE_HALVING == 0:
                size[0] = self.state.shrink(size[0])

        def attempt(db):
            held.check()  # a retry: whatever came stops it now
            while pending:
                pending.pop().abort()
            moved = self._batch(db, size[0], after)
            if moved is not None:
                pending.append(moved)
                moved.ready()
                # run_in_transaction commits the cell as this returns.
                held.hold()
            return moved
        try:
            moved = db.run_in_transaction(attempt, on_conflict=smaller)
        except BaseException:
            while pending:
                pending.pop().abort()
            held.release()
            raise
        return moved.finish() if moved is not None else None

    def _take_ahead(self, ahead, budget, after):
        """The outcome of the batch already running for this pass, once
        committed, with the one after it started; None when there is none
        (or it failed, or found nothing: then this pass does it itself,
        the way a run without batches ahead would)."""
        running = ahead.take((self.table, after, budget))
        if running is None:
            return None
        rows = running.planned()
        if not rows:
            # Taken, it is no longer among the batches discard() rolls
            # back: rolled back here, or its lane stays busy for good.
            running.rollback()
            ahead.discard()
            return None
        # Its API rows go now, from this thread, so that the API database
        # only ever has one of our transactions open: two would lock each
        # other's rows wherever the server scans more than it deletes.
        api_batch = self._start_api(rows, self.api_cleanup)
        self._start_next(rows[-1][0])
        outcome = running.commit(self.state.held, api_batch)
        if outcome is None:
            ahead.discard()
        return outcome

    def _start_next(self, after):
        """Start the batch the next pass will want if it comes straight
        back to this table (a pass that this batch ends, with the whole
        --max_rows for it), on another connection. It locks and moves only
        rows above `after`, none of this batch's."""
        ahead = self.state.ahead
        if ahead is None:
            return
        budget = self.state.capped(self.state.max_rows)
        ahead.start((self.table, after, budget),
                    lambda db: self.choose(db, budget, after),
                    lambda db, rows: self.move(db, rows, None))

    def plan(self, db, budget, after, lock=False):
        """The candidates (id[, uuid] rows) one batch takes: read a chunk
        at a time, oldest first, and counted against the budget until it
        is spent, so that the same parents nova-manage would take are
        chosen without reading the many it would not. Chunks are sized
        from what a parent cost in this table's last batch (at first, the
        most a parent can cost)."""
        taken, spent = [], 0
        per_parent = self.state.per_parent.get(self.table,
                                               1 + len(self.paths))
        statement = self.plan_locked if lock else self.plan_read
        width = self.width
        while spent < budget:
            left = budget - spent
            size = min(left, -(-left // per_parent) + 8)
            rows = db.query(statement,
                            dict(self.params, after=after, limit=size))
            if not rows:
                break
            chunk = [row[0] for row in rows]
            flagged = [[row[0] for row in rows if row[width + index]]
                       for index in range(len(self.paths))]
            count, cost = plan_batch(chunk, flagged, left)
            taken.extend(row[:width] for row in rows[:count])
            spent += cost
            if count < len(rows):
                break
            after = chunk[-1]
            per_parent = max(1, spent // len(taken))
        if taken:
            self.state.per_parent[self.table] = max(1, spent // len(taken))
        return taken

    def choose(self, db, budget, after):
        """The rows of this batch, locked: chosen by a plain read, then
        locked by id (nothing else); chosen again under locks when what
        got locked is not what was chosen. A row soft-deleted between the
        two, among the ones chosen, is left to a later batch."""
        rows = self.plan(db, budget, after)
        if not rows:
            return rows
        locked = db.query(self.lock_ids, dict(
            self.params, ids=tuple(row[0] for row in rows)))
        if [row[0] for row in locked] == [row[0] for row in rows]:
            return rows
        return self.plan(db, budget, after, lock=True)

    def _batch(self, db, budget, after):
        if self.state.ahead is not None:
            # This connection is about to lock rows: no batch of ours may
            # hold any of them, waiting for a commit that would never come.
            self.state.ahead.discard()
        rows = self.choose(db, budget, after)
        if not rows:
            return None
        return self.move(db, rows, self.api_cleanup)

    def move(self, db, rows, api_cleanup):
        """Move the rows chosen (in the transaction open on db) and start
        the deletes of their API rows; returns the Moved batch, whose
        finish() commits the API side once the cell has committed."""
        ids = tuple(row[0] for row in rows)
        bounds = dict(self.params, ids=ids)
        # The API rows go in a transaction of the API database that runs
        # beside this one and commits just after it: undone when the batch
        # fails. If we die between the two commits, the instances are
        # archived and their API rows left; the next run deletes them.
        api_batch = self._start_api(rows, api_cleanup)
        try:
            moved, children = self._move(db, bounds)
        except BaseException:
            if api_batch is not None:
                api_batch.rollback()
            raise
        return Moved(moved, children, self._uuids(rows), api_batch, ids[-1])

    def _uuids(self, rows):
        return [row[1] for row in rows] if self.table == "instances" else []

    def _start_api(self, rows, api_cleanup):
        """The ApiBatch deleting the API rows of these (instance) rows, or
        None when there are none to delete."""
        uuids = self._uuids(rows)
        return api_cleanup.start(uuids) if uuids and api_cleanup else None

    def _guards(self):
        """The archive.referenced probes for this table's batches: one per
        foreign key that points at a table the batch deletes from, other
        than the chains it moves. None when the server's checks must stay
        on: a key that cascades or sets NULL acts on delete."""
        probes = []
        for path in [[]] + self.paths:
            target = path[-1].child if path else self.table
            for fk in self.schema.foreign_keys:
                if fk.parent != target or path + [fk] in self.paths:
                    continue
                if fk.on_delete not in ("RESTRICT", "NO ACTION"):
                    return None
                probes.append(sql("archive.referenced").format(
                    joins=chain_joins(path), referencing=quote(fk.child),
                    column=quote(fk.column), target="t%d" % len(path),
                    parent_column=quote(fk.parent_column), **self.fmt))
        return probes

    def _move(self, db, bounds):
        # Whether the server's foreign-key checks have anything left to
        # refuse: if so they stay on and refuse it (IntegrityError, the
        # table is skipped, as nova-manage skips it); if not, they are off
        # for the batch's deletes, a fifth of their cost on instances.
        checked = self.guards is None or any(
            db.scalar(probe, bounds) for probe in self.guards)
        if checked:
            return self._copy_and_delete(db, bounds)
        db.execute(sql("archive.unchecked"))
        try:
            moved = self._copy_and_delete(db, bounds)
        except BaseException:
            try:
                db.execute(sql("archive.checked"))
            except Exception:  # the connection is gone with the batch
                pass
            raise
        db.execute(sql("archive.checked"))
        return moved

    def _copy_and_delete(self, db, bounds):
        children = collections.defaultdict(int)
        # Deepest chains first so that no row is deleted while a child
        # still points at it.
        for path in sorted(self.paths, key=len, reverse=True):
            child = path[-1].child
            alias = "t%d" % len(path)
            columns, source = _columns(self.schema, child, alias)
            fmt = dict(self.fmt, joins=chain_joins(path),
                       shadow=quote(SHADOW_PREFIX + child),
                       columns=columns, source_columns=source, target=alias)
            db.execute(sql("archive.copy_children").format(**fmt), bounds)
            removed = db.execute(sql("archive.delete_children").format(**fmt),
                                 bounds).rowcount
            if removed:  # nova reports only the child tables it touched
                children[child] += removed
        columns, source = _columns(self.schema, self.table, "t0")
        fmt = dict(self.fmt, shadow=quote(SHADOW_PREFIX + self.table),
                   columns=columns, source_columns=source)
        db.execute(sql("archive.copy_parents").format(**fmt), bounds)
        moved = db.execute(sql("archive.delete_parents").format(**fmt),
                           bounds).rowcount
        return moved, children


def _fitting(state, budget, run):
    """run(budget), halving the budget while Galera refuses the batch's
    write set as too large (error 1180): a parent with many children can
    write far more rows than its share of --max_rows. The smaller budget
    stays for the rest of the run."""
    while True:
        try:
            return run(budget)
        except pymysql.err.MySQLError as exc:
            if not exc.args or exc.args[0] != ER_WRITE_SET_TOO_BIG or \
                    budget <= 1:
                raise
            budget = max(1, budget // 2)
            state.budget_cap = budget
            LOG.info("write set too large for Galera: batches of %d now",
                     budget)


def archive_batch(db, schema, max_rows, before=None, task_log=False,
                  api_cleanup=None, state=None):
    """One pass over every archivable table within the max_rows budget.

    state: the run's PassState, kept by the caller from one pass to the
    next. Its floors (the last id archived per table) make a pass look
    only above them; this pass raises them. On unchanging data the rows
    taken are the ones a pass from the start would take (none below the
    floor is a candidate any more); rows soft-deleted below it meanwhile
    are left to a pass without floors, which ArchiveRun makes before it
    declares a run complete."""
    result = BatchResult()
    if state is None:
        state = PassState()
    floors = state.floors
    state.max_rows = max_rows
    for table in schema.archive_order():
        budget = state.capped(max_rows - result.total)
        if max_rows - result.total <= 0:
            break
        try:
            outcome = _fitting(state, budget, lambda budget: TableArchiver(
                schema, table, before, task_log, api_cleanup, state).run(
                    db, budget, floors.get(table, -1)))
        except BaseException as exc:
            if not result.total and not result.api:
                raise
            # This table's batch is undone; the ones before it in this pass
            # are committed, and the caller must count them before it
            # raises this.
            result.failure = result.failure or exc
            break
        if outcome:
            state.grow(max_rows)
            result.failure = outcome.failure
            floors[table] = outcome.last
            result.total += outcome.moved
            if table == "instances":
                result.instance_uuids = outcome.uuids
                for key, value in outcome.api.items():
                    result.api[key] = result.api.get(key, 0) + value
            if outcome.moved:
                # nova-manage assigns here, so child rows already counted for
                # this table by an earlier parent are dropped from the
                # report (not from the budget); scripts see the same numbers.
                result.tables[table] = outcome.moved
                for child, count in outcome.children.items():
                    result.tables[child] += count
                    result.total += count
        # Signals stay held from this pass's first commit until the caller
        # has counted the pass (release it then): a signal raised between
        # a commit and its count would lose the count. One that came
        # meanwhile ends the pass here.
        if result.total >= max_rows or result.failure is not None or \
                state.held.pending:
            break
    return result


def moving_children(db, schema, before=None):
    """How many child rows will move with their soft-deleted parents
    without being soft-deleted themselves (one COUNT per chain); with the
    soft-deleted rows of every table, the rows a complete run moves."""
    total = 0
    for table in schema.archive_order():
        qualifier, params = archive_qualifier(table, before, False)
        for path in schema.child_paths(table):
            child = path[-1].child
            if not schema.has_column(child, "deleted"):
                stays = "1 = 1"
            else:
                stays = sql("archive.child_not_deleted_before" if before
                            else "archive.child_not_soft_deleted").format(
                                child=len(path))
            statement = sql("archive.count_moving_children").format(
                table=quote(table), joins=chain_joins(path),
                qualifier=qualifier, child_stays=stays)
            total += db.scalar(statement, params) or 0
    return total
