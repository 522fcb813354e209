"""nmtool.config reads nova.conf the way oslo.config does.

Each test writes small config files into tmp_path.  Tests marked ``nova``
also run the real oslo.config (from the nova 34.0.0 virtualenv, set
NMTOOL_NOVA_VENV to move it) on the same files and check both agree.
"""

import json
import os
import subprocess
import textwrap

import pytest

from nmtool import config
from nmtool.config import (
    Config,
    ConfigDirNotFound,
    ConfigError,
    ConfigFileNotFound,
    ConfigParseError,
    ConfigValueError,
    default_config_dirs,
    default_config_files,
)

NOVA_VENV = os.environ.get("NMTOOL_NOVA_VENV",
                           "/root/.cache/nmtool/nova-34.0.0")
NOVA_PYTHON = os.path.join(NOVA_VENV, "bin", "python")

nova = pytest.mark.skipif(
    not os.path.exists(NOVA_PYTHON),
    reason="reference nova 34.0.0 virtualenv not found at %s "
    "(set NMTOOL_NOVA_VENV)" % NOVA_VENV,
)


def with_nova(func):
    return pytest.mark.nova(nova(func))


# ---------------------------------------------------------------- helpers


def write(directory, name, text):
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "home"
    path.mkdir()
    return path


def load(*files, dirs=(), home=None, environ=None, **kw):
    """Like `nova-manage --config-file F ... --config-dir D ...` with no
    default search and an empty environment."""
    return Config.load(list(files), list(dirs), home=home,
                       environ={} if environ is None else environ, **kw)


# The oracle: real oslo.config on the same files.  It registers the options
# given in the spec (with the deprecated names nmtool's table has) and parses
# the same command line.
ORACLE = r'''
import json, sys
from oslo_config import cfg
spec = json.load(sys.stdin)
TYPES = {"str": cfg.StrOpt, "bool": cfg.BoolOpt, "int": cfg.IntOpt,
         "float": cfg.FloatOpt, "list": cfg.ListOpt, "multi": cfg.MultiStrOpt}
conf = cfg.ConfigOpts()
for group, name, kind, deps in spec["opts"]:
    deprecated = [cfg.DeprecatedOpt(n, group=g) for g, n in deps]
    conf.register_opt(TYPES[kind](name, deprecated_opts=deprecated),
                      group=None if group == "DEFAULT" else group)
try:
    conf(spec["args"], project=spec["project"], prog=spec["prog"])
except Exception as err:
    print(json.dumps({"error": type(err).__name__, "message": str(err)}))
    sys.exit()
values = {}
for group, name, kind, deps in spec["opts"]:
    dest = name.replace("-", "_")
    try:
        values["%s.%s" % (group, name)] = (
            conf[dest] if group == "DEFAULT" else conf[group][dest])
    except Exception as err:
        values["%s.%s" % (group, name)] = {"error": type(err).__name__}
print(json.dumps({"values": values, "files": conf.config_file}))
'''


