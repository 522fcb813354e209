"""db: schema version and sync of the main (cell) database."""
import logging

from nmtool.context import CELL0_UUID
from nmtool.db import migrate
from nmtool.db.statements import sql

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
            cell0 = _cell0_url(ctx)
            if cell0 is None:
                print("WARNING: cell0 mapping not found - not syncing cell0.")
            else:
                migrate.upgrade(ctx.database(cell0, "cell0 database"),
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


def _cell0_url(ctx):
    """cell0's database URL from the API database, templates filled in;
    None when cell0 is not mapped."""
    from nmtool.db.url import format_cell_url
    rows = ctx.api_db().query(sql("cell_mappings.by_uuid"),
                              {"uuid": CELL0_UUID})
    if not rows:
        return None
    return format_cell_url(rows[0][4], ctx.conf.database_connection)


def _one_line(exc):
    from nmtool.db.url import mask_password
    text = str(exc).strip().splitlines()
    return mask_password(text[0] if text else type(exc).__name__)
