"""The cells of a deployment, as the API database's cell_mappings list them."""
import collections

from nmtool.db.statements import sql
from nmtool.db.url import format_cell_url

ER_DUP_ENTRY = 1062


class Cell:
    __slots__ = ("uuid", "name", "url")

    def __init__(self, uuid, name, url):
        self.uuid = uuid
        self.name = name
        self.url = url

    @property
    def identity(self):
        """How nova-manage names a cell in messages: uuid(name)."""
        return "%s(%s)" % (self.uuid, self.name) if self.name else self.uuid


def _cell(row, conf):
    uuid, name, url = row
    return Cell(uuid, name, format_cell_url(url, conf.database_connection))


def list_cells(api_db, conf):
    """Every mapped cell in id order (cell0 included), with its database
    URL template filled in from [database]/connection."""
    return [_cell(row, conf)
            for row in api_db.query(sql("cell_mappings.all"))]


def get_cell(api_db, conf, uuid):
    """One mapped cell, or None."""
    rows = api_db.query(sql("cell_mappings.by_uuid"), {"uuid": uuid})
    return _cell(rows[0], conf) if rows else None


class CellMapping:
    """A cell_mappings row as the cell_v2 commands see it: URLs filled in
    from the local configuration when they are templates, as nova fills
    them when it loads a mapping."""
    __slots__ = ("id", "uuid", "name", "transport_url", "database_connection",
                 "disabled")

    def __init__(self, row, conf):
        (self.id, self.uuid, self.name, transport_url, database_connection,
         disabled) = row
        self.transport_url = format_cell_url(transport_url,
                                             conf.transport_url)
        self.database_connection = format_cell_url(
            database_connection, conf.database_connection)
        self.disabled = bool(disabled)

    @property
    def is_cell0(self):
        from nmtool.context import CELL0_UUID
        return self.uuid == CELL0_UUID


def find_mapping(api_db, conf, uuid):
    """The cell mapping with this uuid, or None."""
    rows = api_db.query(sql("cell_mappings.full_by_uuid"), {"uuid": uuid})
    return CellMapping(rows[0], conf) if rows else None


def all_mappings(api_db, conf):
    """Every cell mapping in id order."""
    return [CellMapping(row, conf)
            for row in api_db.query(sql("cell_mappings.full_all"))]


class StoredMapping(collections.namedtuple(
        "StoredMapping",
        "id uuid name transport_url database_connection disabled")):
    """A cell_mappings row as stored (URL templates not filled in): what
    update_cell starts from, so that an unchanged template stays one."""


def stored_mapping(api_db, uuid):
    """The stored row of one cell mapping, or None."""
    rows = api_db.query(sql("cell_mappings.full_by_uuid"), {"uuid": uuid})
    return StoredMapping(*rows[0]) if rows else None


def add_mapping(api_db, uuid, name, transport_url, database_connection,
                disabled=False):
    """Insert a cell mapping; False when one with this uuid exists."""
    import pymysql  # late: a 30 ms import, and -h reaches this module
    try:
        api_db.execute(sql("cell_mappings.insert"), {
            "uuid": uuid, "name": name, "transport_url": transport_url,
            "database_connection": database_connection,
            "disabled": 1 if disabled else 0})
    except pymysql.err.IntegrityError as exc:
        if exc.args[0] != ER_DUP_ENTRY:
            raise
        return False
    return True


def save_mapping(api_db, mapping):
    """Write a StoredMapping's name, URLs and disabled flag back."""
    api_db.execute(sql("cell_mappings.update"), {
        "id": mapping.id, "name": mapping.name,
        "transport_url": mapping.transport_url,
        "database_connection": mapping.database_connection,
        "disabled": mapping.disabled})


def delete_mapping(api_db, cell_id):
    """Remove a cell mapping with the instance and host mappings that
    point at it, in one transaction."""
    def delete(db):
        db.execute(sql("instance_mappings.delete_by_cell"),
                   {"cell_id": cell_id})
        db.execute(sql("host_mappings.delete_by_cell"), {"cell_id": cell_id})
        db.execute(sql("cell_mappings.delete"), {"id": cell_id})
    api_db.run_in_transaction(delete)


def count_instance_mappings(api_db, cell_id):
    return api_db.scalar(sql("instance_mappings.count_by_cell"),
                         {"cell_id": cell_id})
