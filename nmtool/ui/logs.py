"""Logging set up from the global options, the way oslo.log reads them.

Log records go to stderr unless a log file, syslog or journald is chosen;
stdout is kept for the output scripts read. Passwords in URLs are masked
in every record, in whatever part of it they are: the message, the bound
values of a statement, its error, a traceback.
"""
import json
import logging
import logging.handlers
import os
import socket
import sys

# oslo.log's default line, without the request-context fields.
LINE_FORMAT = ("%(asctime)s.%(msecs)03d %(process)d %(levelname)s "
               "%(name)s [-] %(message)s")
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
JOURNAL_SOCKET = "/run/systemd/journal/socket"


class MaskingFilter(logging.Filter):
    """Masks passwords in the final message text of every record."""

    def filter(self, record):
        from nmtool.db.url import mask_password
        message = record.getMessage()
        masked = mask_password(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def mask_values(value):
    """value with the passwords of the URLs in its strings masked, each
    string on its own (a URL ends with its string), containers kept."""
    from nmtool.db.url import mask_password
    if isinstance(value, str):
        return mask_password(value)
    if isinstance(value, list):
        return [mask_values(v) for v in value]
    if isinstance(value, tuple):
        return tuple(mask_values(v) for v in value)
    if isinstance(value, (set, frozenset)):
        return type(value)(mask_values(v) for v in value)
    if isinstance(value, dict):
        return {k: mask_values(v) for k, v in value.items()}
    return value


class MaskedText(logging.Formatter):
    """Masks the whole text of a record: what the message filter cannot
    reach, such as a traceback's exception lines."""

    def format(self, record):
        from nmtool.db.url import mask_password
        return mask_password(super().format(record))


class MaskedFormatter(logging.Formatter):
    """Masks the text another formatter makes (--log-config-append's)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def format(self, record):
        from nmtool.db.url import mask_password
        return mask_password(self.inner.format(record))


class JSONFormatter(logging.Formatter):
    def format(self, record):
        from nmtool.db.url import mask_password
        data = {
            "asctime": self.formatTime(record, self.datefmt),
            "name": record.name, "levelname": record.levelname,
            "message": mask_password(record.getMessage()),
            "process": record.process,
            "module": record.module, "funcname": record.funcName,
            "lineno": record.lineno,
        }
        for key in ("sql_params", "sql_rows", "sql_ms", "sql_db",
                    "sql_error"):
            if hasattr(record, key):
                data[key] = mask_values(getattr(record, key))
        if record.exc_info:
            data["traceback"] = mask_password(
                self.formatException(record.exc_info))
        return json.dumps(data, default=lambda v: mask_values(str(v)))


class SQLDetailFormatter(MaskedText):
    """Adds bound values, row count and duration to SQL log records."""

    def format(self, record):
        line = super().format(record)
        if getattr(record, "sql_ms", None) is None:
            return line
        from nmtool.db.url import mask_password
        # The values are masked one by one: masking their repr as one
        # text could run a URL on into the values after it.
        extra = " | params=%r rows=%s %.3f ms" % (
            mask_values(record.sql_params), record.sql_rows, record.sql_ms)
        if record.sql_error:
            extra += " error=%s" % mask_password(record.sql_error)
        return line + extra


class JournalHandler(logging.Handler):
    """Writes records to journald with its native datagram protocol."""

    PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4,
                logging.ERROR: 3, logging.CRITICAL: 2}

    def __init__(self, path=JOURNAL_SOCKET):
        super().__init__()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.connect(path)

    def emit(self, record):
        try:
            fields = {"MESSAGE": self.format(record),
                      "PRIORITY": str(self.PRIORITY.get(record.levelno, 6)),
                      "SYSLOG_IDENTIFIER": "nmtool",
                      "LOGGER_NAME": record.name,
                      "CODE_FUNC": record.funcName,
                      "CODE_LINE": str(record.lineno)}
            payload = b""
            for key, value in fields.items():
                data = value.encode("utf-8")
                if b"\n" in data:
                    payload += key.encode() + b"\n" + \
                        len(data).to_bytes(8, "little") + data + b"\n"
                else:
                    payload += key.encode() + b"=" + data + b"\n"
            self.sock.send(payload)
        except Exception:
            self.handleError(record)


def _syslog_facility(name):
    key = name.upper()
    if key.startswith("LOG_"):
        key = key[4:]
    facility = logging.handlers.SysLogHandler.facility_names.get(key.lower())
    if facility is None:
        from nmtool.errors import UsageError
        raise UsageError("argument --syslog-log-facility: unknown facility %r"
                         % name)
    return facility


def setup_logging(options):
    """Configure the root logger from the resolved global options, then
    nmtool's SQL audit (--sql-log, --print-sql) on top of it."""
    _setup_root(options)
    from nmtool.db import sql_audit
    sql_audit.install(getattr(options, "sql_log", None),
                      getattr(options, "print_sql", False), options.debug)


def _setup_root(options):
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.DEBUG if options.debug else logging.INFO)
    if not options.debug:
        # The statement log is DEBUG; --debug or --sql-log turns it on.
        logging.getLogger("nmtool.sql").setLevel(logging.INFO)

    if options.log_config_append:
        from logging import config as logging_config
        path = options.log_config_append
        if not os.path.exists(path):
            from nmtool.errors import NmtoolError
            raise NmtoolError("Log config file %s not found" % path, 1)
        try:
            logging_config.fileConfig(path, disable_existing_loggers=False)
        except Exception as exc:
            from nmtool.errors import NmtoolError
            raise NmtoolError("Error loading logging config %s: %s"
                              % (path, exc), 1)
        _mask_all(root)
        return

    handlers = []
    if options.log_file:
        path = options.log_file
        if options.log_dir and not os.path.isabs(path):
            path = os.path.join(options.log_dir, path)
        handler_class = logging.handlers.WatchedFileHandler \
            if options.watch_log_file else logging.FileHandler
        try:
            handlers.append(handler_class(path))
        except OSError as exc:
            # One line and exit 1, as --sql-log and the config files fail.
            from nmtool.errors import NmtoolError
            raise NmtoolError("Cannot open the log file %s: %s"
                              % (path, exc.strerror or exc), 1)
    if options.use_syslog:
        address = "/dev/log" if os.path.exists("/dev/log") \
            else ("localhost", 514)
        handlers.append(logging.handlers.SysLogHandler(
            address=address,
            facility=_syslog_facility(options.syslog_log_facility)))
    if options.use_journal:
        try:
            handlers.append(JournalHandler())
        except OSError:
            sys.stderr.write("WARNING: journald is not available; logging "
                             "to stderr\n")
    if not handlers:
        handlers.append(logging.StreamHandler(sys.stderr))

    if options.use_json:
        formatter = JSONFormatter(datefmt=options.log_date_format)
    else:
        formatter = SQLDetailFormatter(
            LINE_FORMAT, datefmt=options.log_date_format or DATE_FORMAT)
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    _mask_all(root)


def _mask_all(root):
    masking = MaskingFilter()
    for handler in root.handlers:
        handler.addFilter(masking)
        if not isinstance(handler.formatter, (MaskedText, MaskedFormatter,
                                              JSONFormatter)):
            handler.setFormatter(MaskedFormatter(
                handler.formatter or logging.Formatter()))
