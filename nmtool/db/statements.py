"""Named SQL statements, read from the .sql files under sql/.

A file holds blocks introduced by a header comment::

    -- name: alembic.current
    -- What the statement is for (one or more comment lines).
    SELECT version_num FROM alembic_version

Commands ask for statements by name; no SQL text lives in Python.

A file's top comment says which commands run its statements, in one or
more lines (``*`` for every action of a category)::

    -- used by: db archive_deleted_rows, db purge
    -- used by: cell_v2 *

`nmtool sql list` groups the statements by these.
"""
import os
import re

_NAME_RE = re.compile(r"^--\s*name:\s*(\S+)\s*$")
_USED_BY_RE = re.compile(r"^--\s*used by:\s*(.*?)\s*$")
_cache = {}


def sql_root():
    """The directory holding nmtool's SQL (inside the installed package)."""
    import nmtool.sql
    return os.path.dirname(os.path.abspath(nmtool.sql.__file__))


class Statement:
    __slots__ = ("name", "doc", "sql", "path")

    def __init__(self, name, doc, sql, path):
        self.name = name
        self.doc = doc
        self.sql = sql
        self.path = path

    def __str__(self):
        return self.sql


def parse_file(path):
    """Return the Statements of one queries file, in file order."""
    statements = []
    name, doc, body = None, [], []

    def flush():
        if name is not None:
            sql = "\n".join(body).strip().rstrip(";").strip()
            statements.append(Statement(name, " ".join(doc), sql, path))

    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\n")
            match = _NAME_RE.match(line)
            if match:
                flush()
                name, doc, body = match.group(1), [], []
            elif name is not None and not body and line.startswith("--"):
                doc.append(line[2:].strip())
            elif name is not None:
                body.append(line)
    flush()
    return statements


def used_by(path):
    """The commands a queries file's header names, as "category action"
    strings in the order written (an action may be "*")."""
    commands = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if _NAME_RE.match(line.rstrip("\n")):
                break
            match = _USED_BY_RE.match(line.rstrip("\n"))
            if match:
                commands += [" ".join(item.split())
                             for item in match.group(1).split(",")
                             if item.strip()]
    return commands


def all_statements():
    """Every named statement under sql/queries, keyed by name."""
    if not _cache:
        folder = os.path.join(sql_root(), "queries")
        for filename in sorted(os.listdir(folder)):
            if filename.endswith(".sql"):
                for stmt in parse_file(os.path.join(folder, filename)):
                    if stmt.name in _cache:
                        raise RuntimeError("SQL statement %s is defined twice"
                                           % stmt.name)
                    _cache[stmt.name] = stmt
    return _cache


def utc_now():
    """A timestamp for created_at columns filled from a bound value, taken
    on the client in UTC to the second, as nova's ORM takes it."""
    import datetime
    return datetime.datetime.now(datetime.timezone.utc).replace(
        tzinfo=None, microsecond=0)


def sql(name):
    """The SQL text of the named statement."""
    return all_statements()[name].sql
