"""Read nova.conf the way oslo.config (10.7, as shipped with nova 34.0.0) does.

nmtool must start fast, so this module uses the standard library only and
imports nothing heavy at module level (``re``, ``glob`` and ``socket`` are
imported when first needed).

What is replicated from oslo.config, each point checked against the real
library (tests/test_config.py compares the two where practical):

Files and search path
  * ``--config-file`` and ``--config-dir`` are processed in command-line
    order; a later source wins.  A config dir contributes its ``*.conf``
    files (``glob``, so dot-files are skipped) in sorted order.
  * When no ``--config-file`` is given, the default files are parsed first;
    when no ``--config-dir`` is given, the default dirs are parsed next;
    then the command-line sources.  So ``--config-file x`` alone still
    reads ``~/.nova/nova.conf.d`` (before ``x``), and ``--config-dir d``
    alone still reads ``/etc/nova/nova.conf`` (before ``d``).
  * Default files are ``nova.conf`` and ``<prog>.conf`` (``prog`` is
    ``nova-manage``), each taken from the FIRST of ``~/.nova/``, ``~/``,
    ``/etc/nova/``, ``/etc/`` (then ``$SNAP_COMMON/etc/nova``,
    ``$SNAP/etc/nova``) where it exists: ``~/.nova/nova.conf`` hides
    ``/etc/nova/nova.conf`` entirely.  Default dirs likewise with
    ``nova.conf.d`` / ``<prog>.conf.d``.  There are no OS_NOVA_CONFIG_FILE /
    OS_NOVA_CONFIG_DIR variables in oslo.config.
  * Missing files are collected and reported after everything else was
    parsed (a parse error in a later file wins); a missing ``--config-dir``
    is an error at once; missing default dirs are skipped.

Syntax (oslo_config.iniparser)
  * ``[section]`` must end with ``]`` (no trailing comment) and be
    non-empty; the name is not stripped (``[ x ]`` is group `` x ``).
  * Group names are case-insensitive (lower-cased) EXCEPT ``DEFAULT``:
    ``[Database]`` is ``[database]``, but ``[default]`` is a group called
    ``default``, not ``[DEFAULT]``.
  * ``key = value`` or ``key: value``, split at whichever of ``=``/``:``
    comes first; key and value stripped.  Keys are case-sensitive and are
    matched against the option's *dest* (``-`` replaced by ``_``), so
    ``region-name = x`` in a file is never read, ``region_name`` is.
  * One pair of matching quotes is removed when the value starts and ends
    with the same quote character: ``'a' b 'c'`` -> ``a' b 'c``, and a
    lone ``"`` becomes the empty string.
  * Comments are lines starting with ``#`` or ``;`` in column 0.  There are
    no inline comments (``a = b # c`` is ``b # c``).
  * A line starting with a space or tab continues the previous value; the
    parts are joined with ``\\n``.  An indented ``# x`` is continuation
    text, not a comment.  A blank line, a comment or a section header ends
    the value; a continuation line after that is a parse error.
  * Repeated keys accumulate (within and across files): single-valued
    options take the last one, multi-valued options (MultiStrOpt) all.

Value lookup
  * Files are searched newest first; in each file the current name is
    tried, then each deprecated name in order; the first name present in
    that file gives the value (its last occurrence).  Hence a deprecated
    name in a LATER file beats the new name in an earlier file.
  * For multi-valued options, values are gathered oldest file first, and
    within a file the deprecated names' values come BEFORE the current
    name's values.
  * ``OS_<GROUP>__<OPTION>`` environment variables (current name only,
    upper-cased) override the files.
  * The only ``[DEFAULT]`` fallback is an explicit deprecated name whose
    group is DEFAULT (see _DEPRECATED), plus interpolation of bare names.
    In particular nothing in [database], [api_database], [placement],
    [neutron] or [keystone_authtoken] falls back to [DEFAULT]; oslo.db
    18.1.1 no longer honours DEFAULT/sql_connection, [sql] connection etc.

Interpolation (string.Template with ``$`` and id ``[_a-z][._a-z0-9]*``)
  * ``$name`` / ``${name}`` is the option in the value's own group when that
    option exists there, otherwise the [DEFAULT] option; ``$group.name`` /
    ``${group.name}`` names another group; ``$$`` and ``\\$`` give ``$``;
    a ``$`` not followed by a name is kept as is.  Values are interpolated
    recursively (in the referenced option's group); an unset known option
    substitutes its default or ``''``.
  * Differences, on purpose (oslo raises a traceback in each case): oslo
    can only substitute *registered* options, nmtool substitutes anything
    set in the files; ``${DEFAULT.x}`` works; a name that is neither set
    nor known, and circular references, raise ConfigValueError.

Also different from oslo, on purpose: ``get_all`` returns an environment
variable's value as one item (oslo splits it into characters); a parse
error for an assignment before any section names the key's own line (oslo
names the line where the value ended); a directory given as a config file
is a ConfigError (oslo: IsADirectoryError traceback).
"""

