"""cell_v2: cell, host and instance mappings of the API database."""
import sys
import uuid as uuidlib

from nmtool.cells import hosts
from nmtool.cells.instances import verify_instance as verify
from nmtool.cells.map_instances import count_instances, \
    map_instances as map_cell_instances
from nmtool.cells.mappings import add_mapping, all_mappings, \
    count_instance_mappings, delete_mapping, find_mapping, save_mapping, \
    stored_mapping, StoredMapping
from nmtool.cells.transport_url import mask_netloc_password, problem
from nmtool.commands import options
from nmtool.context import CELL0_UUID
from nmtool.db import migrate
from nmtool.db.url import mask_password, parse_db_url
from nmtool.errors import NmtoolError, UsageError
from nmtool.ui.output import Output
from nmtool.commands.run_controls import run_meter
from nmtool.ui.progress import say_stopped

USAGE = {
    "create_cell": """\
Usage: nmtool cell_v2 create_cell [--name=<cell_name>] [--database_connection=<database_connection>] [--transport-url=<transport_url>] [--verbose] [--disabled]

Add a new cell to the API database. The database and message queue URLs
default to [database]/connection and [DEFAULT]/transport_url. Exit 0:
created; 1: a URL is missing or the transport URL is invalid; 2: another
cell has the same transport URL or database connection.

Options:
  --name=<cell_name>    The name of the cell.
  --database_connection=<database_connection>
                        The database URL of the cell database.
  --transport-url=<transport_url>
                        The transport URL of the cell message queue.
  --verbose             Print the uuid of the created cell.
  --disabled            Create the cell disabled.
""",
    "delete_cell": """\
Usage: nmtool cell_v2 delete_cell [--force] [--cell_uuid=<cell_uuid>]

Delete an empty cell. Exit 0: deleted; 1: no such cell; 2: hosts are
mapped to it (use --force); 3: it has live instances; 4: instance
mappings of deleted instances remain (archive them, or use --force).

Options:
  --force                  Delete the hosts and instance mappings of the
                           cell as well (never with live instances).
  --cell_uuid=<cell_uuid>  The uuid of the cell to delete (required).
""",
    "delete_host": """\
Usage: nmtool cell_v2 delete_host [--cell_uuid=<cell_uuid>] [--host=<host>]

Delete a host mapping. Exit 0: deleted; 1: no such cell; 2: no such
host; 3: the host is in another cell; 4: the host has instances.

Options:
  --cell_uuid=<cell_uuid>  The uuid of the cell (required).
  --host=<host>            The host to delete (required).
""",
    "discover_hosts": """\
Usage: nmtool cell_v2 discover_hosts [--cell_uuid=<cell_uuid>] [--verbose] [--strict] [--by-service] [--dry-run] [--format=<fmt>]

Map the compute hosts of every cell (or of one cell) that are not mapped
yet. Exit 0: done; 1: with --strict, no new host was found; 2: another
discover_hosts mapped the same host at the same time.

Options:
  --cell_uuid=<cell_uuid>  Only search this cell for new hosts.
  --verbose                Print what is checked and mapped.
  --strict                 Exit 0 only when an unmapped host was mapped.
  --by-service             Discover hosts by nova-compute service instead
                           of by compute node.
  --dry-run                Roll everything back at the end: same output
                           and exit code, nothing changed.
  --format=<fmt>           table, or json: one JSON document on stdout
                           (messages on stderr) [default: table].
""",
    "list_cells": """\
Usage: nmtool cell_v2 list_cells [--verbose] [--format=<fmt>]

List the cells with their name, uuid, transport URL, database connection
and disabled state. Passwords are masked unless --verbose is given.

Options:
  --verbose       Show the URLs with their passwords.
  --format=<fmt>  table, or json: one JSON document on stdout
                  [default: table].
""",
    "list_hosts": """\
Usage: nmtool cell_v2 list_hosts [--cell_uuid=<cell_uuid>] [--format=<fmt>]

List the mapped hosts of every cell, or of one cell. Exit 1: no such
cell.

Options:
  --cell_uuid=<cell_uuid>  The uuid of the cell.
  --format=<fmt>           table, or json: one JSON document on stdout
                           (messages on stderr) [default: table].
""",
    "map_cell0": """\
Usage: nmtool cell_v2 map_cell0 [--database_connection=<database_connection>]

Create the cell mapping of cell0, the cell of instances that were never
scheduled. Without a URL, cell0's database is the main database's URL
with "_cell0" appended to the database name. Returns 0 when cell0 is
mapped, or was already.

Options:
  --database_connection=<database_connection>
                        The database connection URL of cell0.
""",
    "map_cell_and_hosts": """\
Usage: nmtool cell_v2 map_cell_and_hosts [--transport-url=<transport_url>] [--name=<cell_name>] [--verbose]

Create a cell mapping for the cell of [database]/connection (unless one
of its hosts is mapped already) and map its compute hosts. Exit 0: done;
1: no usable transport URL.

Options:
  --transport-url=<transport_url>
                        The transport URL of the cell message queue.
  --name=<cell_name>    The name of the cell.
  --verbose             Print the hosts already mapped and the cell uuid.
""",
    "map_instances": """\
Usage: nmtool cell_v2 map_instances [--cell_uuid=<cell_uuid>] [--max-count=<max_count>] [--reset] [--progress-interval=<seconds>] [--stop-file=<path>] [--dry-run] [--format=<fmt>]

Map the instances of a cell, oldest first, in chunks of 5000. A run
with --max-count maps at most that many and stores where it stopped,
nova-manage's way, so the next run (of nmtool or nova-manage) continues
there; so does a run stopped by --stop-file or by SIGINT, SIGTERM or
SIGHUP (after the chunk in hand; a second signal stops at once). Exit 0:
all mapped; 1: more to map (--max-count, --stop-file, a signal); 127:
bad --max-count, --progress-interval or --stop-file.

Options:
  --cell_uuid=<cell_uuid>  The cell whose instances are mapped (required).
  --max-count=<max_count>  Map at most this many instances in this run.
  --reset                  Start from the beginning, not from the marker.
  --progress-interval=<seconds>
                           When stderr is not a terminal (cron, a pipe):
                           a line on stderr with the instances read, the
                           rate and the time left, after the chunk that
                           passes each such interval.
  --stop-file=<path>       Checked before each chunk: once the file
                           exists, stop there (exit 1, run again to
                           continue) (see README: Cron runs).
  --dry-run                Roll everything back at the end: same output
                           and exit code, nothing changed.
  --format=<fmt>           table, or json: one JSON document on stdout
                           (messages on stderr) [default: table].
""",
    "simple_cell_setup": """\
Usage: nmtool cell_v2 simple_cell_setup [--transport-url=<transport_url>]

Set up cells v2 for a deployment with one cell: map cell0 and sync its
schema, map the cell of [database]/connection with its hosts, and map
its instances. Exit 0: done; 1: no hosts, or no usable transport URL.

Options:
  --transport-url=<transport_url>
                        The transport URL of the cell message queue.
""",
    "update_cell": """\
Usage: nmtool cell_v2 update_cell [--cell_uuid=<cell_uuid>] [--name=<cell_name>] [--transport-url=<transport_url>] [--database_connection=<database_connection>] [--disable] [--enable]

Change a cell's name, URLs or disabled state. As in nova-manage, URLs not
given are taken from the configuration file when it sets them. Exit 0:
updated; 1: no such cell; 2: the update failed; 3: another cell has the
same URL; 4: both --disable and --enable; 5: cell0 cannot be disabled.

Options:
  --cell_uuid=<cell_uuid>  The uuid of the cell (required).
  --name=<cell_name>       The new name.
  --transport-url=<transport_url>
                           The new transport URL.
  --database_connection=<database_connection>
                           The new database connection URL.
  --disable                Disable the cell (no scheduling to it).
  --enable                 Enable the cell.
""",
    "verify_instance": """\
Usage: nmtool cell_v2 verify_instance [--uuid=<instance_uuid>] [--quiet] [--format=<fmt>]

Say whether an instance is mapped to a cell. Exit 0: mapped; 1: no
mapping; 2: mapped to no cell; 3: deleted instance with a mapping;
4: archived instance with a mapping.

Options:
  --uuid=<instance_uuid>  The instance uuid (required).
  --quiet                 Print nothing (the JSON document of --format
                          json is still printed).
  --format=<fmt>          table, or json: one JSON document on stdout
                          (messages on stderr) [default: table].
""",
}

