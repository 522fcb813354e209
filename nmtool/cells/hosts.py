"""Mapping compute hosts to cells: discover_hosts and map_cell_and_hosts.

nova checks and maps one compute node at a time, a query or two per node.
Here a page of unmapped nodes (or services) is read from the cell in one
query, the API database says in one query which of their hosts are mapped
already, and the new mappings go in as one multi-row INSERT in one
transaction; the cell then marks those nodes mapped in one UPDATE. What
it reports (records the command prints in nova's words), their order and
the rows written are nova's.

A kill between the API transaction and the cell UPDATE leaves hosts
mapped whose nodes still say mapped=0, exactly what nova leaves when it
dies between its two writes; the next run sees the mappings and skips
those hosts, as nova does.
"""
import collections

from nmtool.cells.compute_nodes import heal_ratios
from nmtool.db.statements import sql, utc_now
from nmtool.errors import NmtoolError

PAGE = 1000
ER_DUP_ENTRY = 1062


def _duplicate(exc):
    """Whether exc is the server's duplicate-key error (pymysql is
    imported only once a statement failed: -h reaches this module)."""
    import pymysql
    return isinstance(exc, pymysql.err.IntegrityError) and \
        exc.args[0] == ER_DUP_ENTRY


class HostMappingExists(NmtoolError):
    """Another discover_hosts mapped one of our hosts at the same time."""

    def __init__(self, host):
        super().__init__("Host '%s' mapping already exists" % host, 2)


def mappings_of(api_db, hosts):
    """{host as given: (host as mapped, cell uuid)} for the hosts that
    already have a mapping, by the server's comparison rules, in one
    query per page."""
    hosts = list(hosts)
    found = {}
    for start in range(0, len(hosts), PAGE):
        page = hosts[start:start + PAGE]
        union = " UNION ALL ".join(
            sql("host_mappings.candidate").format(index=index)
            for index in range(len(page)))
        query = sql("host_mappings.of_hosts").format(candidates=union)
        params = {"host_%d" % index: host for index, host in enumerate(page)}
        for given, stored, cell_uuid in api_db.query(query, params):
            found[given] = (stored, cell_uuid)
    return found


def _host_row(cell_id, host):
    return {"created_at": utc_now(), "cell_id": cell_id, "host": host}


def _insert_mappings(api_db, cell_id, hosts):
    """One transaction for a page of new host mappings."""
    def write(db):
        db.execute_many(sql("host_mappings.insert"),
                        [_host_row(cell_id, host) for host in hosts])
    try:
        api_db.run_in_transaction(write)
    except Exception as exc:
        if not _duplicate(exc):
            raise
        return False
    return True


def _insert_one_by_one(api_db, cell_id, hosts):
    """The slow path after a duplicate: nova's own order of check then
    create, host by host, so the host that collided is the one named."""
    created = []
    for host in hosts:
        if api_db.query(sql("host_mappings.by_host"), {"host": host}):
            continue
        try:
            api_db.execute_many(sql("host_mappings.insert"),
                                [_host_row(cell_id, host)])
        except Exception as exc:
            if not _duplicate(exc):
                raise
            raise HostMappingExists(host)
        created.append(host)
    return created


def map_new_hosts(api_db, cell_id, hosts):
    """Create mappings for hosts (none mapped at the last look); returns
    the hosts really mapped now."""
    if not hosts:
        return []
    if _insert_mappings(api_db, cell_id, hosts):
        return list(hosts)
    # Two spellings the server counts as one host, or a concurrent run.
    return _insert_one_by_one(api_db, cell_id, hosts)


# What discover_hosts reports, in the order it happens. The command turns
# each record into nova's --verbose line; the mapped hosts also make up
# the returned Discovery.
CellsFound = collections.namedtuple("CellsFound", "count")
Cell0Skipped = collections.namedtuple("Cell0Skipped", "cell")
CellStarted = collections.namedtuple("CellStarted", "cell")
NodeChecked = collections.namedtuple("NodeChecked", "cell host node")
NodeMapped = collections.namedtuple("NodeMapped", "cell host node")
ServiceMapped = collections.namedtuple("ServiceMapped", "cell host")
CellDone = collections.namedtuple("CellDone", "cell mapped")


class Discovery:
    """The result of discover_hosts: the hosts mapped (NodeMapped or
    ServiceMapped records) in the order they were mapped, and how many
    each cell mapped."""

    def __init__(self):
        self.hosts = []
        self.cells = []     # CellDone records, cell0 left out

    @property
    def total(self):
        return sum(done.mapped for done in self.cells)


def discover_in_cell(api_db, cell_db, conf, cell, by_service, note):
    """Map the unmapped hosts of one cell, passing each record to
    note(record); returns how many hosts were mapped."""
    added = 0
    after = 0
    query = sql("cell_hosts.compute_services" if by_service
                else "cell_hosts.unmapped_nodes")
    while True:
        rows = cell_db.query(query, {"after": after, "limit": PAGE})
        if not rows:
            break
        after = rows[-1][0]
        if not by_service:
            heal_ratios(cell_db, conf, [row[0] for row in rows])
        known = mappings_of(api_db, {row[1] for row in rows})
        # nova maps a host at its first node; later nodes of that host
        # find the mapping and are left unmarked.
        first_node = {}
        for row in rows:
            if row[1] not in known and row[1] not in first_node:
                first_node[row[1]] = row
        created = set(map_new_hosts(api_db, cell.id, list(first_node)))
        marked = []
        for row in rows:
            host = row[1]
            creates = host in created and first_node[host] is row
            if by_service:
                if creates:
                    note(ServiceMapped(cell, host))
            else:
                note(NodeChecked(cell, host, row[2]))
                if creates:
                    note(NodeMapped(cell, host, row[2]))
                    marked.append(row[0])
        if marked:
            cell_db.execute(sql("cell_hosts.mark_mapped"),
                            {"ids": marked})
        added += len(created)
        if len(rows) < PAGE:
            break
    return added


