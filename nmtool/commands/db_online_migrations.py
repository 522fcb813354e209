"""db online_data_migrations: nova's online data migrations, batched."""
from nmtool.commands import options
from nmtool.maintenance.online_migrations import Env, count_all, run
from nmtool.ui.output import Output
from nmtool.ui.progress import Progress

USAGE = {
    "online_data_migrations": """\
Usage: nmtool db online_data_migrations [--max-count=<number>] [--dry-run] [--format=<fmt>]

Run the online data migrations of nova 34.0.0 on the main and API
databases and the cells: in batches of 50 until nothing is left, or one
batch of at most --max-count rows. Prints a line per migration that
found rows in a batch, then the totals. Exit 0: nothing left to migrate;
1: --max-count stopped with work left (run again); 2: a migration
failed; 127: bad --max-count.

Options:
  --max-count=<number>  Maximum number of objects to consider.
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
    ctx.conf  # a broken configuration fails here, not in every migration
    env = Env(ctx)
    meter = _meter(env, max_count)

    def say(message):
        meter.clear()
        out.message(message)
    totals, code = run(env, max_count, say, meter=meter)
    meter.close()
    rows = [(name,) + totals[name] for name in sorted(totals)]
    out.table(HEADERS, rows)
    out.document({"migrations": [
        {"migration": name, "total_needed": needed, "completed": done}
        for name, needed, done in rows], "failed": code == 2})
    if code == 2:
        out.message("Some migrations failed unexpectedly. Check log for "
                    "details.")
    return out.emit(code)


def _meter(env, max_count):
    """The live progress line (at a terminal only): rows matched so far
    against the rows every migration will match, counted first. Scripts
    reading a pipe pay for no count."""
    meter = Progress("Migrations")
    if meter.enabled:
        meter.total = count_all(env, max_count)
        meter.started = meter.clock()
    return meter