# cell0 is never reached over RPC; nova stores this placeholder URL.
CELL0_TRANSPORT_URL = "none:///"


# -- helpers ----------------------------------------------------------------

def _require(ctx, action, *options):
    for option in options:
        if ctx.args[option] is None:
            usage = USAGE[action].split("\n", 1)[0].replace("Usage: ",
                                                            "usage: ")
            raise UsageError("the following arguments are required: %s"
                             % ", ".join(o for o in options
                                         if ctx.args[o] is None),
                             usage=usage)


def _note_if_not_uuid(value):
    """nova looks up whatever it is given; so does nmtool, but it says on
    stderr why a lookup of a malformed uuid found nothing."""
    try:
        uuidlib.UUID(value)
    except ValueError:
        print("nmtool: note: %r is not a valid UUID" % value,
              file=sys.stderr)


def _cell_or_report(ctx, api_db, cell_uuid, out=None):
    cell = find_mapping(api_db, ctx.conf, cell_uuid)
    if cell is None:
        print("Cell with uuid %s was not found." % cell_uuid,
              file=out.stream if out else sys.stdout)
        _note_if_not_uuid(cell_uuid)
    return cell


def _cell_or_fail(ctx, api_db, cell_uuid):
    """Commands where nova lets CellMappingNotFound escape (exit 255)."""
    cell = find_mapping(api_db, ctx.conf, cell_uuid)
    if cell is None:
        try:
            uuidlib.UUID(cell_uuid)
        except ValueError:
            raise NmtoolError("Cell %s has no mapping (%r is not a valid "
                              "UUID)." % (cell_uuid, cell_uuid))
        raise NmtoolError("Cell %s has no mapping." % cell_uuid)
    return cell


