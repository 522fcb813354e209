"""db status: per table of a cell database, what archive and purge would
find, in seconds whatever the table sizes.

A figure is exact when the rows its query visits are few: the table is
small (bounded by both InnoDB's estimate and the id range), or an index
leads with the column counted and the optimizer expects few matching
entries. Otherwise it is an estimate: the table's row count from InnoDB's
statistics (information_schema.tables.table_rows), and the soft-deleted
share and the oldest shadow timestamp from a sample of evenly spread
primary-key ranges. Estimates are marked, never passed off as counts.

What an archive would move from a table is its own rows the archive takes
plus the rows that move with soft-deleted parents in other tables without
being soft-deleted themselves (instance actions and their events,
faults): counted by joining from the parents the archive takes along the
same chains of foreign keys (an index lookup per parent) where the
optimizer expects that join to visit few rows, and otherwise estimated:
the parents taken times the children per parent taken found in the
parent's sample of id ranges.
"""
import collections

# The archive's own WHERE condition and joins: the rows counted are the
# rows it takes, by construction.
from nmtool.archive.batch import archive_qualifier, chain_joins
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

    def __add__(self, other):
        if self.value is None or other.value is None:
            return Figure(None)
        return Figure(self.value + other.value,
                      self.estimated or other.estimated)


class TableStatus:
    """The figures of one table. to_archive is None for a table archive
    never takes rows from (no shadow table); null_stamps (shadow rows
    whose purge timestamp is NULL) is None without a shadow table or
    without a timestamp column."""
    __slots__ = ("table", "live", "deleted", "deleted_before", "shadow",
                 "shadow_rows", "oldest", "oldest_column", "to_archive",
                 "null_stamps")

    def __init__(self, table):
        self.table = table
        self.live = self.deleted = self.deleted_before = Figure(None)
        self.shadow = None
        self.shadow_rows = self.oldest = Figure(None)
        self.oldest_column = None
        self.to_archive = None
        self.null_stamps = None


class _Stats:
    """What the cheap statistics queries say about the whole database."""

    def __init__(self, db, schema, limit):
        self.db = db
        self.schema = schema
        self.limit = limit
        self.table_rows = {name: rows or 0 for name, rows in
                           db.query(sql("db_status.table_rows"))}
        self.leading = set(db.query(sql("db_status.leading_index_columns")))
        # table -> [(rows, soft-deleted, deleted before)] per range of
        # its sample: its figures' where estimated, and the base of the
        # estimates of the children that move with its rows.
        self.samples = {}
        self.id_ranges = {}  # main table -> (lowest, highest id) or None

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


    def expected_rows(self, statement, params=None, joined=False):
        """The optimizer's estimate of the rows (or index entries) an
        EXPLAINed statement visits; joined: a join's, the product of its
        tables' (rows looked up per row of the table before)."""
        cursor = self.db.execute(statement, params)
        names = [d[0].lower() for d in cursor.description]
        rows = [int(r[names.index("rows")] or 0) for r in cursor.fetchall()]
        if not joined:
            return max(rows)
        product = 1
        for count in rows:
            product *= max(count, 1)
        return product

    def main_sample(self, table, id_range, before):
        """The sample of a main table: per range, its rows, soft-deleted
        rows and those deleted before the cut-off (taken once)."""
        if table not in self.samples:
            statement = sql(
                "db_status.main_counts"
                if self.schema.has_column(table, "deleted_at")
                else "db_status.main_counts_no_deleted_at")
            self.samples[table] = [
                tuple(int(v or 0) for v in row) for row in _sampled(
                    self, statement, table, id_range, {"before": before})]
        return self.samples[table]


def _sampled(stats, statement, name, id_range, params, **fields):
    """Run a per-range statement over the sample of table `name` (fields:
    more of the statement's, or others than the defaults); the rows it
    returns."""
    rows = []
    for low, high in stats.sample_ranges(id_range):
        text = statement.format(**dict(dict(
            table=quote(name), id_range=sql("db_status.in_id_range"),
            column=""), **fields))
        rows.append(stats.db.query(text, dict(params, low=low,
                                              high=high))[0])
    return rows


