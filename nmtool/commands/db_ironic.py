"""db ironic_flavor_migration (nova 22 and older) and db
ironic_compute_node_move (nova 34.0.0): ironic compute nodes of the cell
database of [database]/connection."""
from nmtool.errors import NmtoolError, UsageError
from nmtool.maintenance import ironic

USAGE = {
    "ironic_flavor_migration": """\
Usage: nmtool db ironic_flavor_migration [--all] [--host=<host>] [--node=<node>] [--resource_class=<class>] [--verbose]

Offline Pike flavor migration of ironic instances: add the node's custom
resource class ("resources:CUSTOM_<CLASS>": "1") to the extra specs of
the flavor embedded in each instance, for all ironic nodes (--all), the
nodes of one compute host (--host) or one node of it (--host and
--node). One cell: the cell database of [database]/connection. Exit 0:
done or nothing to do; 1: no matching node, or not ironic; 2: a node
with more than one instance (nodes before it are migrated); 3: bad
combination of options.

Options:
  --all                     Migrate every ironic node in the cell.
  --host=<host>             Compute service host whose nodes to migrate.
  --node=<node>             Ironic node uuid to migrate (needs --host).
  --resource_class=<class>  Resource class set on the ironic nodes
                            (required).
  --verbose                 Print each instance migrated.
""",
    "ironic_compute_node_move": """\
Usage: nmtool db ironic_compute_node_move [--ironic-node-uuid=<uuid>] [--destination-host=<host>]

Move an ironic compute node, and its instance, to another nova-compute
service of the cell database of [database]/connection. The node's
service must be forced down, the destination's must not be, and the
node must have at most one instance. Prints nothing on success (exit 0);
a refusal is one error line and exit 255, with the node and instances
left as they were.

Options:
  --ironic-node-uuid=<uuid>  UUID of the ironic node to move.
  --destination-host=<host>  CONF.host of the destination ironic
                             nova-compute service.
""",
}


def _usage(action):
    return "usage: " + USAGE[action].split("\n", 1)[0][len("Usage: "):]


def ironic_flavor_migration(ctx):
    args = ctx.args
    resource_class = args["--resource_class"]
    all_hosts, host, node = args["--all"], args["--host"], args["--node"]
    verbose = args["--verbose"]
    if resource_class is None:  # argparse's required=True in nova
        raise UsageError(
            "the following arguments are required: --resource_class",
            usage=_usage("ironic_flavor_migration"))
    if not resource_class:
        print("A resource_class is required for all modes of operation")
        return 3
    if all_hosts:
        if host or node:
            print("--all with --host and/or --node does not make sense")
            return 3
    elif not host:
        print("Either --all, --host, or --host and --node are required")
        return 3

    db = ctx.main_db()
    nodes = ironic.find_nodes(db, all_hosts, host, node)
    if not nodes:
        print("No ironic compute nodes found that match criteria")
        return 1
    ironic.heal_ratios(db, ctx.conf, [n.id for n in nodes if not n.deleted])
    # Only the first node's type is checked, as nova did.
    if nodes[0].hypervisor_type != ironic.IRONIC:
        print("Compute node(s) specified is not of type ironic")
        return 1

    work, crowded = [], None
    for cn, uuids in ironic.instances_by_node(db, nodes):
        if len(uuids) > 1:
            crowded = cn
            break
        work.extend((cn, uuid) for uuid in uuids)

    def report(uuid, node_name):
        if verbose:
            print("Migrated instance %s on node %s" % (uuid, node_name))

    resource_key = "resources:%s" % ironic.normalize_rc_name(resource_class)
    ironic.migrate_flavors(db, work, resource_key, report)
    if crowded is not None:
        print("Ironic node %s has multiple instances? Something is wrong."
              % crowded.hypervisor_hostname)
        return 2
    return 0


def ironic_compute_node_move(ctx):
    node_uuid = ctx.args["--ironic-node-uuid"]
    destination = ctx.args["--destination-host"]
    # nova-manage looks these up as None and fails to find them; the
    # exit code is the same, the message says what is missing.
    if destination is None:
        raise NmtoolError("--destination-host is required")
    if node_uuid is None:
        raise NmtoolError("--ironic-node-uuid is required")
    ironic.move_compute_node(ctx.main_db(), ctx.conf, node_uuid, destination)
    return 0
