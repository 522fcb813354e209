"""Option values parsed the way nova-manage parses them."""
from nmtool.errors import UsageError


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


def jobs(value):
    """nmtool's --jobs: a positive integer; anything else is a usage error
    (one line, exit 2), refused before anything runs."""
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise UsageError("argument --jobs: invalid int value: %r" % (value,))
    if count < 1:
        raise UsageError("argument --jobs: must be a positive integer")
    return count
