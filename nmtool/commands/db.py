"""db: schema version and sync of the main (cell) database."""
import logging

from nmtool.cells.mappings import get_cell, list_cells
from nmtool.commands.run_controls import run_meter
from nmtool.context import CELL0_UUID
from nmtool.db import migrate

LOG = logging.getLogger(__name__)

USAGE = {
    "sync": """\
Usage: nmtool db sync [--local_cell] [VERSION]

Upgrade the main database schema to the most recent version, or to
VERSION (an alembic revision id or a unique prefix of one). Without
the --local_cell option, cell0's database is upgraded first when cell0
is mapped in the API database. Exit 1 when cell0 cannot be reached.

Options:
  --local_cell  Only sync db in the local cell: do not attempt to fan-out
                to all cells.
""",
    "archive_deleted_rows": """\
Usage: nmtool db archive_deleted_rows [--max_rows=<rows>] [--verbose] [--until-complete] [--before=<date>] [--purge] [--all-cells] [--task-log] [--sleep=<seconds>] [--max-duration=<seconds>] [--jobs=<n>] [--progress-interval=<seconds>] [--stop-file=<path>] [--max-flow-ctl=<percent>] [--max-lag=<seconds>] [--check-replica=<url>...] [--dry-run] [--format=<fmt>]

Move soft-deleted rows (and the rows that point at them) from the main
tables into their shadow tables, and delete the API database rows of the
archived instances. Exit 0: nothing archived; 1: some rows archived, or
stopped by --max-duration, --stop-file, a signal or a lost connection
(run again until 0, or use --until-complete); 2: bad --max_rows (or
another option); 3: no API database, or a --check-replica that cannot
be reached; 4: bad --before. Conflicts (Galera) are retried; a run
whose batch is still refused after five minutes stops as after a lost
connection (exit 1).

Options:
  --max_rows=<rows>   Budget of rows to archive, counting a parent and
                      one per child table moved with it [default: 1000].
  --verbose           Print how many rows were archived per table.
  --until-complete    Repeat in batches of --max_rows until nothing is
                      left.
  --before=<date>     Only rows deleted before this date (anything
                      python-dateutil reads, e.g. the output of date).
  --purge             Purge all shadow tables after archiving something.
  --all-cells         Archive every cell mapped in the API database.
  --task-log          Also archive task_log rows (by updated_at with
                      --before).
  --sleep=<seconds>   Pause between batches of --until-complete
                      [default: 0].
  --max-duration=<seconds>
                      With --until-complete, stop after the batch that
                      passes this many seconds (exit 1: more is left).
  --jobs=<n>          With --all-cells and --until-complete, archive
                      this many cells at a time, each on its own
                      connections [default: 1].
  --progress-interval=<seconds>
                      When stderr is not a terminal (cron, a pipe): a
                      line on stderr with the rows archived, the rate
                      and the time left, after the batch that passes
                      each such interval (at a terminal the live line
                      is drawn instead).
  --stop-file=<path>  Checked before each batch: once the file exists,
                      stop there (exit 1, run again to continue), as for
                      a --max-duration (see README: Cron runs).
  --max-flow-ctl=<percent>
                      Between batches, pause while this Galera cluster
                      spent more than this percentage of the recent
                      interval paused by flow control (a no-op, noted
                      with --verbose, without Galera).
  --max-lag=<seconds>
                      Between batches, pause while a --check-replica
                      is more than this many seconds behind (or not
                      replicating).
  --check-replica=<url>
                      An asynchronous replica (database URL) that
                      the lag limit applies to; repeatable (see
                      README: On Galera).
  --dry-run           Do everything in transactions that are rolled
                      back: same output and exit code as the real run,
                      nothing changed (see README: Dry runs).
  --format=<fmt>      table, or json: one JSON document on stdout with
                      the counts, messages on stderr [default: table].
""",
    "purge": """\
Usage: nmtool db purge [--all] [--before=<date>] [--verbose] [--all-cells] [--max-duration=<seconds>] [--jobs=<n>] [--progress-interval=<seconds>] [--stop-file=<path>] [--max-flow-ctl=<percent>] [--max-lag=<seconds>] [--check-replica=<url>...] [--dry-run] [--format=<fmt>]

Delete rows from the shadow tables: all of them, or those archived before
a date (by deleted_at, or the timestamp nova-manage uses for the tables
that have none). Exit 0: rows deleted; 1: neither --all nor --before;
2: bad --before (or another option); 3: nothing purged; 4: cell list
unavailable, or a --check-replica unreachable; 5: stopped with rows
left to purge (--max-duration, a --stop-file, a signal, a lost
connection).

Options:
  --all            Purge all rows in the shadow tables.
  --before=<date>  Purge rows archived before this date.
  --verbose        Print what was purged, table by table.
  --all-cells      Purge every cell mapped in the API database.
  --max-duration=<seconds>
                   Stop after the chunk that passes this many seconds.
  --jobs=<n>       With --all-cells, purge this many cells at a time
                   [default: 1].
  --progress-interval=<seconds>
                   When stderr is not a terminal (cron, a pipe): a line
                   on stderr with the rows purged, the rate and the time
                   left, after the chunk that passes each such interval.
  --stop-file=<path>
                   Checked before each chunk: once the file exists, stop
                   there (exit 5) (see README: Cron runs).
  --max-flow-ctl=<percent>
                   Between chunks, pause while this Galera cluster spent
                   more than this percentage of the recent interval
                   paused by flow control (a no-op without Galera).
  --max-lag=<seconds>
                   Between chunks, pause while a --check-replica is more
                   than this many seconds behind (or not replicating).
  --check-replica=<url>
                   An asynchronous replica (database URL) for --max-lag;
                   repeatable (see README: On Galera).
  --dry-run        Do everything in transactions that are rolled
                   back: same output and exit code as the real run,
                   nothing changed (see README: Dry runs).
  --format=<fmt>   table, or json: one JSON document on stdout with the
                   counts, messages on stderr [default: table].
""",
    "version": """\
Usage: nmtool db version

Print the current main database version (its alembic revision).
""",
}

