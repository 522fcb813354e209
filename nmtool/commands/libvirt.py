"""libvirt: the machine type stored in an instance's image properties."""
from nmtool.cells.instances import find_instance
from nmtool.cells.mappings import get_cell, list_cells
from nmtool.commands.failures import failure
from nmtool.commands.options import jobs as positive_jobs
from nmtool.context import CELL0_UUID
from nmtool.maintenance import image_props, machine_types
from nmtool.ui.output import Output

USAGE = {
    "get_machine_type": """\
Usage: nmtool libvirt get_machine_type <instance_uuid> [--format=<fmt>]

Fetch the stored machine type of the instance from the database. Exit 0:
printed; 1: unexpected error; 2: instance or instance mapping not found;
3: no machine type stored for the instance.

Options:
  --format=<fmt>  table, or json: one JSON document on stdout (messages
                  on stderr) [default: table].
""",
    "update_machine_type": """\
Usage: nmtool libvirt update_machine_type <instance_uuid> <machine_type> [--force] [--format=<fmt>]

Set or update the stored machine type of the instance in the database.
This is only allowed for instances with a STOPPED, SHELVED or
SHELVED_OFFLOADED vm_state. Exit 0: updated; 1: unexpected error;
2: instance or its cell mapping not found; 3: invalid vm_state; 4: move
to another machine type family, between an alias and a versioned type,
or to an older version; 5: unsupported machine type.

Options:
  --force         Force the update of the stored machine type (skips
                  every check).
  --format=<fmt>  table, or json: one JSON document on stdout (messages
                  on stderr) [default: table].
""",
    "list_unset_machine_type": """\
Usage: nmtool libvirt list_unset_machine_type [--cell-uuid=<cell_uuid>] [--jobs=<n>] [--format=<fmt>]

List the UUIDs of instances that do not have hw_machine_type set in
their image metadata. Exit 0: none found; 1: unexpected error; 2: cell
mapping not found; 3: instances found (their UUIDs are printed).

Options:
  --cell-uuid=<cell_uuid>  UUID of cell from which to list instances (as
                           in nova-manage, the cell must exist, and the
                           instances of every cell but cell0 are listed).
  --jobs=<n>               Read this many cells at a time, each on its own
                           connection; the listing and exit code are those
                           of one cell at a time [default: 1].
  --format=<fmt>           table, or json: one JSON document on stdout
                           (messages on stderr) [default: table].
""",
}


def get_machine_type(ctx):
    out = Output(ctx)
    uuid = ctx.args["<instance_uuid>"]
    ctx.conf  # a bad config file is its own error, as in nova-manage
    try:
        instance = find_instance(ctx, uuid)
        mtype = image_props.machine_type(instance.system_metadata(),
                                         instance.image_ref)
    except Exception as exc:
        return failure(out, exc)
    out.document({"instance_uuid": uuid, "machine_type": mtype or None})
    if mtype:
        out.text(mtype)
        return out.emit(0)
    out.message("No machine type registered for instance %s" % uuid)
    return out.emit(3)


def update_machine_type(ctx):
    uuid = ctx.args["<instance_uuid>"]
    mtype = ctx.args["<machine_type>"]
    force = ctx.args["--force"]
    out = Output(ctx)
    ctx.conf
    if force:
        out.message("Forcing update of machine type.")
    try:
        previous = machine_types.update_machine_type(
            find_instance(ctx, uuid), mtype, force)
    except Exception as exc:
        return failure(out, exc)
    out.message("Updated instance %s machine type to %s (previously %s)"
                % (uuid, mtype, previous))
    out.document({"instance_uuid": uuid, "machine_type": mtype,
                  "previous_machine_type": previous, "forced": bool(force)})
    return out.emit(0)


def list_unset_machine_type(ctx):
    out = Output(ctx)
    jobs = positive_jobs(ctx.args["--jobs"])
    cell_uuid = ctx.args["--cell-uuid"]
    ctx.conf
    try:
        api = ctx.api_db()
        if cell_uuid and get_cell(api, ctx.conf, cell_uuid) is None:
            out.message("Cell %s has no mapping." % cell_uuid)
            return 2
        # nova-manage checks --cell-uuid, then lists every cell but cell0.
        cells = [c for c in list_cells(api, ctx.conf)
                 if c.uuid != CELL0_UUID]
        found = []
        scans = machine_types.scan_cells(
            lambda cell: ctx.database(cell.url, "database of cell %s"
                                      % cell.identity), cells, jobs)
        for uuids, error in scans:
            if error is not None:
                # nova gathers a failed cell's exception in place of its
                # list, and fails when it chains the lists.
                raise TypeError("'%s' object is not iterable" % error)
            found += uuids
    except Exception as exc:
        return failure(out, exc)
    out.document({"instance_uuids": found})
    if found:
        out.text("\n".join(found))
        return out.emit(3)
    out.message("No instances found without hw_machine_type set.")
    return out.emit(0)
