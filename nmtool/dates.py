"""--before dates, parsed as nova-manage parses them (python-dateutil,
fuzzy), so `date` output, "2015-10-21 12:00" and "Oct 21 2015" all work."""


class BadDate(ValueError):
    pass


def parse_before(text):
    """A naive datetime, or None for an empty value (no date filter).

    A time zone in the text is dropped, not converted: nova-manage compares
    the wall-clock value with the (UTC) deleted_at columns as written.
    """
    if not text:
        return None
    from dateutil import parser
    try:
        value = parser.parse(text, fuzzy=True)
    except (ValueError, OverflowError) as exc:
        raise BadDate(str(exc)) from None
    return value.replace(tzinfo=None)
