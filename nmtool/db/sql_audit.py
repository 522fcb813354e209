"""The SQL audit: --sql-log (JSON lines) and --print-sql (stderr).

Every statement goes through nmtool.db.connection.Database, which logs it
on the "nmtool.sql" logger at DEBUG with its bound values, row count,
duration and error. This module turns those records into audit entries,
one per statement, with what a replay needs: which database (label and
schema name) and which connection it ran on, the SQL as written, and the
values in a JSON form that decodes back to the Python values pymysql was
given (scripts/replay-sql-log.py re-executes the writes of a log).

Entry fields: ts (UTC start time, ISO 8601), db (nmtool's label for the
connection, e.g. "main database", "API database", "database of cell
<uuid>"), database (schema name), conn (server connection id), name (the
named statement of sql/queries it ran, as `nmtool sql show` shows it;
null for the session settings and migration files), sql, params, many (true: an executemany whose params are the row list), rows
(affected or returned rows; null when the statement failed), ms, error,
and dry_run (only when true: a --dry-run session, rolled back at exit).

Passwords: values that hold a URL are masked (mask_password), so a replay
of a statement writing a URL with a password writes the masked URL. The
--sql-log file is still created readable by its owner only: it holds
every other bound value.

A log that cannot be written (a full disk) stops the run at once: the
statement whose entry failed has run, none runs after it (SqlLogFailed),
and the command exits 1 with one line, so no replay misses a write
without anyone knowing.
"""
import base64
import datetime
import decimal
import json
import logging
import os
import sys

from nmtool.db.url import mask_password

SQL_LOGGER = "nmtool.sql"


class SqlLogFailed(BaseException):
    """The SQL log could not be written.

    A BaseException, like KeyboardInterrupt, because several commands
    report "any error" of one item and go on to the next: after this one
    they must not, since their statements would be missing from the log.
    nmtool.cli prints it as one line and exits with exit_code.
    """

    exit_code = 1


# The message of the first failed write; once set, no statement runs
# (nmtool.db.connection.Database checks it before each one).
FAILED = []


def check():
    """Raise SqlLogFailed if a write to the SQL log has failed."""
    if FAILED:
        raise SqlLogFailed(FAILED[0])


# -- values ------------------------------------------------------------------

def encode_value(value):
    """A JSON-able form of a bound value; non-JSON types are tagged."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return mask_password(value) if "://" in value else value
    if isinstance(value, (list, tuple)):
        return [encode_value(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return {"$set": [encode_value(v) for v in value]}
    if isinstance(value, dict):
        return {str(k): encode_value(v) for k, v in value.items()}
    if isinstance(value, datetime.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"$date": value.isoformat()}
    if isinstance(value, datetime.time):
        return {"$time": value.isoformat()}
    if isinstance(value, datetime.timedelta):
        return {"$timedelta": value.total_seconds()}
    if isinstance(value, decimal.Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    return {"$repr": mask_password(repr(value))}


_DECODERS = {
    "$set": lambda v: frozenset(decode_value(x) for x in v),
    "$datetime": datetime.datetime.fromisoformat,
    "$date": datetime.date.fromisoformat,
    "$time": datetime.time.fromisoformat,
    "$timedelta": lambda v: datetime.timedelta(seconds=v),
    "$decimal": decimal.Decimal,
    "$bytes": base64.b64decode,
}


def decode_value(value):
    """The Python value encode_value() was given (tuples come back as
    lists, which pymysql binds the same way)."""
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1:
            (tag, inner), = value.items()
            if tag in _DECODERS:
                return _DECODERS[tag](inner)
            if tag == "$repr":
                raise ValueError("value %s cannot be replayed" % inner)
        return {k: decode_value(v) for k, v in value.items()}
    return value


# -- entries -----------------------------------------------------------------

def _statement_origin(record):
    """(database, sql, call, conn, dry_run) of a statement record, as
    nmtool.db.connection.Database._log attaches them."""
    sql = getattr(record, "sql_text", None) or record.getMessage()
    return (getattr(record, "sql_database", None), sql,
            getattr(record, "sql_call", None) or "execute",
            getattr(record, "sql_conn", None),
            bool(getattr(record, "sql_dry_run", False)))


def make_entry(record):
    database, sql, call, conn, dry_run = _statement_origin(record)
    ms = getattr(record, "sql_ms", None) or 0.0
    started = record.created - ms / 1000.0
    entry = {
        "ts": datetime.datetime.fromtimestamp(
            started, datetime.timezone.utc).isoformat(
                timespec="microseconds").replace("+00:00", "Z"),
        "db": getattr(record, "sql_db", None),
        "database": database,
        "conn": conn,
        "name": getattr(record, "sql_name", None),
        "sql": mask_password(sql),
        "params": encode_value(getattr(record, "sql_params", None)),
        "many": call == "executemany",
        "rows": getattr(record, "sql_rows", None),
        "ms": ms,
        "error": mask_password(getattr(record, "sql_error", None)),
    }
    if dry_run:
        entry["dry_run"] = True
    return entry


class _EntryFilter(logging.Filter):
    """Builds the entry while the logging call is still on the stack."""

    def filter(self, record):
        if getattr(record, "sql_ms", None) is not None and \
                not hasattr(record, "sql_entry"):
            record.sql_entry = make_entry(record)
        return True


class JSONLinesHandler(logging.Handler):
    """--sql-log: one JSON object per line, appended and flushed each
    time, so a killed run leaves every finished statement in the file."""

    def __init__(self, path):
        super().__init__(logging.DEBUG)
        self.path = path
        # Straight to the descriptor, unbuffered: a failed write is seen
        # by the statement whose entry it is, not by a later flush.
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT
                          | os.O_CLOEXEC, 0o600)

    def emit(self, record):
        entry = getattr(record, "sql_entry", None)
        if entry is None:
            return
        check()
        data = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            while data:
                data = data[os.write(self.fd, data):]
        except OSError as exc:
            FAILED.append(
                "Cannot write the SQL log %s: %s (stopped at once: the "
                "statement just run is not in the log)"
                % (self.path, exc.strerror or exc))
            raise SqlLogFailed(FAILED[0]) from None

    def close(self):
        try:
            if self.fd is not None:
                os.close(self.fd)
                self.fd = None
        finally:
            super().close()


def _plain(value):
    """Tagged values as their text, for people."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)).startswith("$"):
            inner = next(iter(value.values()))
            return inner.replace("T", " ") if isinstance(inner, str) and \
                "$datetime" in value else _plain(inner)
        return {k: _plain(v) for k, v in value.items()}
    return value