def _cell_db(ctx, cell):
    return ctx.database(cell.database_connection,
                        "database of cell %s" % cell.uuid)


def _transport_url(ctx, given, warn_about_none=True):
    """nova's _validate_transport_url: the URL to use, or None."""
    url = given
    if not url:
        if not ctx.conf.transport_url:
            if warn_about_none:
                print("Must specify --transport-url if [DEFAULT]/"
                      "transport_url is not set in the configuration file.")
            return None
        print("--transport-url not provided in the command line, using the "
              "value [DEFAULT]/transport_url from the configuration file")
        url = ctx.conf.transport_url
    reason = problem(url, ctx.conf.transport_url)
    if reason is not None:
        print("Invalid transport URL: %s" % reason)
        return None
    return url


def _database_connection(ctx, given, warn_about_none=True):
    """nova's _validate_database_connection: the URL to use, or None."""
    if given:
        return given
    if not ctx.conf.database_connection:
        if warn_about_none:
            print("Must specify --database_connection if [database]/"
                  "connection is not set in the configuration file.")
        return None
    print("--database_connection not provided in the command line, using "
          "the value [database]/connection from the configuration file")
    return ctx.conf.database_connection


def _clashing_cell(cells, skip_uuid, transport_url, database_connection):
    """Another cell with the same transport URL or database connection."""
    for cell in cells:
        if cell.uuid == skip_uuid:
            continue
        if (cell.database_connection == database_connection
                or cell.transport_url == transport_url):
            print("The specified transport_url and/or database_connection "
                  "combination already exists for another cell with uuid "
                  "%s." % cell.uuid)
            return True
    return False


# -- cell0 and simple setup --------------------------------------------------

def map_cell0(ctx):
    _map_cell0(ctx, ctx.api_db(), ctx.args["--database_connection"])
    return 0


def _map_cell0(ctx, api_db, url):
    """Create cell0's mapping; False when it existed already."""
    url = url or _default_cell0_url(ctx)
    if not add_mapping(api_db, CELL0_UUID, "cell0", CELL0_TRANSPORT_URL,
                       url):
        print("Cell0 is already setup")
        return False
    return True


def _default_cell0_url(ctx):
    """[database]/connection with the database name suffixed "_cell0",
    written out unquoted as nova writes it."""
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


def simple_cell_setup(ctx):
    transport_url = _transport_url(ctx, ctx.args["--transport-url"])
    if not transport_url:
        return 1
    api_db = ctx.api_db()
    _map_cell0(ctx, api_db, None)
    cell0 = find_mapping(api_db, ctx.conf, CELL0_UUID)
    _sync_cell0(ctx, cell0)
    cell_uuid = _map_cell_and_hosts(ctx, api_db, transport_url, None, False)
    if cell_uuid is None:
        return 1
    cell = _cell_or_fail(ctx, api_db, cell_uuid)
    map_cell_instances(api_db, _cell_db(ctx, cell), cell.id)
    return 0


