#!/usr/bin/env python3
"""Replay the writes of an nmtool --sql-log on other databases.

usage: replay-sql-log.py [--db KEY=URL]... [--verbose] LOG

Re-executes every statement of LOG that changes something (INSERT,
UPDATE, DELETE, REPLACE, DDL, BEGIN/COMMIT/ROLLBACK, SAVEPOINT) on the
database given for it, in commit order: a transaction as a whole, where
its COMMIT or ROLLBACK is in the log, other statements where they are.
Reads (SELECT, SHOW, ...) are skipped, as are statements that failed in
the logged run and statements of --dry-run sessions (rolled back when
that run ended). Each logged connection gets
its own connection, which first repeats the session's SET statements.
Before each statement the session timestamp is set to the logged start
time, so NOW() and UTC_TIMESTAMP() give the values of the logged run.

KEY names the logged database: its label ("main database", "API
database", "database of cell <uuid>"), its schema name, or both as
"label/schema". URL is a nova.conf-style URL (mysql+pymysql://...).
Every database the log writes to must be given one.

Exit 0: everything replayed with the logged row counts; 1: a statement
failed (replay stops there; open transactions are rolled back) or some
row counts differed; 2: bad arguments, an unreadable log or a database
without a URL.

A transaction that is still open when its connection starts another one,
or when the log ends, was rolled back without a ROLLBACK in the log (the
connection was lost): it is not replayed.
"""
import argparse
import datetime
import decimal
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from nmtool.db.url import mask_password, parse_db_url  # noqa: E402
from nmtool.errors import DatabaseUrlError  # noqa: E402
from nmtool.db.sql_audit import decode_value  # noqa: E402

READS = frozenset(["SELECT", "SHOW", "DESC", "DESCRIBE", "EXPLAIN", "WITH",
                   "HELP", "CHECKSUM"])
SESSION = frozenset(["SET"])
BEGINS = frozenset(["BEGIN", "START"])


def keyword(sql):
    words = sql.lstrip(" \t\r\n(").split(None, 2)
    first = words[0].upper() if words else ""
    if first == "ROLLBACK" and len(words) > 1 and words[1].upper() == "TO":
        return "ROLLBACK TO"
    return first


class BadLog(Exception):
    pass


def load(path):
    entries = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError as exc:
                entry = exc
            if not isinstance(entry, dict) or not {"sql", "db", "ts"} <= \
                    set(entry):
                raise BadLog("%s line %d is not an nmtool SQL log entry"
                             % (path, number))
            entry["line"] = number
            entries.append(entry)
    return entries


def _fail(code, message):
    sys.stderr.write("replay-sql-log: %s\n" % message)
    return code


def session_key(entry):
    return (entry["db"], entry.get("database"), entry.get("conn"))


def choose(entries):
    """The entries to replay: those of sessions that changed something,
    their SETs included."""
    live = [e for e in entries if not e.get("error") and
            not e.get("dry_run") and keyword(e["sql"]) not in READS]
    writers = {session_key(e) for e in live
               if keyword(e["sql"]) not in SESSION}
    return [e for e in live if session_key(e) in writers]


def in_commit_order(entries):
    """The entries with each transaction moved, whole, to where it ended.
    The log has statements in the order they finished: transactions of
    concurrent connections interleave there, and one of them may have
    waited for the other's commit; run on one thread in that order, it
    would wait for ever. In commit order each runs after those it saw."""
    out, running = [], {}
    for entry in entries:
        key, kind = session_key(entry), keyword(entry["sql"])
        if kind in BEGINS:
            # A transaction still open here was rolled back unlogged: it
            # changed nothing, so it is not replayed (nor one left open
            # when the log ends).
            running[key] = [entry]
        elif key in running:
            running[key].append(entry)
            if kind in ("COMMIT", "ROLLBACK"):
                out.extend(running.pop(key))
        else:
            out.append(entry)
    return out


def url_for(entry, mapping):
    label, name = entry["db"], entry.get("database")
    for key in ("%s/%s" % (label, name), label, name):
        if key in mapping:
            return mapping[key]
    return None


class Session:
    def __init__(self, url):
        import pymysql
        self.conn = pymysql.connect(autocommit=True,
                                    **parse_db_url(url).connect_args())
        self.in_transaction = False

    def run(self, entry):
        kind = keyword(entry["sql"])
        cursor = self.conn.cursor()
        cursor.execute("SET timestamp = %s", (_epoch(entry["ts"]),))
        params = decode_value(entry.get("params"))
        if entry.get("many"):
            cursor.executemany(entry["sql"], params)
        else:
            cursor.execute(entry["sql"], params)
        if kind in BEGINS:
            self.in_transaction = True
        elif kind in ("COMMIT", "ROLLBACK"):
            self.in_transaction = False
        return cursor.rowcount

    def close(self):
        try:
            if self.in_transaction:
                self.conn.rollback()
            self.conn.close()
        except Exception:  # already gone
            pass


def _epoch(ts):
    value = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return decimal.Decimal("%.6f" % value.timestamp())


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="replay-sql-log",
        description="Replay the writes of an nmtool --sql-log.")
    parser.add_argument("log")
    parser.add_argument("--db", action="append", default=[],
                        metavar="KEY=URL",
                        help="database for the entries whose label, schema "
                             "name or label/schema is KEY")
    parser.add_argument("--verbose", action="store_true",
                        help="print each statement replayed")
    args = parser.parse_args(argv)
    mapping = {}
    for item in args.db:
        key, sep, url = item.partition("=")
        if not sep or not key or not url:
            return _fail(2, "--db wants KEY=URL, not %r" % mask_password(item))
        try:
            parse_db_url(url).connect_args()
        except DatabaseUrlError as exc:
            return _fail(2, str(exc))
        mapping[key] = url
    try:
        entries = in_commit_order(choose(load(args.log)))
    except OSError as exc:
        return _fail(2, "cannot read %s: %s" % (args.log, exc.strerror))
    except BadLog as exc:
        return _fail(2, str(exc))
    unmapped = sorted({"%s/%s" % (e["db"], e.get("database"))
                       for e in entries if url_for(e, mapping) is None})
    if unmapped:
        return _fail(2, "no --db for: %s" % ", ".join(unmapped))

    import pymysql
    sessions, differed, replayed = {}, 0, 0
    try:
        for entry in entries:
            key = session_key(entry)
            if key not in sessions:
                try:
                    sessions[key] = Session(url_for(entry, mapping))
                except pymysql.err.MySQLError as exc:
                    return _fail(1, "cannot connect for %s/%s: %s" % (
                        entry["db"], entry.get("database"), exc))
            try:
                rows = sessions[key].run(entry)
            except (pymysql.err.MySQLError, ValueError) as exc:
                return _fail(1, "line %d failed, replay stopped: %s"
                             % (entry["line"], exc))
            replayed += 1
            if args.verbose:
                print("line %d: %s rows: %s" % (
                    entry["line"], rows, " ".join(entry["sql"].split())))
            logged = entry.get("rows")
            if logged is not None and rows != logged:
                differed += 1
                sys.stderr.write("line %d: %s rows, the log says %s\n"
                                 % (entry["line"], rows, logged))
    finally:
        for session in sessions.values():
            session.close()
    print("Replayed %d statements on %d connections; %d row counts "
          "differed." % (replayed, len(sessions), differed))
    return 1 if differed else 0


if __name__ == "__main__":
    sys.exit(main())
