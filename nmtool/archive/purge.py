"""Purge: delete shadow-table rows, all of them or those archived before a
date, in chunks of PURGE_CHUNK rows, each chunk its own transaction, so
that no transaction outgrows a chunk and a stopped purge loses nothing.
A signal waits for the chunk in flight, so the rows reported are the rows
deleted; a lost connection stops the purge after the chunks it saw end."""
import collections
import time

import pymysql

from nmtool.archive.batch import CONFLICTS_BEFORE_HALVING, HeldSignals, \
    lost_connection
from nmtool.db.connection import ConflictsPersist, NotPrimary
from nmtool.db.live_schema import quote
from nmtool.db.statements import sql

PURGE_CHUNK = 5000
# Room left in a Galera write set for what is not a purged row.
WRITE_SET_MARGIN = 16


# Shadow tables whose rows are never soft-deleted, so purge --before goes
# by another timestamp (nova-manage's special cases).
PURGE_COLUMN_OVERRIDES = {
    "shadow_instance_actions": "created_at",
    "shadow_instance_actions_events": "created_at",
    "shadow_task_log": "updated_at",
}


def purge_column(schema, table):
    """The timestamp column purge --before compares, or None."""
    if table in PURGE_COLUMN_OVERRIDES:
        return PURGE_COLUMN_OVERRIDES[table]
    for column in ("deleted_at", "updated_at", "created_at"):
        if schema.has_column(table, column):
            return column
    return None


class OutOfTime(Exception):
    """--max-duration passed with rows left; carries what was done."""

    def __init__(self, done):
        super().__init__("out of time after %d rows" % done)
        self.done = done


class Interrupted(OutOfTime):
    """A signal, a lost connection or another cell's stop ended a table's
    purge; cause is the KeyboardInterrupt or ConnectionLost (None for a
    stop asked by another cell)."""

    def __init__(self, done, cause):
        super().__init__(done)
        self.cause = cause


class PurgedTable(collections.namedtuple(
        "PurgedTable", "database table rows column")):
    """Rows deleted from one shadow table. column is the timestamp
    compared with --before, None when every row went (--all)."""


class SkippedTable(collections.namedtuple("SkippedTable",
                                          "database table")):
    """A shadow table --before cannot purge: it has no timestamp column."""


class PurgeResult:
    """What purge did, in the order it did it: PurgedTable and
    SkippedTable entries, whether it stopped with rows left
    (--max-duration, a signal, a lost connection), and cause: the
    KeyboardInterrupt or ConnectionLost that stopped it, if one did."""

    def __init__(self, entries=(), stopped=False):
        self.entries = list(entries)
        self.stopped = stopped
        self.cause = None
        self.retries = 0    # chunks run again after a conflict

    @property
    def purged(self):
        return [e for e in self.entries if isinstance(e, PurgedTable)]

    @property
    def skipped(self):
        return [e for e in self.entries if isinstance(e, SkippedTable)]

    @property
    def total(self):
        return sum(entry.rows for entry in self.purged)

    def add(self, other):
        self.entries += other.entries
        self.stopped = self.stopped or other.stopped
        self.cause = self.cause or other.cause
        self.retries += other.retries


def purge_shadow_tables(db, schema, before, database, deadline=None,
                        meter=None, report=None, stop=None, throttle=None):
    """Delete shadow rows (all, or older than before) of one database;
    returns a PurgeResult whose entries name it `database`.

    report(entry), when given, sees each entry as soon as it is made, so
    a long purge can be followed table by table. With a deadline (a
    time.monotonic() value) it stops after the chunk that passes it, and
    the result says stopped when rows are left; so it does after a
    signal, a lost connection, or stop (a threading.Event) being set.
    throttle (nmtool.db.throttle.Throttle) waits between chunks.
    """
    result = PurgeResult()
    retried = db.retries
    try:
        return _purge_tables(db, schema, before, database, deadline, meter,
                             stop, throttle, result, report)
    finally:
        result.retries = db.retries - retried


def _purge_tables(db, schema, before, database, deadline, meter, stop,
                  throttle, result, report):

    def note(entry):
        result.entries.append(entry)
        if report is not None:
            report(entry)
    chunk = PURGE_CHUNK
    limit = db.write_set_rows()
    if limit is not None:
        # Each chunk is one write set: it must fit Galera's limit.
        chunk = max(1, min(chunk, limit - WRITE_SET_MARGIN))
    for table in schema.purgeable():
        column = None
        if before is not None:
            column = purge_column(schema, table)
            if column is None:
                note(SkippedTable(database, table))
                continue
        try:
            deleted = _purge_table(db, schema, table, column, before, chunk,
                                   deadline, meter, stop, throttle)
        except OutOfTime as exc:
            if exc.done or not isinstance(exc, Interrupted):
                note(PurgedTable(database, table, exc.done, column))
            result.stopped = True
            result.cause = getattr(exc, "cause", None)
            return result
        if deleted > 0:  # nova-manage names only tables it deleted from
            note(PurgedTable(database, table, deleted, column))
    return result