def _sync_cell0(ctx, cell0):
    """Bring cell0's schema to the head revision, as nova does here; a
    failure is reported and the setup goes on."""
    try:
        migrate.upgrade(_cell_db(ctx, cell0), "main")
    except Exception as exc:  # noqa: BLE001 - nova reports any DB error
        print("Unable to sync cell0 schema: %s"
              % mask_password(_as_nova_prints(exc)))


# SQLAlchemy's error-page codes, part of the text nova prints for DB errors.
_SQLALCHEMY_CODES = {"OperationalError": "e3q8", "ProgrammingError": "f405",
                     "IntegrityError": "gkpj", "DataError": "9h9h",
                     "InternalError": "2j85"}


def _as_nova_prints(exc):
    """A database error in the words nova (through SQLAlchemy 2.1) uses."""
    import pymysql  # late: a 30 ms import, and -h reaches this module
    cause = exc
    while cause is not None and not isinstance(cause, pymysql.err.MySQLError):
        cause = cause.__cause__
    if cause is None:
        return str(exc)
    name = type(cause).__name__
    text = "(pymysql.err.%s) %s" % (name, cause)
    if name in _SQLALCHEMY_CODES:
        text += ("\n(Background on this error at: "
                 "https://sqlalche.me/e/21/%s)" % _SQLALCHEMY_CODES[name])
    return text


# -- hosts -------------------------------------------------------------------

def _map_cell_and_hosts(ctx, api_db, transport_url, name, verbose):
    return hosts.map_cell_and_hosts(api_db, ctx.main_db(), ctx.conf,
                                    transport_url, name, print, verbose)


def map_cell_and_hosts(ctx):
    transport_url = _transport_url(ctx, ctx.args["--transport-url"])
    if not transport_url:
        return 1
    _map_cell_and_hosts(ctx, ctx.api_db(), transport_url, ctx.args["--name"],
                        ctx.args["--verbose"])
    # The command does no partial work, so it never asks to be rerun.
    return 0


def discover_hosts(ctx):
    out = Output(ctx)
    verbose = ctx.args["--verbose"]
    api_db = ctx.api_db()
    cell_uuid = ctx.args["--cell_uuid"]
    if cell_uuid:
        cells = [_cell_or_fail(ctx, api_db, cell_uuid)]
    else:
        cells = all_mappings(api_db, ctx.conf)
    try:
        found = hosts.discover_hosts(
            api_db, ctx.conf, cells, lambda cell: _cell_db(ctx, cell),
            ctx.args["--by-service"], announce_count=not cell_uuid,
            report=(lambda record: out.message(_discovery_line(record)))
            if verbose else None)
    except hosts.HostMappingExists as exc:
        out.message("ERROR: Duplicate host mapping was encountered. This "
                    "command should be run once after all compute hosts "
                    "have been deployed and should not be run in parallel. "
                    "When run in parallel, the commands will collide with "
                    "each other trying to map the same hosts in the "
                    "database at the same time. Error: %s" % exc)
        return 2
    out.document({"mapped": found.total, "hosts": [
        {"cell_uuid": host.cell.uuid, "host": host.host,
         "node": getattr(host, "node", None)} for host in found.hosts]})
    if ctx.args["--strict"]:
        return out.emit(0 if found.total else 1)
    return out.emit(0)


def _discovery_line(record):
    """nova's --verbose line for a discover_hosts record."""
    found = hosts
    kind = type(record)
    if kind is found.CellsFound:
        return "Found %d cell mappings." % record.count
    if kind is found.Cell0Skipped:
        return "Skipping cell0 since it does not contain hosts."
    if kind is found.CellStarted:
        if record.cell.name:
            return "Getting computes from cell '%s': %s" % (
                record.cell.name, record.cell.uuid)
        return "Getting computes from cell: %s" % record.cell.uuid
    if kind is found.NodeChecked:
        return "Checking host mapping for compute host '%s': %s" % (
            record.host, record.node)
    if kind is found.NodeMapped:
        return "Creating host mapping for compute host '%s': %s" % (
            record.host, record.node)
    if kind is found.ServiceMapped:
        return "Creating host mapping for service %s" % record.host
    return "Found %d unmapped computes in cell: %s" % (record.mapped,
                                                       record.cell.uuid)