def oslo(args, opts, home, env=None, project="nmtool-test-project",
         prog="nmtool-test-prog"):
    spec = {
        "args": args,
        "opts": [[g, n, k, config._DEPRECATED.get((g, n.replace("-", "_")),
                                                   [])]
                 for g, n, k in opts],
        "project": project,
        "prog": prog,
    }
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "HOME": str(home), "LANG": "C.UTF-8"}
    environ.update(env or {})
    proc = subprocess.run([NOVA_PYTHON, "-c", ORACLE], input=json.dumps(spec),
                          capture_output=True, text=True, env=environ,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def nmtool_values(conf, opts):
    """The same values read through nmtool's API, in oslo's shapes."""
    values = {}
    for group, name, kind in opts:
        key = "%s.%s" % (group, name)
        try:
            if kind == "str":
                values[key] = conf.get(group, name)
            elif kind == "multi":
                values[key] = conf.get_all(group, name) or None
            elif conf.get(group, name) is None:
                values[key] = None
            else:
                values[key] = {"bool": conf.get_bool, "int": conf.get_int,
                               "float": conf.get_float,
                               "list": conf.get_list}[kind](group, name)
        except ConfigError as err:
            values[key] = {"error": type(err).__name__}
    return values


def assert_same_as_oslo(args, opts, home, env=None):
    """Parse `args` (--config-file/--config-dir) with nmtool and oslo and
    compare every option in `opts`; returns nmtool's values."""
    sources = []
    it = iter(args)
    for flag in it:
        sources.append(("file" if flag == "--config-file" else "dir",
                        next(it)))
    expected = oslo(args, opts, home, env)
    try:
        conf = Config.load_ordered(sources, home=str(home), environ=env or {},
                                   default_files=False, default_dirs=False)
    except ConfigError as err:
        assert "error" in expected, (str(err), expected)
        return err
    assert "error" not in expected, expected
    got = nmtool_values(conf, opts)
    for key, value in expected["values"].items():
        if isinstance(value, dict):
            assert isinstance(got[key], dict), (key, got[key], value)
        else:
            assert got[key] == value, key
    return got


# ------------------------------------------------- files, dirs, precedence


def test_later_config_file_wins(tmp_path):
    a = write(tmp_path, "a.conf", """
        [database]
        connection = mysql+pymysql://a/nova
        max_retries = 3
        """)
    b = write(tmp_path, "b.conf", """
        [database]
        connection = mysql+pymysql://b/nova
        """)
    conf = load(a, b)
    assert conf.files == [a, b]
    assert conf.database_connection == "mysql+pymysql://b/nova"
    assert conf.get_int("database", "max_retries") == 3  # only in a.conf
    assert conf.where("database", "connection") == b
    assert load(b, a).database_connection == "mysql+pymysql://a/nova"


def test_config_dir_sorted_and_parsed_after_files(tmp_path):
    main = write(tmp_path, "nova.conf", "[DEFAULT]\nx = main\n")
    write(tmp_path, "d/20-b.conf", "[DEFAULT]\nx = 20\n")
    write(tmp_path, "d/10-a.conf", "[DEFAULT]\nx = 10\ny = 10\n")
    write(tmp_path, "d/.hidden.conf", "[DEFAULT]\nx = hidden\n")
    write(tmp_path, "d/30-c.ini", "[DEFAULT]\nx = not a .conf\n")
    conf = load(main, dirs=[str(tmp_path / "d")])
    assert [os.path.basename(f) for f in conf.files] == [
        "nova.conf", "10-a.conf", "20-b.conf"]
    assert conf.get("DEFAULT", "x") == "20"
    assert conf.get_all("DEFAULT", "x") == ["main", "10", "20"]


def test_load_ordered_follows_command_line_order(tmp_path):
    main = write(tmp_path, "nova.conf", "[DEFAULT]\nx = file\n")
    write(tmp_path, "d/a.conf", "[DEFAULT]\nx = dir\n")
    d = str(tmp_path / "d")
    dir_then_file = Config.load_ordered([("dir", d), ("file", main)],
                                        environ={}, default_files=False,
                                        default_dirs=False)
    assert dir_then_file.get("DEFAULT", "x") == "file"
    file_then_dir = Config.load_ordered([("file", main), ("dir", d)],
                                        environ={}, default_files=False,
                                        default_dirs=False)
    assert file_then_dir.get("DEFAULT", "x") == "dir"


@with_nova
def test_file_and_dir_order_matches_oslo(tmp_path, home):
    f1 = write(tmp_path, "f1.conf", "[database]\nconnection = f1\n")
    f2 = write(tmp_path, "f2.conf", "[database]\nconnection = f2\n")
    write(tmp_path, "d/b.conf", "[database]\nconnection = d-b\n")
    write(tmp_path, "d/a.conf", "[database]\nconnection = d-a\n")
    d = str(tmp_path / "d")
    opts = [("database", "connection", "str")]
    for args in (["--config-file", f1, "--config-dir", d],
                 ["--config-dir", d, "--config-file", f1],
                 ["--config-file", f2, "--config-dir", d,
                  "--config-file", f1]):
        assert_same_as_oslo(args, opts, home)


def test_repeated_keys_get_vs_get_all(tmp_path):
    a = write(tmp_path, "a.conf", """
        [pci]
        alias = {"name": "a1"}
        alias = {"name": "a2"}
        """)
    b = write(tmp_path, "b.conf", """
        [pci]
        alias = {"name": "b1"}
        """)
    conf = load(a, b)
    assert conf.get("pci", "alias") == '{"name": "b1"}'
    assert conf.get_all("pci", "alias") == [
        '{"name": "a1"}', '{"name": "a2"}', '{"name": "b1"}']
    assert conf.get_all("pci", "nothing") == []


def test_sections_merge_and_group_case(tmp_path):
    path = write(tmp_path, "nova.conf", """
        [DEFAULT]
        x = upper
        [default]
        x = lower
        [Database]
        connection = one
        [database]
        max_retries = 7
        [ spaced ]
        k = v
        """)
    conf = load(path)
    # [Database] and [database] are one group; [default] is NOT [DEFAULT].
    assert conf.database_connection == "one"
    assert conf.get("DATABASE", "max_retries") == "7"
    assert conf.get("DEFAULT", "x") == "upper"
    assert conf.get("default", "x") == "lower"
    assert conf.get("spaced", "k") is None
    assert conf.get(" spaced ", "k") == "v"
    assert conf.groups() == ["DEFAULT", "default", "database", " spaced "]


# ------------------------------------------------------------- ini syntax


SYNTAX = """\
[DEFAULT]
# a comment
; another comment
equals = a = b
colon: c:d
url = http://host:5000/v3
key:with = colon first
double = "quoted"
single = 'quoted'
mixed = 'a' b 'c'
lone = "
inline = value # not a comment
spaced   =   stripped   
empty =
dash-key = 1
dash_key = 2
CamelKey = 3
multi = first
    second
\tthird
    # not a comment either

after = blank line ended multi
"""


def test_ini_syntax(tmp_path):
    conf = load(write(tmp_path, "nova.conf", SYNTAX))
    get = lambda name: conf.get("DEFAULT", name)
    assert get("equals") == "a = b"
    assert get("colon") == "c:d"
    assert get("url") == "http://host:5000/v3"
    assert get("key") == "with = colon first"
    assert get("double") == "quoted"
    assert get("single") == "quoted"
    assert get("mixed") == "a' b 'c"          # first and last quote removed
    assert get("lone") == ""
    assert get("inline") == "value # not a comment"
    assert get("spaced") == "stripped"
    assert get("empty") == ""
    assert get("dash_key") == "2"              # files must use underscores
    assert get("dash-key") == "2"              # the API accepts either
    assert get("camelkey") is None             # keys are case-sensitive
    assert get("CamelKey") == "3"
    assert get("multi") == "first\nsecond\nthird\n# not a comment either"
    assert get("after") == "blank line ended multi"


@with_nova
def test_ini_syntax_matches_oslo(tmp_path, home):
    path = write(tmp_path, "nova.conf", SYNTAX + "[g]\nk = v\n")
    names = ["equals", "colon", "url", "key", "double", "single", "mixed",
             "lone", "inline", "spaced", "empty", "dash-key", "camelkey",
             "multi", "after"]
    opts = [("DEFAULT", n, "str") for n in names] + [("g", "k", "str")]
    assert_same_as_oslo(["--config-file", path], opts, home)


def test_crlf_line_endings(tmp_path):
    path = tmp_path / "nova.conf"
    path.write_bytes(b"[DEFAULT]\r\nx = 1\r\nm = a\r\n  b\r\n")
    conf = load(str(path))
    assert conf.get("DEFAULT", "x") == "1"
    assert conf.get("DEFAULT", "m") == "a\nb"


# ---------------------------------------------------------- parse errors


PARSE_ERRORS = [
    ("[DEFAULT]\nx = 1\n[database\n", 3, "Invalid section (must end with ])"),
    ("[DEFAULT]\n[database] # comment\n", 2,
     "Invalid section (must end with ])"),
    ("[]\n", 1, "Empty section name"),
    ("[DEFAULT]\n\njust words\n", 3, "No ':' or '=' found in assignment"),
    ("[DEFAULT]\n= value\n", 2, "Key cannot be empty"),
    ("  indented = x\n[DEFAULT]\n", 1, "Unexpected continuation line"),
    ("[DEFAULT]\na = 1\n  more\n\n  orphan\n", 5,
     "Unexpected continuation line"),
    ("[DEFAULT]\na = 1\n# comment\n  orphan\n", 4,
     "Unexpected continuation line"),
    ("a = 1\n", 1, "Section must be started before assignment"),
]


@pytest.mark.parametrize("text,line,what", PARSE_ERRORS)
def test_parse_errors_name_file_and_line(tmp_path, text, line, what):
    path = write(tmp_path, "bad.conf", text)
    with pytest.raises(ConfigParseError) as info:
        load(path)
    err = info.value
    assert (err.path, err.lineno, err.what) == (path, line, what)
    message = str(err)
    assert message.startswith("Failed to parse %s: line %d: %s"
                              % (path, line, what))
    assert "\n" not in message
    assert err.exit_code == 1


@with_nova
@pytest.mark.parametrize("text,line,what", PARSE_ERRORS)
def test_parse_errors_match_oslo(tmp_path, home, text, line, what):
    path = write(tmp_path, "bad.conf", text)
    result = oslo(["--config-file", path], [], home)
    assert result["error"] == "ConfigFileParseError"
    assert "%s:%d, %s" % (path, line, what) in result["message"]


def test_parse_error_in_later_file_wins_over_missing_file(tmp_path):
    bad = write(tmp_path, "bad.conf", "[x\n")
    with pytest.raises(ConfigParseError):
        load(str(tmp_path / "missing.conf"), bad)


def test_invalid_utf8_is_a_parse_error(tmp_path):
    path = tmp_path / "nova.conf"
    path.write_bytes(b"[DEFAULT]\nx = 1\ny = \xff\n")
    with pytest.raises(ConfigParseError, match=r"line 3: not valid UTF-8"):
        load(str(path))


# ---------------------------------------------------- missing files/dirs


def test_missing_file(tmp_path):
    missing = str(tmp_path / "nope.conf")
    with pytest.raises(ConfigFileNotFound) as info:
        load(missing)
    assert str(info.value) == "Failed to find config file: %s" % missing
    assert info.value.exit_code == 1


def test_all_missing_files_are_reported_together(tmp_path):
    good = write(tmp_path, "good.conf", "[DEFAULT]\n")
    one, two = str(tmp_path / "one.conf"), str(tmp_path / "two.conf")
    with pytest.raises(ConfigFileNotFound) as info:
        load(one, good, two)
    assert info.value.paths == [one, two]
    assert str(info.value) == "Failed to find config files: %s, %s" % (one,
                                                                      two)


def test_relative_file_names_are_made_absolute(tmp_path, monkeypatch):
    write(tmp_path, "nova.conf", "[DEFAULT]\nx = 1\n")
    monkeypatch.chdir(tmp_path)
    assert load("nova.conf").files == [str(tmp_path / "nova.conf")]


def test_missing_dir(tmp_path):
    missing = str(tmp_path / "nope.d")
    with pytest.raises(ConfigDirNotFound) as info:
        load(dirs=[missing])
    assert str(info.value) == ("Failed to read config file directory: %s"
                               % missing)


def test_directory_given_as_file(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        load(str(tmp_path))


@with_nova
def test_missing_file_and_dir_match_oslo(tmp_path, home):
    missing = str(tmp_path / "nope.conf")
    assert oslo(["--config-file", missing], [], home)["error"] == (
        "ConfigFilesNotFoundError")
    assert oslo(["--config-dir", missing], [], home)["error"] == (
        "ConfigDirNotFoundError")


# ------------------------------------------------------- default search


def test_default_search_takes_first_existing_per_name(home):
    write(home, ".nova/nova.conf", "[DEFAULT]\nx = dot-nova\n")
    write(home, "nova.conf", "[DEFAULT]\nx = home\n")       # hidden
    write(home, "nova-manage.conf", "[DEFAULT]\nx = prog\n")
    (home / ".nova" / "nova.conf.d").mkdir()
    (home / "nova.conf.d").mkdir()
    files = default_config_files(home=str(home))
    dirs = default_config_dirs(home=str(home))
    assert files[:2] == [str(home / ".nova" / "nova.conf"),
                         str(home / "nova-manage.conf")]
    assert dirs[0] == str(home / ".nova" / "nova.conf.d")
    assert str(home / "nova.conf") not in files
    assert str(home / "nova.conf.d") not in dirs
    assert default_config_files(home=str(home), prog=None)[0] == str(
        home / ".nova" / "nova.conf")


def test_default_files_and_dirs_are_read_when_not_given(tmp_path, home):
    write(home, "nova.conf", "[DEFAULT]\nx = home-file\n")
    write(home, ".nova/nova.conf.d/10.conf", "[DEFAULT]\nx = home-dir\n")
    cli = write(tmp_path, "cli.conf", "[DEFAULT]\nx = cli\n")
    write(tmp_path, "cli.d/a.conf", "[DEFAULT]\nx = cli-dir\n")

    def values(**kw):
        # prog=None: only nova.conf(.d) is searched, and the home copies
        # hide any /etc ones, so the result does not depend on /etc.
        conf = Config.load(home=str(home), environ={}, prog=None, **kw)
        return conf.get_all("DEFAULT", "x")

    assert values() == ["home-file", "home-dir"]
    # --config-file alone: default DIRS are still read, before the file.
    assert values(config_files=[cli]) == ["home-dir", "cli"]
    # --config-dir alone: default FILES are still read, before the dir.
    assert values(config_dirs=[str(tmp_path / "cli.d")]) == [
        "home-file", "cli-dir"]
    assert values(config_files=[cli], config_dirs=[]) == ["cli"]


@with_nova
def test_default_search_matches_oslo(tmp_path, home):
    write(home, ".nova/nova.conf", "[database]\nconnection = dot-nova\n")
    write(home, "nova.conf", "[database]\nconnection = home\n")
    write(home, "nova-manage.conf", "[database]\nconnection = prog\n")
    write(home, ".nova/nova.conf.d/10.conf", "[database]\nconnection = d\n")
    write(home, "nova.conf.d/10.conf", "[database]\nconnection = hidden\n")
    cli = write(tmp_path, "cli.conf", "[database]\nconnection = cli\n")
    opts = [("database", "connection", "multi")]
    for args, kw in (([], {}), (["--config-file", cli],
                                {"config_files": [cli]})):
        expected = oslo(args, opts, home, project="nova", prog="nova-manage")
        conf = Config.load(home=str(home), environ={}, **kw)
        got = conf.get_all("database", "connection")
        # Only the home-based part is compared: /etc/nova may exist here.
        home_part = [v for v in expected["values"]["database.connection"]]
        assert got[:len(home_part)] == home_part


# ---------------------------------------------------------- interpolation


def test_interpolation(tmp_path):
    path = write(tmp_path, "nova.conf", r"""
        [DEFAULT]
        state_path = /var/lib/nova
        db_host = default-host
        user = nova
        greeting = $$HOME is literal, so is \$HOME
        bare = a$ and $1 and ${ stay
        [database]
        db_host = group-host
        connection = mysql+pymysql://${user}:pw@$db_host/nova
        other = ${api_database.connection}
        state = $state_path/db
        [api_database]
        connection = mysql+pymysql://$user@$db_host/nova_api
        """)
    conf = load(path)
    # A bare name is looked up in the value's own group, then [DEFAULT].
    assert conf.database_connection == (
        "mysql+pymysql://nova:pw@group-host/nova")
    assert conf.api_database_connection == (
        "mysql+pymysql://nova@default-host/nova_api")
    # ${group.name} reaches another group; it is interpolated in its group.
    assert conf.get("database", "other") == conf.api_database_connection
    assert conf.get("database", "state") == "/var/lib/nova/db"
    assert conf.get("DEFAULT", "greeting") == "$HOME is literal, so is $HOME"
    assert conf.get("DEFAULT", "bare") == "a$ and $1 and ${ stay"


def test_nested_interpolation_and_types(tmp_path):
    path = write(tmp_path, "nova.conf", """
        [DEFAULT]
        a = A$b
        b = B${c}
        c = C
        debug = yes
        [database]
        max_retries = 05
        text = debug=$debug retries=$max_retries
        empty = [$connection]
        """)
    conf = load(path)
    assert conf.get("DEFAULT", "a") == "ABC"
    # Known typed options are substituted converted, as oslo does.
    assert conf.get("database", "text") == "debug=True retries=5"
    # A known option that is unset substitutes its default ('' for None).
    assert conf.get("database", "empty") == "[]"


def test_interpolation_errors(tmp_path):
    path = write(tmp_path, "nova.conf", """
        [DEFAULT]
        loop1 = $loop2
        loop2 = $loop1
        [database]
        connection = mysql://$nosuch/nova
        other = ${nogroup.x}
        """)
    conf = load(path)
    with pytest.raises(ConfigValueError, match=r"\$nosuch.*\[database\]"):
        conf.database_connection
    with pytest.raises(ConfigValueError, match=r"nogroup"):
        conf.get("database", "other")
    with pytest.raises(ConfigValueError, match="Circular reference"):
        conf.get("DEFAULT", "loop1")


def test_default_lookup_for_interpolation(tmp_path):
    path = write(tmp_path, "nova.conf", """
        [DEFAULT]
        transport_url_copy = $transport_url
        [vnc]
        server_listen = ${DEFAULT.listen}
        [DEFAULT]
        listen = 10.0.0.1
        """)
    conf = load(path)
    assert conf.get("DEFAULT", "transport_url_copy") == "rabbit://"
    assert conf.get("vnc", "server_listen") == "10.0.0.1"


@with_nova
def test_interpolation_matches_oslo(tmp_path, home):
    path = write(tmp_path, "nova.conf", r"""
        [DEFAULT]
        a = A$b
        b = B${c}
        c = C
        q = default-q
        esc = $$x \$y a$ $1
        [g]
        x = $q
        y = ${h.q}
        z = $a-$c
        [h]
        q = h-q
        p = $q
        """)
    opts = [("DEFAULT", n, "str") for n in ("a", "b", "c", "q", "esc")]
    opts += [("g", "x", "str"), ("g", "y", "str"), ("g", "z", "str"),
             ("h", "q", "str"), ("h", "p", "str")]
    got = assert_same_as_oslo(["--config-file", path], opts, home)
    assert got["g.x"] == "default-q" and got["h.p"] == "h-q"


# ---------------------------------------------------------- deprecated names


def test_deprecated_names(tmp_path):
    path = write(tmp_path, "nova.conf", """
        [DEFAULT]
        quota_cores = 40
        pci_passthrough_whitelist = {"a": 1}
        [pci]
        passthrough_whitelist = {"b": 2}
        device_spec = {"c": 3}
        [libvirt]
        cpu_model = Haswell
        [placement]
        auth_plugin = password
        user_name = nova
        tenant_name = service
        """)
    conf = load(path)
    assert conf.get_int("quota", "cores") == 40          # [DEFAULT] fallback
    assert conf.get_list("libvirt", "cpu_models") == ["Haswell"]
    assert conf.get("placement", "auth_type") == "password"
    # keystoneauth plugin options: deprecated names depend on the plugin.
    assert conf.get("placement", "username") == "nova"
    assert conf.get("placement", "project_name") == "service"
    # Multi-valued: deprecated names' values come first within a file.
    assert conf.get_all("pci", "device_spec") == [
        '{"a": 1}', '{"b": 2}', '{"c": 3}']
    assert conf.get("pci", "device_spec") == '{"c": 3}'


def test_tenant_name_only_for_generic_plugins(tmp_path):
    path = write(tmp_path, "nova.conf", """
        [neutron]
        auth_type = v3password
        user_name = nova
        tenant_name = service
        """)
    conf = load(path)
    assert conf.get("neutron", "username") == "nova"
    assert conf.get("neutron", "project_name") is None


def test_database_connection_has_no_deprecated_names(tmp_path):
    # oslo.db 18 dropped sql_connection & co: nothing falls back.
    path = write(tmp_path, "nova.conf", """
        [DEFAULT]
        sql_connection = mysql://old/nova
        connection = mysql://default/nova
        [sql]
        connection = mysql://sql/nova
        """)
    conf = load(path)
    assert conf.database_connection is None
    assert conf.api_database_connection is None
    assert conf.transport_url == "rabbit://"  # oslo.messaging's default


def test_deprecated_name_in_later_file_beats_new_name(tmp_path):
    a = write(tmp_path, "a.conf", """
        [quota]
        cores = 10
        [DEFAULT]
        quota_cores = 20
        """)
    b = write(tmp_path, "b.conf", "[DEFAULT]\nquota_cores = 30\n")
    assert load(a).get_int("quota", "cores") == 10   # new name wins in a file
    assert load(a, b).get_int("quota", "cores") == 30


@with_nova
def test_deprecated_precedence_matches_oslo(tmp_path, home):
    a = write(tmp_path, "a.conf", """
        [quota]
        cores = 10
        [DEFAULT]
        quota_cores = 20
        pci_passthrough_whitelist = d1
        [pci]
        passthrough_whitelist = p1
        device_spec = s1
        """)
    b = write(tmp_path, "b.conf", """
        [DEFAULT]
        quota_cores = 30
        pci_passthrough_whitelist = d2
        [pci]
        device_spec = s2
        """)
    opts = [("quota", "cores", "int"), ("pci", "device_spec", "multi")]
    for args in (["--config-file", a], ["--config-file", a, "--config-file",
                                        b], ["--config-file", b,
                                             "--config-file", a]):
        assert_same_as_oslo(args, opts, home)


@with_nova
def test_deprecated_table_matches_nova_manage(home):
    """Every deprecated name nova-manage 34.0.0 registers is in the table,
    and the keystoneauth plugin table matches keystoneauth1."""
    script = r'''
import json, sys, warnings
warnings.simplefilter("ignore")
sys.argv = ["nova-manage"]
import nova.conf
from nova.cmd import manage
from nova import config
from keystoneauth1 import loading
from keystonemiddleware.auth_token import _opts as ksm
CONF = nova.conf.CONF
CONF.register_cli_opts([manage.category_opt, manage.post_mortem_opt])
config.parse_args(["nova-manage", "--config-file", "/dev/null", "version"])
table = {}
def add(group, opt):
    if opt.deprecated_opts:
        table["%s.%s" % (group, opt.dest)] = [
            [d.group or group, d.name or opt.dest] for d in opt.deprecated_opts]
for info, group in CONF._all_opt_infos():
    add(group.name if group else "DEFAULT", info["opt"])
for group, opts in ksm.list_opts():
    for opt in opts:
        add(group, opt)
plugins = {}
for name in loading.get_available_plugin_names():
    deps = {o.dest: [d.name for d in o.deprecated_opts]
            for o in loading.get_auth_plugin_conf_options(name)
            if o.deprecated_opts}
    if deps:
        plugins[name] = deps
print(json.dumps({"table": table, "plugins": plugins}))
'''
    proc = subprocess.run([NOVA_PYTHON, "-c", script], capture_output=True,
                          text=True, timeout=300,
                          env={"PATH": os.environ.get("PATH", ""),
                               "HOME": str(home)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    real = json.loads(proc.stdout.strip().splitlines()[-1])
    ours = {"%s.%s" % key: [list(d) for d in deps]
            for key, deps in config._DEPRECATED.items()}
    assert ours == real["table"]
    assert {p: {k: list(v) for k, v in d.items()}
            for p, d in config._KSA_PLUGIN_DEPRECATED.items()} == (
        real["plugins"])


# ------------------------------------------------- environment variables


def test_environment_overrides_files(tmp_path):
    path = write(tmp_path, "nova.conf", """
        [database]
        connection = mysql://file/nova
        [DEFAULT]
        transport_url = rabbit://file
        """)
    env = {"OS_DATABASE__CONNECTION": "mysql://env/nova",
           "OS_DEFAULT__TRANSPORT_URL": "rabbit://env"}
    conf = load(path, environ=env)
    assert conf.database_connection == "mysql://env/nova"
    assert conf.transport_url == "rabbit://env"
    assert conf.where("database", "connection") == "OS_DATABASE__CONNECTION"
    assert load(path, environ=env, use_env=False).transport_url == (
        "rabbit://file")


@with_nova
def test_environment_matches_oslo(tmp_path, home):
    path = write(tmp_path, "nova.conf", """
        [database]
        connection = mysql://file/nova
        max_retries = 1
        [DEFAULT]
        x = X
        """)
    env = {"OS_DATABASE__CONNECTION": "mysql://$x/nova",
           "OS_DATABASE__MAX_RETRIES": "4"}
    opts = [("database", "connection", "str"),
            ("database", "max_retries", "int"), ("DEFAULT", "x", "str")]
    got = assert_same_as_oslo(["--config-file", path], opts, home, env)
    assert got["database.connection"] == "mysql://X/nova"


# ---------------------------------------------------- bools, ints, lists


TYPED = """\
[DEFAULT]
t1 = true
t2 = YES
t3 = On
t4 = 1
f1 = False
f2 = no
f3 = OFF
f4 = 0
badbool = maybe
emptybool =
n = 42
neg = -3
hexint = 0x10
emptyint =
l1 = a, b ,c
l2 = a,,b,
l3 =
l4 = one
"""


def test_bools_ints_lists(tmp_path):
    conf = load(write(tmp_path, "nova.conf", TYPED))
    for name in ("t1", "t2", "t3", "t4"):
        assert conf.get_bool("DEFAULT", name) is True
    for name in ("f1", "f2", "f3", "f4"):
        assert conf.get_bool("DEFAULT", name, default=True) is False
    assert conf.get_bool("DEFAULT", "unset") is False
    assert conf.get_bool("DEFAULT", "unset", default=True) is True
    with pytest.raises(ConfigError, match=r"DEFAULT\.badbool.*'maybe'"):
        conf.get_bool("DEFAULT", "badbool")
    with pytest.raises(ConfigError, match=r"DEFAULT\.emptybool"):
        conf.get_bool("DEFAULT", "emptybool")
    assert conf.get_int("DEFAULT", "n") == 42
    assert conf.get_int("DEFAULT", "neg") == -3
    assert conf.get_int("DEFAULT", "unset", default=5) == 5
    assert conf.get_int("DEFAULT", "emptyint", default=5) is None  # as oslo
    with pytest.raises(ConfigError, match=r"DEFAULT\.hexint"):
        conf.get_int("DEFAULT", "hexint")
    assert conf.get_list("DEFAULT", "l1") == ["a", "b", "c"]
    assert conf.get_list("DEFAULT", "l2") == ["a", "", "b"]
    assert conf.get_list("DEFAULT", "l3") == []
    assert conf.get_list("DEFAULT", "l4") == ["one"]
    assert conf.get_list("DEFAULT", "unset") == []
    assert conf.get_list("DEFAULT", "unset", ["x"]) == ["x"]


@with_nova
def test_bools_ints_lists_match_oslo(tmp_path, home):
    path = write(tmp_path, "nova.conf", TYPED)
    opts = [("DEFAULT", n, "bool") for n in (
        "t1", "t2", "t3", "t4", "f1", "f2", "f3", "f4", "badbool",
        "emptybool")]
    opts += [("DEFAULT", n, "int") for n in ("n", "neg", "hexint",
                                            "emptyint")]
    opts += [("DEFAULT", n, "list") for n in ("l1", "l2", "l3", "l4")]
    assert_same_as_oslo(["--config-file", path], opts, home)


def test_errors_are_one_line_config_errors():
    for cls in (ConfigFileNotFound, ConfigParseError, ConfigDirNotFound,
                ConfigValueError):
        assert issubclass(cls, ConfigError)
    assert ConfigError.exit_code == 1


def test_from_text():
    conf = Config.from_text("[api_database]\nconnection = mysql://x/api\n",
                            environ={})
    assert conf.api_database_connection == "mysql://x/api"
    assert conf.options("api_database") == ["connection"]
