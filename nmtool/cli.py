"""Command line: global options anywhere, one docopt usage per action.

nova-manage's global options may come before or after the command (the
man page says so), so each action's docopt text is given the global
options too and docopt sees the whole command line. Only the category
and action names are found by hand first, to pick the right text.
"""
import os
import re
import sys

from nmtool import NOVA_VERSION, __version__
from nmtool.commands import (BUILTIN, CATEGORIES, NMTOOL_CATEGORIES,
                             is_nmtool_only, nova_actions, nova_categories)

PROG = "nmtool"

# Global options as the man pages list them. Options taking a value are
# marked; the aliases of one option share a destination.
GLOBAL_OPTIONS_DOC = """\
Global options:
  -h --help                     Show this help message and exit.
  --config-file=<path>          Path to a config file to use; repeatable,
                                later files win.
  --config-dir=<dir>            Directory of *.conf files, read sorted after
                                the config files; repeatable.
  -d --debug                    Log at DEBUG level (including every SQL
                                statement) and show tracebacks.
  --nodebug                     The inverse of --debug.
  --log-config-append=<path>    Logging configuration file (Python logging
                                fileConfig format); other log options are
                                then ignored.
  --log-config=<path>           Alias of --log-config-append.
  --log_config=<path>           Alias of --log-config-append.
  --log-date-format=<format>    Format of %(asctime)s in log records.
  --log-dir=<dir>               Base directory of a relative --log-file.
  --logdir=<dir>                Alias of --log-dir.
  --log-file=<path>             Log to this file instead of stderr.
  --logfile=<path>              Alias of --log-file.
  --syslog-log-facility=<name>  Syslog facility [default: LOG_USER].
  --use-journal                 Log to journald.
  --nouse-journal               The inverse of --use-journal.
  --use-json                    Log records as JSON.
  --nouse-json                  The inverse of --use-json.
  --use-syslog                  Log to syslog.
  --nouse-syslog                The inverse of --use-syslog.
  --watch-log-file              Reopen the log file when it is moved.
  --nowatch-log-file            The inverse of --watch-log-file.
  --post-mortem                 Start pdb on an unexpected error.
  --nopost-mortem               The inverse of --post-mortem.
  --version                     Show the version and exit.
  --sql-log=<file>              nmtool: append every SQL statement run, with
                                its database, bound values, row count and
                                duration, to this file as JSON lines.
  --print-sql                   nmtool: print every SQL statement run, the
                                same way, on stderr.
"""

# Options that take a value, so the scan for the command words can skip
# their arguments.
_VALUE_OPTIONS = frozenset([
    "--config-file", "--config-dir", "--log-config-append", "--log-config",
    "--log_config", "--log-date-format", "--log-dir", "--logdir",
    "--log-file", "--logfile", "--syslog-log-facility", "--sql-log",
])
_REPEATABLE = "[--config-file=<path>]... [--config-dir=<dir>]..."
_BOOL_PAIRS = ("debug", "use-journal", "use-json", "use-syslog",
               "watch-log-file", "post-mortem")
_ALIASES = {
    "log_config_append": ("--log-config-append", "--log-config",
                          "--log_config"),
    "log_dir": ("--log-dir", "--logdir"),
    "log_file": ("--log-file", "--logfile"),
}


def version_string(verbose=False):
    """What --version prints: nova-manage's string alone, since scripts
    compare it; verbose (version --verbose) adds nmtool's own version
    and the kernel in use."""
    if not verbose:
        return NOVA_VERSION
    return "%s (%s)" % (NOVA_VERSION, own_version())


def own_version():
    from nmtool.kernel import KIND
    return "nmtool %s, %s kernel" % (__version__, KIND)


class Globals:
    """The global options, resolved: inverses, aliases and repeats."""

    def __init__(self, parsed, argv):
        self.config_sources = _config_sources(
            argv, parsed.get("--config-file") or [],
            parsed.get("--config-dir") or [])
        for pair in _BOOL_PAIRS:
            setattr(self, pair.replace("-", "_"), _last_flag(argv, pair))
        for dest, names in _ALIASES.items():
            value = None
            for name in names:  # docopt keeps one value per spelling
                if parsed.get(name) is not None:
                    value = parsed[name]
            setattr(self, dest, value)
        self.log_date_format = parsed.get("--log-date-format")
        self.syslog_log_facility = parsed.get("--syslog-log-facility") \
            or "LOG_USER"
        # nmtool's SQL audit (nmtool.sql_audit).
        self.sql_log = parsed.get("--sql-log")
        # A dry run shows the statements it ran (and rolled back).
        self.print_sql = bool(parsed.get("--print-sql")
                              or parsed.get("--dry-run"))


