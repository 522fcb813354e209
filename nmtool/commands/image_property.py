"""image_property: the image properties stored with an instance."""
import logging

from nmtool.cells.instances import find_instance, save_system_metadata
from nmtool.commands.failures import failure
from nmtool.db.statements import sql
from nmtool.maintenance import image_props

LOG = logging.getLogger(__name__)

USAGE = {
    "show": """\
Usage: nmtool image_property show <instance_uuid> <image_property> [--format=<fmt>]

Show the value of an instance image property. Exit 0: printed;
1: unexpected error; 2: instance not found; 3: image property not found.

Options:
  --format=<fmt>  table, or json: one JSON document on stdout (messages
                  on stderr) [default: table].
""",
    "set": """\
Usage: nmtool image_property set <instance_uuid> [--property=<image_property>]... [--format=<fmt>]

Set the values of instance image properties stored in the database. This
is only allowed for instances with a STOPPED, SHELVED or
SHELVED_OFFLOADED vm_state. Exit 0: set; 1: unexpected error; 2: instance
not found; 3: invalid vm_state; 4: invalid input format; 5: invalid image
property name; 6: invalid image property value.

Options:
  --property=<image_property>  Image property to set using the format
                               name=value, repeatable. For example: set
                               hw_disk_bus=virtio and hw_cdrom_bus=sata.
  --format=<fmt>               table, or json: one JSON document on
                               stdout (messages on stderr)
                               [default: table].
""",
}

ALLOWED_VM_STATES = ("stopped", "shelved", "shelved_offloaded")


def show(ctx):
    from nmtool.ui.output import Output
    out = Output(ctx)
    uuid = ctx.args["<instance_uuid>"]
    name = ctx.args["<image_property>"]
    ctx.conf  # a bad config file is its own error, as in nova-manage
    try:
        instance = find_instance(ctx, uuid)
        value = instance.system_metadata().get("image_" + name)
    except Exception as exc:
        # This one message of nova-manage has no trailing space.
        return failure(out, exc, trailing="")
    out.document({"instance_uuid": uuid, "property": name,
                  "value": value or None})
    if value:
        out.text(value)
        return out.emit(0)
    out.message("Image property %s not found for instance %s."
                % (name, uuid))
    return out.emit(3)


def set(ctx):  # noqa: A001 - the action is called "set"
    uuid = ctx.args["<instance_uuid>"]
    from nmtool.ui.output import Output
    out = Output(ctx)
    arguments = ctx.args["--property"]
    ctx.conf
    try:
        try:
            _set(ctx, uuid, arguments)
        except (image_props.PropertyValueError, ValueError) as exc:
            raise image_props.InvalidPropertyValue(str(exc)) from None
    except Exception as exc:
        return failure(out, exc)
    out.document({"instance_uuid": uuid,
                  "properties": image_props.parse_properties(arguments)})
    return out.emit(0)


def _set(ctx, uuid, arguments):
    instance = find_instance(ctx, uuid)
    if instance.vm_state not in ALLOWED_VM_STATES:
        raise image_props.InvalidState(
            "Instance %s in vm_state %s. Cannot image_property set (must be "
            "STOPPED, SHELVED, OR SHELVED_OFFLOADED). while the instance is "
            "in this state." % (instance.uuid, instance.vm_state))
    if not arguments:
        # nova-manage iterates over the missing list.
        raise TypeError("'NoneType' object is not iterable")
    properties = image_props.parse_properties(arguments)
    changes = {"image_" + name: value for name, value in properties.items()}
    sysmeta = instance.system_metadata()
    sysmeta.update(changes)

    api = ctx.api_db()
    rows = api.query(sql("image_property.request_spec"),
                     {"uuid": instance.uuid})
    if not rows:
        raise LookupError("RequestSpec not found for instance %s"
                          % instance.uuid)
    spec_id, spec_uuid, spec_text = rows[0]
    meta, props = image_props.image_meta_from_system_metadata(
        sysmeta, instance.image_ref)
    image = image_props.image_meta_primitive(meta, props)

    def load_group(group_uuid):
        groups = api.query(sql("image_property.instance_group"),
                           {"uuid": group_uuid})
        if not groups:
            return None
        policy = api.query(sql("image_property.instance_group_policy"),
                           {"group_id": groups[0][0]})
        return image_props.instance_group_primitive(
            groups[0], policy[0] if policy else None)

    new_spec = image_props.rewrite_request_spec(
        spec_text, spec_id, spec_uuid, image, load_group)
    # nova saves the instance (cell database), then the spec (API).
    save_system_metadata(instance, changes)
    api.execute(sql("image_property.request_spec_update"),
                {"spec": new_spec, "id": spec_id})
