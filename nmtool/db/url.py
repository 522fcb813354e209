"""SQLAlchemy-style database URLs as found in nova.conf, and password masking.

Only the parsing lives here (stdlib only, cheap to import); pymysql is
imported by nmtool.db.connection when a connection is really made.
"""
import re
from urllib.parse import parse_qs, unquote, urlsplit

from nmtool.errors import DatabaseUrlError

# backend[+driver]://[user[:password]@][host|[ipv6]][:port][/database][?query]
# The credentials are split off first (see credentials_end); this is the rest.
_SCHEME_RE = re.compile(r"([A-Za-z][\w+.-]*)://")
_LOCATION_RE = re.compile(r"""
    (?:\[(?P<ipv6>[^\]/?]+)\]|(?P<host>[^/:?]*))?
    (?::(?P<port>[^/?]*))?
    (?:/(?P<database>[^?]*))?
    (?:\?(?P<query>.*))?\Z
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
        if not self.database:
            # Every statement would run with no default schema: db version
            # found no alembic_version there and printed None (nova-manage
            # refuses such a URL too).
            raise DatabaseUrlError(
                "The database URL %s names no database" % self.masked())
        args = {"user": self.user or "", "password": self.password or "",
                "database": self.database,
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
                elif key == "charset":
                    _charset(value)
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


def _charset(value):
    # pymysql fails on an unknown name deep in connect(), with an
    # AttributeError naming nothing the user wrote.
    from pymysql.charset import charset_by_name
    if charset_by_name(value) is None:
        raise DatabaseUrlError(
            "Option charset=%r in database URL is not a character set "
            "MySQL knows" % value)


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
    scheme = _SCHEME_RE.match(url)
    user = password = None
    match = None
    if scheme:
        at = credentials_end(url)
        if at >= 0:
            user, colon, password = url[scheme.end():at].partition(":")
            if not colon:
                password = None
        match = _LOCATION_RE.match(url, at + 1 if at >= 0 else scheme.end())
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
        scheme=scheme.group(1).lower(),
        user=unquote(user) if user is not None else None,
        password=unquote(password) if password is not None else None,
        host=parts["ipv6"] or parts["host"] or None,
        port=port,
        database=unquote(parts["database"]) if parts["database"] else None,
        query=query,
        raw=url)


# Where the credentials end. A password may hold "/", "?", "#", ":",
# spaces and even "@" unencoded, so the credentials run up to the LAST "@"
# that is followed by something that can be a host (a name, a bracketed
# IPv6 address, or nothing before a port or path), an optional port and the
# end of the host. The characters that end a host include those that end
# a URL inside a message (spaces, quotes, brackets), and "=" and "&" do not
# make a host, so an "@" in a query value ("SET @a=1") is not taken for it.
_HOST_AFTER_AT = re.compile(r"""
    (?: \[[^\]\s/?#@]*\]
      | [^\s/?#@:,\[\]'"\\<>(){};=&]+
      | (?=[:/?]) )
    (?: :[^\s/?#@,'"\\<>(){};=&]* )?
    (?= [\s/?#,'"\\<>(){};\]] | \Z )
""", re.VERBOSE)

# In a transport URL, what separates one host's credentials from the next
# host's: the host, its port, an optional "/" (oslo.messaging reads a host
# written after the "/" as part of the virtual host, but it is still a
# user:password), and a comma.
_HOST_ENTRIES = re.compile(
    r"(?:(?:\[[^\]\s]*\]|[^\s/?#@:,\[\]]+)(?::\d*)?/?,)+")

# Schemes whose URLs have one host, so a "," in the credentials is part of
# the password: the SQL dialects and HTTP.
_ONE_HOST_SCHEMES = frozenset([
    "mysql", "mariadb", "postgresql", "postgres", "sqlite", "oracle",
    "mssql", "http", "https"])

# Query parameters whose values are secrets (?password=, &auth_token=...).
_SECRET_QUERY_RE = re.compile(
    r"[?&;](?:\w*_)?(?:password|passwd|pwd|token|secret)=([^&#\s'\"\\]+)",
    re.IGNORECASE)


def credentials_end(text, start=None, stop=None):
    """The index of the "@" ending the credentials of the URL at text[0]
    (or whose network location starts at start, reaching at most to
    stop), or -1 when it has none.

    The parser (parse_db_url) and every masking function split a URL
    here, so what is masked is exactly what is taken for the password.
    When no "@" is followed by something that can be a host, the last one
    still ends the credentials, so that nothing before it is shown.
    """
    if start is None:
        scheme = _SCHEME_RE.match(text)
        if not scheme:
            return -1
        start = scheme.end()
    stop = len(text) if stop is None else stop
    fallback = -1
    at = text.rfind("@", start, stop)
    while at >= 0:
        # As in SQLAlchemy's parser, a user name holds no "/": what has
        # one before its first ":" is a path, not credentials.
        if "/" not in text[start:at].split(":", 1)[0]:
            if _HOST_AFTER_AT.match(text, at + 1, stop):
                return at
            if fallback < 0:
                fallback = at
        at = text.rfind("@", start, at)
    return fallback


def _password_spans(text, start, at, one_host):
    """(start, end) of each password within the credentials text[start:at]."""
    groups, first = [], start
    if not one_host:
        search = start
        while True:
            sep = text.find("@", search, at)
            if sep < 0:
                break
            hosts = _HOST_ENTRIES.match(text, sep + 1, at)
            if hosts:
                groups.append((first, sep))
                first = hosts.end()
            # else: an unencoded "@" inside the password
            search = sep + 1
    groups.append((first, at))
    spans = []
    for begin, end in groups:
        colon = text.find(":", begin, end)
        if colon >= 0:
            spans.append((colon + 1, end))
    return spans


def secret_spans(text):
    """(start, end) of every password and secret query value in the URLs
    within text, in order."""
    spans = []
    schemes = list(_SCHEME_RE.finditer(text))
    for index, scheme in enumerate(schemes):
        start = scheme.end()
        # A URL in a message ends at the line's end or where the next URL
        # starts; a password with a line break cannot be found.
        stop = schemes[index + 1].start() if index + 1 < len(schemes) \
            else len(text)
        newline = text.find("\n", start, stop)
        if newline >= 0:
            stop = newline
        at = credentials_end(text, start, stop)
        if at >= 0:
            one_host = scheme.group(1).split("+")[0].lower() in \
                _ONE_HOST_SCHEMES
            spans += _password_spans(text, start, at, one_host)
        for query in _SECRET_QUERY_RE.finditer(text, max(at, start), stop):
            spans.append(query.span(1))
    return spans


def mask_password(text, mask="****"):
    """Hide every password in the URLs within text (and secret query
    values such as ?password= or ?token=).

    This is the one place nmtool masks credentials: log lines, error
    messages, tracebacks, tables and SQL logs all go through it (list_cells
    too, through cells.transport_url.mask_netloc_password, which keeps
    nova-manage's form of the mask).
    """
    if not text:
        return text
    text = str(text)
    if "://" not in text:
        return text
    out, last = [], 0
    for begin, end in secret_spans(text):
        out += [text[last:begin], mask]
        last = end
    out.append(text[last:])
    return "".join(out)


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
