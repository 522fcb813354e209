"""api_db: schema version and sync of the API database."""
from nmtool.db import migrate

USAGE = {
    "sync": """\
Usage: nmtool api_db sync [VERSION]

Upgrade the API database schema to the most recent version, or to
VERSION (an alembic revision id or a unique prefix of one). The database
must exist; [api_database]/connection says where it is.
""",
    "version": """\
Usage: nmtool api_db version

Print the current API database version (its alembic revision).
""",
}


def sync(ctx):
    migrate.upgrade(ctx.api_db(), "api", ctx.args["VERSION"])
    return 0


def version(ctx):
    print(migrate.current_revision(ctx.api_db()))
    return 0
