"""Ironic compute nodes in a cell database.

Two jobs:

- the Pike flavor migration of nova 22 (Victoria) and older: for the
  instance on each ironic node, add "resources:CUSTOM_<CLASS>": "1" to
  the extra specs of the flavor embedded in instance_extra.flavor,
  re-serialized the way nova's objects re-serialized it;
- moving an ironic compute node (and its instance) from one nova-compute
  service to another, as nova 34.0.0 does.

Both also do what loading a compute node did in nova: allocation ratios
left NULL or 0.0 are filled in from the configuration.
"""
import datetime
import json
import re

from nmtool.cells.compute_nodes import heal_ratios  # noqa: F401 (db_ironic)
from nmtool.db.statements import sql
from nmtool.errors import NmtoolError

IRONIC = "ironic"
# Nodes per instance lookup and instances per write transaction.
NODE_CHUNK = 500
INSTANCE_BATCH = 200


# -- the embedded flavor --------------------------------------------------

def normalize_rc_name(name):
    """nova.utils.normalize_rc_name: CUSTOM_ + the name upper-cased, runs
    of anything but letters and digits turned into one underscore."""
    return "CUSTOM_" + re.sub("[^0-9A-Za-z]+", "_", name).upper()


class BadFlavor(ValueError):
    """An embedded flavor nova could not have loaded."""


def _string(value):
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):  # bools too, as oslo's String
        return str(value)
    raise BadFlavor("not a string: %r" % (value,))


def _dict_of_strings(value):
    if not isinstance(value, dict):
        raise BadFlavor("not a dict: %r" % (value,))
    return {key: _string(item) for key, item in value.items()}


def _list_of_strings(value):
    if not isinstance(value, list):
        raise BadFlavor("not a list: %r" % (value,))
    return [_string(item) for item in value]


_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?"
                  r"(Z|[+-]\d{2}:?\d{2})?$")


def _datetime(value):
    """oslo's DateTime field: parsed, then written back as isotime():
    seconds precision, "Z" for UTC."""
    match = _ISO.match(value) if isinstance(value, str) else None
    if not match:
        raise BadFlavor("not a date and time: %r" % (value,))
    day, time, _fraction, zone = match.groups()
    datetime.datetime.strptime(day + "T" + time, "%Y-%m-%dT%H:%M:%S")
    if zone in (None, "Z", "+00:00", "+0000", "-00:00", "-0000"):
        zone = "Z"
    return "%sT%s%s" % (day, time, zone)


# The Flavor object's fields in their declared order (its own, then the
# persistent-object ones), with how each coerces a value and what it
# gives for None (_NOT_NULL: the value is refused).
_NOT_NULL = object()
FLAVOR_FIELDS = (
    ("id", int, _NOT_NULL),
    ("name", _string, None),
    ("memory_mb", int, _NOT_NULL),
    ("vcpus", int, _NOT_NULL),
    ("root_gb", int, _NOT_NULL),
    ("ephemeral_gb", int, _NOT_NULL),
    ("flavorid", _string, _NOT_NULL),
    ("swap", int, _NOT_NULL),
    ("rxtx_factor", float, None),
    ("vcpu_weight", int, None),
    ("disabled", bool, _NOT_NULL),
    ("is_public", bool, _NOT_NULL),
    ("extra_specs", _dict_of_strings, _NOT_NULL),
    ("projects", _list_of_strings, _NOT_NULL),
    ("description", _string, None),
    ("created_at", _datetime, None),
    ("updated_at", _datetime, None),
    ("deleted_at", _datetime, None),
    ("deleted", bool, False),
)
FIELD_NAMES = [name for name, _, _ in FLAVOR_FIELDS]
PREFIX = "nova_object."