def _config_sources(argv, files, dirs):
    """--config-file and --config-dir in command-line order, which is the
    order oslo.config reads them in."""
    sources = []
    tokens = iter(argv)
    for token in tokens:
        for option, kind in (("--config-file", "file"), ("--config-dir", "dir")):
            if token == option:
                sources.append((kind, next(tokens, None)))
            elif token.startswith(option + "="):
                sources.append((kind, token[len(option) + 1:]))
    if [p for k, p in sources if k == "file"] != list(files) or \
            [p for k, p in sources if k == "dir"] != list(dirs):
        # Abbreviated spellings docopt accepted: fall back to files first.
        sources = [("file", f) for f in files] + [("dir", d) for d in dirs]
    return sources


def _last_flag(argv, name):
    """--X and --noX share one setting; the later on the line wins."""
    value = False
    for token in argv:
        if token == "--" + name:
            value = True
        elif token == "--no" + name:
            value = False
        elif name == "debug" and _short_flags(token) and "d" in token:
            value = True
    return value


def _short_flags(token):
    return (token.startswith("-") and not token.startswith("--")
            and len(token) > 1)


def _words(argv):
    """The positional words of argv (category, action, arguments)."""
    words = []
    skip = False
    for token in argv:
        if skip:
            skip = False
        elif token == "--":
            continue
        elif token.startswith("-") and token != "-":
            if token in _VALUE_OPTIONS:
                skip = True
        else:
            words.append(token)
    return words


def _wants_help(argv):
    return any(t in ("-h", "--help") or (_short_flags(t) and "h" in t
                                         and t[1:].isalpha())
               for t in argv if t != "--")


def _wants_version(argv):
    return "--version" in argv


def _out(text, stream=None):
    (stream or sys.stdout).write(text if text.endswith("\n") else text + "\n")


# -- help texts ---------------------------------------------------------------

def top_usage():
    names = BUILTIN + list(CATEGORIES)
    lines = ["usage: %s [options] <category> <action> [<args>...]" % PROG, "",
             "nmtool %s: a raw-SQL drop-in replacement for nova-manage %s."
             % (__version__, NOVA_VERSION), "", "Categories:"]
    builtin_desc = {"version": "Print the version (--verbose: nmtool's "
                               "own too) and exit.",
                    "bash-completion": "Print the categories, or the "
                                       "actions of one, for completion."}
    for name in names:
        if name in NMTOOL_CATEGORIES:
            continue
        desc = builtin_desc.get(name) or CATEGORIES[name][1]
        lines.append("  %-18s %s" % (name, desc))
    lines += ["", "nmtool's own categories (not in nova-manage):"]
    lines += ["  %-18s %s" % (name, CATEGORIES[name][1])
              for name in NMTOOL_CATEGORIES]
    lines += ["", "Run '%s <category>' for the actions of a category and "
              "'%s <category> <action> -h' for one action." % (PROG, PROG)]
    return "\n".join(lines)


