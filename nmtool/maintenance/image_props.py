"""Image properties: what nova accepts, and nova's view of them.

Nova checks image property values by building an ImageMetaProps object,
whose fields coerce (and reject) values. nmtool does the same checks on
its own, from a table of the fields generated from nova's objects
(nmtool/maintenance/image_properties.json, see scripts/gen-image-props.py):
the same names, the same accepted values, the same error messages, in the
same order, because nova-manage prints the first error it meets.

The same code rebuilds the ImageMeta nova derives from an instance's
system metadata ("image_*" keys), which is where the stored machine type
is read and what `image_property set` writes into the request spec.
"""
import json
import os
import re

from nmtool.cells.instances import save_system_metadata
from nmtool.db.statements import sql
from nmtool.errors import Refused

_DATA = None


def data():
    global _DATA
    if _DATA is None:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "image_properties.json")
        with open(path, encoding="utf-8") as handle:
            loaded = json.load(handle)
        loaded["by_name"] = {p["name"]: p for p in loaded["properties"]}
        loaded["meta_by_name"] = {f["name"]: f
                                  for f in loaded["image_meta_fields"]}
        # Published whole: list_unset_machine_type --jobs reads it from
        # several threads at once.
        _DATA = loaded
    return _DATA


def property_names():
    return list(data()["by_name"])


class PropertyValueError(Exception):
    """A value nova's coercion rejects with ValueError (str: its text).
    Where nova-manage expects it (image_property set) it becomes
    InvalidPropertyValue; elsewhere it is an unexpected error."""


class InvalidPropertyValue(Refused):
    """image_property set with a value nova refuses."""

    exit_code = 6


class PropertyInvalid(Exception):
    """nova.exception.Invalid, raised by the NUMA cpu-list parser."""


class InputFormatError(Refused):
    """A --property without "="."""

    exit_code = 4


class InvalidState(Refused):
    """image_property set on an instance that is not stopped or shelved."""

    exit_code = 3


class PropertyNameError(Refused):
    """A property name ImageMetaProps has no field for."""

    exit_code = 5


# -- value coercion --------------------------------------------------------

_TRUE_STRINGS = ("1", "t", "true", "on", "y", "yes")

# Canonical names nova's enum types accept for legacy spellings.
_ARCH_ALIASES = {"i386": "i686", "i486": "i686", "i586": "i686",
                 "x86_32": "i686", "x86_32p": "i686", "amd64": "x86_64"}
_HVTYPE_ALIASES = {"xapi": "xen"}
_VMMODE_ALIASES = {"pv": "xen", "hv": "hvm", "baremetal": "hvm"}

# A PEP 440 version (what packaging.version.Version parses), written for
# the version predicates of img_hv_requested_version.
_PEP440 = re.compile(r"""
    ^v?
    (?:[0-9]+!)?
    [0-9]+(?:\.[0-9]+)*
    (?:[._-]?(?:alpha|a|beta|b|preview|pre|c|rc)[._-]?(?:[0-9]+)?)?
    (?:-[0-9]+|[._-]?(?:post|rev|r)[._-]?(?:[0-9]+)?)?
    (?:[._-]?dev[._-]?(?:[0-9]+)?)?
    (?:\+[a-z0-9]+(?:[._-][a-z0-9]+)*)?$
    """, re.VERBOSE | re.IGNORECASE | re.ASCII)
_PREDICATE = re.compile(r"^\s*(<=|>=|<|>|!=|==)\s*([^\s]+)\s*$")


def _enum(entry, value):
    rule = entry.get("canonicalize")
    original = value
    if rule == "architecture":
        value = _ARCH_ALIASES.get(value.lower(), value.lower())
        if value not in entry["values"]:
            raise PropertyValueError(
                "Architecture name '%s' is not valid" % original)
    elif rule == "hvtype":
        value = _HVTYPE_ALIASES.get(value.lower(), value.lower())
        if value not in entry["values"]:
            raise PropertyValueError(
                "Hypervisor virt type '%s' is not valid" % original)
    elif rule == "vmmode":
        value = _VMMODE_ALIASES.get(value.lower(), value.lower())
        if value not in entry["values"]:
            raise PropertyValueError(
                "Virtual machine mode '%s' is not valid" % original)
    elif rule == "lower":
        value = value.lower()
    elif rule == "lower_alias":
        value = value.lower()
        value = entry["aliases"].get(value, value)
    if value not in entry["values"]:
        raise PropertyValueError("Field value %s is invalid" % value)
    return value


