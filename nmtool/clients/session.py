"""One authenticated HTTP session per service, configured like keystoneauth.

nova-manage builds a keystoneauth session and adapter from the service's
group in nova.conf ([placement], [neutron]). This module reads the same
options with the same defaults:

  auth        auth_type (auth_plugin), auth_section, and the plugin's own
              options (see keystone.py for password/token/application
              credentials; admin_token takes token and endpoint/url)
  session     cafile, certfile, keyfile, insecure, timeout
  adapter     service_type, service_name, valid_interfaces (tried in
              order), region_name, endpoint_override, connect_retries,
              connect_retry_delay, status_code_retries,
              status_code_retry_delay

Every request carries the token, `Accept: application/json`, the run's
single `X-OpenStack-Request-ID` and, where the caller gives one, the
`OpenStack-API-Version` header. Connection failures and timeouts are
retried connect_retries times and 503 answers status_code_retries times,
with keystoneauth's back-off (0.5 s doubling up to 60 s) unless a delay
is configured. A 401 re-authenticates once (an expired or revoked token)
when the plugin can.

Failures raise ServiceError subclasses whose message is one line naming
the service and the URL; the commands choose the exit code.
"""
import threading
import time

from nmtool.clients import keystone
from nmtool.clients.http import AuthenticationError, ServiceUnreachable, \
    base_headers, describe_exception

# keystoneauth's defaults
RETRIABLE_STATUS_CODES = (503,)
MAX_RETRY_DELAY = 60.0


class GroupOptions:
    """The keystoneauth options of one nova.conf group."""

    def __init__(self, conf, group, service_type, label, adapter_group=None):
        self.group = group
        self.label = label
        self.cafile = conf.get(group, "cafile")
        self.certfile = conf.get(group, "certfile")
        self.keyfile = conf.get(group, "keyfile")
        self.insecure = conf.get_bool(group, "insecure", False)
        self.timeout = conf.get_float(group, "timeout")
        # openstacksdk connections (nova's Keystone calls) take auth and
        # session options from one group and the adapter's from another.
        group = adapter_group or group
        self.service_type = conf.get(group, "service_type") or service_type
        self.service_name = conf.get(group, "service_name")
        self.interfaces = [_interface(i) for i in conf.get_list(
            group, "valid_interfaces", ["internal", "public"])]
        self.region_name = conf.get(group, "region_name")
        self.endpoint_override = conf.get(group, "endpoint_override")
        self.connect_retries = conf.get_int(group, "connect_retries")
        self.connect_retry_delay = conf.get_float(group, "connect_retry_delay")
        self.status_code_retries = conf.get_int(group, "status_code_retries")
        self.status_code_retry_delay = conf.get_float(
            group, "status_code_retry_delay")
        # auth options may live in another group (auth_section)
        self.auth_group = conf.get(self.group, "auth_section") or self.group
        self.auth_type = conf.get(self.auth_group, "auth_type")


def _interface(name):
    """keystoneauth accepts publicURL/internalURL/adminURL too."""
    return name[:-3] if name.endswith("URL") else name


