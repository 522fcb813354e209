"""The Neutron API calls of heal_allocations: list an instance's ports,
check the extensions, update a port's binding:profile.

As neutronclient does for nova, the v2.0 prefix is added to the endpoint,
and nova's [neutron] http_retries (default 3) is the connect-retry count
unless connect_retries is set.
"""
from nmtool.clients.http import ServiceError, error_text
from nmtool.clients.session import Session

LABEL = "Neutron API"

RESOURCE_REQUEST_GROUPS = "port-resource-request-groups"


class NeutronError(ServiceError):
    """Neutron answered with an error status. client_text is the error as
    nova-manage prints it (neutronclient's wording: Neutron's message, its
    detail, and the request id Neutron answered with)."""

    def __init__(self, service, url, reason, status=None, client_text=None):
        super().__init__(service, url, reason, status=status)
        self.client_text = client_text or str(self)


def client_text(resp):
    """An error answer the way neutronclient renders it for nova."""
    try:
        content = resp.json()
    except ValueError:
        content = resp.text
    error = content.get("NeutronError") if isinstance(content, dict) \
        else None
    if error:
        try:
            text = error["message"]
            if error["detail"]:
                text += "\n" + error["detail"]
        except (KeyError, TypeError):
            text = "%s" % (error,)
    else:
        text = content.get("message") if isinstance(content, dict) else None
        if not text:
            text = "%s-%s" % (resp.status_code, content)
    request_id = resp.headers.get("x-openstack-request-id")
    if request_id:
        text += "\nNeutron server returns request_ids: %s" % [request_id]
    return text


class NeutronClient:
    def __init__(self, session):
        self.session = session
        self._extensions = None

    @classmethod
    def from_conf(cls, conf):
        retries = conf.get_int("neutron", "http_retries", 3)
        return cls(Session(conf, "neutron", "network", LABEL, "network",
                           connect_retries_default=retries or 0))

    @property
    def url(self):
        base = self.session.endpoint()
        return base if base.endswith("/v2.0") else base + "/v2.0"

    def _call(self, method, path, body=None, ok=(200,)):
        base = self.session.endpoint()
        prefix = "" if base.endswith("/v2.0") else "/v2.0"
        resp = self.session.request(method, prefix + path, body=body)
        if resp.status_code not in ok:
            raise NeutronError(LABEL, self.url + path.split("?")[0],
                               error_text(resp), status=resp.status_code,
                               client_text=client_text(resp))
        return resp.json() if resp.content else {}

    def list_ports(self, device_id, fields):
        from urllib.parse import urlencode
        query = urlencode([("device_id", device_id)]
                          + [("fields", f) for f in fields])
        return self._call("GET", "/ports?" + query).get("ports", [])

    def ports_of_devices(self, device_ids, fields, chunk=50):
        """device id -> its ports (in Neutron's order), listed with one
        call per chunk of ids: Neutron ORs a repeated device_id filter.
        The chunks keep the URL well under servers' line limits."""
        from urllib.parse import urlencode
        keep_device = "device_id" in fields
        fields = list(fields) + ([] if keep_device else ["device_id"])
        found = {}
        for start in range(0, len(device_ids), chunk):
            query = urlencode(
                [("device_id", d) for d in device_ids[start:start + chunk]]
                + [("fields", f) for f in fields])
            for port in self._call("GET", "/ports?" + query).get("ports", []):
                device = port.get("device_id") if keep_device \
                    else port.pop("device_id", None)
                found.setdefault(device, []).append(port)
        return found

    def extensions(self):
        """Aliases of the loaded extensions, read once per run (nova
        re-reads them for every port)."""
        if self._extensions is None:
            data = self._call("GET", "/extensions")
            self._extensions = {e.get("alias") for e in
                                data.get("extensions", [])}
        return self._extensions

    def has_extended_resource_request(self):
        return RESOURCE_REQUEST_GROUPS in self.extensions()

    def update_port(self, port_id, body):
        return self._call("PUT", "/ports/%s" % port_id, body=body)