def _version_predicate(entry, value):
    for part in value.split(","):
        match = _PREDICATE.match(part)
        if not match or not _PEP440.match(match.group(2)):
            raise PropertyValueError(
                "Version %s is not a valid predicate in field %s"
                % (value, entry["name"]))
    return value


def _integer(value):
    try:
        return int(value)
    except ValueError as exc:
        raise PropertyValueError(str(exc)) from None


def coerce(entry, value):
    """The value nova stores in the field for a string value, or
    PropertyValueError with nova's message."""
    kind = entry["type"]
    if kind in ("string", "uuid"):
        return value
    if kind == "integer":
        return _integer(value)
    if kind == "boolean":
        return value.strip().lower() in _TRUE_STRINGS
    if kind == "enum":
        return _enum(entry, value)
    if kind == "version_predicate":
        return _version_predicate(entry, value)
    if kind == "list":
        raise PropertyValueError(
            "A list is required in field %s, not a str" % entry["name"])
    raise PropertyValueError("A %s is required in field %s, not a str"
                             % (kind, entry["name"]))


def parse_cpu_spec(spec):
    """A CPU list such as "1-4,^3,6" as a set of ints, or PropertyInvalid
    with the text nova's parser gives."""
    include, exclude = set(), set()
    for rule in spec.split(","):
        rule = rule.strip()
        if not rule:
            continue
        parts = rule.split("-", 1)
        if len(parts) > 1:
            target = include
            if parts[0] and parts[0][0] == "^":
                target = exclude
                parts[0] = parts[0][1:]
            try:
                start, end = [int(p.strip()) for p in parts]
            except ValueError:
                raise PropertyInvalid("Invalid range expression %r" % rule)
            if start > end:
                raise PropertyInvalid("Invalid range expression %r" % rule)
            target.update(range(start, end + 1))
        elif rule[0] == "^":
            try:
                exclude.add(int(rule[1:].strip()))
            except ValueError:
                raise PropertyInvalid("Invalid exclusion expression %r"
                                      % rule)
        else:
            try:
                include.add(int(rule))
            except ValueError:
                raise PropertyInvalid("Invalid inclusion expression %r"
                                      % rule)
    return include - exclude


# -- ImageMetaProps.from_dict ---------------------------------------------

def props_from_dict(image_props):
    """The fields ImageMetaProps.from_dict sets from a dict of strings:
    {field: value}, in the order nova sets them (legacy names first, then
    current names, then traits), with nova's first error."""
    d = data()
    fields = d["by_name"]
    result = {}

    def assign(name, value):
        result.pop(name, None)  # a later assignment moves to the end
        result[name] = coerce(fields[name], value)

    for legacy, current in d["legacy_property_map"].items():
        if legacy in image_props:
            assign(current, image_props[legacy])
    adapter = image_props.get("vmware_adaptertype")
    if adapter == "ide":
        assign("hw_disk_bus", "ide")
    elif adapter:
        assign("hw_disk_bus", "scsi")
        assign("hw_scsi_model", adapter)
    for name in fields:
        if name == "hw_numa_mem":
            values = _numbered(image_props, name)
            if values:
                result["hw_numa_mem"] = [_integer(v) for v in values]
        elif name == "hw_numa_cpus":
            values = _numbered(image_props, name)
            if values:
                result["hw_numa_cpus"] = [parse_cpu_spec(v) for v in values]
        elif name in image_props and name != "traits_required":
            assign(name, image_props[name])
    for key, value in image_props.items():
        if str(key).startswith("trait:") and str(value) == "required":
            result.setdefault("traits_required", []).append(str(key)[6:])
    return result


def _numbered(image_props, name):
    """hw_numa_mem.0, hw_numa_mem.1, ... up to the first gap."""
    values = []
    for index in range(data()["numa_nodes_max"]):
        key = "%s.%d" % (name, index)
        if key not in image_props:
            break
        values.append(image_props[key])
    return values


# -- ImageMeta from system metadata ------------------------------------------

def image_meta_from_system_metadata(sysmeta, image_ref):
    """(meta, props): the ImageMeta nova derives from an instance's system
    metadata dict. meta maps ImageMeta fields to values (without
    'properties'), props the ImageMetaProps fields. Raises
    PropertyValueError or PropertyInvalid as nova would."""
    d = data()
    prefix = d["system_metadata"]["prefix"]
    inheritable = d["system_metadata"]["inheritable_keys"]
    skip = d["system_metadata"]["skip_keys"]
    meta_values, prop_values = {}, {}
    for key, value in sysmeta.items():
        if value is None:
            continue
        if key.startswith(prefix):
            key = key[len(prefix):]
        if key in skip:
            continue
        if key in inheritable:
            meta_values[key] = value
        else:
            prop_values[key] = value
    order = list(meta_values) + ["properties"]
    if meta_values.get("id") is None and image_ref:
        meta_values["id"] = image_ref
        order.append("id")
    props = props_from_dict(prop_values)
    meta = {}
    for name in order:
        if name == "properties":
            continue
        meta[name] = coerce(d["meta_by_name"][name], meta_values[name])
    return meta, props