CELL0_ERROR = """\
ERROR: Could not access cell0.
Has the nova_api database been created?
Has the nova_cell0 database been created?
Has "nova-manage api_db sync" been run?
Has "nova-manage cell_v2 map_cell0" been run?
Is [api_database]/connection set in nova.conf?
Is the cell0 database connection URL correct?
Error: %s"""


def sync(ctx):
    target = ctx.args["VERSION"]
    if not ctx.args["--local_cell"]:
        try:
            cell0 = get_cell(ctx.api_db(), ctx.conf, CELL0_UUID)
            if cell0 is None:
                print("WARNING: cell0 mapping not found - not syncing cell0.")
            else:
                migrate.upgrade(ctx.database(cell0.url, "cell0 database"),
                                "main", target)
        except Exception as exc:  # any failure here means cell0 is unusable
            LOG.debug("cell0 sync failed", exc_info=True)
            print(CELL0_ERROR % _one_line(exc))
            return 1
    migrate.upgrade(ctx.main_db(), "main", target)
    return 0


def version(ctx):
    print(migrate.current_revision(ctx.main_db()))
    return 0


def _one_line(exc):
    from nmtool.db.url import mask_password
    text = str(exc).strip().splitlines()
    return mask_password(text[0] if text else type(exc).__name__)


# -- archive and purge ------------------------------------------------------

MAX_INT = 0x7FFFFFFF
API_DB_MISSING = (
    "Failed to connect to API DB so aborting this archival attempt. Please "
    "check your config file to make sure that [api_database]/connection is "
    "set and run this command again.")


def _int_option(ctx, name):
    """An integer option, checked before anything connects. --max_rows is
    only parsed here: its range gets nova-manage's own messages below."""
    from nmtool.commands import options
    from nmtool.errors import UsageError
    value = ctx.args[name]
    if name == "--sleep":
        # nova-manage takes any int and fails in time.sleep() once a
        # batch has been committed.
        return options.integer(name, value, minimum=0)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise UsageError("argument %s: invalid int value: %r" % (name, value))


