"""cell_v2: the cell mappings of the API database."""
from nmtool.context import CELL0_UUID
from nmtool.db.statements import sql
from nmtool.errors import NmtoolError

USAGE = {
    "map_cell0": """\
Usage: nmtool cell_v2 map_cell0 [--database_connection=<url>]

Create the cell mapping of cell0, the cell of instances that were never
scheduled. Without a URL, cell0's database is the main database's URL
with "_cell0" appended to the database name. Returns 0 when cell0 is
mapped, or was already.

Options:
  --database_connection=<url>  The database connection URL of cell0.
""",
}

# cell0 is never reached over RPC; nova stores this placeholder URL.
CELL0_TRANSPORT_URL = "none:///"
ER_DUP_ENTRY = 1062


def map_cell0(ctx):
    import pymysql
    url = ctx.args["--database_connection"] or _default_cell0_url(ctx)
    try:
        ctx.api_db().execute(sql("cell_mappings.insert"), {
            "uuid": CELL0_UUID, "name": "cell0",
            "transport_url": CELL0_TRANSPORT_URL,
            "database_connection": url, "disabled": 0})
    except pymysql.err.IntegrityError as exc:
        if exc.args[0] != ER_DUP_ENTRY:
            raise
        print("Cell0 is already setup")
    return 0


def _default_cell0_url(ctx):
    """[database]/connection with the database name suffixed "_cell0",
    written out unquoted as nova writes it."""
    from nmtool.db.url import parse_db_url
    main = ctx.conf.database_connection
    if not main:
        raise NmtoolError("[database]/connection is not set, so the default "
                          "cell0 database URL cannot be derived; use "
                          "--database_connection")
    url = parse_db_url(main)
    if not url.database:
        raise NmtoolError("[database]/connection names no database, so the "
                          "default cell0 database URL cannot be derived")
    auth = ""
    if url.user is not None:
        auth = url.user
        if url.password is not None:
            auth += ":" + url.password
        auth += "@"
    host = url.host or ""
    if ":" in host:
        host = "[%s]" % host
    if url.port is not None:
        host += ":%d" % url.port
    query = "&".join("%s=%s" % (key, value)
                     for key in sorted(url.query)
                     for value in url.query[key])
    return "%s://%s%s/%s_cell0%s" % (url.scheme, auth, host, url.database,
                                     "?" + query if query else "")
