"""db status: what there is to archive and purge, table by table (nmtool's
own action; nova-manage has none)."""
from nmtool.archive.status import database_status
from nmtool.cells.mappings import list_cells
from nmtool.commands import options
from nmtool.dates import BadDate, parse_before
from nmtool.db.url import mask_password
from nmtool.errors import NmtoolError
from nmtool.ui.output import Output
from nmtool.ui.tables import render as table

USAGE = {
    "status": """\
Usage: nmtool db status [--all-cells] [--before=<date>] [--exact-limit=<rows>] [--format=<fmt>]

Print, for every table of the cell database with a deleted column, its
live rows, soft-deleted rows (and with --before those deleted before the
date), the rows archive_deleted_rows (with the same --before) would move
from it: its own soft-deleted rows and the rows that move with
soft-deleted parents (an instance's actions and faults), the rows of its
shadow table and the oldest of them (by the column db purge --before
compares). A note under the table names the shadow tables with rows
whose timestamp is NULL: db purge --before never deletes those, only
db purge --all does. Figures are exact where cheap and otherwise
estimated from InnoDB's statistics and a sample of id ranges, marked
with ~ (see the note under the table), so it takes seconds on the
largest tables.
Exit 0; 1: a cell database could not be read (--all-cells); 2: bad
--before; 4: no cell list (--all-cells without an API database).

Options:
  --all-cells      One table for every cell mapped in the API database.
  --before=<date>  Also count the soft-deleted rows deleted before this
                   date, and count what archive_deleted_rows --before
                   would move (the date read as it reads it).
  --exact-limit=<rows>
                   Count exactly where the count visits at most this
                   many rows or index entries; estimate elsewhere
                   [default: 200000].
  --format=<fmt>   table, or json: one JSON document on stdout (messages
                   on stderr) [default: table].
""",
}

NOTE_ESTIMATE = ("~ estimate: row counts from InnoDB's statistics "
                 "(information_schema.tables; ANALYZE TABLE refreshes them) "
                 "and shares from a sample of id ranges; a ~ timestamp is "
                 "the oldest in that sample.")
NOTE_UNKNOWN = "? not known without reading the whole table."
NOTE_NULL_STAMPS = ("! %s: %s rows have no %s; db purge --before never "
                    "deletes them (db purge --all does).")


def status(ctx):
    out = Output(ctx)
    try:
        before = parse_before(ctx.args["--before"])
    except BadDate as exc:
        raise NmtoolError("Invalid value for --before: %s" % exc, 2)
    text = ctx.args["--exact-limit"]
    if not text.isdigit():
        raise NmtoolError("--exact-limit must be a whole number of rows, "
                          "not %r" % text, 2)
    limit = int(text)
    problem = options.too_large("--exact-limit", limit)
    if problem:
        raise NmtoolError(problem, 2)
    if not ctx.args["--all-cells"]:
        statuses = database_status(ctx.main_db(), before, limit)
        out.text(render(statuses, before))
        out.document({"before": before, "databases": [
            {"cell": None, "tables": document(statuses), "error": None}]})
        return out.emit(0)
    try:
        cells = list_cells(ctx.api_db(), ctx.conf)
    except NmtoolError:
        raise NmtoolError("Unable to get cell list from API DB. Is it "
                          "configured?", 4)
    failed = False
    databases = []
    for index, cell in enumerate(cells):
        if index:
            out.text("")
        out.text("Cell %s:" % cell.identity)
        entry = {"cell": cell.identity, "tables": None, "error": None}
        databases.append(entry)
        try:
            db = ctx.database(cell.url, "database of cell %s" % cell.uuid)
            statuses = database_status(db, before, limit)
            out.text(render(statuses, before))
            entry["tables"] = document(statuses)
        except NmtoolError as exc:
            entry["error"] = "ERROR: %s" % mask_password(str(exc))
            out.text(entry["error"])
            failed = True
    out.document({"before": before, "databases": databases})
    return out.emit(1 if failed else 0)


def document(statuses):
    """--format json: each figure as {"value", "estimated"} (value null
    where the table shows ?); to_archive null for tables archive does not
    take rows from; shadow figures null for tables without a shadow table
    (null_timestamp_rows also without a timestamp column)."""
    def figure(f):
        return {"value": f.value, "estimated": f.estimated}
    tables = []
    for s in statuses:
        shadow = s.shadow is not None
        tables.append({
            "table": s.table, "live_rows": figure(s.live),
            "soft_deleted": figure(s.deleted),
            "deleted_before": figure(s.deleted_before),
            "to_archive": figure(s.to_archive)
            if s.to_archive is not None else None,
            "null_timestamp_rows": figure(s.null_stamps)
            if shadow and s.null_stamps is not None else None,
            "shadow_rows": figure(s.shadow_rows) if shadow else None,
            "oldest_shadow_row": figure(s.oldest)
            if shadow and s.oldest_column else None,
            "oldest_column": s.oldest_column if shadow else None})
    return tables


def render(statuses, before):
    """The table (nmtool.ui.tables, nova-manage's style), then a note for
    each kind of mark used."""
    headers = ["Table", "Live rows", "Soft-deleted"]
    if before is not None:
        headers.append("Deleted before %s" % before)
    headers += ["To archive", "Shadow rows", "Oldest shadow row"]
    rows, shown, warnings = [], [], []
    for s in statuses:
        figures = [s.live, s.deleted]
        if before is not None:
            figures.append(s.deleted_before)
        row = [s.table] + [f.text() for f in figures]
        if s.to_archive is None:
            row.append("-")
        else:
            row.append(s.to_archive.text())
            figures.append(s.to_archive)
        if s.shadow is None:
            row += ["-", "-"]
        else:
            row.append(s.shadow_rows.text())
            figures.append(s.shadow_rows)
            row.append(_oldest(s, figures))
            # Warned of when there are some (unknown: no warning).
            if s.null_stamps is not None and s.null_stamps.value:
                warnings.append(NOTE_NULL_STAMPS % (
                    s.shadow, s.null_stamps.text(), s.oldest_column))
                shown.append(s.null_stamps)
        rows.append(row)
        shown += figures
    lines = [table(headers, rows,
                   align="l" + "r" * (len(headers) - 2) + "l")]
    lines += warnings
    if any(f.estimated for f in shown):
        lines.append(NOTE_ESTIMATE)
    if any(f.value is None for f in shown):
        lines.append(NOTE_UNKNOWN)
    return "\n".join(lines)


def _oldest(status, figures):
    """"<timestamp> (<column>)"; empty for an empty shadow table, "-"
    when it has no timestamp column."""
    if status.oldest_column is None:
        return "-"
    if status.shadow_rows.value == 0 and not status.shadow_rows.estimated:
        return ""
    figures.append(status.oldest)
    return "%s (%s)" % (status.oldest.text(), status.oldest_column)
