"""Schema migrations: numbered plain-SQL files, one per nova alembic revision.

sql/api/ and sql/main/ hold NNNN_<revision>.sql files whose header names
the revision and its parent. The revision reached is stamped in
alembic_version, so nova-manage and nmtool read and continue each other's
work.
"""
import logging
import os
import re

from nmtool.db.statements import sql, sql_root
from nmtool.errors import NmtoolError

LOG = logging.getLogger(__name__)

KINDS = ("api", "main")
_FILE_RE = re.compile(r"^(\d{4})_([0-9a-f]+)\.sql$")
_HEADER_RE = re.compile(r"^--\s*(revision|down_revision):\s*(\S+)\s*$")


class MigrationError(NmtoolError):
    """A sync that cannot go ahead (bad target, unknown database state)."""


class Revision:
    __slots__ = ("number", "revision", "down_revision", "path", "summary")

    def __init__(self, number, revision, down_revision, path, summary):
        self.number = number
        self.revision = revision
        self.down_revision = down_revision
        self.path = path
        self.summary = summary

    def statements(self):
        import sqlparse
        with open(self.path, encoding="utf-8") as handle:
            text = handle.read()
        for chunk in sqlparse.split(text):
            body = sqlparse.format(chunk, strip_comments=True).strip()
            body = body.rstrip(";").strip()
            if body:
                yield body


def revisions(kind):
    """The revisions of one database kind, oldest first, checked as a chain."""
    folder = os.path.join(sql_root(), kind)
    found = []
    for filename in sorted(os.listdir(folder)):
        match = _FILE_RE.match(filename)
        if not match:
            continue
        path = os.path.join(folder, filename)
        header, summary = {}, []
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if not line.startswith("--"):
                    break
                m = _HEADER_RE.match(line.strip())
                if m:
                    header[m.group(1)] = m.group(2)
                elif not summary and line[2:].strip():
                    summary.append(line[2:].strip())
        down = header.get("down_revision")
        found.append(Revision(int(match.group(1)), match.group(2),
                              None if down in (None, "none") else down,
                              path, summary[0] if summary else ""))
    for parent, child in zip([None] + found, found):
        expected = parent.revision if parent else None
        if child.down_revision != expected or (
                child.revision != _FILE_RE.match(
                    os.path.basename(child.path)).group(2)):
            raise RuntimeError("broken migration chain at %s" % child.path)
    return found


def head(kind):
    return revisions(kind)[-1].revision


def resolve(kind, target):
    """Map a user-given VERSION (full id, unique prefix or 'head') to an
    index in revisions(kind)."""
    chain = revisions(kind)
    if target is None or target == "head":
        return len(chain) - 1
    if target.isdigit():
        raise MigrationError(
            "You requested an sqlalchemy-migrate database version; this is "
            "no longer supported")
    matches = [i for i, rev in enumerate(chain)
               if rev.revision.startswith(target)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise MigrationError("Can't locate revision identified by '%s'"
                             % target)
    raise MigrationError("Multiple revisions start with '%s': %s" % (
        target, ", ".join(chain[i].revision for i in matches)))


def current_revision(db):
    """The revision stamped in db, or None for an unversioned database."""
    if not db.scalar(sql("schema_version.table_exists")):
        return None
    return db.scalar(sql("schema_version.current"))


def upgrade(db, kind, target=None):
    """Apply the pending migrations of `kind` to db, up to target."""
    chain = revisions(kind)
    goal = resolve(kind, target)
    current = current_revision(db)
    if current is None:
        if db.scalar(sql("schema_version.user_tables")):
            raise MigrationError(
                "The %s at %s has tables but no alembic_version: it was not "
                "created by nova's migrations" % (db.label, db.url.masked()))
        start = 0
    else:
        ids = [rev.revision for rev in chain]
        if current not in ids:
            raise MigrationError(
                "The %s is at revision %s, which this nmtool does not know "
                "(newer than nova %s?)" % (db.label, current, _nova()))
        start = ids.index(current) + 1
        if goal < start - 1:
            # alembic's upgrade to an ancestor is a no-op, not a downgrade.
            LOG.info("Database is at %s, past %s: nothing to do", current,
                     chain[goal].revision)
            return current
    db.execute(sql("schema_version.create"))
    previous = current
    if chain[start:goal + 1]:
        # db sync runs the same migrations on cell0, then the cell: the
        # lines below say which database each block is for.
        LOG.info("Upgrading the %s (%s)", db.label, db.name)
    for rev in chain[start:goal + 1]:
        LOG.info("Running upgrade %s -> %s, %s", previous or "",
                 rev.revision, rev.summary)
        for statement in rev.statements():
            db.execute(statement)
        if previous is None:
            db.execute(sql("schema_version.insert"), {"revision": rev.revision})
        else:
            db.execute(sql("schema_version.update"),
                       {"revision": rev.revision, "previous": previous})
        previous = rev.revision
    return previous


def _nova():
    from nmtool import NOVA_VERSION
    return NOVA_VERSION
