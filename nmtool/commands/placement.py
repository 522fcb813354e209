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
import sys

from nmtool.cells import list_cells
from nmtool.clients.session import ServiceError
from nmtool.context import CELL0_UUID

USAGE = {
    "sync_aggregates": """\
Usage: nmtool placement sync_aggregates [--verbose]

Mirror compute host aggregates to resource provider aggregates in the
Placement service: each host of an aggregate (API database) gets its
compute node's resource provider added to that aggregate in Placement.
Nothing is removed. Requires the [api_database] and [placement] sections.
Exit 0: done; 1: a host has more than one compute node; 2: error reading
a provider's aggregates; 3: failed updating a provider's aggregates;
4: hosts without a host mapping; 5: hosts without a compute node;
6: compute nodes without a resource provider in Placement.

Options:
  --verbose  Provide verbose output during execution.
""",
    "audit": """\
Usage: nmtool placement audit [--verbose] [--delete] [--resource_provider=<uuid>]

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
""",
}


def _say(message):
    print(message)


def _verbose(ctx):
    return _say if ctx.args.get("--verbose") else (lambda message: None)


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


def sync_aggregates(ctx):
    from nmtool import sync_aggregates as engine
    from nmtool.cells import Cell
    from nmtool.db.url import format_cell_url
    placement = _placement(ctx)
    api_db = ctx.api_db()

    def open_cell(uuid, name, url):
        cell = Cell(uuid, name, format_cell_url(url,
                                                ctx.conf.database_connection))
        return ctx.database(cell.url, "cell %s" % cell.identity)

    try:
        return engine.run(api_db, open_cell, placement, _say, _verbose(ctx))
    except ServiceError as exc:
        return _service_failed(exc, 2)


def audit(ctx):
    from nmtool import placement_audit as engine
    placement = _placement(ctx)
    api_db = ctx.api_db()
    cells = _cell_dbs(ctx, api_db)
    try:
        return engine.run(placement, cells, ctx.args["--resource_provider"],
                          ctx.args["--delete"], _say, _verbose(ctx))
    except ServiceError as exc:
        return _service_failed(exc, 1)

