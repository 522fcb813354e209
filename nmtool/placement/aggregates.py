"""placement sync_aggregates: mirror host aggregates onto the compute
nodes' resource providers in Placement.

For each (aggregate, host) pair of the API database, in nova-manage's
order: the host's cell (host mapping), its one compute node there (whose
uuid is the provider's), then the provider's aggregates in Placement, to
which the aggregate is added when missing. Nothing is ever removed.
Unmapped hosts, hosts without a compute node and providers Placement does
not know are reported after the loop, as nova-manage reports the first
two; the codes are nova's (1-6). Hosts are listed in the order first met
(nova prints a Python set, in no stable order).

Placement is asked once per aggregate which providers are in it already
(member_of, microversion 1.3); those pairs need no request of their own
and are reported as added, as nova-manage reports them. Any other pair
goes nova's way: read the provider's aggregates, write them back with the
aggregate added, and on a generation conflict (409, e.g. nova-compute
updating the same provider) read and write again, four attempts in all as
nova's report client makes.

Difference from nova-manage 34.0.0, on purpose: nova turns a provider
Placement answers 404 for into exit 2 at once (its code for that case,
6, cannot be reached); nmtool collects it and reports it after the loop
with exit 6, as the man page says.
"""
from nmtool.db.statements import sql

# nova's report client makes four attempts at adding a host to an
# aggregate when Placement answers 409 (its retry decorator on
# aggregate_add_host), without waiting between them.
CONFLICT_ATTEMPTS = 4


class Added:
    """A host whose provider is in an aggregate in Placement (added, or
    there already: nova-manage reports both the same way)."""
    __slots__ = ("host", "provider_uuid", "aggregate_uuid")

    def __init__(self, host, provider_uuid, aggregate_uuid):
        self.host = host
        self.provider_uuid = provider_uuid
        self.aggregate_uuid = aggregate_uuid

    def line(self):
        return ("Successfully added host (%s) and provider (%s) to aggregate "
                "(%s)." % (self.host, self.provider_uuid,
                           self.aggregate_uuid))


class Problems:
    """Hosts that could not be mirrored, collected during the loop."""

    def __init__(self):
        self.unmapped = []          # host names, first seen first
        self.no_compute = []
        self.no_provider = {}       # host -> provider uuid


class Result(Problems):
    """What a run did, for its lines and --format json: added, in order;
    and the problems the run reported after its loop (a run that stops
    early with 1-3 reports none, so none are listed)."""

    def __init__(self):
        super().__init__()
        self.added = []


def _add_unique(items, item):
    if item not in items:
        items.append(item)


class HostLookup:
    """host -> provider uuid through host_mappings and the cell's
    compute_nodes; cell connections are opened once and reused."""

    def __init__(self, api_db, open_cell):
        self.api_db = api_db
        self.open_cell = open_cell
        self.cells = {}

    def provider_of(self, host):
        """(uuid, None), or (None, 'unmapped'|'no_compute'), or
        (None, ('too_many', count))."""
        rows = self.api_db.query(sql("placement.host_cell"), {"host": host})
        if not rows:
            return None, "unmapped"
        cell_uuid, cell_name, url = rows[0]
        if cell_uuid not in self.cells:
            self.cells[cell_uuid] = self.open_cell(cell_uuid, cell_name, url)
        nodes = self.cells[cell_uuid].query(
            sql("placement.compute_nodes_of_host"), {"host": host})
        if not nodes:
            return None, "no_compute"
        if len(nodes) > 1:
            return None, ("too_many", len(nodes))
        return nodes[0][0], None


def aggregates(api_db):
    """[(uuid, name, [hosts])] in nova-manage's order: first appearance in
    the rows of its (unordered) query."""
    order = []
    by_id = {}
    for row in api_db.query(sql("placement.aggregates_with_hosts")):
        agg_id, agg_uuid, name, host = row[:4]
        if agg_id not in by_id:
            by_id[agg_id] = (agg_uuid, name, [])
            order.append(agg_id)
        hosts = by_id[agg_id][2]
        if host is not None and host not in hosts:
            hosts.append(host)
    return [by_id[agg_id] for agg_id in order]


