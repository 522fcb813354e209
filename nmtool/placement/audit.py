"""placement audit: allocations in Placement that belong to nothing.

For each resource provider (or the one given), its allocations are read
from Placement. Its compute node is the provider's root, looked up by
uuid in every cell but cell0. A consumer holding any of nova's resource
classes is orphaned when it is neither an instance on that node (host
and hypervisor_hostname, not deleted) nor a migration from or to it that
is still in progress. With --delete, an orphan's allocations are removed
from this provider only: the consumer's other providers are written back
with PUT when it spans several, otherwise the allocation is deleted.

Differences from nova-manage 34.0.0, on purpose (nova crashes with exit
255 or reports success in these cases; the man page says 1 for an
unexpected error): a provider list or allocation read that fails, and
a consumer whose allocations cannot be read back before --delete, end
with exit 1 and a one-line error; a PUT that Placement refuses counts as
a failed delete (nova ignores its result).
"""
from nmtool.clients.http import ServiceError, error_text
from nmtool.db.statements import sql

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
    """Compute node uuid -> (cell db, host, node), and the instances on
    each node, looked up once per node."""

    def __init__(self, cells):
        self.cells = cells          # [(cell uuid, Database)], cell0 left out
        self.nodes = {}
        self.instances = {}

    def find(self, cn_uuid):
        if cn_uuid not in self.nodes:
            self.nodes[cn_uuid] = None
            for _, db in self.cells:
                rows = db.query(sql("placement.compute_node_by_uuid"),
                                {"uuid": cn_uuid})
                if rows:
                    self.nodes[cn_uuid] = (db, rows[0][0], rows[0][1])
                    break
        return self.nodes[cn_uuid]

    def consumers(self, cn_uuid):
        """(instance uuids, in-progress migration uuids) of the node, or
        None when no cell has it. Migrations are read every time: they
        change while the audit runs."""
        found = self.find(cn_uuid)
        if found is None:
            return None
        db, host, node = found
        params = {"host": host, "node": node}
        if cn_uuid not in self.instances:
            self.instances[cn_uuid] = {r[0] for r in db.query(
                sql("placement.instances_on_node"), params)}
        migrations = {r[0] for r in db.query(
            sql("placement.migrations_in_progress"), params)}
        return self.instances[cn_uuid], migrations


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
    for provider in providers:
        found, faults = _audit_provider(placement, nodes, provider, delete,
                                        result, say, output)
        processed += found
        if faults:
            say("The Resource Provider %s had problems when deleting "
                "allocations. Stopping now. Please fix the problem by hand "
                "and run again." % provider["uuid"])
            return 1
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


def _audit_provider(placement, nodes, provider, delete, result, say,
                    output):
    rp_uuid = provider["uuid"]
    cn_uuid = provider.get("root_provider_uuid")
    consumers = nodes.consumers(cn_uuid)
    if consumers is None:
        output("The compute node for UUID %s can not be found" % cn_uuid)
        instances, migrations = set(), set()
    else:
        instances, migrations = consumers
    resp = placement.provider_allocations(rp_uuid)
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