# One line per action for the category listings, as the top listing has
# one per category. Kept here rather than taken from each action's usage
# text so that listing a category imports none of its modules.
ACTION_SUMMARIES = {
    ("api_db", "sync"): "Upgrade the API database schema.",
    ("api_db", "version"): "Print the API database schema version.",
    ("cell_v2", "create_cell"): "Create a cell mapping.",
    ("cell_v2", "delete_cell"): "Delete a cell mapping.",
    ("cell_v2", "delete_host"): "Delete a host mapping.",
    ("cell_v2", "discover_hosts"): "Map the compute hosts not mapped yet.",
    ("cell_v2", "list_cells"): "List the cell mappings.",
    ("cell_v2", "list_hosts"): "List the host mappings.",
    ("cell_v2", "map_cell0"): "Create the cell mapping of cell0.",
    ("cell_v2", "map_cell_and_hosts"): "Map a cell and its compute hosts.",
    ("cell_v2", "map_instances"): "Map the instances of a cell.",
    ("cell_v2", "simple_cell_setup"):
        "Set up cells v2 for a deployment with one cell.",
    ("cell_v2", "update_cell"): "Change a cell's name, URLs or state.",
    ("cell_v2", "verify_instance"):
        "Say whether an instance is mapped to a cell.",
    ("db", "archive_deleted_rows"):
        "Move soft-deleted rows into the shadow tables.",
    ("db", "ironic_compute_node_move"):
        "Move an ironic node to another compute service.",
    ("db", "ironic_flavor_migration"):
        "Add the resource class to ironic instances' flavors.",
    ("db", "null_instance_uuid_scan"):
        "List (or delete) rows whose instance_uuid is NULL.",
    ("db", "online_data_migrations"): "Run nova's online data migrations.",
    ("db", "purge"): "Delete rows from the shadow tables.",
    ("db", "status"): "Show what archive and purge would find, per table.",
    ("db", "sync"): "Upgrade the main database schema (cell0 first).",
    ("db", "version"): "Print the main database schema version.",
    ("placement", "audit"): "Find (and delete) orphaned allocations.",
    ("placement", "heal_allocations"):
        "Create the allocations instances are missing.",
    ("placement", "sync_aggregates"):
        "Mirror host aggregates onto resource providers.",
    ("libvirt", "get_machine_type"):
        "Print the stored machine type of an instance.",
    ("libvirt", "list_unset_machine_type"):
        "List the instances with no stored machine type.",
    ("libvirt", "update_machine_type"):
        "Set the stored machine type of an instance.",
    ("volume_attachment", "get_connector"):
        "Show this host's volume connector (needs os-brick).",
    ("volume_attachment", "refresh"):
        "Refresh connection info (not supported: needs Cinder, RPC).",
    ("volume_attachment", "show"):
        "Show an instance's attachment of a volume.",
    ("image_property", "set"): "Set image properties of an instance.",
    ("image_property", "show"): "Show an image property of an instance.",
    ("limits", "migrate_to_unified_limits"):
        "Copy quota limits to Keystone's unified limits.",
    ("sql", "list"): "List the named statements, under the commands.",
    ("sql", "show"): "Print one named statement or fragment.",
}


def category_usage(category):
    module, desc, actions = CATEGORIES[category]
    lines = ["usage: %s %s <action> [<args>...]" % (PROG, category), "",
             desc, "", "Actions:"]
    width = max(len(action) for action in actions)

    def listed(names):
        return [("  %-*s  %s" % (width, name, ACTION_SUMMARIES.get(
            (category, name), ""))).rstrip() for name in names]
    if category in NMTOOL_CATEGORIES:
        lines += listed(actions)
    else:
        lines += listed(nova_actions(category))
        extra = [a for a in actions if is_nmtool_only(category, a)]
        if extra:
            lines += ["", "nmtool's own actions (not in nova-manage):"]
            lines += listed(extra)
    return "\n".join(lines)


def action_doc(category, action):
    """The docopt text of one action, with the global options merged in."""
    doc = _command_module(category, action).USAGE[action].strip("\n")
    prefix = "Usage: %s %s %s" % (PROG, category, action)
    usage_line, _, rest = doc.partition("\n")
    if not usage_line.startswith(prefix):
        raise RuntimeError("usage of %s %s must start with %r"
                           % (category, action, prefix))
    # Put [options] and the repeatable options before the command words so
    # that docopt accepts them anywhere on the line.
    full_usage = "Usage: %s [options] %s %s %s%s" % (
        PROG, _REPEATABLE, category, action, usage_line[len(prefix):])
    return "%s\n%s\n\n%s" % (full_usage, rest.rstrip("\n"),
                             GLOBAL_OPTIONS_DOC)


def _command_module(category, action=None):
    import importlib
    from nmtool.commands import ACTION_MODULES
    name = ACTION_MODULES.get((category, action), CATEGORIES[category][0])
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        from nmtool.errors import NmtoolError
        what = ("'%s %s' is" % (category, action)
                if (category, action) in ACTION_MODULES
                else "the %s commands are" % category)
        raise NmtoolError("%s not implemented in nmtool %s yet"
                          % (what, __version__))


# -- entry point ----------------------------------------------------------