def archive_deleted_rows(ctx):
    from nmtool.archive.batch import lost_connection
    from nmtool.archive.run import ArchiveOptions, ArchiveRun, report_order
    from nmtool.dates import BadDate, parse_before
    from nmtool.errors import NmtoolError
    from nmtool.ui.output import Output
    out = Output(ctx)

    max_rows = _int_option(ctx, "--max_rows")
    sleep = _int_option(ctx, "--sleep")
    deadline = _deadline(ctx)
    jobs = _jobs(ctx)
    limits = _throttle_limits(ctx)
    meter = run_meter(ctx, "Archived",
                      draw=bool(ctx.args["--until-complete"]))
    if max_rows <= 0:
        out.message("Must supply a positive value for max_rows")
        return 2
    if max_rows > MAX_INT:
        out.message("max rows must be <= %d" % MAX_INT)
        return 2
    # Like nova-manage, the cell list is read even for a single database:
    # archiving instances needs the API database for their mappings.
    if not ctx.conf.api_database_connection:
        out.message(API_DB_MISSING)
        return 3
    try:
        api = ctx.api_db()
        cells = list_cells(api, ctx.conf)
    except NmtoolError as exc:
        out.message("%s (%s)" % (API_DB_MISSING, _one_line(exc)))
        return 3
    except Exception as exc:
        # Lost once connected: as any lost connection of the run.
        lost = lost_connection(exc, "API database")
        if lost is None:
            raise
        _stopped_line(lost, None, "0 rows archived in committed batches")
        out.document({"archived": [], "total": 0, "stopped": True,
                      "retries": api.retries, "purge": None})
        return out.emit(1)
    try:
        before = parse_before(ctx.args["--before"])
    except BadDate as exc:
        out.message("Invalid value for --before: %s" % exc)
        return 4

    all_cells = ctx.args["--all-cells"]
    verbose = ctx.args["--verbose"]
    until_complete = ctx.args["--until-complete"]
    targets = [(cell.name, cell.url, cell.uuid) for cell in cells] \
        if all_cells else [(None, ctx.conf.database_connection,
                            _cell_of(cells, ctx.conf.database_connection))]
    _archive_total(ctx, meter, targets, before)
    dots = until_complete and verbose

    def dot():
        if meter is not None:
            meter.clear()
        out.write(".")
    if dots:
        out.write("Archiving..")
    options = ArchiveOptions(max_rows, before, ctx.args["--task-log"],
                             until_complete, sleep, deadline, jobs)
    throttle = _throttle(ctx, limits, [target[1] for target in targets],
                         verbose, 3)
    run = ArchiveRun(ctx.database, api, options,
                     progress=dot if dots else None, meter=meter,
                     throttle=throttle)
    counts = run.run(targets)
    meter.close()
    if dots:
        out.message("." + ("stopped" if run.interrupted else "complete"))
    # A signal or a lost connection: one line says so, and the report of
    # the committed batches follows even without --verbose.
    cut_short = run.failure or run.signal
    if cut_short:
        _stopped_line(run.failure, run.signal, "%d rows archived in "
                      "committed batches" % sum(counts.values()))
    elif meter.stopped:
        # --stop-file: reported as --max-duration, one line says why.
        _stopped_line(None, meter.stop_cause, "%d rows archived" %
                      sum(counts.values()))
    if verbose:
        _run_notes(run.retries, throttle, run.smallest_batch)
    rows = report_order(counts, all_cells)
    if verbose or (cut_short and counts):
        if counts:
            out.text(_table(["Table", "Number of Rows Archived"],
                            [(key.label, count) for key, count in rows]))
        else:
            out.message("Nothing was archived.")
    purged = None
    if counts and ctx.args["--purge"] and not cut_short and \
            not meter.stopped:
        if verbose:
            out.message("Rows were archived, running purge...")
        _, purged = _purge(ctx, None, verbose, all_cells, out=out)
    out.document({
        "archived": [{"database": key.database, "table": key.table,
                      "rows": count} for key, count in rows],
        "total": sum(counts.values()), "stopped": run.interrupted,
        "retries": run.retries, "purge": purged})
    # Cut short, there is more to do whatever was archived.
    return out.emit(1 if cut_short or meter.stopped
                    else int(bool(counts)))


def _cell_of(cells, url):
    """The uuid of the mapped cell whose database url reaches (for the
    sweep of API rows an earlier run left), or None."""
    from nmtool.db.url import parse_db_url
    from nmtool.errors import NmtoolError
    try:
        key = parse_db_url(url).identity()
    except (NmtoolError, ValueError):
        return None
    for cell in cells:
        try:
            if cell.url and parse_db_url(cell.url).identity() == key:
                return cell.uuid
        except (NmtoolError, ValueError):
            continue
    return None


def _stopped_line(failure, signal, done):
    """The one line on stderr of a command stopped before its end."""
    import sys
    from nmtool.db.url import mask_password
    if failure is not None:
        text = "ERROR: %s; stopped after %s, run again to continue" % (
            failure, done)
    else:
        text = "Stopped by %s after %s, run again to continue" % (
            signal, done)
    print(mask_password(text), file=sys.stderr, flush=True)


