"""placement: heal, mirror and audit what nova has in the Placement service.

The commands read the API and cell databases with named SQL and talk to
Placement (and Neutron) over HTTP with the [placement] and [neutron]
groups of nova.conf, as nova-manage does. The work lives in the engine
modules (nmtool.heal_allocations, nmtool.sync_aggregates,
nmtool.placement_audit); this module parses, prints and returns codes.

Service failures: a service that cannot be reached, or refuses the
credentials, when the command starts is a one-line error and exit 255
(nova-manage fails there too, with a traceback). Later failures end with
the command's documented code: sync_aggregates 2, audit 1,
heal_allocations 3 (Placement) or 5/6 (Neutron).
"""
import ast
import json
import re
import sys

from nmtool.cells import list_cells
from nmtool.clients.session import ServiceError
from nmtool.context import CELL0_UUID
from nmtool.db.statements import sql

USAGE = {
    "heal_allocations": """\
Usage: nmtool placement heal_allocations [--max-count=<max_count>] [--verbose] [--skip-port-allocations] [--dry-run] [--instance=<instance_uuid>] [--cell=<cell_uuid>] [--force] [--format=<fmt>]

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

Exit 0: allocations were created or updated; 1: --max-count was reached
(run again); 2: no compute node record for an instance; 3: allocations
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
  --format=<fmt>               table, or json: one JSON document on
                               stdout (messages on stderr)
                               [default: table].
""",
    "sync_aggregates": """\
Usage: nmtool placement sync_aggregates [--verbose] [--format=<fmt>]

Mirror compute host aggregates to resource provider aggregates in the
Placement service: each host of an aggregate (API database) gets its
compute node's resource provider added to that aggregate in Placement.
Nothing is removed. Requires the [api_database] and [placement] sections.
Exit 0: done; 1: a host has more than one compute node; 2: error reading
a provider's aggregates; 3: failed updating a provider's aggregates;
4: hosts without a host mapping; 5: hosts without a compute node;
6: compute nodes without a resource provider in Placement.

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


class _Recorder:
    """--format json: the command's results, read from the lines the
    engines report (nova's wording; they pass them on whether or not
    --verbose prints them). Lines go to stdout in table mode, stderr in
    json mode, the verbose ones only with --verbose."""

    def __init__(self, ctx, patterns):
        from nmtool.output import Output
        self.out = Output(ctx)
        self.verbose = bool(ctx.args.get("--verbose"))
        self.patterns = [(kind, re.compile(p)) for kind, p in patterns]
        self.events = []

    def _note(self, message):
        for kind, pattern in self.patterns:
            match = pattern.match(message)
            if match:
                self.events.append((kind,) + match.groups())
                return

    def say(self, message):
        self._note(message)
        self.out.message(message)

    def output(self, message):
        self._note(message)
        if self.verbose:
            self.out.message(message)

    def of(self, kind):
        return [event[1:] for event in self.events if event[0] == kind]


def _placement(ctx):
    """The Placement client; failing to reach or authenticate is exit 255
    (as in nova-manage, which fails building its client)."""
    from nmtool.clients.placement import PlacementClient
    return PlacementClient.from_conf(ctx.conf)


def _cell_dbs(ctx, api_db, skip_cell0=True):
    cells = []
    for cell in list_cells(api_db, ctx.conf):
        if skip_cell0 and cell.uuid == CELL0_UUID:
            continue
        cells.append((cell.uuid, ctx.database(cell.url,
                                              "cell %s" % cell.identity)))
    return cells


def _service_failed(exc, code):
    print("ERROR: %s" % exc, file=sys.stderr)
    return code


def heal_allocations(ctx):
    from nmtool import heal_allocations as engine
    from nmtool.cells import get_cell
    args = ctx.args
    rec = _Recorder(ctx, HEAL_EVENTS)
    output, say = rec.output, rec.say
    instance_uuid = args["--instance"]
    cell_uuid = args["--cell"]
    if instance_uuid and cell_uuid:
        say("The --cell and --instance options are mutually exclusive.")
        return 127
    if args["--force"] and not instance_uuid:
        say("The --instance flag is required when using --force flag.")
        return 127
    max_count = args["--max-count"]
    if instance_uuid:
        max_count, unlimited = 1, False
    elif max_count is not None:
        try:
            max_count = int(max_count)
        except ValueError:
            max_count = -1
        unlimited = False
        if max_count < 1:
            say("Must supply a positive integer for --max-count.")
            return 127
    else:
        max_count, unlimited = engine.DEFAULT_BATCH, True
        output("Running batches of %i until complete" % max_count)

    api_db = ctx.api_db()
    if instance_uuid:
        rows = api_db.query(sql("placement_heal.instance_cell"),
                            {"uuid": instance_uuid})
        if not rows or rows[0][0] is None:
            say('Unable to find cell for instance %s, is it mapped? Try '
                'running "nova-manage cell_v2 verify_instance" or '
                '"nova-manage cell_v2 map_instances".' % instance_uuid)
            return 127
        cells = [get_cell(api_db, ctx.conf, rows[0][0])]
    elif cell_uuid:
        cell = get_cell(api_db, ctx.conf, cell_uuid)
        if cell is None:
            say("Cell with uuid %s was not found." % cell_uuid)
            return 127
        cells = [cell]
    else:
        cells = list_cells(api_db, ctx.conf)
        if not cells:
            output("No cells to process.")
            return _healed(rec, 0, 4)

    placement = _placement(ctx)
    neutron = None
    if not args["--skip-port-allocations"]:
        from nmtool.clients.neutron import NeutronClient
        neutron = NeutronClient.from_conf(ctx.conf)
    healer = engine.Healer(placement, neutron, output,
                           dry_run=args["--dry-run"], force=args["--force"])

    # --max-count runs resume from the marker of their scope
    marker = None
    resume = None
    if not unlimited and not instance_uuid:
        marker = engine.Marker(api_db, cell_uuid)
        resume = marker.load()
        if resume and resume[0] not in [c.uuid for c in cells]:
            resume = None
    processed = 0
    skipping = resume is not None
    last = {}
    for cell in cells:
        if cell.uuid == CELL0_UUID:
            continue
        if skipping and cell.uuid != resume[0]:
            continue
        output("Looking for instances in cell: %s" % cell.identity)
        limit = max_count if unlimited else max_count - processed
        db = ctx.database(cell.url, "cell %s" % cell.identity)
        start_after = None
        if skipping:
            skipping = False
            rows = db.query(sql("placement_heal.marker_position"),
                            {"uuid": resume[1]})
            if rows:
                start_after = (rows[0][1], rows[0][0])
                output("Resuming after instance %s (where the previous "
                       "--max-count run stopped)." % resume[1])
        try:
            processed += healer.heal_cell(
                db, limit, unlimited, instance_uuid=instance_uuid,
                start_after=start_after,
                on_page=lambda uuid, c=cell.uuid: last.update(at=(c, uuid)))
        except engine.HealStop as stop:
            say(stop.message)
            if stop.detail:
                sys.stderr.write("ERROR: %s\n" % stop.detail)
            return _healed(rec, processed, stop.code, stop.message)
        if not unlimited and processed == max_count and not instance_uuid:
            output("Max count reached. Processed %s instances."
                   % processed)
            if marker and not args["--dry-run"]:
                marker.save(*last["at"])
            return _healed(rec, processed, 1)
    output("Processed %s instances." % processed)
    if marker and not args["--dry-run"]:
        marker.clear()
    return _healed(rec, processed, 0 if processed else 4)


HEAL_EVENTS = [
    ("healed", r"^Successfully (created|updated) allocations for instance "
               r"(\S+)\.$"),
    ("dry_run", r"^\[dry-run\] (Create|Update) allocations for instance "
                r"(\S+): (.*)$"),
    ("up_to_date", r"^The allocation of instance (\S+) is up-to-date\."),
    ("skipped", r"^Instance (\S+) is (undergoing a task state transition: "
                r".*|not on a host\.)$"),
]


def _healed(rec, processed, code, error=None):
    instances = [{"instance_uuid": uuid, "action": action}
                 for action, uuid in rec.of("healed")]
    instances += [{"instance_uuid": uuid, "action": "would_" + action.lower(),
                   "allocations": json.loads(allocations)}
                  for action, uuid, allocations in rec.of("dry_run")]
    instances += [{"instance_uuid": uuid, "action": "up_to_date"}
                  for (uuid,) in rec.of("up_to_date")]
    instances += [{"instance_uuid": uuid, "action": "skipped",
                   "reason": reason.rstrip(".")}
                  for uuid, reason in rec.of("skipped")]
    rec.out.document({"processed": processed, "instances": instances,
                      "error": error})
    return rec.out.emit(code)


def sync_aggregates(ctx):
    from nmtool import sync_aggregates as engine
    from nmtool.cells import Cell
    from nmtool.db.url import format_cell_url
    rec = _Recorder(ctx, SYNC_EVENTS)
    placement = _placement(ctx)
    api_db = ctx.api_db()

    def open_cell(uuid, name, url):
        cell = Cell(uuid, name, format_cell_url(url,
                                                ctx.conf.database_connection))
        return ctx.database(cell.url, "cell %s" % cell.identity)

    try:
        code = engine.run(api_db, open_cell, placement, rec.say, rec.output)
    except ServiceError as exc:
        return _service_failed(exc, 2)
    missing = {kind: [host for line in rec.of(kind)
                      for host in line[0].split(",")]
               for kind in ("unmapped", "no_compute")}
    rec.out.document({
        "added": [{"host": host, "resource_provider_uuid": rp,
                   "aggregate_uuid": agg}
                  for host, rp, agg in rec.of("added")],
        "hosts_without_host_mapping": missing["unmapped"],
        "hosts_without_compute_node": missing["no_compute"],
        "hosts_without_resource_provider": dict(
            re.findall(r"\(([^=()]*)=([^()]*)\)", "".join(
                line[0] for line in rec.of("no_provider"))))})
    return rec.out.emit(code)


SYNC_EVENTS = [
    ("added", r"^Successfully added host \((.*)\) and provider \((.*)\) "
              r"to aggregate \((.*)\)\.$"),
    ("unmapped", r"^The following hosts were found in nova host aggregates "
                 r"but no host mappings .* Missing: (.*)$"),
    ("no_compute", r"^Unable to find matching compute_nodes record .* "
                   r"Missing: (.*)$"),
    ("no_provider", r"^Unable to find matching resource provider record in "
                    r"placement with uuid for the following hosts: (.*)\. "
                    r"Try restarting"),
]


def audit(ctx):
    from nmtool import placement_audit as engine
    rec = _Recorder(ctx, AUDIT_EVENTS)
    placement = _placement(ctx)
    api_db = ctx.api_db()
    cells = _cell_dbs(ctx, api_db)
    try:
        code = engine.run(placement, cells, ctx.args["--resource_provider"],
                          ctx.args["--delete"], rec.say, rec.output)
    except ServiceError as exc:
        return _service_failed(exc, 1)
    if code == 127:  # no such resource provider: no result
        return code
    orphaned = [{"consumer_uuid": consumer, "resource_provider_uuid": rp,
                 "resources": ast.literal_eval(resources),
                 "deleted": kind == "deleted"}
                for kind in ("deleted", "deletable")
                for consumer, rp, resources in rec.of(kind)]
    rec.out.document({
        "orphaned_allocations": orphaned, "processed": len(orphaned),
        "delete_failed": [consumer for (consumer,)
                          in rec.of("delete_failed")]})
    return rec.out.emit(code)


AUDIT_EVENTS = [
    ("deleted", r"^Deleted allocations for consumer UUID (\S+) on Resource "
                r"Provider (\S+): (.*)$"),
    ("deletable", r"^Allocations for consumer UUID (\S+) on Resource "
                  r"Provider (\S+) can be deleted: (.*)$"),
    ("delete_failed", r"^Not able to delete allocations for consumer UUID "
                      r"(\S+)$"),
]

