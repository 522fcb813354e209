"""Named SQL statements, read from the .sql files under sql/.

A file holds blocks introduced by a header comment::

    -- name: alembic.current
    -- used by: api_db version, db version
    -- What the statement is for (one or more comment lines).
    SELECT version_num FROM alembic_version

A `-- name:` block is a complete statement a DBA can paste: values are
bound as %(name)s, and {braced} names, where there are any, are
identifiers and column lists nmtool fills from the live schema. Its
`-- used by:` lines name every command that can run it ("category
action"), which is what `nmtool sql list` groups by.

A `-- fragment:` block is a piece of a statement (a WHERE condition, a
join) that statements take in through their {braced} names; it is never
run alone, so it is not listed as a statement.

Commands ask for statements by name; no SQL text lives in Python. The
text comes back as a NamedSQL, which keeps its statement's name through
the format() that fills it in, so the SQL audit can say which named
statement ran.
"""
import os
import re

_HEAD_RE = re.compile(r"^--\s*(name|fragment):\s*(\S+)\s*$")
_USED_BY_RE = re.compile(r"^--\s*used by:\s*(.*?)\s*$")
_statements = {}
_fragments = {}


def sql_root():
    """The directory holding nmtool's SQL (inside the installed package)."""
    import nmtool.sql
    return os.path.dirname(os.path.abspath(nmtool.sql.__file__))


class NamedSQL(str):
    """SQL text that knows the name of the statement it was made from."""

    def __new__(cls, text, name):
        self = super().__new__(cls, text)
        self.name = name
        return self

    def format(self, *args, **kwargs):
        return NamedSQL(str.format(self, *args, **kwargs), self.name)


class Statement:
    __slots__ = ("name", "doc", "sql", "path", "used_by", "fragment")

    def __init__(self, name, doc, sql, path, used_by=(), fragment=False):
        self.name = name
        self.doc = doc
        self.sql = NamedSQL(sql, name)
        self.path = path
        self.used_by = list(used_by)
        self.fragment = fragment

    def __str__(self):
        return self.sql


def parse_file(path):
    """Return the Statements and fragments of one queries file, in file
    order."""
    blocks = []
    head, doc, users, body = None, [], [], []

    def flush():
        if head is not None:
            kind, name = head
            text = "\n".join(body).strip().rstrip(";").strip()
            blocks.append(Statement(name, " ".join(doc), text, path, users,
                                    fragment=kind == "fragment"))

    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\n")
            match = _HEAD_RE.match(line)
            if match:
                flush()
                head, doc, users, body = match.groups(), [], [], []
            elif head is not None and not body and line.startswith("--"):
                used = _USED_BY_RE.match(line)
                if used:
                    users += [" ".join(item.split())
                              for item in used.group(1).split(",")
                              if item.strip()]
                else:
                    doc.append(line[2:].strip())
            elif head is not None:
                body.append(line)
    flush()
    return blocks


def _load():
    if _statements or _fragments:
        return
    folder = os.path.join(sql_root(), "queries")
    for filename in sorted(os.listdir(folder)):
        if not filename.endswith(".sql"):
            continue
        for block in parse_file(os.path.join(folder, filename)):
            if block.name in _statements or block.name in _fragments:
                raise RuntimeError("SQL statement %s is defined twice"
                                   % block.name)
            (_fragments if block.fragment else _statements)[block.name] = \
                block


def all_statements():
    """Every named statement under sql/queries, keyed by name (fragments
    left out)."""
    _load()
    return _statements


def all_fragments():
    """Every fragment under sql/queries, keyed by name."""
    _load()
    return _fragments


def utc_now():
    """A timestamp for created_at columns filled from a bound value, taken
    on the client in UTC to the second, as nova's ORM takes it."""
    import datetime
    return datetime.datetime.now(datetime.timezone.utc).replace(
        tzinfo=None, microsecond=0)


def sql(name):
    """The SQL text (a NamedSQL) of the named statement or fragment."""
    _load()
    block = _statements.get(name) or _fragments[name]
    return block.sql
