"""placement audit: allocations in Placement that belong to nothing.

For each resource provider (or the one given), its allocations are read
from Placement, a page of providers at a time with several reads in
flight. Its compute node is the provider's root, looked up by uuid in
every cell but cell0 (one query per cell and page, as are the nodes'
instances and migrations). A consumer holding any of nova's resource
classes is orphaned when it is neither an instance on that node (host
and hypervisor_hostname, not deleted) nor a migration from or to it that
is still in progress. With --delete, the node's instances and
migrations are read again right before a candidate is removed; an
orphan's allocations are removed from this provider only: the
consumer's other providers are written back with PUT when it spans
several, otherwise the allocation is deleted.

Differences from nova-manage 34.0.0, on purpose (nova crashes with exit
255 or reports success in these cases; the man page says 1 for an
unexpected error): a provider list or allocation read that fails, and
a consumer whose allocations cannot be read back before --delete, end
with exit 1 and a one-line error; a PUT that Placement refuses counts as
a failed delete (nova ignores its result).
"""
from nmtool.clients.http import ServiceError, error_text
from nmtool.clients.session import Readers
from nmtool.db.statements import sql

# Providers per page: the database is read once per cell and page, and
# the page's allocations READERS at a time.
PAGE = 100
READERS = 8

NOVA_RESOURCE_CLASSES = frozenset((
    "VCPU", "MEMORY_MB", "DISK_GB", "VGPU", "NET_BW_EGR_KILOBIT_PER_SEC",
    "NET_BW_IGR_KILOBIT_PER_SEC", "PCPU", "MEM_ENCRYPTION_CONTEXT"))


class AuditFailed(Exception):
    """Stops the audit with exit 1 after printing its message."""


class Orphan:
    """One orphaned allocation: a consumer's resources on one provider,
    and whether --delete removed them."""
    __slots__ = ("consumer_uuid", "provider_uuid", "resources", "deleted")

    def __init__(self, consumer_uuid, provider_uuid, resources, deleted):
        self.consumer_uuid = consumer_uuid
        self.provider_uuid = provider_uuid
        self.resources = resources
        self.deleted = deleted

    def line(self):
        # nova prints the resources as a Python dict
        if self.deleted:
            return ("Deleted allocations for consumer UUID %s on Resource "
                    "Provider %s: %r" % (self.consumer_uuid,
                                         self.provider_uuid, self.resources))
        return ("Allocations for consumer UUID %s on Resource Provider %s "
                "can be deleted: %r" % (self.consumer_uuid,
                                        self.provider_uuid, self.resources))


class Result:
    """What an audit found, for its lines and --format json: the orphans
    in the order met, and the consumers whose delete failed."""

    def __init__(self):
        self.orphans = []
        self.delete_failed = []


class ComputeNodes:
    """Compute node uuid -> (cell db, host, node), and the instances and
    in-progress migrations of each node, read for a page of providers
    at a time: one query per cell and page for each, not per provider."""

    def __init__(self, cells):
        self.cells = cells          # [(cell uuid, Database)], cell0 left out
        self.nodes = {}
        self.related = {}

    def load(self, cn_uuids):
        """Look up the page's compute nodes not seen yet, then read the
        instances and migrations of all the page's nodes afresh (they
        change while the audit runs)."""
        missing = {u for u in cn_uuids if u and u not in self.nodes}
        for _, db in self.cells:
            if not missing:
                break
            for uuid, host, node in db.query(
                    sql("placement.compute_nodes_by_uuids"),
                    {"uuids": tuple(sorted(missing))}):
                if uuid in missing:
                    self.nodes[uuid] = (db, host, node)
                    missing.discard(uuid)
        for uuid in missing:
            self.nodes[uuid] = None
        self.related = {}
        by_db = {}
        for uuid in set(cn_uuids):
            found = self.nodes.get(uuid)
            if found is not None:
                self.related[uuid] = (set(), set())
                by_db.setdefault(id(found[0]), (found[0], []))[1].append(
                    (uuid, found[1], found[2]))
        for db, page_nodes in by_db.values():
            self._read_related(db, page_nodes)

    def _read_related(self, db, page_nodes):
        # the server's collation compared the names in the per-node
        # queries; lower case stands in for it here
        key = {(host.lower(), node.lower()): uuid
               for uuid, host, node in page_nodes}
        params = {"hosts": tuple(sorted({h for _, h, _ in page_nodes})),
                  "nodes": tuple(sorted({n for _, _, n in page_nodes}))}
        for uuid, host, node in db.query(sql("placement.instances_on_nodes"),
                                         params):
            cn = key.get(((host or "").lower(), (node or "").lower()))
            if cn is not None:
                self.related[cn][0].add(uuid)
        for row in db.query(sql("placement.migrations_on_nodes"), params):
            uuid, ends = row[0], (row[1:3], row[3:5])
            for host, node in ends:
                cn = key.get(((host or "").lower(), (node or "").lower()))
                if cn is not None:
                    self.related[cn][1].add(uuid)

    def consumers(self, cn_uuid):
        """(instance uuids, in-progress migration uuids) of the node, or
        None when no cell has it."""
        if self.nodes.get(cn_uuid) is None:
            return None
        return self.related[cn_uuid]

    def still_orphaned(self, cn_uuid, consumer):
        """Read the node's instances and migrations again right before a
        delete: one may have been created or started since the page was
        read."""
        found = self.nodes.get(cn_uuid)
        if found is None:
            return True
        db, host, node = found
        params = {"host": host, "node": node}
        for statement in ("placement.instances_on_node",
                          "placement.migrations_in_progress"):
            if consumer in {r[0] for r in db.query(sql(statement), params)}:
                return False
        return True


