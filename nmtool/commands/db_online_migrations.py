"""db online_data_migrations: nova's online data migrations, batched."""
from nmtool.commands import options
from nmtool.maintenance.online_migrations import Env, count_all, run
from nmtool.commands.run_controls import run_meter
from nmtool.errors import UsageError
from nmtool.ui.output import Output
from nmtool.ui.progress import say_stopped

USAGE = {
    "online_data_migrations": """\
Usage: nmtool db online_data_migrations [--max-count=<number>] [--progress-interval=<seconds>] [--stop-file=<path>] [--dry-run] [--format=<fmt>]

Run the online data migrations of nova 34.0.0 on the main and API
databases and the cells: in batches of 50 until nothing is left, or one
batch of at most --max-count rows. Prints a line per migration that
found rows in a batch, then the totals. A --stop-file, SIGINT, SIGTERM
and SIGHUP end the run before its next batch (a second signal at once)
with the totals so far. Exit 0: nothing left to migrate; 1: stopped
by --max-count, a --stop-file or a signal with work left (run again); 2:
a migration failed; 127: bad --max-count, --progress-interval or
the --stop-file path.

Options:
  --max-count=<number>  Maximum number of objects to consider.
  --progress-interval=<seconds>
                        When stderr is not a terminal (cron, a pipe): a
                        line on stderr with the rows matched, the rate
                        and the time left, after the batch that passes
                        each such interval.
  --stop-file=<path>    Checked before each batch: once the file exists,
                        stop there (exit 1, run again to continue) (see
                        README: Cron runs).
  --dry-run             Do everything in transactions that are rolled
                        back: same output and exit code as the real
                        run, nothing changed.
  --format=<fmt>        table, or json: one JSON document on stdout
                        (messages on stderr) [default: table].
""",
}

HEADERS = ("Migration", "Total Needed", "Completed")


def online_data_migrations(ctx):
    out = Output(ctx)

    max_count, problem = options.checked_max_count(
        ctx.args["--max-count"], "Must supply a positive value for max_number")
    if problem:
        out.message(problem)
        return 127
    try:
        meter = run_meter(ctx, "Migrations")
    except UsageError as exc:
        out.message(str(exc))
        return 127
    ctx.conf  # a broken configuration fails here, not in every migration
    env = Env(ctx)
    _count(env, max_count, meter)

    def say(message):
        meter.clear()
        out.message(message)
    try:
        with meter.catch_signals():
            totals, code = run(env, max_count, say, meter=meter)
    finally:
        meter.close()
    rows = [(name,) + totals[name] for name in sorted(totals)]
    if meter.stopped:
        say_stopped(meter.stop_cause, "%d rows migrated"
                    % sum(done for _, _, done in rows))
    out.table(HEADERS, rows)
    out.document({"migrations": [
        {"migration": name, "total_needed": needed, "completed": done}
        for name, needed, done in rows], "failed": code == 2})
    if code == 2:
        out.message("Some migrations failed unexpectedly. Check log for "
                    "details.")
    return out.emit(code)


def _count(env, max_count, meter):
    """The progress line's total (at a terminal, or with
    --progress-interval): the rows every migration will match, counted
    first. Scripts reading a pipe without the option pay for no count."""
    if meter.wants_total:
        meter.total = count_all(env, max_count)
        meter.restart()
