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


class DatabaseError(NmtoolError):
    """A database could not be reached, or a statement failed."""


class DatabaseUrlError(DatabaseError):
    """A connection URL that cannot be parsed or names an unknown backend."""