def list_hosts(ctx):
    out = Output(ctx)
    api_db = ctx.api_db()
    cell_uuid = ctx.args["--cell_uuid"]
    cell_id = None
    if cell_uuid:
        cell = _cell_or_report(ctx, api_db, cell_uuid, out)
        if cell is None:
            return 1
        cell_id = cell.id
    rows = hosts.host_mappings(api_db, cell_id)
    out.table(["Cell Name", "Cell UUID", "Hostname"], rows)
    out.document({"hosts": [
        {"cell_name": row.cell_name, "cell_uuid": row.cell_uuid,
         "hostname": row.host} for row in rows]})
    return out.emit(0)


def delete_host(ctx):
    _require(ctx, "delete_host", "--cell_uuid", "--host")
    cell_uuid, host = ctx.args["--cell_uuid"], ctx.args["--host"]
    api_db = ctx.api_db()
    cell = _cell_or_report(ctx, api_db, cell_uuid)
    if cell is None:
        return 1
    outcome = hosts.delete_host(api_db, lambda: _cell_db(ctx, cell),
                                ctx.conf, cell, host)
    if outcome == hosts.HOST_NOT_FOUND:
        print("The host %s was not found." % host)
        return 2
    if outcome == hosts.HOST_IN_OTHER_CELL:
        print("The host %s was not found in the cell %s." % (host, cell_uuid))
        return 3
    if outcome == hosts.HOST_HAS_INSTANCES:
        print("There are instances on the host %s." % host)
        return 4
    return 0


# -- instances ---------------------------------------------------------------

def map_instances(ctx):
    out = Output(ctx)
    _require(ctx, "map_instances", "--cell_uuid")
    max_count, problem = options.checked_max_count(
        ctx.args["--max-count"], "Must supply a positive value for max-count")
    if problem:
        out.message(problem)
        return 127
    try:
        meter = run_meter(ctx, "Mapped")
    except UsageError as exc:
        out.message(str(exc))
        return 127
    api_db = ctx.api_db()
    cell = _cell_or_fail(ctx, api_db, ctx.args["--cell_uuid"])
    if out.json:  # the engine does not count; the cell's mappings do
        before = count_instance_mappings(api_db, cell.id)
    cell_db = _cell_db(ctx, cell)
    if meter.wants_total:
        meter.total = min(max_count or 2 ** 62, count_instances(cell_db))
        meter.restart()
    try:
        with meter.catch_signals():
            more = map_cell_instances(api_db, cell_db, cell.id, max_count,
                                      ctx.args["--reset"], meter)
    finally:
        meter.close()
    if meter.stopped:
        say_stopped(meter.stop_cause, "%d instances read" % meter.done)
    if out.json:
        out.document({"cell_uuid": cell.uuid, "more": bool(more),
                      "mapped": count_instance_mappings(api_db, cell.id)
                      - before})
    return out.emit(1 if more else 0)


def verify_instance(ctx):
    _require(ctx, "verify_instance", "--uuid")
    out = Output(ctx)
    uuid = ctx.args["--uuid"]

    def say(text):
        if not ctx.args["--quiet"]:
            out.message(text)

    def result(code, found):
        out.document({"instance_uuid": uuid, "status": found.status,
                      "cell_uuid": found.cell_uuid,
                      "cell_name": found.cell_name})
        return out.emit(code)
    found = verify(ctx.api_db(), ctx.database, ctx.conf, uuid)
    if found.status == "not_mapped":
        say("Instance %s is not mapped to a cell (upgrade is incomplete) or "
            "instance does not exist" % uuid)
        if not ctx.args["--quiet"]:
            _note_if_not_uuid(uuid)
        return result(1, found)
    if found.status == "no_cell":
        say("Instance %s is not mapped to a cell" % uuid)
        return result(2, found)
    if found.status == "archived":
        say("The instance with uuid %s has been archived." % uuid)
        say("However its instance_mapping remains.")
        return result(4, found)
    if found.status == "deleted":
        say("The instance with uuid %s has been deleted." % uuid)
        say("Execute `nova-manage db archive_deleted_rows` command to "
            "archive this deleted instance and remove its instance_mapping.")
        return result(3, found)
    say("Instance %s is in cell: %s (%s)" % (uuid, found.cell_name,
                                            found.cell_uuid))
    return result(0, found)


# -- cells -------------------------------------------------------------------