def _archive_total(ctx, meter, targets, before):
    """The progress line's total: the rows to move, counted first when a
    line will show it (at a terminal with --until-complete, or
    --progress-interval)."""
    from nmtool.archive.status import archive_total
    if meter.wants_total:
        meter.total = sum(archive_total(ctx.database(target[1],
                                                     "database"), before)
                          for target in targets)
        meter.restart()


def _purge_meter(ctx, targets, meter):
    from nmtool.archive.status import shadow_total
    meter = meter or run_meter(ctx, "Purged")
    if meter.wants_total:
        meter.total = sum(shadow_total(ctx.database(url, "database"))
                          for _, url in targets)
        meter.restart()
    return meter


def _jobs(ctx):
    """--jobs as a positive int; a dry run works on one session per
    database, so it goes one cell at a time."""
    from nmtool.commands.options import jobs as positive_jobs
    jobs = positive_jobs(ctx.args["--jobs"])
    return 1 if ctx.dry_run else jobs


def _deadline(ctx):
    """--max-duration as a time.monotonic() value (or None)."""
    import time

    from nmtool.commands import options
    if ctx.args.get("--max-duration") is None:
        return None
    return time.monotonic() + options.seconds(
        "--max-duration", ctx.args["--max-duration"])


class ThrottleLimits:
    """--max-flow-ctl, --max-lag and --check-replica, checked before
    anything connects."""

    def __init__(self, flow_control, lag, replicas):
        self.flow_control = flow_control    # percent, or None
        self.lag = lag                      # seconds, or None
        self.replicas = replicas            # URLs

    def __bool__(self):
        return self.flow_control is not None or self.lag is not None


def _throttle_limits(ctx):
    from nmtool.commands import options
    from nmtool.errors import UsageError
    percent = ctx.args.get("--max-flow-ctl")
    if percent is not None:
        try:
            percent = float(percent)
        except ValueError:
            raise UsageError("argument --max-flow-ctl: invalid float "
                             "value: %r" % percent)
        if not 0 < percent < 100:  # nan too
            raise UsageError("argument --max-flow-ctl: must be a "
                             "percentage above 0 and below 100")
    lag = ctx.args.get("--max-lag")
    if lag is not None:
        lag = options.seconds("--max-lag", lag)
    replicas = ctx.args.get("--check-replica") or []
    if replicas and lag is None:
        raise UsageError("argument --check-replica: needs --max-lag")
    if lag is not None and not replicas:
        raise UsageError("argument --max-lag: needs --check-replica")
    return ThrottleLimits(percent, lag, list(replicas))


def _throttle(ctx, limits, urls, verbose, unreachable):
    """The Throttle of a run (None without --max-flow-ctl or --max-lag):
    flow control read on the databases it writes, each replica
    connected now. A replica that cannot be reached ends the command
    with exit code `unreachable` (its "cannot connect" code)."""
    from nmtool.db.throttle import FlowControl, ReplicaLag, Throttle
    from nmtool.db.url import parse_db_url
    from nmtool.errors import DatabaseError, NmtoolError
    if not limits:
        return None
    flow = None
    if limits.flow_control is not None:
        seen, nodes = set(), []
        for url in urls:
            key = parse_db_url(url).identity()
            if key not in seen:
                seen.add(key)
                nodes.append(FlowControl(ctx.database(url, "database"),
                                         limits.flow_control))
        flow = _FlowControls([node for node in nodes if node.enabled])
        if not flow.nodes:
            flow = None
            if verbose:
                _note("--max-flow-ctl: not a Galera cluster node, nothing "
                      "to wait for")
    lag = None
    if limits.lag is not None:
        replicas = []
        for url in limits.replicas:
            try:
                replicas.append(ctx.database(url, "replica"))
            except DatabaseError as exc:
                raise NmtoolError(str(exc), exit_code=unreachable)
        try:
            # Reads each replica's status now: an account that may not
            # read it is as a replica that cannot be reached.
            lag = ReplicaLag(replicas, limits.lag)
        except DatabaseError as exc:
            raise NmtoolError(str(exc), exit_code=unreachable)
    return Throttle(flow, lag, note=_note if verbose else None)