def _short_params(entry, limit=3):
    params = _plain(entry["params"])
    if entry["many"] and isinstance(params, list) and len(params) > limit:
        return "%s ... (%d rows)" % (
            json.dumps(params[:limit], ensure_ascii=False)[:-1],
            len(params))
    return json.dumps(params, ensure_ascii=False)


def human_line(entry):
    """--print-sql: one line per statement."""
    where = entry["db"] or "database"
    if entry["database"]:
        where += " (%s)" % entry["database"]
    if entry["conn"] is not None:
        where += " #%s" % entry["conn"]
    result = ("error: %s" % entry["error"]) if entry["error"] else \
        "%s row%s" % (entry["rows"], "" if entry["rows"] == 1 else "s")
    line = "SQL %s [%s] %.3f ms, %s%s: %s" % (
        entry["ts"][11:23], where, entry["ms"], result,
        ", dry run" if entry.get("dry_run") else "",
        " ".join(entry["sql"].split()))
    if entry["params"] is not None:
        line += " -- %s%s" % ("rows " if entry["many"] else "params ",
                              _short_params(entry))
    return line


class StderrHandler(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)

    def emit(self, record):
        entry = getattr(record, "sql_entry", None)
        if entry is None:
            return
        try:
            sys.stderr.write(human_line(entry) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


class _QuietRootSQL(logging.Filter):
    """Without --debug, the statement records turned on for the audit stay
    out of the ordinary log."""

    def filter(self, record):
        return not (record.name == SQL_LOGGER and
                    record.levelno < logging.INFO)


_installed = []


def install(sql_log=None, print_sql=False, debug=False):
    """Attach the audit handlers to the "nmtool.sql" logger."""
    logger = logging.getLogger(SQL_LOGGER)
    while _installed:
        item = _installed.pop()
        if isinstance(item, logging.Handler):
            logger.removeHandler(item)
            item.close()
        else:
            logger.removeFilter(item)
    del FAILED[:]
    if not sql_log and not print_sql:
        return
    handlers = []
    if sql_log:
        try:
            handlers.append(JSONLinesHandler(sql_log))
        except OSError as exc:
            from nmtool.errors import NmtoolError
            raise NmtoolError("Cannot open the SQL log %s: %s"
                              % (sql_log, exc.strerror or exc), 1)
    if print_sql:
        handlers.append(StderrHandler())
    entry_filter = _EntryFilter()
    logger.addFilter(entry_filter)
    _installed.append(entry_filter)
    for handler in handlers:
        logger.addHandler(handler)
        _installed.append(handler)
    logger.setLevel(logging.DEBUG)
    if not debug:
        for handler in logging.getLogger().handlers:
            if not any(isinstance(f, _QuietRootSQL) for f in handler.filters):
                handler.addFilter(_QuietRootSQL())
