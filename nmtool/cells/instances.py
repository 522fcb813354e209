"""One instance, found the way nova-manage's instance commands find it.

The API database's instance_mappings row names the cell; the cell's
database holds the instance and its system metadata. The lookups fail
with nova's own messages, which the commands print with their own exit
codes (2 for most of them).
"""
import collections
import datetime
import uuid as uuidlib

from nmtool.cells.mappings import Cell
from nmtool.db.statements import sql
from nmtool.db.url import format_cell_url
from nmtool.errors import Refused


class InstanceLookupError(Refused):
    """Instance not mapped, or not in its cell: str() is nova's message."""

    exit_code = 2


class Instance:
    """An instance row of a cell database, with its system metadata."""

    __slots__ = ("id", "uuid", "vm_state", "image_ref", "db", "cell",
                 "_sysmeta_rows")

    def __init__(self, row, db, cell):
        self.id, self.uuid, self.vm_state, self.image_ref = row
        self.db = db
        self.cell = cell
        self._sysmeta_rows = None

    @property
    def sysmeta_rows(self):
        """[(id, key, value)] in id order, soft-deleted rows included."""
        if self._sysmeta_rows is None:
            self._sysmeta_rows = list(self.db.query(
                sql("instances.system_metadata"), {"uuid": self.uuid}))
        return self._sysmeta_rows

    def system_metadata(self):
        """The key -> value dict nova builds: a key stored twice keeps its
        first position and its last value."""
        return system_metadata_dict(self.sysmeta_rows)


def system_metadata_dict(rows):
    result = {}
    for _, key, value in rows:
        result[key] = value
    return result


def cell_database(ctx, instance_uuid):
    """(database, cell) of the cell an instance is mapped to, or
    InstanceLookupError with nova's text. cell is None for an instance
    that was never scheduled: nova's untargeted context then reads the
    [database] of the configuration.

    The uuid is not checked for form: nova looks it up as given, so a
    malformed one is simply not mapped.
    """
    mapping = ctx.api_db().query(sql("instances.mapping"),
                                 {"uuid": instance_uuid})
    if not mapping:
        raise InstanceLookupError("Instance %s has no mapping to a cell."
                                  % instance_uuid)
    cell_id, cell_uuid, name, url = mapping[0]
    if cell_id is None:
        return ctx.main_db(), None
    cell = Cell(cell_uuid, name,
                format_cell_url(url, ctx.conf.database_connection))
    return ctx.database(cell.url, "database of cell %s" % cell.identity), \
        cell


def find_instance(ctx, instance_uuid):
    """The Instance for a uuid, or InstanceLookupError with nova's text."""
    db, cell = cell_database(ctx, instance_uuid)
    rows = db.query(sql("instances.by_uuid"), {"uuid": instance_uuid})
    if not rows:
        raise InstanceLookupError("Instance %s could not be found."
                                  % instance_uuid)
    return Instance(rows[0], db, cell)


def save_system_metadata(instance, changes):
    """Write changed system metadata keys as Instance.save() does.

    changes maps key -> new value. The first row of a key is updated when
    its value differs, later rows of the same key are deleted, a new key
    is inserted, and the instance row's updated_at is set, all in one
    transaction of the cell database. Nothing is written when no value
    differs (nova then skips the save).
    """
    if not _differs(instance.system_metadata(), changes):
        return False

    def write(db):
        # Read again inside the transaction: the rows written are the rows
        # the decision was made on.
        rows = db.query(sql("instances.system_metadata_locked"),
                        {"uuid": instance.uuid})
        current = system_metadata_dict(rows)
        if not _differs(current, changes):
            return
        now = db.scalar(sql("instances.utc_now"))
        db.execute(sql("instances.touch"), {"now": now,
                                            "uuid": instance.uuid})
        seen = set()
        for row_id, key, value in rows:
            if key in seen:
                db.execute(sql("instances.system_metadata_delete_duplicate"),
                           {"id": row_id})
                continue
            seen.add(key)
            new = changes.get(key, current[key])
            if new != value:
                db.execute(sql("instances.system_metadata_update"),
                           {"id": row_id, "value": new, "now": now})
        for key, value in changes.items():
            if key not in seen:
                db.execute(sql("instances.system_metadata_insert"),
                           {"now": now, "uuid": instance.uuid, "key": key,
                            "value": value})

    instance.db.run_in_transaction(write)
    instance._sysmeta_rows = None
    return True


