#!/usr/bin/env python3
"""Regenerate nmtool/maintenance/image_properties.json from nova's objects.

Run it with the reference nova's interpreter (it imports nova):

    ~/.cache/nmtool/nova-34.0.0/bin/python scripts/gen-image-props.py

The file describes what `image_property set` accepts, how nova turns
system metadata back into an ImageMeta, and the shape of the request spec
it rewrites: every ImageMetaProps field in
declaration order with its value type (and enum values), the legacy
property names, the system-metadata prefix and key lists, and the object
versions written into a request spec. nmtool's own validator
(nmtool/image_props.py) reads it; nothing here is imported at run time.

Enum types whose coerce() does more than a membership test are named by a
"canonicalize" rule that nmtool implements; a type this script does not
know stops it, so a new nova cannot silently change the rules.
"""
import json
import os
import sys
import warnings

warnings.simplefilter("ignore")

from nova import objects  # noqa: E402
from nova import utils  # noqa: E402
from nova.objects import fields as nova_fields  # noqa: E402
from nova.objects import image_meta  # noqa: E402
from nova.objects import instance_group  # noqa: E402
from nova.objects import request_spec  # noqa: E402
from oslo_versionedobjects import fields as ovo_fields  # noqa: E402
import nova.version  # noqa: E402

objects.register_all()

# Enum types with their own coerce(): the rule nmtool applies for each,
# and inputs that must come out as given (checked against nova below).
CANONICALIZE = {
    "Architecture": ("architecture", {"I386": "i686", "x86_32p": "i686",
                                      "AMD64": "x86_64"}),
    "HVType": ("hvtype", {"XAPI": "xen", "KVM": "kvm"}),
    "VMMode": ("vmmode", {"PV": "xen", "hv": "hvm", "BareMetal": "hvm"}),
    "OSType": ("lower", {"Linux": "linux"}),
    "SCSIModel": ("lower_alias", {"LsiLogicSAS": "lsisas1068",
                                  "paravirtual": "vmpvscsi"}),
    "VIFModel": ("lower_alias", {}),
}
# The aliases each lower_alias type maps (after lower-casing).
ALIASES = {
    "SCSIModel": {"lsilogicsas": "lsisas1068", "paravirtual": "vmpvscsi"},
    "VIFModel": dict(getattr(nova_fields.VIFModel, "LEGACY_VALUES", {})),
}


def describe(name, field):
    kind = field._type
    entry = {"name": name, "nullable": bool(field.nullable)}
    if isinstance(kind, ovo_fields.Enum):
        entry["type"] = "enum"
        entry["values"] = list(kind.valid_values)
        cls = type(kind).__name__
        overridden = type(kind).coerce is not ovo_fields.Enum.coerce
        if overridden:
            if cls not in CANONICALIZE:
                sys.exit("unknown enum coerce() in %s (%s)" % (cls, name))
            rule, probes = CANONICALIZE[cls]
            entry["canonicalize"] = rule
            if rule == "lower_alias":
                entry["aliases"] = ALIASES[cls]
                probes = dict(probes, **{k.upper(): v for k, v in
                                         ALIASES[cls].items()})
            for given, expected in probes.items():
                got = kind.coerce(None, name, given)
                if got != expected:
                    sys.exit("%s: %r -> %r, expected %r"
                             % (name, given, got, expected))
        return entry
    if isinstance(kind, ovo_fields.VersionPredicate):
        entry["type"] = "version_predicate"
    elif isinstance(kind, ovo_fields.FlexibleBoolean):
        entry["type"] = "boolean"
    elif isinstance(kind, ovo_fields.UUID):
        entry["type"] = "uuid"
    elif isinstance(kind, ovo_fields.String):
        entry["type"] = "string"
    elif isinstance(kind, ovo_fields.Integer):
        entry["type"] = "integer"
    elif isinstance(kind, ovo_fields.List):
        entry["type"] = "list"
        entry["element"] = type(kind._element_type._type).__name__
    elif isinstance(kind, ovo_fields.DateTime):
        entry["type"] = "datetime"
    elif isinstance(kind, ovo_fields.Object):
        entry["type"] = "object"
        entry["object"] = kind._obj_name
    else:
        sys.exit("unknown field type %s for %s" % (type(kind).__name__, name))
    return entry


def main():
    props = image_meta.ImageMetaProps
    meta = image_meta.ImageMeta
    data = {
        "generated_from": "nova %s" % nova.version.version_string(),
        "image_meta_version": meta.VERSION,
        "image_meta_props_version": props.VERSION,
        "request_spec_version": request_spec.RequestSpec.VERSION,
        "request_spec_fields": list(request_spec.RequestSpec.fields),
        "instance_group_version": instance_group.InstanceGroup.VERSION,
        "instance_group_fields": list(instance_group.InstanceGroup.fields),
        "numa_nodes_max": props.NUMA_NODES_MAX,
        "system_metadata": {
            "prefix": utils.SM_IMAGE_PROP_PREFIX,
            "inheritable_keys": list(utils.SM_INHERITABLE_KEYS),
            "skip_keys": list(utils.SM_SKIP_KEYS),
        },
        "image_meta_nullable_strings": list(
            image_meta.NULLABLE_STRING_FIELDS),
        "image_meta_nullable_integers": list(
            image_meta.NULLABLE_INTEGER_FIELDS),
        "legacy_property_map": dict(props._legacy_property_map),
        "image_meta_fields": [describe(n, f) for n, f in meta.fields.items()],
        "properties": [describe(n, f) for n, f in props.fields.items()],
    }
    target = os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "nmtool", "maintenance",
        "image_properties.json")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, sort_keys=False)
        handle.write("\n")
    print("wrote %s (%d properties)" % (target, len(data["properties"])))


if __name__ == "__main__":
    main()
