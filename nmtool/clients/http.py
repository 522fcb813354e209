"""What every HTTP call to an OpenStack service shares: the errors a
failed call raises, the headers every request carries, and the one-line
reasons made from failed connections and error answers.

Both the session (session.py) and the Keystone auth plugins (keystone.py)
build on this module, so neither needs the other to describe a failure.
"""
import uuid

from nmtool import NOVA_VERSION, __version__
from nmtool.errors import NmtoolError

_RUN_REQUEST_ID = []


def run_request_id():
    """The X-OpenStack-Request-ID of this run, the same for every call."""
    if not _RUN_REQUEST_ID:
        _RUN_REQUEST_ID.append("req-%s" % uuid.uuid4())
    return _RUN_REQUEST_ID[0]


class ServiceError(NmtoolError):
    """A service could not be used; str() is one line naming it and the
    URL."""

    def __init__(self, service, url, reason, status=None):
        self.service = service
        self.url = url
        self.reason = reason
        self.status = status
        super().__init__("%s at %s: %s" % (service, url, reason))


class ServiceUnreachable(ServiceError):
    """Connection refused, a timeout, a TLS failure."""


class AuthenticationError(ServiceError):
    """No auth plugin, refused credentials, nothing usable in the catalog."""


def describe_exception(exc, timeout=None):
    """A short reason for a requests exception ("connection refused")."""
    import requests
    if isinstance(exc, requests.exceptions.SSLError):
        inner = _innermost(exc)
        return "TLS error: %s" % (getattr(inner, "reason", None)
                                  or getattr(inner, "strerror", None)
                                  or inner)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "no connection within %s s" % timeout
    if isinstance(exc, requests.exceptions.Timeout):
        return "no answer within %s s" % timeout
    inner = _innermost(exc)
    if isinstance(inner, OSError) and inner.strerror:
        return inner.strerror[0].lower() + inner.strerror[1:]
    text = str(inner)
    if "Failed to establish a new connection:" in text:
        text = text.split("Failed to establish a new connection:", 1)[1]
    return text.strip().strip("'\")") or type(exc).__name__


def _innermost(exc):
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        nested = None
        for arg in getattr(exc, "args", ()):
            if isinstance(arg, BaseException):
                nested = arg
        nested = nested or getattr(exc, "reason", None)
        if not isinstance(nested, BaseException):
            nested = exc.__cause__ or exc.__context__
        if not isinstance(nested, BaseException):
            break
        exc = nested
    return exc


def base_headers():
    """The headers of every request of the run, token aside."""
    return {"Accept": "application/json",
            "X-OpenStack-Request-ID": run_request_id(),
            "User-Agent": user_agent()}


def user_agent():
    import requests
    return "nmtool/%s (nova-manage %s) python-requests/%s" % (
        __version__, NOVA_VERSION, requests.__version__)


def error_text(resp):
    """A one-line summary of an error answer: the status and the service's
    own message when its body has one."""
    detail = ""
    try:
        data = resp.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            detail = errors[0].get("detail") or errors[0].get("title") or ""
        elif isinstance(data.get("NeutronError"), dict):
            detail = data["NeutronError"].get("message", "")
        elif isinstance(data.get("error"), dict):
            detail = data["error"].get("message", "")
    if not detail:
        detail = " ".join((resp.text or "").split())[:200]
    detail = " ".join(str(detail).split())
    return "HTTP %d%s" % (resp.status_code, ": " + detail if detail else "")
