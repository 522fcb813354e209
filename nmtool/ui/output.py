"""--format=table|json: where a command's results and messages go.

In table mode (the default) everything is printed exactly as before, on
stdout. In json mode stdout carries one JSON document with the command's
data, printed once at the end, and every human message goes to stderr,
so `nmtool ... --format json | jq` always sees a single document. Exit
codes do not depend on the format.

A command that stops on bad input before it has a result (an invalid
option value, an unknown cell) prints its message (on stderr in json
mode) and no document; the exit code says what happened.
"""
import json
import sys

from nmtool.errors import UsageError

FORMATS = ("table", "json")

# The option's usage text, shared by every command that has it.
OPTION_HELP = ("  --format=<fmt>  table (nova-manage's output) or json (one "
               "JSON document\n"
               "                  on stdout, messages on stderr) "
               "[default: table].\n")


class Output:
    def __init__(self, ctx):
        fmt = ctx.args.get("--format") or "table"
        if fmt not in FORMATS:
            raise UsageError("argument --format: invalid choice: %r (choose "
                             "from %s)" % (fmt, ", ".join(repr(f) for f in
                                                          FORMATS)))
        self.json = fmt == "json"
        self._document = None

    @property
    def stream(self):
        """Where human messages go."""
        return sys.stderr if self.json else sys.stdout

    def message(self, text=""):
        """A line for people: stdout in table mode, stderr in json mode.
        Messages often quote an error naming a URL (a service's endpoint,
        a database), so its password is masked here once for all."""
        from nmtool.db.url import mask_password
        print(mask_password(text), file=self.stream, flush=True)

    def write(self, text):
        """Text without a newline (progress dots), flushed."""
        self.stream.write(text)
        self.stream.flush()

    def table(self, headers, rows, align="c"):
        """A table drawn like nova-manage's; the document carries the data
        in json mode."""
        if not self.json:
            from nmtool.ui.tables import render
            print(render(headers, rows, align))

    def text(self, text):
        """Text that is the table-mode result itself (a value, a
        pre-rendered table): stdout in table mode, nothing in json mode."""
        if not self.json:
            print(text)

    def document(self, obj):
        self._document = obj

    def emit(self, code=None):
        """Print the document (json mode) and pass the exit code through."""
        if self.json and self._document is not None:
            print(dumps(self._document))
            sys.stdout.flush()
        return code


def dumps(obj):
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, indent=2,
                      default=_plain)


def _plain(value):
    """Dates as ISO 8601 text, anything else as str()."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
