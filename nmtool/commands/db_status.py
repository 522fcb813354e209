"""db status: what there is to archive and purge, table by table (nmtool's
own action; nova-manage has none)."""
from nmtool.errors import NmtoolError

USAGE = {
    "status": """\
Usage: nmtool db status [--all-cells] [--before=<date>] [--exact-limit=<rows>]

Print, for every table of the cell database with a deleted column, its
live rows, soft-deleted rows (and with --before those deleted before the
date, what archive_deleted_rows --before would take), the rows of its
shadow table and the oldest of them (by the column db purge --before
compares). Figures are exact where cheap and otherwise estimated from
InnoDB's statistics and a sample of id ranges, marked with ~ (see the
note under the table), so it takes seconds on the largest tables.
Exit 0; 1: a cell database could not be read (--all-cells); 2: bad
--before; 4: no cell list (--all-cells without an API database).

Options:
  --all-cells      One table for every cell mapped in the API database.
  --before=<date>  Also count the soft-deleted rows deleted before this
                   date (read as archive_deleted_rows reads it).
  --exact-limit=<rows>
                   Count exactly where the count visits at most this
                   many rows or index entries; estimate elsewhere
                   [default: 200000].
""",
}

NOTE_ESTIMATE = ("~ estimate: row counts from InnoDB's statistics "
                 "(information_schema.tables; ANALYZE TABLE refreshes them) "
                 "and shares from a sample of id ranges; a ~ timestamp is "
                 "the oldest in that sample.")
NOTE_UNKNOWN = "? not known without reading the whole table."


def status(ctx):
    from nmtool.cells import list_cells
    from nmtool.dates import BadDate, parse_before
    from nmtool.db_status import database_status
    try:
        before = parse_before(ctx.args["--before"])
    except BadDate as exc:
        raise NmtoolError("Invalid value for --before: %s" % exc, 2)
    text = ctx.args["--exact-limit"]
    if not text.isdigit():
        raise NmtoolError("--exact-limit must be a whole number of rows, "
                          "not %r" % text, 2)
    limit = int(text)
    if not ctx.args["--all-cells"]:
        print(render(database_status(ctx.main_db(), before, limit), before))
        return 0
    try:
        cells = list_cells(ctx.api_db(), ctx.conf)
    except NmtoolError:
        raise NmtoolError("Unable to get cell list from API DB. Is it "
                          "configured?", 4)
    failed = False
    for index, cell in enumerate(cells):
        if index:
            print()
        print("Cell %s:" % cell.identity)
        try:
            db = ctx.database(cell.url, "database of cell %s" % cell.uuid)
            print(render(database_status(db, before, limit), before))
        except NmtoolError as exc:
            from nmtool.db.url import mask_password
            print("ERROR: %s" % mask_password(str(exc)))
            failed = True
    return 1 if failed else 0


def render(statuses, before):
    """The table (nmtool.tables, nova-manage's style), then a note for
    each kind of mark used."""
    from nmtool.tables import render as table
    headers = ["Table", "Live rows", "Soft-deleted"]
    if before is not None:
        headers.append("Deleted before %s" % before)
    headers += ["Shadow rows", "Oldest shadow row"]
    rows, shown = [], []
    for s in statuses:
        figures = [s.live, s.deleted]
        if before is not None:
            figures.append(s.deleted_before)
        if s.shadow is not None:
            figures.append(s.shadow_rows)
        row = [s.table] + [f.text() for f in figures]
        if s.shadow is None:
            row += ["-", "-"]
        else:
            row.append(_oldest(s, figures))
        rows.append(row)
        shown += figures
    lines = [table(headers, rows,
                   align="l" + "r" * (len(headers) - 2) + "l")]
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