def _stop_like_sigint():
    """SIGTERM (systemd, timeout) and SIGHUP (a closed terminal) stop a
    command the way ^C does: it finishes or rolls back what it was doing
    and reports what was done. A signal set to be ignored (nohup) stays
    ignored. ^C gets the same handler as the other two, which, unlike
    Python's own, never lets a finalizer swallow it."""
    import signal
    from nmtool.interrupts import interrupt
    for name, default in (("SIGINT", signal.default_int_handler),
                          ("SIGTERM", signal.SIG_DFL),
                          ("SIGHUP", signal.SIG_DFL)):
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) is default:
            signal.signal(signum, interrupt)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = _last_flag(argv, "debug") or _last_flag(argv, "post-mortem")
    _stop_like_sigint()
    try:
        code = _run(argv)
        # A reader gone away shows here, not in Python's flush at exit.
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _reader_gone()
    except KeyboardInterrupt:
        _out("Interrupted", sys.stderr)
        return 130
    except Exception as exc:
        from nmtool.db.url import mask_password
        from nmtool.errors import NmtoolError, UsageError
        if isinstance(exc, UsageError):
            if exc.usage:
                _out(exc.usage, sys.stderr)
            _out("%s: error: %s" % (PROG, mask_password(exc)), sys.stderr)
            return exc.exit_code
        if isinstance(exc, NmtoolError) and not debug:
            _out("ERROR: %s" % mask_password(exc), sys.stderr)
            return exc.exit_code
        return _unexpected(exc, argv)
    except BaseException as exc:
        # A lost SQL log entry is a BaseException so that no command's
        # catch-all goes on after it (see nmtool.db.sql_audit).
        from nmtool.db.sql_audit import SqlLogFailed
        if not isinstance(exc, SqlLogFailed):
            raise
        if debug:
            return _unexpected(exc, argv)
        _out("ERROR: %s" % exc, sys.stderr)
        return exc.exit_code