def _differs(current, changes):
    return any(key not in current or current[key] != value
               for key, value in changes.items())


class Verification(collections.namedtuple(
        "Verification", "status cell_uuid cell_name")):
    """Where verify_instance found an instance. status: "not_mapped" (no
    mapping), "no_cell" (mapped to no cell yet), "archived" (the mapping
    remains, the row is gone), "deleted" or "mapped"."""


def verify_instance(api_db, open_db, conf, uuid):
    """nova's verify_instance lookup: the instance's mapping, then its row
    in the cell. open_db(url, label) opens the cell's database."""
    rows = api_db.query(sql("instance_mappings.for_instance"), {"uuid": uuid})
    if not rows:
        return Verification("not_mapped", None, None)
    cell_id, cell_uuid, cell_name, cell_url = rows[0]
    if cell_id is None:
        return Verification("no_cell", None, None)
    # The mapping query joined the cell already; no second read of it.
    cell_db = open_db(format_cell_url(cell_url, conf.database_connection),
                      "database of cell %s" % cell_uuid)
    state = cell_db.query(sql("cell_hosts.instance_state"), {"uuid": uuid})
    if not state:
        return Verification("archived", cell_uuid, cell_name)
    return Verification("deleted" if state[0][0] else "mapped", cell_uuid,
                        cell_name)


# The BlockDeviceMapping object's fields, in its order, with how each is
# typed (the columns of volume_attachment.bdm, in the same order).
BDM_FIELDS = (
    ("id", "int"), ("uuid", "str"), ("instance_uuid", "str"),
    ("source_type", "str"), ("destination_type", "str"),
    ("guest_format", "str"), ("device_type", "str"), ("disk_bus", "str"),
    ("boot_index", "int"), ("device_name", "str"),
    ("delete_on_termination", "bool"), ("snapshot_id", "str"),
    ("volume_id", "str"), ("volume_size", "int"), ("image_id", "str"),
    ("no_device", "bool"), ("connection_info", "str"), ("tag", "str"),
    ("attachment_id", "str"), ("volume_type", "str"), ("encrypted", "bool"),
    ("encryption_secret_uuid", "str"), ("encryption_format", "str"),
    ("encryption_options", "str"), ("created_at", "datetime"),
    ("updated_at", "datetime"), ("deleted_at", "datetime"),
    ("deleted", "bool"),
)


def block_device_mapping(db, instance_uuid, volume_id):
    """volume_attachment show: the instance's mapping of the volume, as
    nova's object holds it (a dict in field order), or None."""
    rows = db.query(sql("volume_attachment.bdm"),
                    {"volume_id": volume_id, "instance_uuid": instance_uuid})
    if not rows:
        return None
    bdm = {}
    for (name, kind), value in zip(BDM_FIELDS, rows[0]):
        if kind == "bool":
            value = bool(value)  # NULL reads as the field's default, False
        elif kind == "datetime" and value is not None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        bdm[name] = value
    if bdm["uuid"] is None:
        # Reading a mapping without a uuid gives it one, as in nova.
        db.execute(sql("volume_attachment.bdm_set_uuid"),
                   {"uuid": str(uuidlib.uuid4()), "id": bdm["id"]})
        bdm["uuid"] = db.scalar(sql("volume_attachment.bdm_uuid"),
                                {"id": bdm["id"]})
    return bdm
