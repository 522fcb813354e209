"""Message-queue URLs of cell mappings: the checks nova-manage makes.

nova-manage parses a transport URL with oslo.messaging before it stores
it; this module applies the same rules (a scheme is required; every
"host:port" of the comma-separated list must have an integer port; an
IPv6 address with a port must be in brackets) so that what nmtool
accepts and refuses, and the reason it prints, match.
"""
from urllib.parse import urlparse, urlunparse, parse_qs, unquote
import re

from nmtool.db.url import (credentials_end, format_cell_url, mask_password,
                           secret_spans)


def problem(url, conf_transport_url):
    """Why nova would refuse this transport URL, or None if it is fine.

    The URL is first filled in from [DEFAULT]/transport_url when it is a
    template, as nova does before parsing it.
    """
    url = format_cell_url(url, conf_transport_url)
    try:
        parsed = urlparse(url)
        if not parsed.scheme:
            return "No scheme specified"
        if parsed.query:
            parse_qs(parsed.query)
        if parsed.path.startswith("/"):
            unquote(parsed.path[1:])
        for host in parsed.netloc.split(","):
            if host:
                _host_port(host.rsplit("@", 1)[-1])
    except ValueError as exc:
        return _unquoted_secrets(str(exc), url)
    return None


def _unquoted_secrets(reason, url):
    """The reason without the text it quotes from a password.

    oslo.messaging cuts the network location at the first "/", "?" or
    "#", so with such a character in a password it reads the start of the
    password as a port and quotes it ("invalid literal for int() with base
    10: 'pa'"); nova-manage prints that, nmtool masks it.
    """
    passwords = [url[begin:end] for begin, end in secret_spans(url)]

    def hide(quoted):
        text = quoted.group(1)
        if text and any(text in password for password in passwords):
            return "'****'"
        return quoted.group(0)
    return re.sub(r"'([^']*)'", hide, reason)


def _host_port(address):
    """The (host, port) split oslo.utils makes, with its failures."""
    if address[0] == "[":
        host, rest = address[1:].split("]")
        port = int(rest.split(":")[1]) if ":" in rest else None
        return host, port
    if address.count(":") == 1:
        host, port = address.split(":")
        return host, int(port)
    return address, None


def mask_netloc_password(url):
    """Mask a URL's password the way nova-manage's list_cells does.

    Its rule is cruder than nmtool's mask_password(): everything between
    the first ":" and the last "@" of the network location becomes
    "****", so operators' scripts that parse list_cells see the same text.
    nova-manage takes the network location to end at the first "/", "?"
    or "#", which leaves a password holding one of them (or a second host
    written after the "/") in clear; here it ends after the host that
    follows the credentials as mask_password() finds them.
    """
    parsed = urlparse(url)
    at = credentials_end(url)
    start = url.find("//") + 2
    if at < 0 or at < start + len(parsed.netloc):
        netloc = re.sub(":.*@", ":****@", parsed.netloc)
        masked = urlunparse(parsed._replace(netloc=netloc))
    else:
        end = at + 1 + len(re.match(r"[^/?#]*", url[at + 1:]).group())
        masked = url[:start] + re.sub(":.*@", ":****@", url[start:end],
                                      flags=re.DOTALL) + url[end:]
    # Secret query values (?password=...) too, which nova-manage shows.
    return mask_password(masked)
