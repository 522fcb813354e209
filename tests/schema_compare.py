"""Normalized MySQL/MariaDB schema snapshots and their differences.

Used to check that the SQL migrations under sql/api and sql/main build the
same schema as nova 34.0.0 does, revision by revision.

    snap_a = snapshot(conn, "nova_api")
    snap_b = snapshot(conn, "nmtool_api")
    assert diff(snap_a, snap_b) == []

``conn`` is a pymysql connection (any cursor class). Everything is read
from information_schema, so the two databases may live on one server under
different names. The ``alembic_version`` table is left out of the table
list; its rows (and its own definition) are kept apart under
``snapshot()["alembic_version"]`` and compared by ``diff()`` unless
``versions=False``.
"""

VERSION_TABLE = "alembic_version"


def _rows(conn, sql, args=()):
    """Run a query, return the rows as dicts with lower-case keys."""
    with conn.cursor() as cur:
        cur.execute(sql, args)
        names = [d[0].lower() for d in cur.description]
        out = []
        for row in cur.fetchall():
            if isinstance(row, dict):
                row = [row[d[0]] for d in cur.description]
            out.append(dict(zip(names, row)))
        return out


def _text(value):
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8")
    return value


def _default(value, nullable):
    """Normalize information_schema.COLUMNS.COLUMN_DEFAULT.

    MariaDB reports ``NULL`` (the word) for an explicit ``DEFAULT NULL`` and
    SQL NULL when there is no default; for a nullable column both mean the
    same thing, so both become None.
    """
    value = _text(value)
    if value is None:
        return None
    if value == "NULL" and nullable:
        return None
    return value


def _collation_charsets(conn):
    rows = _rows(conn, "SELECT COLLATION_NAME, CHARACTER_SET_NAME "
                       "FROM information_schema.COLLATIONS")
    return {_text(r["collation_name"]): _text(r["character_set_name"])
            for r in rows}