def reserialize_flavor(primitive, add_spec=None):
    """One Flavor primitive as nova wrote it back after loading it
    (optionally with one extra spec added): known fields only, in field
    order, coerced; disabled/is_public defaulted; description nulled; the
    changes list nova's change tracking gave."""
    if not isinstance(primitive, dict) or \
            not isinstance(primitive.get(PREFIX + "data"), dict):
        raise BadFlavor("not a Flavor object")
    stored = primitive[PREFIX + "data"]
    data = {}
    for name, coerce, if_none in FLAVOR_FIELDS:
        if name not in stored:
            continue
        value = stored[name]
        if value is None:
            if if_none is _NOT_NULL:
                raise BadFlavor("%s is null" % name)
            data[name] = if_none
            continue
        try:
            data[name] = coerce(value)
        except (TypeError, ValueError) as exc:
            raise BadFlavor("%s: %s" % (name, exc))
    changes = []
    for name in primitive.get(PREFIX + "changes") or []:
        if name in FIELD_NAMES and name not in changes:
            changes.append(name)
    # Instance._flavor_from_db defaults these on flavors from before they
    # were stored, which marks them changed.
    for name, default in (("disabled", False), ("is_public", True)):
        if name not in data:
            data[name] = default
            changes.append(name)
    if add_spec is not None:
        data.setdefault("extra_specs", {})
        data["extra_specs"][add_spec[0]] = add_spec[1]
    # Flavor tracks extra_specs and projects against their values at
    # load, which its loading from a primitive leaves empty: non-empty
    # ones always count as changed.
    for name in ("extra_specs", "projects"):
        if data.get(name) and name not in changes:
            changes.append(name)
    if "description" in data:  # Instance._nullify_flavor_description
        data["description"] = None
    data = {name: data[name] for name in FIELD_NAMES if name in data}
    result = {PREFIX + "name": "Flavor", PREFIX + "namespace": "nova",
              PREFIX + "version": primitive.get(PREFIX + "version"),
              PREFIX + "data": data}
    changes = [name for name in changes if name in data]
    if changes:
        result[PREFIX + "changes"] = changes
    return result


def migrate_flavor_text(text, resource_key):
    """The new instance_extra.flavor with resource_key set to "1" in the
    current flavor's extra specs, or None when it is there already."""
    try:
        info = json.loads(text)
        current = info["cur"]
        specs = current[PREFIX + "data"].get("extra_specs") or {}
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise BadFlavor("unreadable: %s" % exc)
    if resource_key in specs:
        return None
    out = {"cur": reserialize_flavor(current, (resource_key, "1"))}
    for key in ("old", "new"):
        out[key] = reserialize_flavor(info[key]) if info.get(key) else None
    return json.dumps(out)


# -- ironic_flavor_migration ------------------------------------------------

class Node:
    __slots__ = ("id", "hypervisor_hostname", "hypervisor_type", "deleted")

    def __init__(self, row):
        (self.id, self.hypervisor_hostname, self.hypervisor_type,
         self.deleted) = row


def find_nodes(db, all_hosts, host, node):
    """The compute nodes nova's command picked, in id order."""
    if all_hosts:
        rows = db.query(sql("ironic.nodes_of_type"),
                        {"hypervisor_type": IRONIC})
    elif node:
        rows = db.query(sql("ironic.node_on_host"),
                        {"host": host, "node": node})
    else:
        rows = db.query(sql("ironic.nodes_on_host"), {"host": host})
    return [Node(row) for row in rows]


def instances_by_node(db, nodes):
    """(node, [instance uuids]) for every node, in node order."""
    found = {}
    ids = [node.id for node in nodes]
    for start in range(0, len(ids), NODE_CHUNK):
        for node_id, uuid in db.query(sql("ironic.instances_on_nodes"), {
                "ids": tuple(ids[start:start + NODE_CHUNK])}):
            found.setdefault(node_id, []).append(uuid)
    return [(node, found.get(node.id, [])) for node in nodes]


class FlavorMigrationStopped(NmtoolError):
    """An instance whose embedded flavor cannot be migrated."""