# The range past a table's last id (rows archived into it during the
# purge) runs up to this id: above any id.
BEYOND_LAST_ID = 2 ** 63 - 1
# The widest id range one chunk may scan: a table whose ids are sparse
# (or whose old rows are few, with --before) is crossed in few ranges.
MAX_WIDTH = 2 ** 24


class IdRanges:
    """The id ranges of a table's chunks, first to last.

    A range starts where the previous one ended and is as wide as the
    ids seen so far say a chunk's rows take, so that a chunk is one
    DELETE that starts at its first key (never walking over rows deleted
    before it) and, capped by LIMIT, never holds more than a chunk. A
    range that held more than the cap is deleted again (only its rest is
    left) and the ranges after it are narrower.
    """

    def __init__(self, first, last, chunk):
        self.after = first - 1
        self.last = last
        # Dense ids (the usual shadow table): a chunk's rows.
        self.width = max(1, chunk)
        self.upto = None
        self.rows = 0

    def current(self):
        """(after, upto) of the next chunk."""
        if self.upto is None:
            self.upto = BEYOND_LAST_ID if self.after >= self.last \
                else min(self.after + self.width, self.last)
            self.rows = 0
        return self.after, self.upto

    def done(self, count, cap):
        """A chunk of the current range deleted count rows under LIMIT
        cap; returns whether rows may be left."""
        # An id holds one row at most, so a range of cap ids never holds
        # more than a chunk: ranges only get wider than that where ids
        # are sparse, aiming at nine tenths of a chunk.
        floor = cap
        width = self.upto - self.after
        self.rows += count
        if count >= cap and width > cap:
            self.width = max(floor, self.width // 2)
            return True
        if self.upto == BEYOND_LAST_ID:
            return False
        self.after, self.upto = self.upto, None
        if self.rows:
            wanted = width * 0.9 * cap / self.rows
            self.width = int(max(floor, min(MAX_WIDTH, wanted)))
        return True

    def empty(self):
        """Whether the range just finished held no row (the caller then
        looks up the next id and jumps())."""
        return self.upto is None and self.rows == 0

    def jump(self, next_id):
        """Start the next range at next_id (None: no id after the gap)."""
        if next_id is None or next_id > self.last:
            self.after = self.last
        else:
            self.after = next_id - 1


def _purge_table(db, schema, table, column, before, chunk, deadline=None,
                 meter=None, stop=None, throttle=None):
    which = "all" if column is None else "before"
    names = {"table": quote(table), "column": quote(column or "")}
    params = {"before": before, "chunk": chunk}
    keyed = schema.primary_keys.get(table) == ["id"]
    ranges = None
    delete = sql(("purge.chunk_" if keyed else "purge.unkeyed_") + which) \
        .format(**names)
    next_id = sql("purge.next_id").format(**names)
    deleted = 0
    largest = chunk

    def smaller(retry):
        # A chunk aborted again and again: the next tries are halved,
        # down to one row; each chunk that commits doubles it back.
        if retry % CONFLICTS_BEFORE_HALVING == 0:
            params["chunk"] = max(1, params["chunk"] // 2)

    def one_chunk():
        """(rows deleted, whether rows may be left)."""
        if ranges is not None:
            params["after"], params["upto"] = ranges.current()
        count = db.execute(delete, params).rowcount
        if ranges is None:
            return count, count >= params["chunk"]
        more = ranges.done(count, params["chunk"])
        if more and ranges.empty():
            ranges.jump(db.scalar(next_id, {"after": ranges.after}))
        return count, more
    try:
        if throttle is not None:
            # A replica already too far behind waits before the table's
            # first chunk too, not only between chunks.
            throttle.wait(deadline)
        if keyed:
            first, last = db.query(sql("purge.id_bounds").format(**names))[0]
            if first is None:
                return 0
            ranges = IdRanges(first, last, chunk)
        while True:
            if stop is not None and stop.is_set() or \
                    meter is not None and meter.stop_asked():
                raise Interrupted(deleted, None)
            # A signal waits for the chunk's count: the chunk commits on
            # its own (autocommit), and the report must include it.
            held = HeldSignals()
            held.hold()
            try:
                # A chunk aborted by a conflict (Galera: a replicated
                # write) deleted nothing: it runs again.
                count, more = db.retrying(one_chunk, on_conflict=smaller)
                deleted += count
            finally:
                held.release()
            if meter is not None:
                meter.add(count)
            if not more:
                return deleted
            params["chunk"] = min(largest, params["chunk"] * 2)
            if deadline is not None and time.monotonic() >= deadline:
                raise OutOfTime(deleted)
            if throttle is not None:
                throttle.wait(deadline)
    except (KeyboardInterrupt, pymysql.err.MySQLError, ConflictsPersist,
            NotPrimary) as exc:
        cause = exc if isinstance(exc, KeyboardInterrupt) \
            else lost_connection(exc)
        if cause is None:
            raise
        raise Interrupted(deleted, cause) from exc
