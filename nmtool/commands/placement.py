"""placement: heal, mirror and audit what nova has in the Placement service.

The commands read the API and cell databases with named SQL and talk to
Placement (and Neutron) over HTTP with the [placement] and [neutron]
groups of nova.conf, as nova-manage does. The work lives in the engine
modules (nmtool.placement.heal, .aggregates and .audit); this module
parses, prints and returns codes.
The engines record what they find on result objects (an outcome per
instance, the aggregates added, the orphaned allocations), and the lines
nova-manage prints and the --format json documents are both made from
those.

Service failures: a service that cannot be reached, or refuses the
credentials, when the command starts is a one-line error and exit 255
(nova-manage fails there too, with a traceback). Later failures end with
the command's documented code: sync_aggregates 2, audit 1,
heal_allocations 3 (Placement) or 5/6 (Neutron).
"""
import sys

from nmtool.cells.mappings import Cell, get_cell, list_cells
from nmtool.clients.http import ServiceError
from nmtool.clients.neutron import NeutronClient
from nmtool.clients.placement import PlacementClient
from nmtool.commands import options
from nmtool.context import CELL0_UUID
from nmtool.db.url import format_cell_url, mask_password
from nmtool.errors import NmtoolError, UsageError
from nmtool.placement import aggregates, audit as orphan_audit, heal
from nmtool.placement.heal import count_candidates, instance_cell_uuid
from nmtool.ui.output import Output
from nmtool.commands.run_controls import run_meter
from nmtool.ui.progress import say_stopped