def migrate_flavors(db, work, resource_key, report):
    """Migrate the instances of work [(node, uuid)] in batches, one
    transaction each; report(uuid, node) for each one changed. Stops with
    FlavorMigrationStopped at an instance without a usable flavor, the
    instances before it committed (nova stopped there too)."""
    seen = set()
    for start in range(0, len(work), INSTANCE_BATCH):
        batch = work[start:start + INSTANCE_BATCH]
        migrated, problem, done = db.run_in_transaction(
            lambda conn: _migrate_batch(conn, batch, resource_key, seen))
        seen.update(done)
        for uuid, node in migrated:
            report(uuid, node)
        if problem:
            raise FlavorMigrationStopped(problem)


def _migrate_batch(db, batch, resource_key, seen):
    uuids = tuple(sorted({uuid for _, uuid in batch}))
    flavors = dict(db.query(sql("ironic.flavors_for_update"),
                            {"uuids": uuids}))
    migrated, problem, done = [], None, set()
    for node, uuid in batch:
        if uuid in seen or uuid in done:
            continue  # a second node record of the same ironic node
        text = flavors.get(uuid)
        try:
            if text is None:
                raise BadFlavor("no flavor in instance_extra")
            new_text = migrate_flavor_text(text, resource_key)
        except BadFlavor as exc:
            problem = ("Instance %s on node %s has no usable embedded "
                       "flavor (%s); stopped before it" % (
                           uuid, node.hypervisor_hostname, exc))
            break
        done.add(uuid)
        if new_text is not None:
            db.execute(sql("ironic.update_flavor"),
                       {"flavor": new_text, "uuid": uuid})
            migrated.append((uuid, node.hypervisor_hostname))
    return migrated, problem, done


# -- ironic_compute_node_move -----------------------------------------------

def _service(row):
    return {"id": row[0], "host": row[1], "forced_down": bool(row[2])}


def move_compute_node(db, conf, node_uuid, destination_host):
    """Hand an ironic compute node and its instance to the nova-compute
    service of destination_host, with nova 34.0.0's checks and messages
    (each a NmtoolError with its exit code, 255)."""
    rows = db.query(sql("ironic.compute_service"), {"host": destination_host})
    if not rows:
        raise NmtoolError("Compute host %s could not be found."
                          % destination_host)
    destination = _service(rows[0])
    if destination["forced_down"]:
        raise NmtoolError("Destination compute is forced down!")

    rows = db.query(sql("ironic.node_by_uuid"), {"uuid": node_uuid})
    if not rows:
        raise NmtoolError("Compute host %s could not be found." % node_uuid)
    node_id = rows[0][0]
    heal_ratios(db, conf, [node_id])

    def move(conn):
        found = conn.query(sql("ironic.lock_node"), {"id": node_id})
        if not found:
            raise NmtoolError("Compute host %s could not be found."
                              % node_uuid)
        _, _, host, hypervisor_hostname, service_id = found[0]
        rows = conn.query(sql("ironic.service_by_id"), {"id": service_id})
        if not rows:
            raise NmtoolError("Service %s could not be found." % service_id)
        if not _service(rows[0])["forced_down"]:
            raise NmtoolError("Source service is not yet forced down!")
        instances = [row[0] for row in conn.query(
            sql("ironic.instances_on_node"),
            {"host": host, "node": hypervisor_hostname})]
        if len(instances) > 1:
            raise NmtoolError(
                "Found an ironic host with more than one instance! Please "
                "delete all Nova instances that do not match the instance "
                "uuid recorded on the Ironic node.")
        conn.execute(sql("ironic.move_node"), {
            "id": node_id, "service_id": destination["id"],
            "host": destination["host"]})
        for uuid in instances:
            conn.execute(sql("ironic.move_instance"),
                         {"uuid": uuid, "host": destination["host"]})
        return instances

    return db.run_in_transaction(move)
