"""Archive and purge over one database or every cell, with nova-manage's
batching loop, --max_rows sharing between cells and reported counts."""
import collections
import threading
import time

from nmtool.archive.api_cleanup import API_DB, API_TABLES, ApiCleanup
from nmtool.archive.batch import (PassState, archive_batch, lost_connection,
                                  tune_session)
from nmtool.archive.lanes import BatchAhead
from nmtool.archive.purge import WRITE_SET_MARGIN, PurgeResult, \
    purge_shadow_tables
from nmtool.db.live_schema import LiveSchema


class TableKey(collections.namedtuple("TableKey", "database table")):
    """A row of the archive report: the table, and the database it is in
    as nova-manage names it (the cell's name with --all-cells, API_DB for
    the API database, None for [database]/connection)."""

    @property
    def label(self):
        """The name --verbose prints: "cell1.instances", "instances"."""
        return "%s.%s" % (self.database, self.table) if self.database \
            else self.table


class ArchiveOptions(collections.namedtuple("ArchiveOptions", (
        "max_rows", "before", "task_log", "until_complete", "sleep",
        "deadline", "jobs"))):
    """What one archive run was asked for. max_rows: the budget of a
    batch; deadline: a time.monotonic() value (--max-duration) or None;
    jobs: cells archived at once (--all-cells --until-complete)."""

    def __new__(cls, max_rows, before=None, task_log=False,
                until_complete=False, sleep=0, deadline=None, jobs=1):
        return super().__new__(cls, max_rows, before, task_log,
                               until_complete, sleep, deadline, jobs)