from __future__ import annotations

import os

from nmtool.errors import NmtoolError

__all__ = [
    "Config",
    "ConfigDirNotFound",
    "ConfigError",
    "ConfigFileNotFound",
    "ConfigFilePermissionDenied",
    "ConfigParseError",
    "ConfigValueError",
    "default_config_dirs",
    "default_config_files",
]


DEFAULT_PROG = "nova-manage"


# --------------------------------------------------------------------------
# Errors: one-line messages that name the file (and the line).


class ConfigError(NmtoolError):
    """Any configuration problem; nmtool prints str(err) and exits 1
    (nova-manage 34.0.0 dies with exit 1 on these, see the README)."""

    exit_code = 1


class ConfigFileNotFound(ConfigError):
    def __init__(self, paths):
        self.paths = list(paths)
        if len(self.paths) == 1:
            msg = "Failed to find config file: %s" % self.paths[0]
        else:
            msg = "Failed to find config files: %s" % ", ".join(self.paths)
        super().__init__(msg)


class ConfigFilePermissionDenied(ConfigError):
    def __init__(self, paths):
        self.paths = list(paths)
        super().__init__(
            "Failed to open config file%s (permission denied): %s"
            % ("s" if len(self.paths) > 1 else "", ", ".join(self.paths))
        )


class ConfigDirNotFound(ConfigError):
    def __init__(self, path):
        self.path = path
        super().__init__("Failed to read config file directory: %s" % path)


class ConfigParseError(ConfigError):
    def __init__(self, path, lineno, what, line=None):
        self.path = path
        self.lineno = lineno
        self.what = what
        self.line = line
        msg = "Failed to parse %s: line %d: %s" % (path, lineno, what)
        if line is not None:
            msg += ": %r" % (line,)
        super().__init__(msg)


class ConfigValueError(ConfigError):
    """A value that cannot be converted or interpolated."""


# --------------------------------------------------------------------------
# Option tables.  (group, dest) -> deprecated (group, name) pairs, in the
# order oslo tries them.  Taken from the options nova-manage 34.0.0
# registers (nova.conf, oslo.db, oslo.log, oslo.cache, keystoneauth) and
# keystonemiddleware's [keystone_authtoken].

_QUOTAS = (
    "instances", "cores", "ram", "metadata_items", "injected_files",
    "injected_file_content_bytes", "injected_file_path_length", "key_pairs",
    "server_groups", "server_group_members",
)

# Groups where nova (or keystonemiddleware) registers keystoneauth's
# auth_type option, whose deprecated name is auth_plugin.
KSA_AUTH_GROUPS = (
    "barbican_service_user", "cinder", "ironic", "keystone_authtoken",
    "manila", "neutron", "oslo_limit", "placement", "service_user",
    "vendordata_dynamic_auth",
)

