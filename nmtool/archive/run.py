"""Archive and purge over one database or every cell, with nova-manage's
batching loop, --max_rows sharing between cells and reported counts."""
import collections
import threading
import time

from nmtool.archive.api_cleanup import API_DB, API_TABLES, ApiCleanup
from nmtool.archive.batch import PassState, archive_batch, tune_session
from nmtool.archive.lanes import BatchAhead
from nmtool.archive.purge import PurgeResult, purge_shadow_tables
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
    {TableKey: rows archived}; interrupted says whether it stopped with
    rows left (--max-duration, ^C)."""

    def __init__(self, open_db, api_db, options, progress=None, meter=None):
        self._open_db = open_db         # (url, label) -> connected Database
        self.api_db = api_db
        self.clean_api = ApiCleanup(tune_session(api_db))
        self.options = options
        self._lock = threading.Lock()
        self.progress = progress or (lambda: None)
        self.meter = meter              # nmtool.ui.progress.Progress or None
        self.counts = {}
        self.interrupted = False

    def run(self, targets):
        """targets: [(cell name or None, database URL)], in order."""
        try:
            return self._run(targets)
        finally:
            self.clean_api.close()

    def _run(self, targets):
        options = self.options
        if options.until_complete and options.jobs > 1 and len(targets) > 1:
            return self._run_parallel(targets)
        total = 0
        for name, url in targets:
            if options.until_complete:
                budget = options.max_rows
            elif options.max_rows > total:
                budget = options.max_rows - total
            else:
                break
            try:
                total += self._cell(name, url, budget)
            except KeyboardInterrupt:
                self.interrupted = True
                break
            if self.interrupted:
                break
        return self.counts

    def _run_parallel(self, targets):
        """--jobs: cells archived at the same time, each on its own cell
        and API connections. With --until-complete every cell gets the
        whole --max_rows per batch anyway, so the counts are the ones of
        a run over the cells one after another."""
        from concurrent.futures import ThreadPoolExecutor

        def one(target):
            name, url = target
            api = self.open_db(self.api_db.url, "API database (%s)" % name)
            cleanup = ApiCleanup(api)
            try:
                self._cell(name, url, self.options.max_rows, cleanup)
            finally:
                cleanup.close()
        with ThreadPoolExecutor(max_workers=self.options.jobs) as pool:
            for future in [pool.submit(one, target) for target in targets]:
                future.result()
        return self.counts

    def open_db(self, url, label):
        """A connection of this run (cell, lane or API), with the archive's
        session settings."""
        return tune_session(self._open_db(url, label))

    def _count(self, key, rows):
        with self._lock:
            self.counts[key] = self.counts.get(key, 0) + rows

    def _cell(self, name, url, budget, clean_api=None):
        label = "cell database %s" % name if name else "main database"
        db = self.open_db(url, label)
        schema = LiveSchema(db)
        state = PassState()
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

    def _passes(self, name, db, schema, state, budget, clean_api):
        options = self.options
        moved = 0
        while True:
            batch = archive_batch(db, schema, budget, options.before,
                                  options.task_log,
                                  clean_api or self.clean_api, state)
            if not batch and state.floors:
                # Nothing above the floors: one pass from the start catches
                # rows soft-deleted below them since the run began.
                state.floors = {}
                continue
            moved += batch.total
            if self.meter is not None:
                self.meter.add(batch.total)
            for table, rows in batch.tables.items():
                self._count(TableKey(name, table), rows)
            if batch.instance_uuids and batch.tables.get("instances"):
                for table in API_TABLES:
                    self._count(TableKey(API_DB, table),
                                batch.api.get(table, 0))
            if not options.until_complete or not batch:
                return moved
            if options.deadline is not None and \
                    time.monotonic() >= options.deadline:
                # --max-duration: stop between batches, more is left.
                self.interrupted = True
                return moved
            self.progress()
            time.sleep(options.sleep)


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
                  jobs=1, report=None):
    """Purge each (identity, url) in order; returns one PurgeResult for
    all of them. report(entry) sees each entry in the order of the
    result (with --jobs, a cell's entries once every cell is done)."""
    if jobs > 1 and len(targets) > 1:
        return _purge_parallel(targets, before, open_db, deadline, meter,
                               jobs, report)
    result = PurgeResult()
    for identity, url in targets:
        db = open_db(url, "database %s" % identity)
        result.add(purge_shadow_tables(db, LiveSchema(db), before, identity,
                                       deadline, meter, report))
        if result.stopped:
            break
    return result


def _purge_parallel(targets, before, open_db, deadline, meter, jobs,
                    report):
    """--jobs: cells purged at the same time; their entries are reported
    cell after cell, in cell order, once all are done, so the output is
    that of one cell at a time."""
    from concurrent.futures import ThreadPoolExecutor

    def one(target):
        return purge_targets([target], before, open_db, deadline, meter)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = [future.result() for future in
                   [pool.submit(one, target) for target in targets]]
    result = PurgeResult()
    for cell in results:
        result.add(cell)
    if report is not None:
        for entry in result.entries:
            report(entry)
    return result