class ArchiveRun:
    """One archive over one database or several cells. run() returns
    {TableKey: rows archived}, the rows of committed batches only;
    interrupted says whether it stopped with rows left (--max-duration, a
    signal, a lost connection), signal names the signal that stopped it
    and failure is the ConnectionLost that ended it."""

    def __init__(self, open_db, api_db, options, progress=None, meter=None,
                 throttle=None):
        self._open_db = open_db         # (url, label) -> connected Database
        self.api_db = api_db
        self._opened = [api_db]         # for the count of conflicts retried
        # The smallest batch (rows) conflicts made a cell's batches halve
        # down to, None when none had to.
        self.smallest_batch = None
        # nmtool.db.throttle.Throttle: waits between batches (--max-flow-ctl,
        # --max-lag), or None.
        self.throttle = throttle
        self.clean_api = ApiCleanup(api_db)
        self.options = options
        self._lock = threading.Lock()
        self._stop = threading.Event()  # --jobs: the other cells stop too
        self.progress = progress or (lambda: None)
        self.meter = meter              # nmtool.ui.progress.Progress or None
        self.counts = {}
        self.interrupted = False
        self.signal = None
        self.failure = None

    def run(self, targets):
        """targets: [(cell name or None, database URL[, cell uuid])], in
        order; the cell uuid (when known) narrows the sweep of API rows
        left by an earlier run to that cell's."""
        try:
            tune_session(self.api_db)
            return self._run([tuple(target) + (None,) * (3 - len(target))
                              for target in targets])
        except BaseException as exc:
            if not self._stopped_by(exc):
                raise
            return self.counts
        finally:
            self.clean_api.close()

    def _stopped_by(self, exc):
        """Whether exc ends the run with the report of its committed
        batches (a signal, a lost connection); if so, noted."""
        if isinstance(exc, KeyboardInterrupt):
            # nmtool.cli names SIGTERM and SIGHUP; ^C comes bare.
            self.signal = self.signal or (exc.args[0] if exc.args
                                          else "SIGINT")
        else:
            lost = lost_connection(exc)
            if lost is None:
                return False
            self.failure = self.failure or lost
        self.interrupted = True
        self._stop.set()
        return True

    def _run(self, targets):
        options = self.options
        if options.until_complete and options.jobs > 1 and len(targets) > 1:
            return self._run_parallel(targets)
        total = 0
        for name, url, cell_uuid in targets:
            if options.until_complete:
                budget = options.max_rows
            elif options.max_rows > total:
                budget = options.max_rows - total
            else:
                break
            total += self._cell(name, url, budget, cell_uuid=cell_uuid)
            if self.interrupted:    # --max-duration
                break
        return self.counts

    def _run_parallel(self, targets):
        """--jobs: cells archived at the same time, each on its own cell
        and API connections. With --until-complete every cell gets the
        whole --max_rows per batch anyway, so the counts are the ones of
        a run over the cells one after another."""
        from concurrent.futures import ThreadPoolExecutor

        def one(target):
            name, url, cell_uuid = target
            if self._stop.is_set():
                return
            try:
                api = self.open_db(self.api_db.url,
                                   "API database (%s)" % name)
                cleanup = ApiCleanup(api)
                try:
                    self._cell(name, url, self.options.max_rows, cleanup,
                               cell_uuid)
                finally:
                    cleanup.close()
            except BaseException:
                # The other cells end after their current batch.
                self._stop.set()
                raise
        pool = ThreadPoolExecutor(max_workers=self.options.jobs)
        error = None
        try:
            for future in [pool.submit(one, target) for target in targets]:
                try:
                    future.result()
                except Exception as exc:
                    if not self._stopped_by(exc):
                        error = error or exc
        except KeyboardInterrupt as exc:
            self._stopped_by(exc)
        finally:
            pool.shutdown()
        if error is not None:
            raise error
        return self.counts

    @property
    def retries(self):
        """Transactions retried after a conflict, on all of the run's
        connections."""
        unique = {id(db): db for db in self._opened}
        return sum(db.retries for db in unique.values())

    def open_db(self, url, label):
        """A connection of this run (cell, lane or API), with the archive's
        session settings."""
        try:
            db = tune_session(self._open_db(url, label))
            self._opened.append(db)
            return db
        except Exception as exc:
            # Lost while it was set up, outside any statement that would
            # name it (a dry run's autocommit switch).
            lost = lost_connection(exc, label)
            if lost is None:
                raise
            raise lost from exc

    def _count(self, key, rows):
        with self._lock:
            self.counts[key] = self.counts.get(key, 0) + rows

    def _cell(self, name, url, budget, clean_api=None, cell_uuid=None):
        label = "cell database %s" % name if name else "main database"
        db = self.open_db(url, label)
        schema = LiveSchema(db)
        if schema.has_shadow("instances"):
            # API rows an earlier run left when it died between the cell's
            # commit and the API's: their instances are archived already.
            swept = (clean_api or self.clean_api).sweep(db, cell_uuid)
            for table, rows in swept.items():
                if rows:
                    self._count(TableKey(API_DB, table), rows)
        state = PassState()
        limit = db.write_set_rows()
        if limit is not None:
            # Galera: a batch copies and deletes each row (two write-set
            # rows) and deletes up to three API rows per instance, each
            # side one write set; budgets above this would be refused.
            state.budget_cap = max(1, (limit - WRITE_SET_MARGIN) // 3)
        if self.options.until_complete and not db.dry_run:
            # A dry run's one uncommitted transaction is invisible to other
            # connections, so it runs every batch itself.
            state.ahead = BatchAhead(
                lambda n: self.open_db(url, "%s (ahead %d)" % (label, n)))
        try:
            return self._passes(name, db, schema, state, budget, clean_api)
        finally:
            if state.ahead is not None:
                state.ahead.close()
            if state.smallest is not None:
                with self._lock:
                    self.smallest_batch = min(
                        state.smallest, self.smallest_batch or state.smallest)

    def _passes(self, name, db, schema, state, budget, clean_api):
        options = self.options
        moved = 0
        if self.throttle is not None and options.until_complete:
            # A replica already too far behind waits before the first
            # batch too, not only between batches.
            self.throttle.wait(options.deadline)
        while True:
            if self._stop.is_set():  # --jobs: another cell was stopped
                return moved
            if self.meter is not None and self.meter.stop_asked():
                # --stop-file: as --max-duration, more is left.
                self.interrupted = True
                return moved
            try:
                batch = archive_batch(db, schema,
                                      min(budget, state.budget_cap or budget),
                                      options.before,
                                      options.task_log,
                                      clean_api or self.clean_api, state)
            except BaseException:
                # Nothing of this pass committed; signals held since a
                # commit that moved nothing go back to their handlers.
                state.held.release()
                raise
            moved += batch.total
            if self.meter is not None:
                self.meter.add(batch.total)
            for table, rows in batch.tables.items():
                self._count(TableKey(name, table), rows)
            if batch.instance_uuids and batch.tables.get("instances"):
                for table in API_TABLES:
                    self._count(TableKey(API_DB, table),
                                batch.api.get(table, 0))
            try:
                # Held since the pass's first commit: counted now, so a
                # signal that came meanwhile stops the run here.
                state.held.release()
            except KeyboardInterrupt as exc:
                batch.failure = batch.failure or exc
            if batch.failure is not None:
                # Its cell side is committed and counted; the run stops.
                raise batch.failure
            if not batch and state.floors:
                # Nothing above the floors: one pass from the start catches
                # rows soft-deleted below them since the run began.
                state.floors = {}
                continue
            if not options.until_complete or not batch:
                return moved
            if options.deadline is not None and \
                    time.monotonic() >= options.deadline:
                # --max-duration: stop between batches, more is left.
                self.interrupted = True
                return moved
            self.progress()
            time.sleep(options.sleep)
            if self.throttle is not None:
                self.throttle.wait(options.deadline)


def report_order(counts, all_cells):
    """The (TableKey, rows) items of a report in nova-manage's order: by
    the printed name, or with --all-cells by that name split at its first
    dot (so the tables of a database stay together)."""
    def split(item):
        label = item[0].label
        return tuple(label.split(".", 1)) if "." in label else ("", label)
    return sorted(counts.items(),
                  key=split if all_cells else (lambda item: item[0].label))


def purge_targets(targets, before, open_db, deadline=None, meter=None,
                  jobs=1, report=None, stop=None, throttle=None):
    """Purge each (identity, url) in order; returns one PurgeResult for
    all of them. report(entry) sees each entry in the order of the
    result (with --jobs, a cell's entries once every cell is done)."""
    if jobs > 1 and len(targets) > 1:
        return _purge_parallel(targets, before, open_db, deadline, meter,
                               jobs, report, throttle)
    result = PurgeResult()
    for identity, url in targets:
        db = open_db(url, "database %s" % identity)
        result.add(purge_shadow_tables(db, LiveSchema(db), before, identity,
                                       deadline, meter, report, stop,
                                       throttle))
        if result.stopped:
            break
    return result


def _purge_parallel(targets, before, open_db, deadline, meter, jobs,
                    report, throttle=None):
    """--jobs: cells purged at the same time; their entries are reported
    cell after cell, in cell order, once all are done, so the output is
    that of one cell at a time. A signal, or a cell's lost connection,
    stops every cell after its chunk in flight."""
    from concurrent.futures import ThreadPoolExecutor
    stop = threading.Event()
    cause = None

    def one(target):
        cell = purge_targets([target], before, open_db, deadline, meter,
                             stop=stop, throttle=throttle)
        if cell.cause is not None:
            stop.set()
        return cell
    pool = ThreadPoolExecutor(max_workers=jobs)
    futures = [pool.submit(one, target) for target in targets]
    try:
        results = [future.result() for future in futures]
    except KeyboardInterrupt as exc:
        stop.set()
        cause = exc
        results = [future.result() for future in futures]
    finally:
        stop.set()
        pool.shutdown()
    result = PurgeResult()
    for cell in results:
        result.add(cell)
    result.cause = cause or result.cause
    if report is not None:
        for entry in result.entries:
            report(entry)
    return result