_DEPRECATED = {
    ("DEFAULT", "log_config_append"): [("DEFAULT", "log-config"),
                                       ("DEFAULT", "log_config")],
    ("DEFAULT", "log_file"): [("DEFAULT", "logfile")],
    ("DEFAULT", "log_dir"): [("DEFAULT", "logdir")],
    ("api", "neutron_default_project_id"): [
        ("api", "neutron_default_tenant_id")],
    ("cache", "username"): [("cache", "memcache_username"),
                            ("cache", "redis_username")],
    ("cache", "password"): [("cache", "memcache_password"),
                            ("cache", "redis_password")],
    ("cache", "socket_timeout"): [("cache", "memcache_socket_timeout"),
                                  ("cache", "redis_socket_timeout")],
    ("cache", "hashclient_retry_timeout"): [
        ("cache", "hashclient_retry_delay")],
    ("cache", "hashclient_dead_timeout"): [("cache", "dead_timeout")],
    ("console", "allowed_origins"): [("DEFAULT", "console_allowed_origins")],
    ("consoleauth", "token_ttl"): [("DEFAULT", "console_token_ttl")],
    ("devices", "enabled_mdev_types"): [("devices", "enabled_vgpu_types")],
    ("glance", "cafile"): [("ssl", "ca_file")],
    ("glance", "certfile"): [("ssl", "cert_file")],
    ("glance", "keyfile"): [("ssl", "key_file")],
    ("glance", "insecure"): [("glance", "api_insecure")],
    ("image_cache", "manager_interval"): [
        ("DEFAULT", "image_cache_manager_interval")],
    ("image_cache", "subdirectory_name"): [
        ("DEFAULT", "image_cache_subdirectory_name")],
    ("image_cache", "remove_unused_base_images"): [
        ("DEFAULT", "remove_unused_base_images")],
    ("image_cache", "remove_unused_original_minimum_age_seconds"): [
        ("DEFAULT", "remove_unused_original_minimum_age_seconds")],
    ("image_cache", "remove_unused_resized_minimum_age_seconds"): [
        ("libvirt", "remove_unused_resized_minimum_age_seconds")],
    ("ironic", "conductor_group"): [("ironic", "partition_key")],
    ("key_manager", "backend"): [("key_manager", "api_class")],
    ("key_manager", "fixed_key"): [("keymgr", "fixed_key")],
    ("barbican", "auth_endpoint"): [("key_manager", "auth_url")],
    ("libvirt", "cpu_models"): [("libvirt", "cpu_model")],
    ("libvirt", "volume_use_multipath"): [("libvirt", "iscsi_use_multipath")],
    ("libvirt", "num_volume_scan_tries"): [
        ("libvirt", "num_iscsi_scan_tries")],
    ("libvirt", "iscsi_iface"): [("libvirt", "iscsi_transport")],
    ("notifications", "notify_on_state_change"): [
        ("DEFAULT", "notify_on_state_change")],
    ("notifications", "default_level"): [
        ("DEFAULT", "default_notification_level")],
    ("notifications", "notification_format"): [
        ("DEFAULT", "notification_format")],
    ("pci", "alias"): [("DEFAULT", "pci_alias")],
    ("pci", "device_spec"): [("pci", "passthrough_whitelist"),
                             ("DEFAULT", "pci_passthrough_whitelist")],
    ("vnc", "enabled"): [("DEFAULT", "vnc_enabled")],
    ("vnc", "novncproxy_base_url"): [("DEFAULT", "novncproxy_base_url")],
    ("vnc", "novncproxy_host"): [("DEFAULT", "novncproxy_host")],
    ("vnc", "novncproxy_port"): [("DEFAULT", "novncproxy_port")],
    ("wsgi", "api_paste_config"): [("DEFAULT", "api_paste_config")],
    ("wsgi", "secure_proxy_ssl_header"): [
        ("DEFAULT", "secure_proxy_ssl_header")],
    ("oslo_messaging_rabbit", "kombu_missing_consumer_retry_timeout"): [
        ("oslo_messaging_rabbit", "kombu_reconnect_timeout")],
    ("keystone_authtoken", "memcached_servers"): [
        ("keystone_authtoken", "memcache_servers")],
}
for _q in _QUOTAS:
    _DEPRECATED[("quota", _q)] = [("DEFAULT", "quota_" + _q)]
for _g in KSA_AUTH_GROUPS:
    _DEPRECATED[(_g, "auth_type")] = [(_g, "auth_plugin")]

