"""sql: the named statements nmtool runs, listed and shown (nmtool's own
category; nova-manage has nothing like it).

The commands that can run a statement come from its "-- used by:" lines
(see nmtool.db.statements); a statement without one is listed on its own.
Fragments (pieces that statements take in) are not statements and are
not listed; `sql show` shows them too.
"""
import difflib
import os
import re
import textwrap

from nmtool.commands import CATEGORIES
from nmtool.db.statements import all_fragments, all_statements, sql_root
from nmtool.errors import NmtoolError

USAGE = {
    "list": """\
Usage: nmtool sql list [<category> [<action>]]

List every named SQL statement nmtool can run, grouped by the commands
that run it (one heading per command, "category action"), each with the
file under sql/queries it lives in. A statement used by several commands
is listed under each. Give a category, or a category and an action, to
list only theirs. Exit 0; 2 for an unknown category or action.
""",
    "show": """\
Usage: nmtool sql show [--reindent] <name>

Print one named statement (or fragment): its name, file, the commands
that use it and its comment, then the SQL as written in its file
({braced} names are filled from the live schema when it runs; %(name)s
are bound values). Exit 0; 2 when no statement has that name.

Options:
  --reindent  Lay the SQL out with sqlparse instead of as written.
""",
}

UNASSIGNED = "(no command named for it)"


def _relative(path):
    return os.path.relpath(path, os.path.dirname(sql_root()))


def _commands_of(stmt):
    """The "category action" commands a statement names, "*" expanded."""
    named = set()
    for item in stmt.used_by:
        category, _, action = item.partition(" ")
        actions = CATEGORIES.get(category, (None, None, []))[2]
        if action == "*":
            named.update("%s %s" % (category, a) for a in actions)
        else:
            named.add(item)
    return named


def _command_order():
    return ["%s %s" % (category, action)
            for category, (_, _, actions) in CATEGORIES.items()
            for action in actions]


def statements_by_command():
    """[(command, [Statement, ...]), ...] in CLI order, then statements
    that name no command."""
    statements = sorted(all_statements().values(),
                        key=lambda s: os.path.basename(s.path))
    groups = {}
    for stmt in statements:
        for command in _commands_of(stmt) or [UNASSIGNED]:
            groups.setdefault(command, []).append(stmt)
    order = _command_order()
    known = [c for c in order if c in groups]
    unknown = sorted(c for c in groups if c not in order and c != UNASSIGNED)
    tail = [UNASSIGNED] if UNASSIGNED in groups else []
    return [(command, groups[command]) for command in known + unknown + tail]


def list(ctx):  # noqa: A001 (the action's name)
    category, action = ctx.args["<category>"], ctx.args["<action>"]
    if category is not None and category not in CATEGORIES:
        raise NmtoolError("unknown category %r" % category, 2)
    if action is not None and action not in CATEGORIES[category][2]:
        raise NmtoolError("unknown action %r of %s" % (action, category), 2)
    wanted = None
    if action is not None:
        wanted = lambda command: command == "%s %s" % (category, action)
    elif category is not None:
        wanted = lambda command: command.split(" ")[0] == category
    groups = [(command, stmts) for command, stmts in statements_by_command()
              if wanted is None or wanted(command)]
    blocks = []
    for command, stmts in groups:
        width = max(len(s.name) for s in stmts)
        lines = [command]
        lines += ["  %-*s  %s" % (width, s.name, _relative(s.path))
                  for s in stmts]
        blocks.append("\n".join(lines))
    if blocks:
        print("\n\n".join(blocks))
    return 0


def show(ctx):
    name = ctx.args["<name>"]
    statements = all_statements()
    stmt = statements.get(name) or all_fragments().get(name)
    if stmt is None:
        close = difflib.get_close_matches(name, sorted(statements), n=3)
        hint = (" (did you mean %s?)" % ", ".join(close)) if close else \
            " (see 'nmtool sql list')"
        raise NmtoolError("no SQL statement is named %r%s" % (name, hint), 2)
    lines = ["-- %s: %s" % ("fragment" if stmt.fragment else "name",
                            stmt.name),
             "-- file: %s" % _relative(stmt.path)]
    if stmt.used_by:
        lines.append("-- used by: %s" % ", ".join(stmt.used_by))
    if stmt.doc:
        lines += textwrap.wrap(stmt.doc, width=79, initial_indent="-- ",
                               subsequent_indent="-- ")
    text = reindent(stmt.sql) if ctx.args["--reindent"] else stmt.sql
    print("\n".join(lines))
    print(text)
    return 0


_PLACEHOLDER = re.compile(r"\{\w+\}")


def reindent(text):
    """sqlparse's layout, with the {braced} names kept as they are (sqlparse
    would take them apart)."""
    import sqlparse  # late: only --reindent needs it
    kept = []

    def hide(match):
        kept.append(match.group(0))
        return "nmtool_placeholder_%d_" % (len(kept) - 1)

    hidden = _PLACEHOLDER.sub(hide, text)
    laid_out = sqlparse.format(hidden, reindent=True)
    # sqlparse breaks the locking clause in two.
    laid_out = re.sub(r"\bFOR\s*\n\s*UPDATE\b", "FOR UPDATE", laid_out)
    return re.sub(r"nmtool_placeholder_(\d+)_",
                  lambda m: kept[int(m.group(1))], laid_out)
