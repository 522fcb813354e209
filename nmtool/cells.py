"""The cells of a deployment, as the API database's cell_mappings list them."""
from nmtool.db.statements import sql
from nmtool.db.url import format_cell_url


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
