"""Authentication plugins, as keystoneauth's are configured in nova.conf.

  password, v3password     user (id, or name + user domain) and password
  token, v3token           an existing token, re-scoped
  v3applicationcredential  application credential id/name and secret
  admin_token              a fixed token and the service's endpoint (url)
  none, noauth             keystoneauth's no-auth plugin (token "notused")

The Keystone plugins follow keystoneauth: the generic `password` and
`token` plugins discover the v3 API under auth_url (unless auth_url
already ends in /v3), and may take default_domain_id/_name for the user
and project domains; the v3 plugins use auth_url as it is. The token is
requested with `POST {v3}/auth/tokens`, is taken from `X-Subject-Token`,
is renewed when less than two minutes of its life remain, and the
service catalog in the answer gives the service's endpoint: the entry of
the service type (and service_name when set), then the first interface
of valid_interfaces that has an endpoint in region_name.
"""
import datetime

from nmtool.clients.http import AuthenticationError, ServiceError, \
    base_headers, error_text

MIN_TOKEN_LIFE = datetime.timedelta(seconds=120)

KEYSTONE = "Keystone"


def load_plugin(conf, opts, session):
    group = opts.auth_group
    kind = opts.auth_type

    def get(name):
        return conf.get(group, name)

    if not kind:
        raise AuthenticationError(
            opts.label, "[%s]" % opts.group,
            "no authentication information found: auth_type is not set")
    if kind == "admin_token":
        return AdminToken(get("token"), get("endpoint"))
    if kind in ("none", "noauth"):
        return AdminToken("notused", None)
    if kind in ("password", "v3password", "token", "v3token",
                "v3applicationcredential"):
        return KeystoneV3(kind, get, opts)
    raise AuthenticationError(opts.label, "[%s]" % group,
                              "unsupported auth_type %r" % kind)


class AdminToken:
    """A fixed token, and the endpoint given with it."""

    def __init__(self, token, endpoint):
        self.token = token
        self.endpoint = endpoint

    def get_token(self, session):
        return self.token

    def get_endpoint(self, session, opts):
        return self.endpoint

    def invalidate(self):
        return False