def machine_type(sysmeta, image_ref):
    """hw_machine_type as nova reads it (None when unset)."""
    _, props = image_meta_from_system_metadata(sysmeta, image_ref)
    return props.get("hw_machine_type")


def _primitive_value(value):
    if isinstance(value, set):
        return sorted(value)
    if isinstance(value, list):
        return [_primitive_value(v) for v in value]
    return value


def _object_primitive(name, version, fields, values):
    present = [f for f in fields if f in values]
    primitive = {
        "nova_object.name": name,
        "nova_object.namespace": "nova",
        "nova_object.version": version,
        "nova_object.data": {f: values[f] for f in present},
    }
    if present:
        primitive["nova_object.changes"] = present
    return primitive


def image_meta_primitive(meta, props):
    """The ImageMeta as nova serializes it into a request spec."""
    d = data()
    props_primitive = _object_primitive(
        "ImageMetaProps", d["image_meta_props_version"],
        [p["name"] for p in d["properties"]],
        {k: _primitive_value(v) for k, v in props.items()})
    values = dict(meta, properties=props_primitive)
    return _object_primitive("ImageMeta", d["image_meta_version"],
                             [f["name"] for f in d["image_meta_fields"]],
                             values)


# -- image_property set's arguments --------------------------------------------

def parse_properties(arguments):
    """The {name: value} of --property arguments, checked as
    nova-manage checks them: format, then names, then values."""
    # nova tests any(x for x in ... if "=" not in x): an empty argument is
    # falsy and slips through to the split below.
    if any(argument for argument in arguments if "=" not in argument):
        raise InputFormatError("--property should use the format key=value")
    properties = {}
    for index, argument in enumerate(arguments):
        parts = argument.split("=")
        if len(parts) != 2:
            raise PropertyValueError(
                "dictionary update sequence element #%d has length %d; "
                "2 is required" % (index, len(parts)))
        properties[parts[0]] = parts[1]
    names = data()["by_name"]
    for name in properties:
        if not name.startswith("trait:") and name not in names:
            raise PropertyNameError("Invalid image property name %s." % name)
    props_from_dict(dict(properties))
    return properties


# -- the request spec's copy of the image --------------------------------------

# Request spec members nova does not persist: dropped when it saves.
_NOT_PERSISTED = ("requested_destination", "requested_resources",
                  "network_metadata", "request_level_params",
                  "requested_networks")


def rewrite_request_spec(spec_text, spec_id, instance_uuid, image,
                         load_group):
    """The spec text nova writes after setting the spec's image.

    Nova loads the stored spec, sets its image and saves it whole: the
    members it does not persist are dropped, retry and ignore_hosts are
    nulled, the server group is reloaded from the API database (without
    members and hosts; a deleted group is dropped with its scheduler
    hint), and the top-level object gets the current RequestSpec version.
    The other members are kept as stored. load_group(uuid) returns the
    group's primitive or None.
    """
    stored = json.loads(spec_text)
    old = stored.get("nova_object.data", {})
    d = data()
    spec = {}
    for name in d["request_spec_fields"]:
        if name == "id":
            spec[name] = spec_id
        elif name == "instance_uuid":
            spec[name] = instance_uuid
        elif name in _NOT_PERSISTED:
            continue
        elif name in ("retry", "ignore_hosts"):
            spec[name] = None
        elif name == "image":
            spec[name] = image
        elif name in old:
            spec[name] = old[name]
    group = spec.get("instance_group")
    if group:
        group_data = group.get("nova_object.data", {})
        group_uuid = group_data.get("uuid")
        if group_uuid is None:
            hint = (spec.get("scheduler_hints") or {}).get("group")
            group_uuid = hint[0] if isinstance(hint, list) and \
                len(hint) == 1 else hint
        loaded = load_group(group_uuid)
        if loaded is None:
            spec["instance_group"] = None
            if spec.get("scheduler_hints"):
                spec["scheduler_hints"].pop("group", None)
        else:
            spec["instance_group"] = loaded
    changes = ["image"]
    for name, value in spec.items():
        if name != "image" and _is_object(value):
            spec[name], changed = _resaved(value)
            if changed:
                changes.append(name)
    primitive = {
        "nova_object.name": "RequestSpec",
        "nova_object.namespace": "nova",
        "nova_object.version": d["request_spec_version"],
        "nova_object.data": spec,
        "nova_object.changes": changes,
    }
    return json.dumps(primitive)


