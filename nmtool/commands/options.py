"""Option values parsed the way nova-manage parses them, and checked before
anything connects.

Every numeric option has the same bounds: positive (a pause may be 0),
finite, and at most MAX_INT, the bound nova-manage already puts on
--max_rows (oslo.db's largest INT). A value past it used to reach the
SQL (or time.sleep) and fail there, after some work was done; it is
refused here with one line instead.
"""
import math

from nmtool.errors import UsageError

MAX_INT = 0x7FFFFFFF


def too_large(name, value):
    """nova-manage's wording for --max_rows, used for every option."""
    if value > MAX_INT:
        return "%s must be <= %d" % (name, MAX_INT)
    return None


def max_count(value):
    """--max-count as nova-manage reads it: None when absent, the integer
    when int() takes it, else -1 (which the commands refuse, as nova does,
    with their own message and exit 127)."""
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return -1


def checked_max_count(value, not_positive):
    """(count, None), or (None, the line to print before exit 127).

    not_positive is the command's own nova-manage message for a value
    below 1; a value nova-manage would pass on to the database is refused
    with too_large's line."""
    count = max_count(value)
    if count is None:
        return None, None
    if count < 1:
        return None, not_positive
    problem = too_large("max-count", count)
    if problem:
        return None, problem
    return count, None


def integer(name, value, minimum=1):
    """A whole number from minimum (0 or 1) to MAX_INT, else a usage error
    (one line, exit 2) in argparse's words where argparse has them."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise UsageError("argument %s: invalid int value: %r" % (name, value))
    if number < minimum:
        raise UsageError("argument %s: must be %s" % (
            name, "a positive integer" if minimum else "0 or more"))
    if number > MAX_INT:
        raise UsageError("argument %s: must be at most %d" % (name, MAX_INT))
    return number


def seconds(name, value):
    """A positive, finite number of seconds up to MAX_INT: float() takes
    "nan" and "inf", which would otherwise mean "no limit" silently."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UsageError("argument %s: invalid float value: %r"
                         % (name, value))
    if not (math.isfinite(number) and 0 < number <= MAX_INT):
        raise UsageError("argument %s: must be a positive number of seconds "
                         "up to %d" % (name, MAX_INT))
    return number


def jobs(value):
    """nmtool's --jobs: a positive integer; anything else is a usage error
    (one line, exit 2), refused before anything runs."""
    return integer("--jobs", value)
