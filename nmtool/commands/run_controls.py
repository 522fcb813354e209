"""--progress-interval and --stop-file, the options of the long runs
(archive, purge, map_instances, online_data_migrations,
heal_allocations): read into the run's Progress, which the engine asks
between its batches."""
from nmtool.commands import options
from nmtool.errors import UsageError
from nmtool.ui.progress import Progress


def run_meter(ctx, what, unit="rows", draw=True):
    """The run's Progress. A bad value is a UsageError (one line), raised
    before anything connects; the commands whose bad input is exit 127
    print its text and return that."""
    interval = ctx.args.get("--progress-interval")
    if interval is not None:
        interval = options.seconds("--progress-interval", interval)
    stop_file = ctx.args.get("--stop-file")
    if stop_file is not None and not stop_file.strip():
        raise UsageError("argument --stop-file: expected a file path")
    return Progress(what, unit=unit, draw=draw, log_every=interval,
                    stop_file=stop_file)
