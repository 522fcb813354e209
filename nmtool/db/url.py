"""SQLAlchemy-style database URLs as found in nova.conf, and password masking.

Only the parsing lives here (stdlib only, cheap to import); pymysql is
imported by nmtool.db.connection when a connection is really made.
"""
import re
from urllib.parse import parse_qs, unquote, urlsplit

from nmtool.errors import DatabaseUrlError

# backend[+driver]://[user[:password]@][host|[ipv6]][:port][/database][?query]
_URL_RE = re.compile(r"""
    ^(?P<scheme>[A-Za-z][\w+.-]*)://
    (?:(?P<user>[^:/@]*)(?::(?P<password>[^@]*))?@)?
    (?:\[(?P<ipv6>[^\]/?]+)\]|(?P<host>[^/:?]*))?
    (?::(?P<port>[^/?]*))?
    (?:/(?P<database>[^?]*))?
    (?:\?(?P<query>.*))?$
""", re.VERBOSE | re.DOTALL)

# Drivers that speak the MySQL protocol; nmtool always uses pymysql.
MYSQL_SCHEMES = frozenset([
    "mysql", "mysql+pymysql", "mysql+mysqldb", "mysql+mysqlconnector",
    "mysql+oursql", "mariadb", "mariadb+pymysql", "mariadb+mysqldb",
])

# Query parameters that SQLAlchemy's MySQL dialects turn into connect()
# arguments, mapped to pymysql's names. Anything else is refused rather
# than silently ignored.
_QUERY_TO_PYMYSQL = {
    "charset": "charset",
    "unix_socket": "unix_socket",
    "read_default_file": "read_default_file",
    "read_default_group": "read_default_group",
    "connect_timeout": "connect_timeout",
    "read_timeout": "read_timeout",
    "write_timeout": "write_timeout",
    "local_infile": "local_infile",
    "init_command": "init_command",
    "binary_prefix": "binary_prefix",
    "program_name": "program_name",
    "server_public_key": "server_public_key",
    "auth_plugin_map": None,
    "plugin_dir": None,
}
_SSL_KEYS = {
    "ssl_ca": "ca", "ssl_cert": "cert", "ssl_key": "key",
    "ssl_capath": "capath", "ssl_cipher": "cipher",
    "ssl_check_hostname": "check_hostname",
    "ssl_verify_cert": "verify_cert",
    "ssl_verify_identity": "verify_identity",
}
_INT_PARAMS = {"connect_timeout", "read_timeout", "write_timeout"}
_BOOL_PARAMS = {"local_infile", "binary_prefix", "check_hostname",
                "verify_cert", "verify_identity"}


class DbUrl:
    """The parts of a database URL, decoded."""

    __slots__ = ("scheme", "user", "password", "host", "port", "database",
                 "query", "raw")

    def __init__(self, scheme, user, password, host, port, database, query,
                 raw):
        self.scheme = scheme
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.database = database
        self.query = query
        self.raw = raw

    def identity(self):
        """What makes two URLs reach the same database on the same server
        as the same user, whatever their spelling."""
        return (self.host or "localhost", self.port or 3306,
                tuple(self.query.get("unix_socket", ())), self.user,
                self.database)

    def masked(self):
        return mask_password(self.raw)

    def __repr__(self):
        return "DbUrl(%s)" % self.masked()

    def connect_args(self):
        """Keyword arguments for pymysql.connect()."""
        if self.scheme not in MYSQL_SCHEMES:
            raise DatabaseUrlError(
                "Unsupported database backend %r in %s: nmtool works on "
                "MySQL and MariaDB only" % (self.scheme, self.masked()))
        args = {"user": self.user or "", "password": self.password or "",
                "database": self.database or None,
                # oslo.db's engines talk utf8 unless the URL says otherwise.
                "charset": "utf8"}
        if self.host:
            args["host"] = self.host
        if self.port is not None:
            args["port"] = self.port
        ssl = {}
        for key, values in self.query.items():
            value = values[-1]
            if key in _SSL_KEYS:
                name = _SSL_KEYS[key]
                ssl[name] = _bool(key, value) if name in _BOOL_PARAMS \
                    else value
            elif key == "ssl_disabled":
                # pymysql otherwise tries TLS whenever the server offers it.
                args["ssl_disabled"] = _bool(key, value)
            elif key == "ssl":
                # ?ssl=true asks for TLS with the server's defaults.
                if _bool(key, value):
                    ssl.setdefault("check_hostname", False)
            elif key in _QUERY_TO_PYMYSQL and _QUERY_TO_PYMYSQL[key]:
                if key in _INT_PARAMS:
                    value = _int(key, value)
                elif key in _BOOL_PARAMS:
                    value = _bool(key, value)
                args[_QUERY_TO_PYMYSQL[key]] = value
            elif key in _QUERY_TO_PYMYSQL:
                continue  # understood by MySQLdb only; harmless to skip
            else:
                raise DatabaseUrlError(
                    "Unknown option %r in database URL %s"
                    % (key, self.masked()))
        if ssl:
            args["ssl"] = ssl
        if "unix_socket" in args:
            args.pop("host", None)
        return args