def _main_figures(stats, status, before):
    table, schema = status.table, stats.schema
    has_deleted_at = schema.has_column(table, "deleted_at")
    statement = sql("db_status.main_counts" if has_deleted_at
                    else "db_status.main_counts_no_deleted_at")
    bound, id_range = stats.size_bound(table)
    stats.id_ranges[table] = id_range
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
        expected = stats.expected_rows(sql("db_status.explain_deleted")
                                       .format(table=quote(table)))
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
    sample = stats.main_sample(table, id_range, before)
    seen = sum(row[0] for row in sample)
    if not seen:
        status.live = Figure(total, estimated=True)
        return
    deleted = round(total * sum(row[1] for row in sample) / seen)
    status.deleted = Figure(deleted, estimated=True)
    status.live = Figure(max(total - deleted, 0), estimated=True)
    if has_deleted_at:
        status.deleted_before = Figure(
            round(total * sum(row[2] for row in sample) / seen),
            estimated=True)


def _shadow_figures(stats, status):
    shadow = status.shadow
    column = purge_column(stats.schema, shadow)
    status.oldest_column = column
    if column is None:
        statement = sql("db_status.shadow_count_only")
    else:
        statement = sql("db_status.shadow_counts")
        status.null_stamps = Figure(None)
    fields = {"column": quote(column) if column else ""}
    bound, id_range = stats.size_bound(shadow)
    if bound <= stats.limit:
        rows, oldest, nulls = stats.db.query(statement.format(
            table=quote(shadow), id_range="", **fields))[0]
        status.shadow_rows = Figure(rows)
        status.oldest = Figure(_known(oldest))
        if column is not None:
            status.null_stamps = Figure(int(nulls))
        return
    total = stats.table_rows.get(shadow, 0)
    status.shadow_rows = Figure(total, estimated=True)
    if column is None:
        return
    if (shadow, column) in stats.leading:
        names = dict(table=quote(shadow), **fields)
        status.oldest = Figure(_known(stats.db.scalar(
            sql("db_status.oldest_by_index").format(**names))))
        expected = stats.expected_rows(
            sql("db_status.explain_null_stamps").format(**names))
        if expected <= stats.limit:
            status.null_stamps = Figure(int(stats.db.scalar(
                sql("db_status.null_stamps_by_index").format(**names))))
            return
    if id_range is None:
        return
    sample = _sampled(stats, statement, shadow, id_range, {}, **fields)
    seen = sum(row[0] for row in sample)
    if status.oldest.value is None:
        found = [row[1] for row in sample if row[1] is not None]
        status.oldest = Figure(min(found) if found else None,
                               estimated=True)
    if seen:
        status.null_stamps = Figure(
            round(total * sum(int(row[2] or 0) for row in sample) / seen),
            estimated=True)


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


def database_status(db, before=None, limit=DEFAULT_EXACT_LIMIT,
                    to_archive=True):
    """[TableStatus] of one cell database (to_archive False: without the
    figures of what an archive would move, which purge has no use for)."""
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
    if to_archive:
        _archive_figures(stats, out, before)
    return out


def _archive_figures(stats, statuses, before):
    """Each archivable table's to_archive: the rows the archive takes for
    themselves (as it chooses them: task_log by --before only with
    --task-log) and those that move with parents it takes."""
    schema = stats.schema
    by_table = {status.table: status for status in statuses}
    chains = collections.defaultdict(list)  # child -> [Chain]
    for table in schema.archive_order():
        status = by_table.get(table)
        if status is None:
            continue
        qualifier, params = archive_qualifier(table, before, False)
        own = status.deleted_before if "before" in params else \
            status.deleted
        status.to_archive = own
        for path in schema.child_paths(table):
            chains[path[-1].child].append(
                _Chain(table, own, qualifier, params, path))
    for child, found in chains.items():
        status = by_table.get(child)
        if status is not None and status.to_archive is not None:
            status.to_archive += _moving_children(stats, found, before)