# keystoneauth auth-plugin options exist only once auth_type names the
# plugin, and their deprecated names depend on the plugin (the generic
# "password"/"token" plugins still accept tenant_*; v3password does not).
# Deprecated names are looked up in the same group.
_USERNAME = ("username", ("user-name", "user_name"))
_TENANT = (("project_id", ("tenant-id", "tenant_id")),
           ("project_name", ("tenant-name", "tenant_name")))
_KSA_PLUGIN_DEPRECATED = {
    "password": dict(_TENANT + (_USERNAME,)),
    "token": dict(_TENANT),
    "v2password": dict((_USERNAME,)),
    "v3password": dict((_USERNAME,)),
    "v3applicationcredential": dict((_USERNAME,)),
    "v3totp": dict((_USERNAME,)),
    "http_basic": dict((_USERNAME,)),
    "admin_token": {"endpoint": ("url",)},
    "v3oidcauthcode": {"code": ("authorization-code", "authorization_code")},
}

# Options known to be registered, (group, dest) -> (type, default).  Used
# only by interpolation: a bare $name resolves in the value's own group when
# the option is known there (set in a file, or listed here), and an unset
# known option substitutes its default (a callable is computed lazily).
# Types matter because oslo substitutes the converted value (True, 5, [..]).


def _hostname():
    import socket
    return socket.gethostname()


def _my_ipv4():
    # oslo_utils.netutils.get_my_ipv4: the source address of a UDP
    # "connection" to a TEST-NET address (no traffic is sent).
    import socket
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("192.0.2.0", 80))
            return sock.getsockname()[0]
    except OSError:
        return "127.0.0.1"


_KNOWN = {
    ("DEFAULT", "host"): ("str", _hostname),
    ("DEFAULT", "my_ip"): ("str", _my_ipv4),
    ("DEFAULT", "transport_url"): ("str", "rabbit://"),
    ("DEFAULT", "control_exchange"): ("str", "nova"),
    ("DEFAULT", "debug"): ("bool", False),
}
_DB_OPTS = (
    ("sqlite_synchronous", "bool", True), ("backend", "str", "sqlalchemy"),
    ("connection", "str", None), ("slave_connection", "str", None),
    ("asyncio_connection", "str", None),
    ("asyncio_slave_connection", "str", None),
    ("synchronous_reader", "bool", True),
    ("mysql_sql_mode", "str", "TRADITIONAL"),
    ("mysql_wsrep_sync_wait", "int", None),
    ("connection_recycle_time", "int", 3600), ("max_pool_size", "int", 5),
    ("max_retries", "int", 10), ("retry_interval", "int", 10),
    ("max_overflow", "int", 50), ("connection_debug", "int", 0),
    ("connection_trace", "bool", False), ("pool_timeout", "int", None),
    ("db_retry_interval", "int", 1), ("db_inc_retry_interval", "bool", True),
    ("db_max_retry_interval", "int", 10), ("db_max_retries", "int", 20),
    ("connection_parameters", "str", ""),
)
for _g in ("database", "api_database"):
    for _n, _t, _d in _DB_OPTS:
        _KNOWN[(_g, _n)] = (_t, _d)
_KSA_SESSION_OPTS = (
    ("cafile", "str", None), ("certfile", "str", None),
    ("keyfile", "str", None), ("insecure", "bool", False),
    ("timeout", "float", None), ("collect_timing", "bool", False),
    ("split_loggers", "bool", False),
)
_KSA_ADAPTER_OPTS = (
    ("service_name", "str", None),
    ("valid_interfaces", "list", ["internal", "public"]),
    ("region_name", "str", None), ("endpoint_override", "str", None),
    ("connect_retries", "int", None), ("connect_retry_delay", "float", None),
    ("status_code_retries", "int", None),
    ("status_code_retry_delay", "float", None),
)
for _g, _stype in (("placement", "placement"), ("neutron", "network"),
                   ("keystone", "identity"), ("cinder", None),
                   ("glance", "image"), ("ironic", "baremetal")):
    for _n, _t, _d in _KSA_SESSION_OPTS + _KSA_ADAPTER_OPTS:
        _KNOWN[(_g, _n)] = (_t, _d)
    _KNOWN[(_g, "service_type")] = ("str", _stype)