USAGE = {
    "heal_allocations": """\
Usage: nmtool placement heal_allocations [--max-count=<max_count>] [--verbose] [--skip-port-allocations] [--dry-run] [--instance=<instance_uuid>] [--cell=<cell_uuid>] [--force] [--jobs=<n>] [--readers=<n>] [--progress-interval=<seconds>] [--stop-file=<path>] [--format=<fmt>]

Iterates over non-cell0 cells looking for instances which do not have
allocations in the Placement service, or have incomplete consumer
project_id/user_id values in existing allocations, or miss allocations for
ports having a resource request, and which are not undergoing a task state
transition. For each instance found, allocations are created (or updated)
against the compute node resource provider of the instance, from the
flavor of the instance. Requires the [api_database] and [placement]
sections (and [neutron] unless --skip-port-allocations).

Unlike nova-manage, runs with --max-count resume where the previous such
run stopped (exit 1): the position is kept in the API database, one per
scope (all cells, or each --cell), and dropped when a run reaches the end,
so repeating the command until it exits 0 or 4 looks at every instance
once. Runs without --max-count, and --instance, start from the beginning
and leave the position alone.

At a terminal, a progress line on stderr counts the instances looked at
(against the candidates counted in each cell at the start); when stderr
is not a terminal, a line every --progress-interval seconds instead.
A --stop-file, SIGINT, SIGTERM and SIGHUP end the run before its next
page of instances (a second signal at once), as --max-count does: exit
1, the position kept for a --max-count run.

Exit 0: allocations were created or updated; 1: --max-count was reached,
or --stop-file or a signal stopped the run (run again); 2: no compute node record for an instance; 3: allocations
could not be created or updated; 4: nothing needed healing; 5: ports could
not be queried from Neutron; 6: ports could not be updated in Neutron
(updates rolled back); 7: port updates could not be rolled back (fix the
binding:profile allocation key of the listed ports by hand); 8: an
instance with a vGPU or Cyborg device profile request; 127: invalid input.

Options:
  --max-count=<max_count>      Maximum number of instances to heal in this
                               run (also the page size). Without it, all
                               instances are processed in batches of 50.
  --verbose                    Provide verbose output during execution.
  --skip-port-allocations      Skip the healing of the resource
                               allocations of bound ports (no Neutron
                               queries).
  --dry-run                    Print what would be done and change
                               nothing. The return code should be 4.
  --instance=<instance_uuid>   UUID of a specific instance to process
                               (then the max count has no effect).
  --cell=<cell_uuid>           Heal allocations within a specific cell.
                               The --cell and --instance options are
                               mutually exclusive.
  --force                      Force heal allocations (replace them with
                               the flavor's). Requires --instance.
  --jobs=<n>                   Heal this many cells at a time, each on its
                               own database connection and HTTP sessions;
                               the lines are printed cell by cell, in
                               cell order, once all are done, and the exit
                               code is the first failing cell's (cells
                               after a failing one are healed too). Runs
                               with --max-count (a budget the cells share
                               in order) or --dry-run go one cell at a
                               time; with --cell or --instance there is
                               one cell. Anything but a positive integer
                               is exit 127 [default: 1].
  --readers=<n>                Requests in flight while a page of
                               instances is read ahead (allocation
                               GETs; the providers' allocation lists of
                               a whole cell) and while its ports are
                               updated, from 1 (one after the other) to
                               64; the instances are still handled,
                               and their lines printed, one by one in
                               order. Anything else is exit 127
                               [default: 8].
  --progress-interval=<seconds>
                               When stderr is not a terminal (cron, a
                               pipe): a line on stderr with the
                               instances looked at, the rate and the
                               time left, after the instance that
                               passes each such interval. Anything but
                               a positive number is exit 127.
  --stop-file=<path>           Checked before each page of instances:
                               once the file exists, stop there (exit
                               1, run again to continue) (see README:
                               Cron runs).
  --format=<fmt>               table, or json: one JSON document on
                               stdout (messages on stderr)
                               [default: table].
""",
    "sync_aggregates": """\
Usage: nmtool placement sync_aggregates [--verbose] [--format=<fmt>]

Mirror compute host aggregates to resource provider aggregates in the
Placement service: each host of an aggregate (API database) gets its
compute node's resource provider added to that aggregate in Placement.
Nothing is removed. Providers already in an aggregate are found with one
request per aggregate; a write Placement refuses with a generation
conflict (409) is read and tried again, four attempts in all, as nova's.
Requires the [api_database] and [placement] sections. Exit 0: done;
1: a host has more than one compute node; 2: error reading a provider's
aggregates; 3: failed updating a provider's aggregates (after four
conflicts); 4: hosts without a host mapping; 5: hosts without a compute
node; 6: compute nodes without a resource provider in Placement.

Options:
  --verbose       Provide verbose output during execution.
  --format=<fmt>  table, or json: one JSON document on stdout (messages
                  on stderr) [default: table].
""",
    "audit": """\
Usage: nmtool placement audit [--verbose] [--delete] [--resource_provider=<uuid>] [--format=<fmt>]

Audit allocations in Placement that no longer belong to an instance on
the provider's compute node nor to a migration in progress from or to it
(orphaned allocations), for every resource provider or just one.
Requires the [api_database] and [placement] sections. Exit 0: no orphaned
allocations; 1: an unexpected error (a delete failed); 3: orphaned
allocations found; 4: orphaned allocations found and deleted; 127: no
such resource provider.

Options:
  --verbose                   Provide verbose output during execution.
  --delete                    Deletes orphaned allocations that were found
                              (only this provider's part when a consumer
                              spans several providers).
  --resource_provider=<uuid>  UUID of a specific resource provider to
                              verify.
  --format=<fmt>              table, or json: one JSON document on
                              stdout (messages on stderr)
                              [default: table].
""",
}


class _Lines:
    """Where the engines' lines go: stdout in table mode, stderr with
    --format json; output() lines only with --verbose. A progress line at
    the terminal is erased before each one (and drawn again after)."""

    def __init__(self, out, verbose):
        self.out = out
        self.verbose = bool(verbose)
        self.meter = None

    def say(self, text):
        if self.meter is not None:
            self.meter.clear()
        self.out.message(text)

    def output(self, text):
        if self.verbose:
            self.say(text)

    def detail(self, text):
        """The service's own answer of a failure, for the operator."""
        if self.meter is not None:
            self.meter.clear()
        sys.stderr.write("ERROR: %s\n" % text)


def _placement(ctx, discover=True):
    """The Placement client; failing to reach or authenticate is exit 255
    (as in nova-manage, which fails building its client)."""
    return PlacementClient.from_conf(ctx.conf, discover=discover)


def _cell_dbs(ctx, api_db, skip_cell0=True):
    cells = []
    for cell in list_cells(api_db, ctx.conf):
        if skip_cell0 and cell.uuid == CELL0_UUID:
            continue
        cells.append((cell.uuid, ctx.database(cell.url,
                                              "cell %s" % cell.identity)))
    return cells