def _int(key, value):
    try:
        return int(value)
    except ValueError:
        raise DatabaseUrlError(
            "Option %s=%r in database URL is not an integer" % (key, value))


def _bool(key, value):
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise DatabaseUrlError(
        "Option %s=%r in database URL is not a boolean" % (key, value))


def parse_db_url(url):
    """Parse a nova.conf database URL; raises DatabaseUrlError when malformed."""
    if url is None or not str(url).strip():
        raise DatabaseUrlError("No database connection URL is configured")
    url = str(url).strip()
    match = _URL_RE.match(url)
    if not match:
        raise DatabaseUrlError(
            "Malformed database URL %r: expected "
            "dialect+driver://user:password@host:port/database"
            % mask_password(url))
    parts = match.groupdict()
    port = parts["port"]
    if port:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise DatabaseUrlError(
                "Malformed database URL %s: port %r is not a number "
                "between 1 and 65535" % (mask_password(url), port))
        port = int(port)
    else:
        port = None
    query = parse_qs(parts["query"] or "", keep_blank_values=True)
    return DbUrl(
        scheme=parts["scheme"].lower(),
        user=unquote(parts["user"]) if parts["user"] is not None else None,
        password=(unquote(parts["password"])
                  if parts["password"] is not None else None),
        host=parts["ipv6"] or parts["host"] or None,
        port=port,
        database=unquote(parts["database"]) if parts["database"] else None,
        query=query,
        raw=url)


_AUTHORITY_RE = re.compile(r"(?P<scheme>[A-Za-z][\w+.-]*://)(?P<auth>[^/?#\s]*)")


def _mask_userinfo(userinfo, mask):
    user, sep, _ = userinfo.partition(":")
    return user + ":" + mask if sep else userinfo


def _mask_authority(auth, mask):
    # "u:p@h1:1,u2:p2@h2:2" splits on '@' into "u:p", "h1:1,u2:p2", "h2:2":
    # each middle piece is the previous host, a comma, then the next
    # user:password. A middle piece without a comma is an unencoded '@'
    # inside a password, so it is swallowed by the mask.
    pieces = auth.split("@")
    if len(pieces) == 1:
        return auth
    out = [_mask_userinfo(pieces[0], mask)]
    for piece in pieces[1:-1]:
        host, comma, userinfo = piece.partition(",")
        if comma:
            out.append(host + "," + _mask_userinfo(userinfo, mask))
    out.append(pieces[-1])
    return "@".join(out)


def mask_password(text, mask="****"):
    """Hide every password in the URLs within text.

    This is the one place nmtool masks credentials: log lines, error
    messages, tables and SQL logs all go through it.
    """
    if not text:
        return text
    return _AUTHORITY_RE.sub(
        lambda m: m.group("scheme") + _mask_authority(m.group("auth"), mask),
        str(text))


def format_cell_url(template, default):
    """Fill a templated cell-mapping URL from the local [database] or
    [DEFAULT]/transport_url value, the way nova resolves cell mappings.

    Keys: {scheme} {username} {password} {hostname} {port} {path} {query}
    {fragment}, and for multi-host defaults username1, hostname1, ...
    """
    if not template or "{" not in template or default is None:
        return template
    try:
        parsed = urlsplit(default)
        subs = {
            "username": parsed.username, "password": parsed.password,
            "hostname": parsed.hostname, "port": parsed.port,
            "scheme": parsed.scheme, "query": parsed.query,
            "fragment": parsed.fragment, "path": parsed.path.lstrip("/"),
        }
        if "," in parsed.netloc:
            for index, netloc in enumerate(parsed.netloc.split(","), 1):
                for key, value in _netloc_parts(netloc).items():
                    subs["%s%i" % (key, index)] = value
        return template.format(**subs)
    except (ValueError, KeyError, IndexError):
        # nova logs and keeps the template as it is.
        return template


def _netloc_parts(netloc):
    parsed = urlsplit("//" + netloc)
    return {"username": parsed.username, "password": parsed.password,
            "hostname": parsed.hostname, "port": parsed.port}