class Session:
    """Requests to one service with its auth plugin and options."""

    def __init__(self, conf, group, service_type, label, microversion_name,
                 connect_retries_default=0, adapter_group=None):
        import requests
        self.options = opts = GroupOptions(conf, group, service_type, label,
                                           adapter_group)
        self.label = label
        self.microversion_name = microversion_name
        # Readers fan out over threads (heal_allocations, audit): each
        # thread gets its own requests.Session, which is not guaranteed
        # safe to share, while the token and endpoint stay shared.
        self._local = threading.local()
        self._local.http = requests.Session()
        self._auth_lock = threading.RLock()
        # Given with each request: requests lets REQUESTS_CA_BUNDLE override
        # a session-level verify, but not a per-request one.
        self.verify = True
        if opts.insecure:
            self.verify = False
            import urllib3
            urllib3.disable_warnings()
        elif opts.cafile:
            self.verify = opts.cafile
        self.cert = None
        if opts.certfile:
            self.cert = ((opts.certfile, opts.keyfile) if opts.keyfile
                         else opts.certfile)
        self.connect_retries = (opts.connect_retries
                                if opts.connect_retries is not None
                                else connect_retries_default)
        self.status_code_retries = opts.status_code_retries or 0
        self.auth = keystone.load_plugin(conf, opts, self)
        self._endpoint = None

    @property
    def http(self):
        http = getattr(self._local, "http", None)
        if http is None:
            import requests
            http = self._local.http = requests.Session()
        return http

    # -- endpoint -------------------------------------------------------------

    def endpoint(self):
        """The service's base URL: endpoint_override, else the plugin's
        (the catalog, or admin_token's endpoint)."""
        if self._endpoint is None:
            url = self.options.endpoint_override or self.auth.get_endpoint(
                self, self.options)
            if not url:
                raise AuthenticationError(
                    self.label, "[%s]" % self.options.group,
                    "no endpoint configured (set endpoint_override, or "
                    "use an auth_type with a service catalog)")
            self._endpoint = url.rstrip("/")
        return self._endpoint

    # -- requests -------------------------------------------------------------

    def request(self, method, path, body=None, microversion=None,
                params=None):
        """One call to the service; returns the requests.Response whatever
        its status (the caller interprets it). Raises ServiceError when the
        service cannot be reached or authentication fails."""
        reauthenticated = False
        while True:
            # one thread authenticates; the others wait for its token
            with self._auth_lock:
                token = self.auth.get_token(self)
                url = self.endpoint() + path
            headers = base_headers()
            if token is not None:
                headers["X-Auth-Token"] = token
            if microversion:
                headers["OpenStack-API-Version"] = "%s %s" % (
                    self.microversion_name, microversion)
            resp = self.send(self.label, method, url, headers=headers,
                             body=body, params=params)
            if resp.status_code == 401 and not reauthenticated \
                    and self._invalidate(token):
                reauthenticated = True
                continue
            return resp

    def _invalidate(self, token):
        """Drop a refused token, unless another thread already replaced
        it; True when a new one can be had."""
        with self._auth_lock:
            if getattr(self.auth, "_token", token) != token:
                return True
            return self.auth.invalidate()

    def send(self, label, method, url, headers=None, body=None, params=None):
        """Send with the connect and status-code retries of the group."""
        import requests
        connect_left = self.connect_retries
        status_left = self.status_code_retries
        connect_delay = status_delay = None
        while True:
            try:
                resp = self.http.request(
                    method, url, headers=headers, json=body, params=params,
                    timeout=self.options.timeout, verify=self.verify,
                    cert=self.cert)
            except (requests.exceptions.ConnectionError,
                    requests.exceptions.Timeout) as exc:
                if connect_left > 0 and not isinstance(
                        exc, requests.exceptions.SSLError):
                    connect_left -= 1
                    connect_delay = _next_delay(
                        connect_delay, self.options.connect_retry_delay)
                    time.sleep(connect_delay)
                    continue
                raise ServiceUnreachable(
                    label, url.split("?")[0],
                    describe_exception(exc, self.options.timeout)) from None
            if resp.status_code in RETRIABLE_STATUS_CODES and status_left > 0:
                status_left -= 1
                status_delay = _next_delay(
                    status_delay, self.options.status_code_retry_delay)
                time.sleep(status_delay)
                continue
            return resp


class Readers:
    """A bounded pool of threads for reads that cannot conflict (GETs).
    The threads live as long as the pool, so each keeps its
    requests.Session (and its connections) from one batch to the next."""

    def __init__(self, workers):
        self.workers = max(1, workers)
        self._pool = None

    def map(self, call, items):
        """[(result, None) or (None, exception)] in the order of items:
        the caller meets each failure where a sequential run would."""
        items = list(items)
        if self.workers == 1 or len(items) < 2:
            return [_attempt(call, item) for item in items]
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor
            self._pool = ThreadPoolExecutor(max_workers=self.workers)
        return list(self._pool.map(lambda item: _attempt(call, item),
                                   items))

    def close(self):
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


def _attempt(call, item):
    try:
        return call(item), None
    except Exception as exc:  # raised again by the caller, in order
        return None, exc


def _next_delay(previous, fixed):
    if fixed is not None:
        return fixed
    if previous is None:
        return 0.5
    return min(previous * 2, MAX_RETRY_DELAY)
