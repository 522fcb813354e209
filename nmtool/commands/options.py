"""Option values parsed the way nova-manage parses them."""


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
