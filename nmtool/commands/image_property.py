"""image_property: the image properties stored with an instance."""
import logging

from nmtool.cells.instances import find_instance
from nmtool.commands.failures import failure
from nmtool.maintenance import image_props
from nmtool.ui.output import Output

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



def show(ctx):
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
    out = Output(ctx)
    arguments = ctx.args["--property"]
    ctx.conf
    try:
        try:
            image_props.set_properties(ctx.api_db(), find_instance(ctx, uuid),
                                       arguments)
        except (image_props.PropertyValueError, ValueError) as exc:
            raise image_props.InvalidPropertyValue(str(exc)) from None
    except Exception as exc:
        return failure(out, exc)
    out.document({"instance_uuid": uuid,
                  "properties": image_props.parse_properties(arguments)})
    return out.emit(0)