class _FlowControls:
    """Flow control over several databases (--all-cells): the busiest."""

    def __init__(self, nodes):
        self.nodes = nodes
        self.percent = nodes[0].percent if nodes else None
        self.enabled = bool(nodes)

    def busy(self):
        shares = [share for share in (node.busy() for node in self.nodes)
                  if share is not None]
        return max(shares) if shares else None


def _note(text):
    """A --verbose line on stderr, out of the way of the report."""
    import sys
    from nmtool.db.url import mask_password
    print(mask_password(text), file=sys.stderr, flush=True)


def _run_notes(retries, throttle, smallest=None):
    """--verbose: the conflicts retried and the pauses of a run."""
    if retries:
        _note("%d conflict%s retried%s" % (
            retries, "" if retries == 1 else "s",
            "" if smallest is None else
            " (batches halved down to %d rows)" % smallest))
    summary = throttle.summary() if throttle is not None else None
    if summary:
        _note(summary)


def purge(ctx):
    from nmtool.dates import BadDate, parse_before
    from nmtool.ui.output import Output
    out = Output(ctx)
    deadline = _deadline(ctx)
    _jobs(ctx)  # a bad --jobs is refused before anything runs
    _throttle_limits(ctx)
    meter = run_meter(ctx, "Purged")
    text = ctx.args["--before"]
    if text is None and not ctx.args["--all"]:
        out.message("Either --before or --all is required")
        return 1
    try:
        before = parse_before(text)
    except BadDate as exc:
        out.message("Invalid value for --before: %s" % exc)
        return 2
    code, document = _purge(ctx, before, ctx.args["--verbose"],
                            ctx.args["--all-cells"], deadline, out, meter)
    out.document(document)
    return out.emit(code)


def _purge(ctx, before, verbose, all_cells, deadline=None, out=None,
           meter=None):
    """Returns the exit code and the --format json document (None when
    there is no cell list)."""
    from nmtool.archive.batch import lost_connection
    from nmtool.archive.run import purge_targets
    from nmtool.errors import NmtoolError
    if all_cells:
        try:
            cells = list_cells(ctx.api_db(), ctx.conf)
        except NmtoolError:
            out.message("Unable to get cell list from API DB. Is it "
                        "configured?")
            return 4, None
        targets = [("Cell %s" % cell.identity, cell.url) for cell in cells]
    elif not ctx.conf.database_connection:
        raise NmtoolError("[database]/connection is not set in the "
                          "configuration")
    else:
        targets = [("DB", ctx.conf.database_connection)]
    meter = _purge_meter(ctx, targets, meter)

    def show(entry):
        meter.clear()
        out.message(_purge_line(entry))
    throttle = _throttle(ctx, _throttle_limits(ctx),
                         [url for _, url in targets], verbose, 4)
    result = purge_targets(targets, before, ctx.database, deadline, meter,
                           _jobs(ctx), show if verbose else None,
                           throttle=throttle)
    meter.close()
    if result.cause is not None:
        # A signal or a lost connection: one line, then what was purged.
        failure = lost_connection(result.cause)
        signal = None if failure else (result.cause.args or ("SIGINT",))[0]
        _stopped_line(failure, signal, "%d rows purged" % result.total)
        if not verbose and not out.json:
            for entry in result.entries:
                show(entry)
    elif meter.stopped:
        # --stop-file: reported as --max-duration, one line says why.
        _stopped_line(None, meter.stop_cause, "%d rows purged"
                      % result.total)
    document = {
        "purged": [{"database": e.database, "table": e.table,
                    "rows": e.rows, "column": e.column}
                   for e in result.purged],
        "skipped_tables": [{"database": e.database, "table": e.table}
                           for e in result.skipped],
        "total": result.total, "stopped": result.stopped,
        "retries": result.retries}
    if verbose:
        _run_notes(result.retries, throttle)
    if result.stopped:
        return 5, document
    return (0 if result.total else 3), document


def _purge_line(entry):
    """The --verbose line nova-manage prints for a purge entry."""
    from nmtool.archive.purge import SkippedTable
    if isinstance(entry, SkippedTable):
        return ("%s: Unable to purge table %s because it has no timestamp "
                "column" % (entry.database, entry.table))
    return ("%s: Deleted %i rows from %s based on timestamp column %s"
            % (entry.database, entry.rows, entry.table,
               entry.column or "(n/a)"))


def _table(headers, rows):
    from nmtool.ui.tables import render
    return render(headers, rows, align="l")