def run(api_db, open_cell, placement, result, say, output):
    """Returns the exit code and fills result (a Result). say() always
    prints, output() only with --verbose."""
    lookup = HostLookup(api_db, open_cell)
    problems = Problems()
    host_rp = {}
    output("Filling in missing placement aggregates")
    for agg_uuid, name, hosts in aggregates(api_db):
        output("Processing aggregate: %s" % name)
        members = None      # asked when the first provider is known
        for host in hosts:
            output("Processing host: %s" % host)
            rp_uuid = host_rp.get(host)
            if not rp_uuid:
                rp_uuid, problem = lookup.provider_of(host)
                if problem == "unmapped":
                    _add_unique(problems.unmapped, host)
                    continue
                if problem == "no_compute":
                    _add_unique(problems.no_compute, host)
                    continue
                if problem:
                    say("Unexpected number of compute node records (%d) "
                        "found for host %s. There should only be a one-to-one "
                        "mapping." % (problem[1], host))
                    return 1
                host_rp[host] = rp_uuid
            if members is None:
                members = _members(placement, agg_uuid)
            if rp_uuid in members:
                _added(host, rp_uuid, agg_uuid, result, output)
                continue
            code = _add_to_aggregate(placement, host, rp_uuid, agg_uuid,
                                     problems, result, say, output)
            if code:
                return code
    return _report(problems, result, say)


def _members(placement, agg_uuid):
    """The providers Placement has in the aggregate; an empty set when it
    cannot say, so that every pair is asked about as nova asks and any
    failure is reported with nova's message and code."""
    resp = placement.aggregate_members(agg_uuid)
    if resp.status_code != 200:
        return set()
    try:
        return {rp["uuid"] for rp in resp.json()["resource_providers"]}
    except (ValueError, KeyError, TypeError):
        return set()


def _added(host, rp_uuid, agg_uuid, result, output):
    added = Added(host, rp_uuid, agg_uuid)
    result.added.append(added)
    output(added.line())


def _add_to_aggregate(placement, host, rp_uuid, agg_uuid, problems, result,
                      say, output):
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        resp = placement.provider_aggregates(rp_uuid)
        if resp.status_code == 404:
            problems.no_provider[host] = rp_uuid
            return 0
        if resp.status_code != 200:
            say("Failed to get aggregates for resource provider with UUID %s"
                % rp_uuid)
            return 2
        data = resp.json()
        existing = data["aggregates"]
        generation = data["resource_provider_generation"]
        if agg_uuid in existing:
            break
        put = placement.set_provider_aggregates(
            rp_uuid, list(existing) + [agg_uuid], generation)
        if put.status_code == 200:
            break
        if put.status_code == 409:
            if attempt < CONFLICT_ATTEMPTS:
                continue
            error = ("A conflict was encountered attempting to update "
                     "resource provider %s (generation %d): %s"
                     % (rp_uuid, generation, put.text))
        else:
            error = ("Failed to update resource provider via URL "
                     "/resource_providers/%s/aggregates: %s"
                     % (rp_uuid, put.text))
        say("Failed updating provider aggregates for host (%s), provider "
            "(%s) and aggregate (%s). Error: %s"
            % (host, rp_uuid, agg_uuid, error))
        return 3
    _added(host, rp_uuid, agg_uuid, result, output)
    return 0


def _report(problems, result, say):
    """The problems of the loop, printed and passed on to the result."""
    result.unmapped = list(problems.unmapped)
    result.no_compute = list(problems.no_compute)
    result.no_provider = dict(problems.no_provider)
    code = 0
    if result.unmapped:
        say('The following hosts were found in nova host aggregates but no '
            'host mappings were found in the nova API DB. Run "nova-manage '
            'cell_v2 discover_hosts" and then retry. Missing: %s'
            % ",".join(result.unmapped))
        code = 4
    if result.no_compute:
        say("Unable to find matching compute_nodes record entries in the "
            "cell database for the following hosts; does the nova-compute "
            "service on each host need to be restarted? Missing: %s"
            % ",".join(result.no_compute))
        code = 5
    if result.no_provider:
        say("Unable to find matching resource provider record in placement "
            "with uuid for the following hosts: %s. Try restarting the "
            "nova-compute service on each host and then retry."
            % ",".join("(%s=%s)" % (host, result.no_provider[host])
                       for host in sorted(result.no_provider)))
        code = 6
    return code