def _is_object(value):
    return isinstance(value, dict) and "nova_object.name" in value


def _resaved(primitive):
    """(primitive, changed) of a nested object after nova's load and save.

    An object counts as changed when it has changes of its own or a field
    holding a changed object (a list object: a changed member); nova adds
    those fields to the object's change list when it serializes it again.
    """
    data_ = primitive.get("nova_object.data", {})
    changes = list(primitive.get("nova_object.changes", []))
    is_list = isinstance(data_.get("objects"), list)
    new_data = {}
    for name, value in data_.items():
        if _is_object(value):
            value, changed = _resaved(value)
            if changed and name not in changes:
                changes.append(name)
        elif isinstance(value, list) and any(_is_object(v) for v in value):
            items = [_resaved(v) if _is_object(v) else (v, False)
                     for v in value]
            value = [v for v, _ in items]
            if is_list and name == "objects" and \
                    any(c for _, c in items) and name not in changes:
                changes.append(name)
        new_data[name] = value
    result = dict(primitive)
    result["nova_object.data"] = new_data
    if changes:
        result["nova_object.changes"] = changes
    return result, bool(changes)


def isotime(value):
    """How nova serializes a datetime field (UTC, to the second)."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def instance_group_primitive(row, policy_row):
    """A server group as nova serializes it into a saved request spec."""
    group_id, user_id, project_id, uuid, name, created, updated = row
    policy, rules = policy_row if policy_row else (None, None)
    values = {
        "id": group_id, "user_id": user_id, "project_id": project_id,
        "uuid": uuid, "name": name,
        "policies": [policy] if policy_row else [],
        "members": None, "hosts": None, "policy": policy,
        "_rules": json.loads(rules) if rules else {},
        "created_at": isotime(created), "updated_at": isotime(updated),
        "deleted_at": None, "deleted": False,
    }
    d = data()
    primitive = {
        "nova_object.name": "InstanceGroup",
        "nova_object.namespace": "nova",
        "nova_object.version": d["instance_group_version"],
        "nova_object.data": {f: values[f] for f in d["instance_group_fields"]
                             if f in values},
        "nova_object.changes": ["members", "hosts"],
    }
    return primitive


# -- image_property set --------------------------------------------------

ALLOWED_VM_STATES = ("stopped", "shelved", "shelved_offloaded")


def set_properties(api, instance, arguments):
    """image_property set: store the --property values (name=value) in the
    instance's system metadata and in its request spec's image, as nova
    saves them: the instance first (cell database), then the spec (API
    database). The instance must be stopped or shelved."""
    if instance.vm_state not in ALLOWED_VM_STATES:
        raise InvalidState(
            "Instance %s in vm_state %s. Cannot image_property set (must be "
            "STOPPED, SHELVED, OR SHELVED_OFFLOADED). while the instance is "
            "in this state." % (instance.uuid, instance.vm_state))
    if not arguments:
        # nova-manage iterates over the missing list.
        raise TypeError("'NoneType' object is not iterable")
    properties = parse_properties(arguments)
    changes = {"image_" + name: value for name, value in properties.items()}
    sysmeta = instance.system_metadata()
    sysmeta.update(changes)

    rows = api.query(sql("image_property.request_spec"),
                     {"uuid": instance.uuid})
    if not rows:
        raise LookupError("RequestSpec not found for instance %s"
                          % instance.uuid)
    spec_id, spec_uuid, spec_text = rows[0]
    meta, props = image_meta_from_system_metadata(
        sysmeta, instance.image_ref)
    image = image_meta_primitive(meta, props)

    def load_group(group_uuid):
        groups = api.query(sql("image_property.instance_group"),
                           {"uuid": group_uuid})
        if not groups:
            return None
        policy = api.query(sql("image_property.instance_group_policy"),
                           {"group_id": groups[0][0]})
        return instance_group_primitive(
            groups[0], policy[0] if policy else None)

    new_spec = rewrite_request_spec(
        spec_text, spec_id, spec_uuid, image, load_group)
    # nova saves the instance (cell database), then the spec (API).
    save_system_metadata(instance, changes)
    api.execute(sql("image_property.request_spec_update"),
                {"spec": new_spec, "id": spec_id})