def _reader_gone():
    """stdout's reader closed the pipe (`| head`): end quietly, with the
    status of a process that SIGPIPE ended (128 + 13), as other
    command-line tools do, and keep the exit-time flush from failing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141


def _unexpected(exc, argv):
    """nova-manage returns 255 on anything it did not expect."""
    from nmtool.db.url import mask_password
    if _last_flag(argv, "post-mortem"):
        import pdb
        import traceback
        _out(mask_password(traceback.format_exc()), sys.stderr)
        pdb.post_mortem(exc.__traceback__)
    elif _last_flag(argv, "debug"):
        import traceback
        _out(mask_password(traceback.format_exc()), sys.stderr)
    else:
        text = str(exc).strip().splitlines()
        _out("An error has occurred: %s: %s" % (
            type(exc).__name__, mask_password(text[0] if text else "")),
            sys.stderr)
    from nmtool.db.sql_audit import SqlLogFailed
    from nmtool.errors import NmtoolError
    return exc.exit_code if isinstance(exc, (NmtoolError, SqlLogFailed)) \
        else 255


def _run(argv):
    from nmtool.errors import UsageError
    words = _words(argv)
    if _wants_version(argv):
        _version(argv, False)
        return 0
    if not words:
        if _wants_help(argv):
            _out(top_usage())
            _out("\n" + GLOBAL_OPTIONS_DOC)
            return 0
        raise UsageError("the following arguments are required: category",
                         usage=top_usage())
    category = words[0]
    if category == "version":
        _check_no_extra(words[1:], "version")
        _version(argv, "--verbose" in argv)
        return 0
    if category == "bash-completion":
        _check_no_extra(words[2:], "bash-completion")
        return _bash_completion(words[1] if len(words) > 1 else None)
    if category not in CATEGORIES:
        raise UsageError(
            "argument category: invalid choice: %r (choose from %s)" % (
                category, ", ".join(repr(c) for c in
                                    BUILTIN + list(CATEGORIES))),
            usage=top_usage())
    actions = CATEGORIES[category][2]
    if len(words) < 2:
        if _wants_help(argv):
            _out(category_usage(category))
            return 0
        raise UsageError("the following arguments are required: action",
                         usage=category_usage(category))
    action = words[1]
    if action not in actions:
        raise UsageError(
            "argument action: invalid choice: %r (choose from %s)" % (
                action, ", ".join(repr(a) for a in actions)),
            usage=category_usage(category))
    if action not in getattr(_command_module(category, action), "USAGE",
                             {}):
        from nmtool.errors import NmtoolError
        raise NmtoolError("'%s %s' is not implemented in nmtool %s yet"
                          % (category, action, __version__))
    doc = action_doc(category, action)
    if _wants_help(argv):
        _out(_help_text(category, action))
        return 0
    args = _parse(doc, argv, category, action)
    options = Globals(args, argv)
    from nmtool.ui.logs import setup_logging
    setup_logging(options)
    if options.debug:
        import logging
        logging.getLogger("nmtool").debug("%s, as nova-manage %s",
                                          own_version(), NOVA_VERSION)
    from nmtool.context import Context
    ctx = Context(options, args)
    module = _command_module(category, action)
    try:
        result = getattr(module, action)(ctx)
    finally:
        ctx.close()
    return 0 if result is None else int(result)


def _version(argv, verbose):
    _out(version_string(verbose))
    if _last_flag(argv, "debug") and not verbose:
        # Where --debug shows nmtool's own version on every command.
        _out(own_version(), sys.stderr)


def _help_text(category, action):
    doc = _command_module(category, action).USAGE[action].strip("\n")
    usage, _, rest = doc.partition("\n")
    return "%s\n%s\n\nGlobal options may also be given; see '%s -h'." % (
        usage.replace("Usage: ", "usage: ", 1), rest.rstrip(), PROG)


def _check_no_extra(words, what):
    from nmtool.errors import UsageError
    if words:
        raise UsageError("unrecognized arguments: %s" % " ".join(words),
                         usage="usage: %s %s" % (PROG, what))


def _parse(doc, argv, category, action):
    from docopt import DocoptExit, docopt
    from nmtool.errors import UsageError
    try:
        return docopt(doc, argv, default_help=False)
    except DocoptExit as exc:
        usage = "usage: " + doc.split("\n", 1)[0][len("Usage: "):]
        raise UsageError(_docopt_message(str(exc), doc, argv),
                         usage=usage) from None


def _docopt_message(text, doc, argv):
    """Turn docopt's complaint into argparse-style one-liners."""
    first = text.split("\n", 1)[0]
    if "requires argument" in first:
        option = first.split()[0]
        return "argument %s: expected one argument" % option
    if "is not a unique prefix" in first or "is not unique" in first:
        return "ambiguous option: " + first
    known = _known_options(doc)
    unknown = [t for t in argv if t.startswith("-") and t != "--"
               and t.split("=", 1)[0] not in known
               and not (_short_flags(t) and all(
                   "-" + c in known for c in t[1:]))]
    if unknown:
        return "unrecognized arguments: %s" % " ".join(unknown)
    missing = _missing_arguments(doc, argv)
    if missing:
        return "the following arguments are required: %s" % ", ".join(
            missing)
    extra = re.findall(r"Argument\(None, '((?:[^'\\]|\\.)*)'\)", first)
    if extra:
        return "unrecognized arguments: %s" % " ".join(extra)
    if "unmatched" in first:
        return "unrecognized arguments or missing required arguments: %s" % (
            " ".join(argv))
    return first or "invalid arguments"


def _missing_arguments(doc, argv):
    """The required <arguments> of the usage line that argv leaves out
    (docopt only says that the line did not match)."""
    usage = doc.split("\n", 1)[0]
    while True:  # drop the optional [...] parts, innermost first
        bare = re.sub(r"\[[^\[\]]*\]", "", usage)
        if bare == usage:
            break
        usage = bare
    required = re.findall(r"(?<![=\w])<[\w-]+>", usage)
    takes_value = set(re.findall(r"(--?[\w-]+)=<", doc))
    given, skip = -2, False  # the category and action are words too
    for token in argv:
        if skip:
            skip = False
        elif token.startswith("-") and token not in ("-", "--"):
            skip = token in takes_value
        elif token != "--":
            given += 1
    return required[max(given, 0):]


def _known_options(doc):
    return set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", doc))


def _bash_completion(category):
    # nova-manage's lists, word for word; nmtool's own categories
    # complete only once named.
    if category is None:
        _out(" ".join(nova_categories()))
    elif category in NMTOOL_CATEGORIES:
        _out(" ".join(CATEGORIES[category][2]))
    elif category in CATEGORIES:
        _out(" ".join(nova_actions(category)))
    return 0
