"""limits: copy quota limits from nova's databases to Keystone's unified
limits, as nova-manage 34.0.0 does (see maintenance/unified_limits.py)."""
import logging

from nmtool.commands.failures import UNEXPECTED
from nmtool.errors import DatabaseError, NmtoolError
from nmtool.maintenance import unified_limits as ul

LOG = logging.getLogger(__name__)

USAGE = {
    "migrate_to_unified_limits": """\
Usage: nmtool limits migrate_to_unified_limits [--project-id=<project-id>] [--region-id=<region-id>] [--verbose] [--dry-run] [--quiet] [--no-embedded-flavor-scan]

Copy quota limits from the Nova API database to Keystone. The defaults
(the API database's 'default' quota class, else [quota]) become
registered limits of the service named 'nova', under their unified-limit
names (cores also gives class:PCPU); with --project-id, the project's own
limits become project limits. Limits Keystone already has are left as
they are. Then the resource classes that flavors (and the flavors stored
with live instances) request are checked for registered limits. Keystone
is reached with [keystone_authtoken]'s credentials and [keystone]'s
endpoint options.

Exit 0: done; 1: a limit could not be created, or an unexpected error;
2: a database could not be reached; 3: resource classes without a
registered limit were found; 255: Keystone or its 'nova' service could
not be reached.

Options:
  --project-id=<project-id>  Project ID for which to migrate quota limits.
  --region-id=<region-id>    Region ID for which to migrate quota limits.
  --verbose                  Provide verbose output during execution.
  --dry-run                  Show what limits would be created without
                             actually creating them. Flavors are still
                             scanned for resource classes missing limits.
  --quiet                    Do not output anything during execution.
  --no-embedded-flavor-scan  Do not scan instances' embedded flavors for
                             resource classes missing limits.
""",
}


def _printer(enabled):
    return print if enabled else (lambda text: None)


def migrate_to_unified_limits(ctx):
    args = ctx.args
    opts = ul.Options(
        project_id=args["--project-id"], region_id=args["--region-id"],
        verbose=bool(args["--verbose"]), dry_run=bool(args["--dry-run"]),
        quiet=bool(args["--quiet"]),
        scan_embedded=not args["--no-embedded-flavor-scan"])
    if opts.verbose and opts.quiet:
        print("--verbose and --quiet are mutually exclusive")
        return ul.EXIT_FAILED
    conf = ctx.conf
    run = ul.Migration(opts, _printer(opts.verbose), _printer(not opts.quiet))
    try:
        api = ctx.api_db()
        defaults = run.defaults(api, conf)
    except DatabaseError:
        print(ul.DATABASE_MESSAGE)
        return ul.EXIT_DATABASE
    except NmtoolError as exc:
        if "connection is not set" in str(exc):
            print(ul.DATABASE_MESSAGE)
            return ul.EXIT_DATABASE
        raise

    # nova-manage looks the service up outside its error handling: any
    # failure here ends it with 255.
    from nmtool.clients.limits import LimitsClient
    keystone = LimitsClient.from_conf(conf)
    service_id = keystone.find_service("nova")
    if service_id is None:
        raise NmtoolError("no service named 'nova' in Keystone")

    try:
        code = run.create_limits(
            keystone, service_id, defaults,
            lambda: ul.project_quotas(ctx.main_db(), api, opts.project_id))
        if code:
            return code
        from nmtool.cells.mappings import list_cells
        return run.scan(
            keystone, service_id, api, lambda: list_cells(api, conf),
            lambda cell: ctx.database(cell.url, "database of cell %s"
                                      % cell.identity))
    except DatabaseError:
        print(ul.DATABASE_MESSAGE)
        return ul.EXIT_DATABASE
    except Exception as exc:
        LOG.debug("Unexpected error", exc_info=exc)
        print(UNEXPECTED % ul.error_text(exc))
        return ul.EXIT_FAILED