class _Chain(collections.namedtuple(
        "_Chain", "parent own qualifier params path")):
    """One chain of foreign keys from a parent table (whose own figure is
    own) to the child rows that move with the parent rows taken."""

    def fields(self, stats, before, parent_range=False):
        """The fields of archive.count_moving_children for this chain."""
        child = self.path[-1].child
        if not stats.schema.has_column(child, "deleted"):
            stays = "1 = 1"
        else:
            stays = sql("archive.child_not_deleted_before" if before
                        else "archive.child_not_soft_deleted").format(
                            child=len(self.path))
        qualifier = self.qualifier
        if parent_range:
            qualifier = "%s AND %s" % (
                qualifier, sql("db_status.parent_in_id_range"))
        return {"table": quote(self.parent), "joins": chain_joins(self.path),
                "qualifier": qualifier, "child_stays": stays,
                "child": len(self.path)}


def _moving_children(stats, chains, before):
    """The rows of one child table that move with their parents: counted
    where the count visits few rows (few parents taken, few children
    each), each row once however many chains reach it; elsewhere
    estimated from the parent's sample."""
    total = Figure(0)
    exact = []
    for chain in chains:
        own = chain.own
        if own.value == 0 and not own.estimated:
            continue  # no parent taken: nothing to join from
        if own.value is None:
            return Figure(None)
        if not own.estimated and stats.expected_rows(
                sql("db_status.explain_moving_children").format(
                    **chain.fields(stats, before)),
                chain.params, joined=True) <= stats.limit:
            exact.append(chain)
        else:
            total += _sampled_children(stats, chain, before)
    if len(exact) == 1:
        (chain,) = exact
        total += Figure(int(stats.db.scalar(sql(
            "archive.count_moving_children").format(
                **chain.fields(stats, before)), chain.params)))
    elif exact:
        # A row two chains reach (a rule whose two groups are both
        # deleted) moves once: counted once.
        params = {}
        for chain in exact:
            params.update(chain.params)
        union = " UNION ".join(
            sql("db_status.moving_child_ids").format(
                **chain.fields(stats, before)) for chain in exact)
        total += Figure(int(stats.db.scalar(sql(
            "db_status.count_moving_union").format(chains=union), params)))
    return total


def _sampled_children(stats, chain, before):
    """The children of one chain, estimated: the parents the archive
    takes (their figure) times the children each has in the parent's
    sample of id ranges."""
    id_range = stats.id_ranges.get(chain.parent)
    if id_range is None:
        return Figure(None)
    parents = stats.main_sample(chain.parent, id_range, before)
    taken = sum(row[2 if "before" in chain.params else 1]
                for row in parents)
    if not taken:
        # None in the sample: none to estimate from, unless the parent's
        # own figure is itself that sample's (then there are few).
        return Figure(0, estimated=True) if chain.own.estimated \
            else Figure(None)
    children = sum(row[0] for row in _sampled(
        stats, sql("archive.count_moving_children"), chain.parent,
        id_range, chain.params,
        **chain.fields(stats, before, parent_range=True)))
    return Figure(round(chain.own.value * children / taken),
                  estimated=True)


def archive_total(db, before=None):
    """Rows archive will move in one database: the sum of db status's
    "To archive" column (counted, or estimated on big tables)."""
    return sum(status.to_archive.value or 0
               for status in database_status(db, before)
               if status.to_archive is not None)


def shadow_total(db):
    """Rows purge may delete in one database (counted or estimated)."""
    return sum(status.shadow_rows.value or 0
               for status in database_status(db, to_archive=False)
               if status.shadow)
