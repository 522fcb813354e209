"""volume_attachment: the block device mapping of an attached volume.

`show` reads the cell database. `get_connector` asks os-brick, as
nova-manage does, where it is installed (a compute host). `refresh` needs
Cinder and a call to the instance's compute host; nmtool does not do it
and says so, with the exit code nova-manage uses for a failure it did not
expect (1).
"""
import datetime
import json
import logging

from nmtool.cells.instances import block_device_mapping, cell_database
from nmtool.commands.failures import failure
from nmtool.errors import NmtoolError
from nmtool.maintenance import host_connector
from nmtool.ui.output import Output
from nmtool.ui.tables import render

LOG = logging.getLogger(__name__)

USAGE = {
    "show": """\
Usage: nmtool volume_attachment show <instance_uuid> <volume_id> [--connection_info] [--json] [--format=<fmt>]

Show the details of a given volume attachment (the instance's block
device mapping of the volume). Exit 0: shown; 1: unexpected error;
2: instance not found; 3: volume not attached to the instance.

Options:
  --connection_info  Only display the connection_info of the volume
                     attachment.
  --json             Display output as json without a table.
  --format=<fmt>     table, or json: the document of --json, on stdout
                     (messages on stderr) [default: table].
""",
    "refresh": """\
Usage: nmtool volume_attachment refresh <instance_uuid> <volume_id> <connector_path>

Refresh the connection info for a given volume attachment. Not supported
by nmtool: it needs Cinder and an RPC call to the instance's compute host.
Run nova-manage for it. nmtool exits 1 (nova-manage's code for an
unexpected error); nova-manage's own codes are 0: refreshed; 1: unexpected
error; 2: connector path does not exist; 3: failed to open connector path;
4: instance does not exist; 5: instance state invalid; 6: volume not
attached to instance; 7: connector host is not correct.
""",
    "get_connector": """\
Usage: nmtool volume_attachment get_connector [--json]

Show the host connector for this host, as os-brick reports it (needs the
os-brick package: there on a compute host). Exit 0: shown; 1: unexpected
error, or os-brick not installed.

Options:
  --json  Display output as json without a table.
""",
}


def show(ctx):
    instance_uuid = ctx.args["<instance_uuid>"]
    volume_id = ctx.args["<volume_id>"]
    out = Output(ctx)
    ctx.conf  # a bad config file is its own error, as in nova-manage
    try:
        db, _ = cell_database(ctx, instance_uuid)
        bdm = block_device_mapping(db, instance_uuid, volume_id)
        if bdm is None:
            out.message("No volume Block Device Mapping with id %s."
                        % volume_id)
            return 3
        if out.json:
            # --format json: what --json prints, as one document.
            info = bdm["connection_info"]
            out.document(
                (None if info is None else json.loads(info))
                if ctx.args["--connection_info"]
                else {k: _json_value(v) for k, v in bdm.items()})
            return out.emit(0)
        if ctx.args["--connection_info"] and ctx.args["--json"]:
            print(bdm["connection_info"])
        elif ctx.args["--connection_info"]:
            if bdm["connection_info"] is None:
                # oslo's jsonutils.loads refuses None with this text.
                raise TypeError("<class 'NoneType'> can't be decoded")
            print(format_dict(json.loads(bdm["connection_info"])))
        elif ctx.args["--json"]:
            print(json.dumps({k: _json_value(v) for k, v in bdm.items()}))
        else:
            print(format_dict(bdm))
        return 0
    except Exception as exc:
        return failure(out, exc)


def _json_value(value):
    """oslo's to_primitive for the values a mapping holds."""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return value


# -- nova-manage's two-column PrettyTable ----------------------------------

def format_dict(dct, headers=("Property", "Value")):
    """A dict as nova-manage prints it: keys sorted, left-aligned
    PrettyTable with a Property and a Value column. A value holding a
    literal backslash-n is split over several rows."""
    rows = []
    for key, value in sorted(dct.items()):
        if isinstance(value, dict):
            value = str(value)
        if value and isinstance(value, str) and "\\n" in value:
            first = key
            for line in value.strip().split("\\n"):
                rows.append((first, line))
                first = ""
        else:
            rows.append((key, value))
    return render_table(headers, rows)


def render_table(headers, rows):
    return render(headers, rows, align="l")


def refresh(ctx):
    raise NmtoolError("volume_attachment refresh is not supported by nmtool: "
                      "it needs Cinder and the instance's compute host; run "
                      "nova-manage on that host", exit_code=1)


def get_connector(ctx):
    out = Output(ctx)
    conf = ctx.conf
    try:
        document = host_connector.properties(conf)
    except host_connector.MissingOsBrick:
        raise
    except Exception as exc:
        return failure(out, exc)
    if ctx.args["--json"]:
        print(json.dumps(document))
    else:
        print(format_dict(document))
    return 0
