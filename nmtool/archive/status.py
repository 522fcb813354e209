"""db status: per table of a cell database, what archive and purge would
find, in seconds whatever the table sizes.

A figure is exact when the rows its query visits are few: the table is
small (bounded by both InnoDB's estimate and the id range), or an index
leads with the column counted and the optimizer expects few matching
entries. Otherwise it is an estimate: the table's row count from InnoDB's
statistics (information_schema.tables.table_rows), and the soft-deleted
share and the oldest shadow timestamp from a sample of evenly spread
primary-key ranges. Estimates are marked, never passed off as counts.
"""
from nmtool.archive.batch import moving_children
from nmtool.archive.purge import purge_column
from nmtool.db.live_schema import REMOVED_TABLES, SHADOW_PREFIX, \
    VERSION_TABLE, LiveSchema, quote
from nmtool.db.statements import sql

# Visiting up to this many rows (or index entries) per figure is cheap.
DEFAULT_EXACT_LIMIT = 200000
SAMPLE_RANGES = 16
SAMPLE_IDS = 4096  # ids per sample range


class Figure:
    """A number (or timestamp) and whether it is an estimate; value None
    means unknown."""
    __slots__ = ("value", "estimated")

    def __init__(self, value, estimated=False):
        self.value = value
        self.estimated = estimated and value is not None

    def text(self):
        if self.value is None:
            return "?"
        return ("~" if self.estimated else "") + str(self.value)


class TableStatus:
    __slots__ = ("table", "live", "deleted", "deleted_before", "shadow",
                 "shadow_rows", "oldest", "oldest_column")

    def __init__(self, table):
        self.table = table
        self.live = self.deleted = self.deleted_before = Figure(None)
        self.shadow = None
        self.shadow_rows = self.oldest = Figure(None)
        self.oldest_column = None


class _Stats:
    """What the cheap statistics queries say about the whole database."""

    def __init__(self, db, schema, limit):
        self.db = db
        self.schema = schema
        self.limit = limit
        self.table_rows = {name: rows or 0 for name, rows in
                           db.query(sql("db_status.table_rows"))}
        self.leading = set(db.query(sql("db_status.leading_index_columns")))

    def has_id(self, table):
        return self.schema.primary_keys.get(table) == ["id"]

    def size_bound(self, table):
        """An upper bound of the rows (estimate and id span agree on
        small), and the id range."""
        estimate = self.table_rows.get(table, 0)
        if not self.has_id(table):
            return estimate, None
        low, high = self.db.query(sql("db_status.id_range").format(
            table=quote(table)))[0]
        if low is None:
            return estimate, None
        return max(estimate, high - low + 1), (low, high)

    def sample_ranges(self, id_range):
        low, high = id_range
        span = high - low + 1
        step = span / SAMPLE_RANGES
        width = max(1, min(SAMPLE_IDS, int(step)))
        return [(low + int(step * i), low + int(step * i) + width)
                for i in range(SAMPLE_RANGES)]


def _sampled(stats, statement, table, id_range, params):
    """Run a per-range statement over the sample; the rows it returns."""
    rows = []
    for low, high in stats.sample_ranges(id_range):
        text = statement.format(table=quote(table),
                                id_range=sql("db_status.in_id_range"),
                                column="")
        rows.append(stats.db.query(text, dict(params, low=low,
                                              high=high))[0])
    return rows