class KeystoneV3:
    def __init__(self, kind, get, opts):
        self.kind = kind
        self.label = opts.label
        self.group = opts.auth_group
        self.auth_url = get("auth_url")
        if not self.auth_url:
            raise AuthenticationError(self.label, "[%s]" % self.group,
                                      "auth_url is not set for auth_type "
                                      "%s" % kind)
        self.auth_url = self.auth_url.rstrip("/")
        generic = kind in ("password", "token")
        self.discover = generic and not self.auth_url.endswith("/v3")
        default_domain = ({"id": get("default_domain_id")}
                          if generic and get("default_domain_id")
                          else {"name": get("default_domain_name")}
                          if generic and get("default_domain_name")
                          else None)
        self.identity = self._identity(kind, get, default_domain)
        self.scope = None if kind == "v3applicationcredential" else \
            self._scope(get, default_domain)
        self._token = None
        self._expires = None
        self._catalog = None
        self._v3_url = None

    # -- request body ---------------------------------------------------------

    def _identity(self, kind, get, default_domain):
        def user():
            body = {}
            if get("user_id"):
                body["id"] = get("user_id")
            elif get("username"):
                body["name"] = get("username")
                domain = _domain(get("user_domain_id"),
                                 get("user_domain_name"), default_domain)
                if domain:
                    body["domain"] = domain
            return body

        if kind in ("token", "v3token"):
            if not get("token"):
                raise self._config_error("token is not set")
            return {"methods": ["token"], "token": {"id": get("token")}}
        if kind == "v3applicationcredential":
            secret = get("application_credential_secret")
            cred = {"secret": secret}
            if get("application_credential_id"):
                cred["id"] = get("application_credential_id")
            else:
                cred["name"] = get("application_credential_name")
                cred["user"] = user()
            if not secret or not (cred.get("id") or cred.get("name")):
                raise self._config_error(
                    "application_credential_secret and its id or name are "
                    "required")
            return {"methods": ["application_credential"],
                    "application_credential": cred}
        body = user()
        if not body:
            raise self._config_error("username or user_id is not set")
        body["password"] = get("password") or ""
        return {"methods": ["password"], "password": {"user": body}}

    def _scope(self, get, default_domain):
        if get("system_scope"):
            return {"system": {get("system_scope"): True}}
        if get("trust_id"):
            return {"OS-TRUST:trust": {"id": get("trust_id")}}
        if get("project_id"):
            return {"project": {"id": get("project_id")}}
        if get("project_name"):
            project = {"name": get("project_name")}
            domain = _domain(get("project_domain_id"),
                             get("project_domain_name"), default_domain)
            if domain:
                project["domain"] = domain
            return {"project": project}
        domain = _domain(get("domain_id"), get("domain_name"), None)
        if domain:
            return {"domain": domain}
        return None

    def _config_error(self, what):
        return AuthenticationError(self.label, "[%s]" % self.group,
                                   "%s (auth_type %s)" % (what, self.kind))

    # -- plugin interface -----------------------------------------------------

    def get_token(self, session):
        if self._token is None or self._expiring():
            self._authenticate(session)
        return self._token

    def invalidate(self):
        self._token = None
        return True

    def get_endpoint(self, session, opts):
        if self._catalog is None:
            self.get_token(session)
        return self._find_endpoint(opts)

    # -- Keystone -------------------------------------------------------------

    def _expiring(self):
        if self._expires is None:
            return False
        now = datetime.datetime.now(datetime.timezone.utc)
        return self._expires - now < MIN_TOKEN_LIFE

    def _v3(self, session):
        if self._v3_url is None:
            self._v3_url = (self._discover(session) if self.discover
                            else self.auth_url)
        return self._v3_url

    def _discover(self, session):
        resp = session.send(KEYSTONE, "GET", self.auth_url,
                            headers=base_headers())
        try:
            data = resp.json()
        except ValueError:
            data = None
        if resp.status_code not in (200, 300) or not isinstance(data, dict):
            raise AuthenticationError(
                KEYSTONE, self.auth_url,
                "no Identity API version document (%s)" % error_text(resp))
        if "version" in data:
            versions = [data["version"]]
        else:
            versions = data.get("versions", {})
            if isinstance(versions, dict):
                versions = versions.get("values", [])
        for version in versions:
            if str(version.get("id", "")).startswith("v3") and \
                    version.get("status", "").lower() in (
                        "stable", "current", "supported"):
                for link in version.get("links", []):
                    if link.get("rel") == "self" and link.get("href"):
                        return link["href"].rstrip("/")
        raise AuthenticationError(KEYSTONE, self.auth_url,
                                  "no Identity v3 API is offered there")

    def _authenticate(self, session):
        body = {"auth": {"identity": self.identity}}
        if self.scope:
            body["auth"]["scope"] = self.scope
        url = self._v3(session) + "/auth/tokens"
        resp = session.send(KEYSTONE, "POST", url, body=body,
                            headers=base_headers())
        if resp.status_code in (401, 403):
            raise AuthenticationError(
                KEYSTONE, url, "the credentials of [%s] were refused (%s)"
                % (self.group, error_text(resp)), status=resp.status_code)
        if resp.status_code != 201 or "X-Subject-Token" not in resp.headers:
            raise ServiceError(KEYSTONE, url, "authentication failed (%s)"
                               % error_text(resp), status=resp.status_code)
        token = resp.json().get("token", {})
        self._token = resp.headers["X-Subject-Token"]
        self._catalog = token.get("catalog") or []
        self._expires = _parse_time(token.get("expires_at"))

    def _find_endpoint(self, opts):
        if not self._catalog:
            raise AuthenticationError(
                opts.label, self.auth_url,
                "the service catalog is empty (token scope of [%s])"
                % self.group)
        entries = [e for e in self._catalog
                   if e.get("type") == opts.service_type
                   and (not opts.service_name
                        or e.get("name") == opts.service_name)]
        for interface in opts.interfaces:
            for entry in entries:
                for endpoint in entry.get("endpoints", []):
                    if endpoint.get("interface") != interface:
                        continue
                    region = endpoint.get("region_id") or endpoint.get(
                        "region")
                    if opts.region_name and region != opts.region_name:
                        continue
                    return endpoint.get("url")
        where = "service type %s" % opts.service_type
        if opts.service_name:
            where += " named %s" % opts.service_name
        raise AuthenticationError(
            opts.label, self.auth_url,
            "no %s endpoint for %s%s in the service catalog" % (
                "/".join(opts.interfaces) or "usable", where,
                " in region %s" % opts.region_name if opts.region_name
                else ""))


def _domain(domain_id, domain_name, default):
    if domain_id:
        return {"id": domain_id}
    if domain_name:
        return {"name": domain_name}
    return default


def _parse_time(text):
    if not text:
        return None
    text = text.replace("Z", "+00:00")
    try:
        value = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value