def create_cell(ctx):
    transport_url = _transport_url(ctx, ctx.args["--transport-url"])
    if not transport_url:
        return 1
    database_connection = _database_connection(
        ctx, ctx.args["--database_connection"])
    if not database_connection:
        return 1
    api_db = ctx.api_db()
    if _clashing_cell(all_mappings(api_db, ctx.conf), None, transport_url,
                      database_connection):
        return 2
    cell_uuid = str(uuidlib.uuid4())
    add_mapping(api_db, cell_uuid, ctx.args["--name"], transport_url,
                database_connection, ctx.args["--disabled"])
    if ctx.args["--verbose"]:
        print(cell_uuid)
    return 0


def list_cells(ctx):
    out = Output(ctx)
    verbose = ctx.args["--verbose"]
    cells = sorted(all_mappings(ctx.api_db(), ctx.conf),
                   key=lambda cell: cell.name or "")
    rows = []
    for cell in cells:
        urls = [cell.transport_url, cell.database_connection]
        if not verbose:
            urls = [mask_netloc_password(url) for url in urls]
        rows.append([cell.name or "", cell.uuid] + urls + [cell.disabled])
    out.table(["Name", "UUID", "Transport URL", "Database Connection",
               "Disabled"], rows)
    out.document({"cells": [
        {"name": cell.name, "uuid": uuid, "transport_url": transport,
         "database_connection": database, "disabled": bool(disabled)}
        for cell, (_, uuid, transport, database, disabled)
        in zip(cells, rows)]})
    return out.emit(0)


def delete_cell(ctx):
    _require(ctx, "delete_cell", "--cell_uuid")
    cell_uuid, force = ctx.args["--cell_uuid"], ctx.args["--force"]
    api_db = ctx.api_db()
    cell = _cell_or_report(ctx, api_db, cell_uuid)
    if cell is None:
        return 1
    has_hosts = hosts.has_host_mappings(api_db, cell.id)
    if has_hosts and not force:
        print("There are existing hosts mapped to cell with uuid %s."
              % cell_uuid)
        return 2
    cell_db = None
    if has_hosts:
        cell_db = _cell_db(ctx, cell)
        hosts.heal_cell_nodes(cell_db, ctx.conf)
    if count_instance_mappings(api_db, cell.id):
        cell_db = cell_db or _cell_db(ctx, cell)
        if hosts.has_live_instance(cell_db):
            print("There are existing instances mapped to cell with uuid "
                  "%s." % cell_uuid)
            return 3
        if not force:
            print("There are instance mappings to cell with uuid %s, but "
                  "all instances have been deleted in the cell." % cell_uuid)
            print("So execute 'nova-manage db archive_deleted_rows' to "
                  "delete the instance mappings.")
            return 4
    if has_hosts:
        hosts.unmap_all_nodes(cell_db)
    delete_mapping(api_db, cell.id)
    return 0


def update_cell(ctx):
    _require(ctx, "update_cell", "--cell_uuid")
    cell_uuid = ctx.args["--cell_uuid"]
    api_db = ctx.api_db()
    cell = _cell_or_report(ctx, api_db, cell_uuid)
    if cell is None:
        return 1
    values = stored_mapping(api_db, cell_uuid)._asdict()
    changed = False
    name = ctx.args["--name"]
    if name:
        changed |= name != values["name"]
        values["name"] = name
    transport_url = _transport_url(ctx, ctx.args["--transport-url"],
                                   warn_about_none=False)
    database_connection = _database_connection(
        ctx, ctx.args["--database_connection"], warn_about_none=False)
    if _clashing_cell(all_mappings(api_db, ctx.conf), cell.uuid,
                      transport_url, database_connection):
        # nova checks this before the enable/disable rules (codes 4, 5).
        return 3
    for key, value in (("transport_url", transport_url),
                       ("database_connection", database_connection)):
        if value:
            changed |= value != values[key]
            values[key] = value
    disable, enable = ctx.args["--disable"], ctx.args["--enable"]
    if disable and enable:
        print("Cell cannot be disabled and enabled at the same time.")
        return 4
    if disable or enable:
        if cell.is_cell0:
            print("Cell0 cannot be disabled.")
            return 5
        if disable and not cell.disabled:
            values["disabled"], changed = 1, True
        elif enable and cell.disabled:
            values["disabled"], changed = 0, True
        elif disable:
            print("Cell %s is already disabled" % cell_uuid)
        else:
            print("Cell %s is already enabled" % cell_uuid)
    if changed:
        try:
            save_mapping(api_db, StoredMapping(**values))
        except Exception as exc:  # noqa: BLE001 - nova reports any failure
            print("Unable to update CellMapping: %s" % mask_password(str(exc)))
            return 2
    return 0