def discover_hosts(api_db, conf, cells, open_cell, by_service,
                   announce_count, report=None):
    """nova's discover_hosts over the given cells; returns a Discovery.
    open_cell(cell) gives the cell's database; report(record), when
    given, sees every record as it happens (nova prints them live with
    --verbose, also those before a HostMappingExists)."""
    found = Discovery()

    def note(record):
        if isinstance(record, (NodeMapped, ServiceMapped)):
            found.hosts.append(record)
        elif isinstance(record, CellDone):
            found.cells.append(record)
        if report is not None:
            report(record)
    if announce_count:
        note(CellsFound(len(cells)))
    for cell in cells:
        if cell.is_cell0:
            note(Cell0Skipped(cell))
            continue
        note(CellStarted(cell))
        added = discover_in_cell(api_db, open_cell(cell), conf, cell,
                                 by_service, note)
        note(CellDone(cell, added))
    return found


def map_cell_and_hosts(api_db, cell_db, conf, transport_url, name, say,
                       verbose):
    """nova's _map_cell_and_hosts: map the local cell's hosts, creating
    the cell mapping when none of them is mapped yet. Returns the cell's
    uuid, or None when the cell has no compute nodes."""
    import uuid as uuidlib
    from nmtool.cells.mappings import find_mapping
    nodes = cell_db.query(sql("cell_hosts.live_nodes"))
    heal_ratios(cell_db, conf, [node[0] for node in nodes])
    if not nodes:
        say("No hosts found to map to cell, exiting.")
        return None
    mapped = mappings_of(api_db, {host for _, host, _ in nodes})
    missing = []
    cell_uuid = None
    for _, host, _ in nodes:
        if host in mapped:
            if verbose:
                say("Host %s is already mapped to cell %s" % mapped[host])
            cell_uuid = mapped[host][1]
        elif host not in missing:
            missing.append(host)
    if not missing:
        say("All hosts are already mapped to cell(s).")
        return cell_uuid
    cell = find_mapping(api_db, conf, cell_uuid) if cell_uuid else None

    def write(db):
        if cell is None:
            new_uuid = str(uuidlib.uuid4())
            cell_id = db.execute(sql("cell_mappings.insert"), {
                "uuid": new_uuid, "name": name,
                "transport_url": transport_url,
                "database_connection": conf.database_connection,
                "disabled": 0}).lastrowid
        else:
            new_uuid, cell_id = cell.uuid, cell.id
        db.execute_many(sql("host_mappings.insert"),
                        [_host_row(cell_id, host) for host in missing])
        return new_uuid
    cell_uuid = api_db.run_in_transaction(write)
    if verbose:
        say(cell_uuid)
    return cell_uuid


class HostMapping(collections.namedtuple("HostMapping",
                                         "cell_name cell_uuid host")):
    """A row of list_hosts."""


def host_mappings(api_db, cell_id=None):
    """The host mappings (of one cell, or all), sorted by host as nova
    sorts them."""
    if cell_id is None:
        rows = api_db.query(sql("host_mappings.all"))
    else:
        rows = api_db.query(sql("host_mappings.by_cell"),
                            {"cell_id": cell_id})
    return sorted((HostMapping(*row) for row in rows),
                  key=lambda mapping: mapping.host)


def has_host_mappings(api_db, cell_id):
    return bool(api_db.query(sql("host_mappings.by_cell"),
                             {"cell_id": cell_id}))


# What delete_host found, in the order nova checks: each but DELETED is
# a refusal with its own message and exit code.
HOST_NOT_FOUND, HOST_IN_OTHER_CELL, HOST_HAS_INSTANCES, HOST_DELETED = (
    "not found", "in another cell", "has instances", "deleted")


def delete_host(api_db, cell_db, conf, cell, host):
    """nova's delete_host for a mapped cell: unmap the host's compute
    nodes in the cell and delete its host mapping, unless the host is
    not mapped, mapped to another cell, or has live instances. cell_db()
    opens the cell's database when it is needed. Returns one of the
    HOST_* outcomes."""
    found = api_db.query(sql("host_mappings.by_host"), {"host": host})
    if not found:
        return HOST_NOT_FOUND
    mapping_id, _, mapped_cell_uuid = found[0]
    if mapped_cell_uuid != cell.uuid:
        return HOST_IN_OTHER_CELL
    db = cell_db()
    # nova loads the host's nodes (healing their ratios) before it looks
    # at the instances.
    heal_ratios(db, conf, [row[0] for row in db.query(
        sql("cell_hosts.host_node_ids"), {"host": host})])
    if db.query(sql("cell_hosts.live_instance_on_host"), {"host": host}):
        return HOST_HAS_INSTANCES
    db.execute(sql("cell_hosts.unmap_host_nodes"), {"host": host})
    api_db.execute(sql("host_mappings.delete"), {"id": mapping_id})
    return HOST_DELETED


def heal_cell_nodes(cell_db, conf):
    """nova loads every live compute node of a cell here (delete_cell
    --force), healing their allocation ratios as it loads them."""
    heal_ratios(cell_db, conf, [row[0] for row in cell_db.query(
        sql("cell_hosts.live_nodes"))])


def has_live_instance(cell_db):
    return bool(cell_db.query(sql("cell_hosts.live_instance_exists")))


def unmap_all_nodes(cell_db):
    """Unmapped nodes can be discovered again if the cell comes back."""
    cell_db.execute(sql("cell_hosts.unmap_all_nodes"))