def _service_failed(exc, code):
    # A service URL may carry credentials (an endpoint with a token).
    print("ERROR: %s" % mask_password(str(exc)), file=sys.stderr)
    return code


# -- heal_allocations -----------------------------------------------------------

# more threads than this only queue on Placement's workers
MAX_READERS = 64

def heal_allocations(ctx):
    args = ctx.args
    out = Output(ctx)
    lines = _Lines(out, args.get("--verbose"))
    report = heal.Report(lines.say, lines.output, lines.detail)
    limits = _heal_limits(args, lines)
    if limits is None:
        return 127
    jobs, max_count, unlimited, readers = limits
    instance_uuid = args["--instance"]
    try:
        meter = run_meter(ctx, "Checked", unit="instances",
                          draw=not instance_uuid)
    except UsageError as exc:
        lines.say(str(exc))
        return 127

    api_db = ctx.api_db()
    cells = _heal_cells(ctx, api_db, instance_uuid, args["--cell"],
                        lines.say)
    if isinstance(cells, int):
        return cells
    if not cells:
        lines.output("No cells to process.")
        return _healed(out, report, 0, 4)

    placement = _placement(ctx)
    neutron = _neutron(ctx)
    open_db = _cell_opener(ctx)
    if not instance_uuid:
        _heal_total(meter, cells, open_db)
    lines.meter = meter

    def healer_for(into, own_clients=False):
        clients = (placement, neutron)
        if own_clients:  # a thread of --jobs: requests.Session is not shared
            clients = (_placement(ctx, discover=False), _neutron(ctx))
        return heal.Healer(*clients, into, dry_run=args["--dry-run"],
                             force=args["--force"], meter=meter,
                             readers=readers, post_pages=not own_clients)

    # --max-count runs resume from the marker of their scope
    marker = None
    if not unlimited and not instance_uuid:
        marker = heal.Marker(api_db, args["--cell"],
                               read_only=args["--dry-run"])
    # a dry run keeps one session per database (see Context.database),
    # which threads must not share
    run = heal.HealRun(report, healer_for, open_db, max_count, unlimited,
                         instance_uuid=instance_uuid, marker=marker,
                         jobs=1 if ctx.dry_run else jobs, meter=meter)
    try:
        with meter.catch_signals():
            processed, code, error = run.run(cells)
    finally:
        meter.close()
    if meter.stopped:
        say_stopped(meter.stop_cause, "%d instances looked at, %d healed"
                    % (meter.done, processed))
    return _healed(out, report, processed, code, error)


def _heal_limits(args, lines):
    """(jobs, max count, unlimited, readers) from the options, checked as
    nova-manage checks them (--jobs and --readers, nmtool's, first); None,
    after one line, when they are invalid (exit 127)."""
    try:
        jobs = options.jobs(args["--jobs"])
    except UsageError:  # heal words it as nova words --max-count, exit 127
        lines.say("Must supply a positive integer for --jobs.")
        return None
    try:
        readers = options.integer("--readers", args.get("--readers")
                                   or heal.DEFAULT_READERS)
    except UsageError:
        readers = 0
    if not 1 <= readers <= MAX_READERS:
        lines.say("Must supply an integer from 1 to %d for --readers."
                  % MAX_READERS)
        return None
    instance_uuid = args["--instance"]
    if instance_uuid and args["--cell"]:
        lines.say("The --cell and --instance options are mutually "
                  "exclusive.")
        return None
    if args["--force"] and not instance_uuid:
        lines.say("The --instance flag is required when using --force "
                  "flag.")
        return None
    if instance_uuid:  # as in nova-manage, --max-count is then ignored
        return jobs, 1, False, readers
    max_count, problem = options.checked_max_count(
        args["--max-count"], "Must supply a positive integer for --max-count.")
    if problem:
        lines.say(problem)
        return None
    if max_count is not None:
        return jobs, max_count, False, readers
    lines.output("Running batches of %i until complete"
                 % heal.DEFAULT_BATCH)
    return jobs, heal.DEFAULT_BATCH, True, readers