for _g in KSA_AUTH_GROUPS:
    _KNOWN[(_g, "auth_type")] = ("str", None)
    _KNOWN[(_g, "auth_section")] = ("str", None)
del _g, _n, _t, _d, _q, _stype


# --------------------------------------------------------------------------
# Helpers.


def _normalize_group(group):
    """oslo's rule: DEFAULT stays, every other group name is lower-cased."""
    if group is None or group == "DEFAULT":
        return "DEFAULT"
    return group.lower()


def _dest(name):
    return name.replace("-", "_")


def _fixpath(path):
    return os.path.abspath(os.path.expanduser(path))


def _search_roots(project, home):
    """The directories oslo searches, in order (first match wins)."""
    if home is None:
        home_dir = os.path.expanduser("~")
    else:
        home_dir = home
    snap = os.environ.get("SNAP")
    snap_common = os.environ.get("SNAP_COMMON")
    roots = [
        os.path.abspath(os.path.join(home_dir, "." + project)) if project
        else None,
        os.path.abspath(home_dir),
        os.path.join("/etc", project) if project else None,
        "/etc",
        os.path.join(snap_common, "etc", project)
        if snap_common and project else None,
        os.path.join(snap, "etc", project) if snap and project else None,
    ]
    return [r for r in roots if r]


def _find_defaults(project, prog, home, extension):
    roots = _search_roots(project, home)
    found = []
    for base in (project, prog):
        if not base:
            continue
        for root in roots:
            path = os.path.join(root, base + extension)
            if os.path.exists(path):
                found.append(path)
                break
    return found


def default_config_files(project="nova", home=None, prog=DEFAULT_PROG):
    """oslo.config's default config files: ``<project>.conf`` and
    ``<prog>.conf``, each from the first directory of ~/.<project>/, ~/,
    /etc/<project>/, /etc/ (and the snap dirs) where it exists."""
    return _find_defaults(project, prog, home, ".conf")


def default_config_dirs(project="nova", home=None, prog=DEFAULT_PROG):
    """Same search for ``<project>.conf.d`` and ``<prog>.conf.d``."""
    return _find_defaults(project, prog, home, ".conf.d")


def _dir_files(path):
    """The ``*.conf`` files of a config dir, sorted, as oslo globs them."""
    import glob
    return sorted(glob.glob(os.path.join(path, "*.conf")))


# --------------------------------------------------------------------------
# The parser.


def _split_lines(text):
    # Text-mode readlines(): universal newlines, split on "\n" only.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def parse_text(text, path="<string>"):
    """Parse ini text into {normalized group: {key: [values...]}} plus the
    normalized group names in order of appearance."""
    sections = {}
    order = []
    state = {"section": None, "key": None, "key_line": 0, "value": None}

    def flush():
        key = state["key"]
        if key is None:
            return
        if state["section"] is None:
            raise ConfigParseError(
                path, state["key_line"],
                "Section must be started before assignment")
        sections[state["section"]].setdefault(key, []).append(
            "\n".join(state["value"]))
        state["key"] = None
        state["value"] = None

    lineno = 0
    for raw in _split_lines(text):
        lineno += 1
        line = raw.rstrip()
        if not line:
            flush()  # a blank line ends a multi-line value
            continue
        if line.startswith((" ", "\t")):
            if state["key"] is None:
                raise ConfigParseError(path, lineno,
                                       "Unexpected continuation line", line)
            state["value"].append(line.lstrip())
            continue
        flush()
        if line.startswith("["):
            if not line.endswith("]"):
                raise ConfigParseError(
                    path, lineno, "Invalid section (must end with ])", line)
            if len(line) <= 2:
                raise ConfigParseError(path, lineno, "Empty section name",
                                       line)
            name = _normalize_group(line[1:-1])
            if name not in sections:
                sections[name] = {}
                order.append(name)
            state["section"] = name
        elif line.startswith(("#", ";")):
            continue
        else:
            colon = line.find(":")
            equal = line.find("=")
            if colon < 0 and equal < 0:
                raise ConfigParseError(
                    path, lineno, "No ':' or '=' found in assignment", line)
            if colon < 0 or (0 <= equal < colon):
                key, value = line[:equal], line[equal + 1:]
            else:
                key, value = line[:colon], line[colon + 1:]
            key = key.strip()
            value = value.strip()
            if value and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            if not key:
                raise ConfigParseError(path, lineno, "Key cannot be empty",
                                       line)
            state["key"] = key
            state["key_line"] = lineno
            state["value"] = [value]
    flush()
    return sections, order


