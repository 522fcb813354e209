"""Archive and purge over one database or every cell, with nova-manage's
batching loop, --max_rows sharing between cells and reported counts."""
import sys
import threading
import time

from nmtool.archiver import (OutOfTime, api_cleaner, archive_batch,
                             purge_shadow_tables)
from nmtool.live_schema import LiveSchema

API_KEYS = ("API_DB.instance_mappings", "API_DB.request_specs",
            "API_DB.instance_group_member")


class ArchiveRun:
    def __init__(self, open_db, api_db, max_rows, before=None, task_log=False,
                 until_complete=False, sleep=0, progress=None,
                 deadline=None, meter=None, jobs=1):
        self.open_db = open_db          # (url, label) -> connected Database
        self.api_db = api_db
        self.clean_api = api_cleaner(api_db)
        self.jobs = jobs
        self._lock = threading.Lock()
        self.max_rows = max_rows
        self.before = before
        self.task_log = task_log
        self.until_complete = until_complete
        self.sleep = sleep
        self.progress = progress or (lambda: None)
        self.deadline = deadline        # time.monotonic() value or None
        self.meter = meter              # nmtool.progress.Progress or None
        self.counts = {}
        self.interrupted = False

    def run(self, targets):
        """targets: [(cell name or None, database URL)], in order."""
        if self.until_complete and self.jobs > 1 and len(targets) > 1:
            return self._run_parallel(targets)
        total = 0
        for name, url in targets:
            if self.until_complete:
                budget = self.max_rows
            elif self.max_rows > total:
                budget = self.max_rows - total
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
            self._cell(name, url, self.max_rows, api_cleaner(api))
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            for future in [pool.submit(one, target) for target in targets]:
                future.result()
        return self.counts

    def _count(self, key, rows):
        with self._lock:
            self.counts[key] = self.counts.get(key, 0) + rows

    def _cell(self, name, url, budget, clean_api=None):
        db = self.open_db(url, "cell database %s" % name if name
                          else "main database")
        schema = LiveSchema(db)
        prefix = name + "." if name else ""
        moved = 0
        while True:
            batch = archive_batch(db, schema, budget, self.before,
                                  self.task_log,
                                  clean_api or self.clean_api)
            moved += batch.total
            if self.meter is not None:
                self.meter.add(batch.total)
            for table, rows in batch.tables.items():
                self._count(prefix + table, rows)
            if batch.instance_uuids and batch.tables.get("instances"):
                for key in API_KEYS:
                    self._count(key, batch.api.get(key, 0))
            if not self.until_complete or not batch:
                return moved
            if self.deadline is not None and time.monotonic() >= self.deadline:
                # --max-duration: stop between batches, more is left.
                self.interrupted = True
                return moved
            self.progress()
            time.sleep(self.sleep)


def sort_key(all_cells):
    """nova-manage sorts the report by name, or by (cell, table)."""
    if not all_cells:
        return None
    return lambda item: tuple(item[0].split(".", 1)) if "." in item[0] \
        else ("", item[0])


def purge_targets(targets, before, open_db, status, deadline=None,
                  meter=None, jobs=1):
    """Purge each (identity, url); returns the rows deleted in all and
    whether --max-duration stopped it with rows left."""
    if jobs > 1 and len(targets) > 1:
        return _purge_parallel(targets, before, open_db, status, deadline,
                               meter, jobs)
    deleted = 0
    for identity, url in targets:
        db = open_db(url, "database %s" % identity)
        try:
            deleted += purge_shadow_tables(
                db, LiveSchema(db), before,
                lambda msg, identity=identity: status("%s: %s"
                                                      % (identity, msg)),
                deadline, meter)
        except OutOfTime as exc:
            return deleted + exc.done, True
    return deleted, False


def write(text):
    sys.stdout.write(text)
    sys.stdout.flush()


def _purge_parallel(targets, before, open_db, status, deadline, meter, jobs):
    """--jobs: cells purged at the same time; each cell's messages are
    printed together, in cell order, once all are done."""
    from concurrent.futures import ThreadPoolExecutor

    def one(target):
        messages = []
        result = purge_targets([target], before, open_db, messages.append,
                               deadline, meter)
        return result, messages
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = [future.result() for future in
                   [pool.submit(one, target) for target in targets]]
    deleted, out_of_time = 0, False
    for (rows, stopped), messages in results:
        for message in messages:
            status(message)
        deleted += rows
        out_of_time = out_of_time or stopped
    return deleted, out_of_time
