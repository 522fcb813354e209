"""Keystone's unified limits API, as `limits migrate_to_unified_limits`
uses it: find the compute service by name, list and create registered
(default) limits and project limits.

nova-manage reaches Keystone through an openstacksdk connection whose
auth and session options come from [keystone_authtoken] and whose
adapter options (valid_interfaces, region_name, endpoint_override, ...)
come from [keystone], the group of the identity service's project; the
same split is kept here. The identity endpoint is taken without the
version suffix the catalog may or may not carry, and /v3 is added.
"""
import collections

from nmtool.clients.http import ServiceError
from nmtool.clients.session import Session

LABEL = "Keystone"

RegisteredLimit = collections.namedtuple(
    "RegisteredLimit", "id service_id region_id resource_name default_limit")
ProjectLimit = collections.namedtuple(
    "ProjectLimit", "id service_id region_id project_id resource_name "
    "resource_limit")

# openstacksdk's exception class for an error status, which its message
# names (nova-manage prints that message when a create fails).
_SDK_EXCEPTIONS = {400: "BadRequestException", 403: "ForbiddenException",
                   404: "NotFoundException", 409: "ConflictException",
                   412: "PreconditionFailedException"}


class KeystoneApiError(ServiceError):
    """Keystone answered with an error status. sdk_text is the error as
    openstacksdk renders it, which nova-manage prints."""

    def __init__(self, url, resp):
        self.sdk_text = sdk_text(url, resp)
        super().__init__(LABEL, url, _detail_line(resp),
                         status=resp.status_code)


def _details(resp):
    """The messages of an error answer, as openstacksdk gathers them."""
    content_type = resp.headers.get("content-type", "")
    details = None
    if resp.content and "application/json" in content_type:
        try:
            content = resp.json()
            found = [_message_of(value) for value in content.values()]
            if not any(found):
                found = [_message_of(content)]
            details = "\n".join(m for m in found if m)
        except Exception:
            details = resp.text
    if not details:
        details = resp.reason or resp.text
    return details


def _message_of(value):
    if isinstance(value, dict):
        return value.get("message")
    return None


def _detail_line(resp):
    return "HTTP %d: %s" % (resp.status_code,
                            " ".join(str(_details(resp)).split()))


def sdk_text(url, resp):
    status = resp.status_code
    name = _SDK_EXCEPTIONS.get(status, "HttpException")
    side = "Client" if 400 <= status < 500 else "Server"
    return "%s: %d: %s Error for url: %s, %s" % (
        name, status, side, url, _details(resp))


class LimitsClient:
    def __init__(self, session):
        self.session = session

    @classmethod
    def from_conf(cls, conf):
        return cls(Session(conf, "keystone_authtoken", "identity", LABEL,
                           "identity", adapter_group="keystone"))

    def _v3(self):
        base = self.session.endpoint()
        return "" if base.endswith("/v3") else "/v3"

    def _call(self, method, path, body=None, params=None, ok=(200,)):
        path = self._v3() + path
        resp = self.session.request(method, path, body=body, params=params)
        if resp.status_code not in ok:
            raise KeystoneApiError(self.session.endpoint() + path, resp)
        return resp.json() if resp.content else {}

    def find_service(self, name):
        """The id of the one service named name, or None."""
        found = self._call("GET", "/services",
                           params={"name": name}).get("services", [])
        found = [s for s in found if s.get("name") == name]
        if len(found) > 1:
            raise ServiceError(LABEL, self.session.endpoint(),
                               "more than one service is named %s" % name)
        return found[0]["id"] if found else None

    def registered_limits(self, region_id=None, service_id=None):
        params = _params(region_id=region_id, service_id=service_id)
        return [RegisteredLimit(r.get("id"), r.get("service_id"),
                                r.get("region_id"), r.get("resource_name"),
                                r.get("default_limit"))
                for r in self._call("GET", "/registered_limits",
                                    params=params).get(
                                        "registered_limits", [])]

    def limits(self, project_id=None, region_id=None):
        params = _params(project_id=project_id, region_id=region_id)
        return [ProjectLimit(r.get("id"), r.get("service_id"),
                             r.get("region_id"), r.get("project_id"),
                             r.get("resource_name"), r.get("resource_limit"))
                for r in self._call("GET", "/limits", params=params).get(
                    "limits", [])]

    def create_registered_limit(self, service_id, resource_name,
                                default_limit, region_id=None):
        body = _params(service_id=service_id, resource_name=resource_name,
                       default_limit=default_limit, region_id=region_id)
        return self._call("POST", "/registered_limits",
                          body={"registered_limits": [body]}, ok=(201,))

    def create_limit(self, service_id, project_id, resource_name,
                     resource_limit, region_id=None):
        body = _params(service_id=service_id, project_id=project_id,
                       resource_name=resource_name,
                       resource_limit=resource_limit, region_id=region_id)
        return self._call("POST", "/limits", body={"limits": [body]},
                          ok=(201,))


def _params(**values):
    return {k: v for k, v in values.items() if v is not None}