def _read_file(path):
    """Read and parse one file; returns the sections, or an errno string
    ("missing"/"denied") for the errors oslo defers."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return "missing"
    except PermissionError:
        return "denied"
    except IsADirectoryError:
        raise ConfigError("Failed to read config file %s: it is a directory"
                          % path) from None
    except OSError as err:
        raise ConfigError("Failed to read config file %s: %s"
                          % (path, err.strerror or err)) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigParseError(path, data[:err.start].count(b"\n") + 1,
                               "not valid UTF-8") from None
    return parse_text(text, path)


# --------------------------------------------------------------------------
# Value conversion, as oslo_config.types does it.

_TRUE = ("true", "1", "on", "yes")
_FALSE = ("false", "0", "off", "no")


def _to_bool(value):
    low = value.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError("Unexpected boolean value %r" % (value,))


def _to_number(value, kind):
    if value.strip() == "":
        return None  # oslo: an empty number is None, not the default
    return kind(value)


def _to_list(value):
    text = value.strip().rstrip(",")
    if not text:
        return []
    return [item.strip() for item in text.split(",")]


_CONVERTERS = {
    "str": lambda v: v,
    "bool": _to_bool,
    "int": lambda v: _to_number(v, int),
    "float": lambda v: _to_number(v, float),
    "list": _to_list,
}

_TEMPLATE = None


def _template_re():
    global _TEMPLATE
    if _TEMPLATE is None:
        import re
        ident = r"[_a-z][\._a-z0-9]*"
        _TEMPLATE = re.compile(
            r"\$(?:(?P<escaped>\$)|(?P<named>%s)|\{(?P<braced>%s)\}"
            r"|(?P<invalid>))" % (ident, ident),
            re.IGNORECASE)
    return _TEMPLATE


# --------------------------------------------------------------------------
# Config.

_MISSING = object()


class Config:
    """Values from nova.conf files, looked up the way oslo.config does."""

    def __init__(self, environ=None, use_env=True):
        self.files = []
        self._parsed = []  # per file, oldest first: {group: {key: [vals]}}
        self._groups = []
        self._environ = os.environ if environ is None else environ
        self._use_env = use_env

    # ---- loading --------------------------------------------------------

    @classmethod
    def load(cls, config_files=None, config_dirs=None, home=None,
             project="nova", prog=DEFAULT_PROG, environ=None, use_env=True):
        """Load like ``--config-file F... --config-dir D...`` (all files,
        then all dirs).  None for either means "option not given": oslo's
        default search is used for that kind; [] means none at all."""
        sources = [("file", f) for f in (config_files or [])]
        sources += [("dir", d) for d in (config_dirs or [])]
        return cls.load_ordered(
            sources, home=home, project=project, prog=prog, environ=environ,
            use_env=use_env,
            default_files=config_files is None,
            default_dirs=config_dirs is None)

    @classmethod
    def load_ordered(cls, sources, home=None, project="nova",
                     prog=DEFAULT_PROG, environ=None, use_env=True,
                     default_files=None, default_dirs=None):
        """Load ``[("file"|"dir", path), ...]`` in command-line order.

        As in oslo, the default files are read first unless a "file" source
        is present, then the default dirs unless a "dir" source is present
        (override with default_files / default_dirs)."""
        sources = list(sources)
        if default_files is None:
            default_files = not any(k == "file" for k, _ in sources)
        if default_dirs is None:
            default_dirs = not any(k == "dir" for k, _ in sources)
        conf = cls(environ=environ, use_env=use_env)
        missing = []
        denied = []

        def add_file(path):
            path = _fixpath(path)
            result = _read_file(path)
            if result == "missing":
                missing.append(path)
            elif result == "denied":
                denied.append(path)
            else:
                conf._add(path, *result)

        if default_files:
            for path in default_config_files(project, home, prog):
                add_file(path)
        if default_dirs:
            for path in default_config_dirs(project, home, prog):
                if os.path.exists(path):
                    for name in _dir_files(path):
                        add_file(name)
        for kind, path in sources:
            if kind == "file":
                add_file(path)
            elif kind == "dir":
                expanded = os.path.expanduser(path)
                if not os.path.exists(expanded):
                    raise ConfigDirNotFound(expanded)
                for name in _dir_files(expanded):
                    add_file(name)
            else:
                raise ValueError("unknown config source kind %r" % (kind,))
        if missing:
            raise ConfigFileNotFound(missing)
        if denied:
            raise ConfigFilePermissionDenied(denied)
        return conf

    @classmethod
    def from_text(cls, text, path="<string>", environ=None, use_env=True):
        """A Config from one ini text (handy in tests and tools)."""
        conf = cls(environ=environ, use_env=use_env)
        conf._add(path, *parse_text(text, path))
        return conf

    def _add(self, path, sections, order):
        self.files.append(path)
        self._parsed.append(sections)
        for group in order:
            if group not in self._groups:
                self._groups.append(group)

    # ---- raw lookup -----------------------------------------------------

    def _names(self, group, dest):
        names = [(group, dest)]
        names.extend(_DEPRECATED.get((group, dest), ()))
        if dest in ("username", "project_id", "project_name", "endpoint",
                    "code"):
            auth_type = self._raw(group, "auth_type", deprecated_only=True)
            plugin = _KSA_PLUGIN_DEPRECATED.get(
                auth_type[0] if auth_type else None, {})
            names.extend((group, n) for n in plugin.get(dest, ()))
        return names

    def _raw(self, group, dest, deprecated_only=False):
        """(value, source) of a single-valued option, or None."""
        if deprecated_only:
            names = [(group, dest)] + list(_DEPRECATED.get((group, dest), ()))
        else:
            names = self._names(group, dest)
        if self._use_env:
            env = "OS_%s__%s" % (group.upper(), dest.upper())
            if env in self._environ:
                return self._environ[env], env
        for index in range(len(self._parsed) - 1, -1, -1):
            sections = self._parsed[index]
            for grp, name in names:
                values = sections.get(grp, {}).get(name)
                if values is not None:
                    return values[-1], self.files[index]
        return None

    def _raw_all(self, group, dest):
        if self._use_env:
            env = "OS_%s__%s" % (group.upper(), dest.upper())
            if env in self._environ:
                return [(self._environ[env], env)]
        names = self._names(group, dest)
        result = []
        for index, sections in enumerate(self._parsed):
            in_file = []
            for grp, name in names:
                values = sections.get(grp, {}).get(name)
                if values:
                    in_file[:0] = [(v, self.files[index]) for v in values]
            result.extend(in_file)
        return result

    def _known(self, group, dest):
        return (group, dest) in _KNOWN or self._raw(group, dest) is not None

    # ---- interpolation --------------------------------------------------

    def _interpolate(self, value, group, stack):
        if "$" not in value:
            return value
        value = value.replace("\\$", "$$")

        def replace(match):
            name = match.group("named") or match.group("braced")
            if name is not None:
                return self._reference(name, group, stack, match.group())
            if match.group("escaped") is not None:
                return "$"
            return match.group()

        return _template_re().sub(replace, value)

    def _reference(self, key, group, stack, text):
        if "." in key:
            ref_group, dest = key.split(".", 1)
            ref_group = _normalize_group(ref_group)
            dest = _dest(dest)
            if not self._known(ref_group, dest):
                raise ConfigValueError(
                    "Cannot substitute %s in [%s] %s: no option %s is set "
                    "in [%s]" % (text, stack[0][0], stack[0][1], dest,
                                 ref_group))
        else:
            dest = _dest(key)
            if self._known(group, dest):
                ref_group = group
            elif self._known("DEFAULT", dest):
                ref_group = "DEFAULT"
            else:
                raise ConfigValueError(
                    "Cannot substitute %s in [%s] %s: no option %s is set "
                    "in [%s] or [DEFAULT]"
                    % (text, stack[0][0], stack[0][1], dest, group))
        if (ref_group, dest) in stack:
            chain = " -> ".join("%s.%s" % g_n for g_n in stack)
            raise ConfigValueError(
                "Circular reference in config: %s -> %s.%s"
                % (chain, ref_group, dest))
        kind, default = _KNOWN.get((ref_group, dest), ("str", None))
        stack = stack + [(ref_group, dest)]
        raw = self._raw(ref_group, dest)
        if raw is None:
            if callable(default):
                default = default()
            if isinstance(default, str):
                return self._interpolate(default, ref_group, stack)
            return "" if default is None else str(default)
        text_value = self._interpolate(raw[0], ref_group, stack)
        converted = self._convert(ref_group, dest, text_value, kind, raw[1])
        return "" if converted is None else str(converted)

    def _convert(self, group, dest, value, kind, source):
        try:
            return _CONVERTERS[kind](value)
        except ValueError as err:
            raise ConfigValueError(
                "Invalid value for %s.%s in %s: %s"
                % (group, dest, source, err)) from None

    # ---- public API -----------------------------------------------------

    def get(self, group, name, default=None):
        """The option's value (last one wins), interpolated; `default`
        (returned as is) when it is set nowhere."""
        group, dest = _normalize_group(group), _dest(name)
        raw = self._raw(group, dest)
        if raw is None:
            return default
        return self._interpolate(raw[0], group, [(group, dest)])

    def get_all(self, group, name):
        """Every value, oldest first (MultiStrOpt semantics)."""
        group, dest = _normalize_group(group), _dest(name)
        return [self._interpolate(v, group, [(group, dest)])
                for v, _ in self._raw_all(group, dest)]

    def where(self, group, name):
        """The file (or environment variable) the value of get() came from,
        or None."""
        raw = self._raw(_normalize_group(group), _dest(name))
        return None if raw is None else raw[1]

    def has(self, group, name):
        return self._raw(_normalize_group(group), _dest(name)) is not None

    def _typed(self, group, name, kind, default):
        group, dest = _normalize_group(group), _dest(name)
        raw = self._raw(group, dest)
        if raw is None:
            return default
        value = self._interpolate(raw[0], group, [(group, dest)])
        return self._convert(group, dest, value, kind, raw[1])

    def get_bool(self, group, name, default=False):
        """true/1/on/yes and false/0/off/no, any case; else ConfigError."""
        return self._typed(group, name, "bool", default)

    def get_int(self, group, name, default=None):
        """int(); an empty value gives None, as oslo does."""
        return self._typed(group, name, "int", default)

    def get_float(self, group, name, default=None):
        return self._typed(group, name, "float", default)

    def get_list(self, group, name, default=None):
        """Comma separated, items stripped, trailing commas ignored."""
        value = self._typed(group, name, "list", _MISSING)
        if value is _MISSING:
            return [] if default is None else list(default)
        return value

    def groups(self):
        """Normalized names of the groups in the parsed files, in order of
        first appearance."""
        return list(self._groups)

    def options(self, group):
        """Option keys present in a group across all files (raw names)."""
        group = _normalize_group(group)
        seen = []
        for sections in self._parsed:
            for key in sections.get(group, {}):
                if key not in seen:
                    seen.append(key)
        return seen

    @property
    def database_connection(self):
        return self.get("database", "connection")

    @property
    def api_database_connection(self):
        return self.get("api_database", "connection")

    @property
    def transport_url(self):
        # oslo.messaging registers the option with this default, so nova
        # never sees it unset.
        return self.get("DEFAULT", "transport_url", "rabbit://")

    def __repr__(self):
        return "<Config files=%r>" % (self.files,)
