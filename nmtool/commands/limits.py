"""limits: nova-manage's migration of quota limits to Keystone's unified
limits. Its options are parsed as nova-manage's are, so scripts and -h
work; the migration itself is not in nmtool yet and says so (exit 255)."""
from nmtool import __version__
from nmtool.errors import NmtoolError

USAGE = {
    "migrate_to_unified_limits": """\
Usage: nmtool limits migrate_to_unified_limits [--project-id=<project-id>] [--region-id=<region-id>] [--verbose] [--dry-run] [--quiet] [--no-embedded-flavor-scan]

Copy quota limits from the Nova API database to Keystone. Not
implemented in nmtool yet: it says so and exits 255; run nova-manage.

Options:
  --project-id=<project-id>  Project ID for which to migrate quota limits.
  --region-id=<region-id>    Region ID for which to migrate quota limits.
  --verbose                  Provide verbose output during execution.
  --dry-run                  Show what limits would be created without
                             actually creating them.
  --quiet                    Do not output anything during execution.
  --no-embedded-flavor-scan  Do not scan instances' embedded flavors for
                             resource classes missing limits.
""",
}


def migrate_to_unified_limits(ctx):
    raise NmtoolError("'limits migrate_to_unified_limits' is not "
                      "implemented in nmtool %s yet" % __version__)