def run(placement, cells, provider_uuid, delete, result, say, output):
    """Returns the exit code and fills result (a Result). say() always
    prints, output() only with --verbose."""
    nodes = ComputeNodes(cells)
    if provider_uuid:
        resp = placement.resource_providers(uuid=provider_uuid)
        providers = _json(resp).get("resource_providers") \
            if resp.status_code == 200 else None
        if not providers:
            say("Resource provider with UUID %s does not exist."
                % provider_uuid)
            return 127
        providers = providers[:1]
    else:
        resp = placement.resource_providers()
        if resp.status_code != 200:
            raise ServiceError(placement.session.label,
                               placement.url + "/resource_providers",
                               "cannot list resource providers (%s)"
                               % error_text(resp))
        providers = _json(resp).get("resource_providers") or []

    processed = 0
    readers = Readers(READERS)
    try:
        for start in range(0, len(providers), PAGE):
            page = providers[start:start + PAGE]
            nodes.load([p.get("root_provider_uuid") for p in page])
            reads = readers.map(placement.provider_allocations,
                                [p["uuid"] for p in page])
            for provider, read in zip(page, reads):
                found, faults = _audit_provider(placement, nodes, provider,
                                                read, delete, result, say,
                                                output)
                processed += found
                if faults:
                    say("The Resource Provider %s had problems when "
                        "deleting allocations. Stopping now. Please fix the "
                        "problem by hand and run again." % provider["uuid"])
                    return 1
    finally:
        readers.close()
    if processed:
        output("Processed %d allocation%s" % (
            processed, "s." if processed > 1 else "."))
        return 4 if delete else 3
    return 0


def _json(resp):
    try:
        data = resp.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _audit_provider(placement, nodes, provider, read, delete, result, say,
                    output):
    """read: (response, exception) of the provider's allocations, read
    ahead with the rest of the page."""
    rp_uuid = provider["uuid"]
    cn_uuid = provider.get("root_provider_uuid")
    consumers = nodes.consumers(cn_uuid)
    if consumers is None:
        output("The compute node for UUID %s can not be found" % cn_uuid)
        instances, migrations = set(), set()
    else:
        instances, migrations = consumers
    resp, error = read
    if error is not None:
        raise error
    if resp.status_code >= 400:
        say("Not able to find allocations for resource provider %s."
            % rp_uuid)
        raise ServiceError(placement.session.label,
                           "%s/resource_providers/%s/allocations"
                           % (placement.url, rp_uuid), error_text(resp))
    found = faults = 0
    for consumer, allocation in _json(resp).get("allocations", {}).items():
        resources = allocation["resources"]
        if not any(rc in NOVA_RESOURCE_CLASSES for rc in resources):
            continue
        if consumer in instances or consumer in migrations:
            continue
        if delete and not nodes.still_orphaned(cn_uuid, consumer):
            continue
        output("Allocations were set against consumer UUID %s but no "
               "existing instances or active migrations are related. "
               % consumer)
        if delete and not _delete(placement, rp_uuid, consumer, output):
            result.delete_failed.append(consumer)
            say("Not able to delete allocations for consumer UUID %s"
                % consumer)
            faults += 1
            continue
        orphan = Orphan(consumer, rp_uuid, resources, bool(delete))
        result.orphans.append(orphan)
        output(orphan.line())
        found += 1
    return found, faults


def _delete(placement, rp_uuid, consumer, output):
    """Remove the consumer's allocations from this provider only."""
    resp = placement.consumer_allocations(consumer)
    if resp.status_code != 200:
        output("Reading the allocations of consumer %s failed: %s"
               % (consumer, error_text(resp)))
        return False
    body = resp.json()
    if len(body.get("allocations", {})) > 1:
        body["allocations"].pop(rp_uuid, None)
        put = placement.put_allocations(consumer, body)
        if put.status_code != 204:
            output("Updating the allocations of consumer %s failed: %s"
                   % (consumer, error_text(put)))
            return False
        return True
    gone = placement.delete_allocations(consumer)
    # a 404 means someone else removed them first: nothing is left either
    if gone.status_code >= 400 and gone.status_code != 404:
        output("Deleting the allocations of consumer %s failed: %s"
               % (consumer, error_text(gone)))
        return False
    return True