def _main_figures(stats, status, before):
    table, schema = status.table, stats.schema
    has_deleted_at = schema.has_column(table, "deleted_at")
    statement = sql("db_status.main_counts" if has_deleted_at
                    else "db_status.main_counts_no_deleted_at")
    bound, id_range = stats.size_bound(table)
    params = {"before": before}
    if bound <= stats.limit:
        total, deleted, older = stats.db.query(
            statement.format(table=quote(table), id_range=""), params)[0]
        # SUM() comes back as a Decimal, which --format json writes as
        # a string.
        status.live = Figure(int(total - deleted))
        status.deleted = Figure(int(deleted))
        status.deleted_before = Figure(None if older is None else int(older))
        return
    total = stats.table_rows.get(table, 0)
    if (table, "deleted") in stats.leading and has_deleted_at:
        cursor = stats.db.execute(sql("db_status.explain_deleted").format(
            table=quote(table)))
        names = [d[0].lower() for d in cursor.description]
        expected = max(int(r[names.index("rows")] or 0)
                       for r in cursor.fetchall())
        if expected <= stats.limit:
            deleted, older = stats.db.query(
                sql("db_status.deleted_by_index").format(table=quote(table)),
                params)[0]
            status.deleted = Figure(int(deleted))
            status.deleted_before = Figure(int(older))
            status.live = Figure(max(int(total - deleted), 0),
                                 estimated=True)
            return
    if id_range is None:
        status.live = Figure(total, estimated=True)
        return
    sample = _sampled(stats, statement, table, id_range, params)
    seen = sum(row[0] for row in sample)
    if not seen:
        status.live = Figure(total, estimated=True)
        return
    deleted = round(total * sum(row[1] for row in sample) / seen)
    status.deleted = Figure(deleted, estimated=True)
    status.live = Figure(max(total - deleted, 0), estimated=True)
    if has_deleted_at:
        status.deleted_before = Figure(
            round(total * sum(row[2] or 0 for row in sample) / seen),
            estimated=True)


def _shadow_figures(stats, status):
    shadow = status.shadow
    column = purge_column(stats.schema, shadow)
    status.oldest_column = column
    if column is None:
        statement = sql("db_status.shadow_count_only")
    else:
        statement = sql("db_status.shadow_counts")
    text = statement.format(table=quote(shadow), id_range="",
                            column=quote(column) if column else "")
    bound, id_range = stats.size_bound(shadow)
    if bound <= stats.limit:
        rows, oldest = stats.db.query(text)[0]
        status.shadow_rows = Figure(rows)
        status.oldest = Figure(_known(oldest))
        return
    status.shadow_rows = Figure(stats.table_rows.get(shadow, 0),
                                estimated=True)
    if column is None:
        return
    if (shadow, column) in stats.leading:
        status.oldest = Figure(_known(stats.db.scalar(
            sql("db_status.oldest_by_index").format(
                table=quote(shadow), column=quote(column)))))
    elif id_range is not None:
        ranged = statement.replace("{column}", quote(column))
        found = [row[1] for row in _sampled(stats, ranged, shadow, id_range,
                                            {}) if row[1] is not None]
        status.oldest = Figure(min(found) if found else None, estimated=True)


def _known(oldest):
    """An exact MIN() of NULL over rows: none has the timestamp (so purge
    --before never takes them), which is worth saying as such."""
    return "NULL" if oldest is None else oldest


def status_tables(schema):
    """The main tables archive cares about: those with a deleted column
    (nova 34.0.0's; the tables it dropped the models of are left out)."""
    return sorted(t for t in schema.tables
                  if not t.startswith(SHADOW_PREFIX)
                  and t != VERSION_TABLE and t not in REMOVED_TABLES
                  and schema.has_column(t, "deleted"))


def database_status(db, before=None, limit=DEFAULT_EXACT_LIMIT):
    """[TableStatus] of one cell database."""
    schema = LiveSchema(db)
    stats = _Stats(db, schema, limit)
    out = []
    for table in status_tables(schema):
        status = TableStatus(table)
        _main_figures(stats, status, before)
        if schema.has_shadow(table):
            status.shadow = SHADOW_PREFIX + table
            _shadow_figures(stats, status)
        out.append(status)
    return out


def archive_total(db, before=None):
    """Rows archive will move in one database: the soft-deleted rows,
    counted (or estimated on big tables) the way db status counts them,
    and the children that move with soft-deleted parents without being
    soft-deleted themselves (instance actions and their events, faults)."""
    deleted = sum((status.deleted_before if before else status.deleted).value
                  or 0 for status in database_status(db, before))
    return deleted + moving_children(db, LiveSchema(db), before)


def shadow_total(db):
    """Rows purge may delete in one database (counted or estimated)."""
    return sum(status.shadow_rows.value or 0
               for status in database_status(db) if status.shadow)
