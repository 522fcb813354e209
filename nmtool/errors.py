"""Errors that end a command with a one-line message and an exit code.

Anything raised that is not an NmtoolError is "unexpected": the CLI prints
one line and returns 255, as nova-manage does, unless --debug or
--post-mortem asks for the traceback.
"""


class NmtoolError(Exception):
    """An error the user can act on; str() is the one line to print."""

    exit_code = 255

    def __init__(self, message, exit_code=None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(NmtoolError):
    """Bad command line: argparse in nova-manage exits 2 for these."""

    exit_code = 2

    def __init__(self, message, usage=None):
        super().__init__(message)
        self.usage = usage


class Refused(NmtoolError):
    """One of the failures nova-manage expects of an instance command (no
    such instance, a state or value it refuses): printed as it is, with
    the action's own exit code. Any other error of such a command is
    nova-manage's "Unexpected error" (exit 1): see commands/failures.py."""


class DatabaseError(NmtoolError):
    """A database could not be reached, or a statement failed."""


class DatabaseUrlError(DatabaseError):
    """A connection URL that cannot be parsed or names an unknown backend."""