def _table_snapshot(conn, dbname, charsets):
    tables = {}
    for r in _rows(conn, """
            SELECT TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION,
                   ROW_FORMAT, CREATE_OPTIONS, TABLE_COMMENT
            FROM information_schema.TABLES
            WHERE TABLE_SCHEMA = %s""", (dbname,)):
        name = _text(r["table_name"])
        collation = _text(r["table_collation"])
        options = " ".join(
            opt for opt in (_text(r["create_options"]) or "").split()
            if not opt.lower().startswith("auto_increment"))
        tables[name] = {
            "type": _text(r["table_type"]),
            "engine": _text(r["engine"]),
            "charset": charsets.get(collation),
            "collation": collation,
            "row_format": _text(r["row_format"]),
            "create_options": options,
            "comment": _text(r["table_comment"]),
            "columns": [],
            "indexes": {},
            "foreign_keys": {},
            "checks": {},
            "triggers": {},
        }

    for r in _rows(conn, """
            SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE,
                   IS_NULLABLE, COLUMN_DEFAULT, EXTRA, CHARACTER_SET_NAME,
                   COLLATION_NAME, COLUMN_COMMENT, GENERATION_EXPRESSION
            FROM information_schema.COLUMNS
            WHERE TABLE_SCHEMA = %s
            ORDER BY TABLE_NAME, ORDINAL_POSITION""", (dbname,)):
        table = tables.get(_text(r["table_name"]))
        if table is None:
            continue
        nullable = _text(r["is_nullable"]) == "YES"
        table["columns"].append({
            "name": _text(r["column_name"]),
            "type": _text(r["column_type"]).lower(),
            "nullable": nullable,
            "default": _default(r["column_default"], nullable),
            "extra": (_text(r["extra"]) or "").lower(),
            "charset": _text(r["character_set_name"]),
            "collation": _text(r["collation_name"]),
            "comment": _text(r["column_comment"]) or "",
            "generated": _text(r["generation_expression"]),
        })

    for r in _rows(conn, """
            SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX,
                   COLUMN_NAME, SUB_PART, COLLATION, INDEX_TYPE,
                   INDEX_COMMENT
            FROM information_schema.STATISTICS
            WHERE TABLE_SCHEMA = %s
            ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX""", (dbname,)):
        table = tables.get(_text(r["table_name"]))
        if table is None:
            continue
        name = _text(r["index_name"])
        index = table["indexes"].setdefault(name, {
            "unique": not int(r["non_unique"]),
            "type": _text(r["index_type"]),
            "comment": _text(r["index_comment"]) or "",
            "columns": [],
        })
        sub_part = r["sub_part"]
        index["columns"].append((
            _text(r["column_name"]),
            int(sub_part) if sub_part is not None else None,
            _text(r["collation"]),
        ))

    fk_cols = {}
    for r in _rows(conn, """
            SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME,
                   REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME,
                   REFERENCED_COLUMN_NAME
            FROM information_schema.KEY_COLUMN_USAGE
            WHERE TABLE_SCHEMA = %s AND REFERENCED_TABLE_NAME IS NOT NULL
            ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION""",
            (dbname,)):
        key = (_text(r["table_name"]), _text(r["constraint_name"]))
        entry = fk_cols.setdefault(key, {
            "columns": [], "ref_columns": [],
            "ref_table": _text(r["referenced_table_name"]),
            # a reference into another schema is kept as such; one into the
            # same schema is schema-less so that two copies compare equal
            "ref_schema": (None if _text(r["referenced_table_schema"])
                           == dbname else
                           _text(r["referenced_table_schema"])),
        })
        entry["columns"].append(_text(r["column_name"]))
        entry["ref_columns"].append(_text(r["referenced_column_name"]))
    for r in _rows(conn, """
            SELECT TABLE_NAME, CONSTRAINT_NAME, UPDATE_RULE, DELETE_RULE
            FROM information_schema.REFERENTIAL_CONSTRAINTS
            WHERE CONSTRAINT_SCHEMA = %s""", (dbname,)):
        key = (_text(r["table_name"]), _text(r["constraint_name"]))
        table = tables.get(key[0])
        if table is None:
            continue
        entry = dict(fk_cols.get(key, {}))
        entry["on_update"] = _text(r["update_rule"])
        entry["on_delete"] = _text(r["delete_rule"])
        table["foreign_keys"][key[1]] = entry

    for r in _rows(conn, """
            SELECT tc.TABLE_NAME, tc.CONSTRAINT_NAME, cc.CHECK_CLAUSE
            FROM information_schema.TABLE_CONSTRAINTS tc
            JOIN information_schema.CHECK_CONSTRAINTS cc
              ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA
             AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
            WHERE tc.CONSTRAINT_SCHEMA = %s
              AND tc.CONSTRAINT_TYPE = 'CHECK'""", (dbname,)):
        table = tables.get(_text(r["table_name"]))
        if table is not None:
            table["checks"][_text(r["constraint_name"])] = \
                _text(r["check_clause"])

    for r in _rows(conn, """
            SELECT EVENT_OBJECT_TABLE, TRIGGER_NAME, EVENT_MANIPULATION,
                   ACTION_TIMING, ACTION_STATEMENT
            FROM information_schema.TRIGGERS
            WHERE TRIGGER_SCHEMA = %s""", (dbname,)):
        table = tables.get(_text(r["event_object_table"]))
        if table is not None:
            table["triggers"][_text(r["trigger_name"])] = (
                _text(r["action_timing"]), _text(r["event_manipulation"]),
                _text(r["action_statement"]))
    return tables