def _cell_opener(ctx):
    """open_db(cell): the cell's database, opened once (the progress count
    and the run share it)."""
    databases = {}

    def open_db(cell):
        if cell.uuid not in databases:
            databases[cell.uuid] = ctx.database(cell.url,
                                                "cell %s" % cell.identity)
        return databases[cell.uuid]
    return open_db


def _neutron(ctx):
    """The Neutron client, or None with --skip-port-allocations."""
    if ctx.args["--skip-port-allocations"]:
        return None
    return NeutronClient.from_conf(ctx.conf)


def _heal_cells(ctx, api_db, instance_uuid, cell_uuid, say):
    """The cells to walk: the instance's, the one given, or all; an exit
    code when there is no such cell."""
    if instance_uuid:
        found = instance_cell_uuid(api_db, instance_uuid)
        if found is None:
            say('Unable to find cell for instance %s, is it mapped? Try '
                'running "nova-manage cell_v2 verify_instance" or '
                '"nova-manage cell_v2 map_instances".' % instance_uuid)
            return 127
        return [get_cell(api_db, ctx.conf, found)]
    if cell_uuid:
        cell = get_cell(api_db, ctx.conf, cell_uuid)
        if cell is None:
            say("Cell with uuid %s was not found." % cell_uuid)
            return 127
        return [cell]
    return list_cells(api_db, ctx.conf)


def _heal_total(meter, cells, open_db):
    """The progress line's total (at a terminal, or with
    --progress-interval): the candidates each cell has at the start."""
    if not meter.wants_total:
        return
    total = 0
    for cell in cells:
        if cell.uuid == CELL0_UUID:
            continue
        try:
            total += count_candidates(open_db(cell))
        except NmtoolError:
            continue  # the run itself reports it when it gets there
    meter.total = total
    meter.restart()


# The document lists the healed instances first, then those a dry run
# would heal, those up to date and those skipped, each in the order met.
HEAL_GROUPS = (("created", "updated"), ("would_create", "would_update"),
               ("up_to_date",), ("skipped",))


def _healed(out, report, processed, code, error=None):
    instances = [outcome.document() for group in HEAL_GROUPS
                 for outcome in report.outcomes if outcome.action in group]
    out.document({"processed": processed, "instances": instances,
                  "error": error})
    return out.emit(code)


# -- sync_aggregates ----------------------------------------------------------

def sync_aggregates(ctx):
    out = Output(ctx)
    lines = _Lines(out, ctx.args.get("--verbose"))
    placement = _placement(ctx)
    api_db = ctx.api_db()

    def open_cell(uuid, name, url):
        cell = Cell(uuid, name, format_cell_url(url,
                                                ctx.conf.database_connection))
        return ctx.database(cell.url, "cell %s" % cell.identity)

    result = aggregates.Result()
    try:
        code = aggregates.run(api_db, open_cell, placement, result,
                              lines.say, lines.output)
    except ServiceError as exc:
        return _service_failed(exc, 2)
    out.document({
        "added": [{"host": added.host,
                   "resource_provider_uuid": added.provider_uuid,
                   "aggregate_uuid": added.aggregate_uuid}
                  for added in result.added],
        "hosts_without_host_mapping": list(result.unmapped),
        "hosts_without_compute_node": list(result.no_compute),
        "hosts_without_resource_provider": dict(result.no_provider)})
    return out.emit(code)


# -- audit ----------------------------------------------------------------------

def audit(ctx):
    out = Output(ctx)
    lines = _Lines(out, ctx.args.get("--verbose"))
    placement = _placement(ctx)
    api_db = ctx.api_db()
    cells = _cell_dbs(ctx, api_db)
    result = orphan_audit.Result()
    try:
        code = orphan_audit.run(placement, cells,
                                ctx.args["--resource_provider"],
                                ctx.args["--delete"], result, lines.say,
                                lines.output)
    except ServiceError as exc:
        return _service_failed(exc, 1)
    if code == 127:  # no such resource provider: no result
        return code
    out.document({
        "orphaned_allocations": [
            {"consumer_uuid": orphan.consumer_uuid,
             "resource_provider_uuid": orphan.provider_uuid,
             "resources": dict(orphan.resources),
             "deleted": orphan.deleted} for orphan in result.orphans],
        "processed": len(result.orphans),
        "delete_failed": list(result.delete_failed)})
    return out.emit(code)