def snapshot(conn, dbname):
    """Return a normalized, comparable description of schema ``dbname``."""
    charsets = _collation_charsets(conn)
    schema = _rows(conn, """
        SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME
        FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s""",
        (dbname,))
    if not schema:
        raise LookupError("no such database: %s" % dbname)
    tables = _table_snapshot(conn, dbname, charsets)

    version_table = tables.pop(VERSION_TABLE, None)
    versions = None
    if version_table is not None:
        rows = _rows(conn, "SELECT version_num FROM `%s`.`%s`"
                     % (dbname.replace("`", "``"), VERSION_TABLE))
        versions = sorted(_text(r["version_num"]) for r in rows)

    return {
        "database": {
            "charset": _text(schema[0]["default_character_set_name"]),
            "collation": _text(schema[0]["default_collation_name"]),
        },
        "tables": tables,
        "alembic_version": {"table": version_table, "rows": versions},
    }


def _diff_mapping(where, kind, a, b, out):
    for name in sorted(set(a) - set(b)):
        out.append("%s: %s %s only in first" % (where, kind, name))
    for name in sorted(set(b) - set(a)):
        out.append("%s: %s %s only in second" % (where, kind, name))
    for name in sorted(set(a) & set(b)):
        if a[name] != b[name]:
            out.append("%s: %s %s differs: %r != %r"
                       % (where, kind, name, a[name], b[name]))


def _diff_table(name, ta, tb, out):
    for key in ("type", "engine", "charset", "collation", "row_format",
                "create_options", "comment"):
        if ta[key] != tb[key]:
            out.append("table %s: %s %r != %r" % (name, key, ta[key], tb[key]))

    cols_a = {c["name"]: c for c in ta["columns"]}
    cols_b = {c["name"]: c for c in tb["columns"]}
    for col in [c["name"] for c in ta["columns"] if c["name"] not in cols_b]:
        out.append("table %s: column %s only in first" % (name, col))
    for col in [c["name"] for c in tb["columns"] if c["name"] not in cols_a]:
        out.append("table %s: column %s only in second" % (name, col))
    for col in [c["name"] for c in ta["columns"] if c["name"] in cols_b]:
        ca, cb = cols_a[col], cols_b[col]
        for key in ca:
            if ca[key] != cb[key]:
                out.append("table %s: column %s %s %r != %r"
                           % (name, col, key, ca[key], cb[key]))
    order_a = [c["name"] for c in ta["columns"] if c["name"] in cols_b]
    order_b = [c["name"] for c in tb["columns"] if c["name"] in cols_a]
    if order_a != order_b:
        out.append("table %s: column order %s != %s"
                   % (name, order_a, order_b))

    _diff_mapping("table %s" % name, "index", ta["indexes"], tb["indexes"],
                  out)
    _diff_mapping("table %s" % name, "foreign key", ta["foreign_keys"],
                  tb["foreign_keys"], out)
    _diff_mapping("table %s" % name, "check", ta["checks"], tb["checks"],
                  out)
    _diff_mapping("table %s" % name, "trigger", ta["triggers"],
                  tb["triggers"], out)


def diff(a, b, versions=True):
    """Human-readable differences between two snapshots ([] if none)."""
    out = []
    for key in ("charset", "collation"):
        if a["database"][key] != b["database"][key]:
            out.append("database default %s %r != %r"
                       % (key, a["database"][key], b["database"][key]))

    tables_a, tables_b = a["tables"], b["tables"]
    for name in sorted(set(tables_a) - set(tables_b)):
        out.append("table %s only in first" % name)
    for name in sorted(set(tables_b) - set(tables_a)):
        out.append("table %s only in second" % name)
    for name in sorted(set(tables_a) & set(tables_b)):
        _diff_table(name, tables_a[name], tables_b[name], out)

    if versions:
        va, vb = a["alembic_version"], b["alembic_version"]
        if va["rows"] != vb["rows"]:
            out.append("alembic_version rows %r != %r"
                       % (va["rows"], vb["rows"]))
        if (va["table"] is None) != (vb["table"] is None):
            out.append("alembic_version table present %s != %s"
                       % (va["table"] is not None, vb["table"] is not None))
        elif va["table"] is not None:
            sub = []
            _diff_table(VERSION_TABLE, va["table"], vb["table"], sub)
            out.extend(sub)
    return out
