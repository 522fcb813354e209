"""Database URLs as nova.conf spells them, and password masking."""
import pytest

from nmtool.db.url import format_cell_url, mask_password, parse_db_url
from nmtool.errors import DatabaseUrlError


@pytest.mark.parametrize("url", [
    "mysql+pymysql://nova:s3cret@db.example.org:3307/nova?charset=utf8",
    "mysql://nova:s3cret@db.example.org:3307/nova?charset=utf8",
    "mysql+mysqldb://nova:s3cret@db.example.org:3307/nova?charset=utf8",
])
def test_the_usual_spellings(url):
    parsed = parse_db_url(url)
    assert (parsed.user, parsed.password, parsed.host, parsed.port,
            parsed.database) == ("nova", "s3cret", "db.example.org", 3307,
                                 "nova")
    args = parsed.connect_args()
    assert args["charset"] == "utf8" and args["port"] == 3307


def test_url_encoded_password_is_decoded():
    parsed = parse_db_url("mysql+pymysql://nova:p%40ss%3Aw%2Frd@h/nova")
    assert parsed.password == "p@ss:w/rd"
    assert parsed.connect_args()["password"] == "p@ss:w/rd"


def test_ipv6_host_and_default_port():
    parsed = parse_db_url("mysql+pymysql://root@[::1]/nova")
    assert parsed.host == "::1" and parsed.port is None
    assert "port" not in parsed.connect_args()


def test_query_parameters_become_connect_arguments():
    args = parse_db_url(
        "mysql+pymysql://u:p@h/nova?charset=utf8mb4&read_default_file="
        "/etc/my.cnf&read_default_group=client&ssl_ca=/ca.pem"
        "&ssl_cert=/c.pem&ssl_key=/k.pem&connect_timeout=5").connect_args()
    assert args["charset"] == "utf8mb4"
    assert args["read_default_file"] == "/etc/my.cnf"
    assert args["read_default_group"] == "client"
    assert args["ssl"] == {"ca": "/ca.pem", "cert": "/c.pem", "key": "/k.pem"}
    assert args["connect_timeout"] == 5


def test_unix_socket_replaces_the_host():
    args = parse_db_url(
        "mysql+pymysql://nova@localhost/nova?unix_socket=/run/mysqld/s.sock"
    ).connect_args()
    assert args["unix_socket"] == "/run/mysqld/s.sock" and "host" not in args


@pytest.mark.parametrize("url, message", [
    ("notaurl", "Malformed database URL"),
    ("mysql+pymysql://root@127.0.0.1:notaport/x", "port 'notaport'"),
    ("mysql+pymysql://root@127.0.0.1:99999/x", "port '99999'"),
    ("", "No database connection URL"),
])
def test_malformed_urls(url, message):
    with pytest.raises(DatabaseUrlError, match=message):
        parse_db_url(url)


def test_other_backends_are_refused_when_connecting():
    with pytest.raises(DatabaseUrlError, match="Unsupported database backend"):
        parse_db_url("postgresql://u:p@h/nova").connect_args()


def test_unknown_query_option_is_refused_and_masked():
    with pytest.raises(DatabaseUrlError) as err:
        parse_db_url("mysql+pymysql://u:topsecret@h/nova?bogus=1").connect_args()
    assert "bogus" in str(err.value) and "topsecret" not in str(err.value)


@pytest.mark.parametrize("text, expected", [
    ("mysql+pymysql://root:secret@h:3306/nova?charset=utf8",
     "mysql+pymysql://root:****@h:3306/nova?charset=utf8"),
    ("mysql+pymysql://root@h/nova", "mysql+pymysql://root@h/nova"),
    ("rabbit://a:x@h1:5672,b:y@h2:5672/vhost",
     "rabbit://a:****@h1:5672,b:****@h2:5672/vhost"),
    ("rabbit://u:p,w@h/", "rabbit://u:****@h/"),
    ("mysql://u:p@ss@h/x", "mysql://u:****@h/x"),
    ("failed: mysql://u:pw@h/x and rabbit://v:pw2@m/",
     "failed: mysql://u:****@h/x and rabbit://v:****@m/"),
    ("no url here", "no url here"),
])
def test_mask_password(text, expected):
    assert mask_password(text) == expected


def test_templated_cell_urls_are_filled_from_the_local_url():
    local = "mysql+pymysql://nova:pw@dbhost:3306/nova?charset=utf8"
    template = "{scheme}://{username}:{password}@{hostname}:{port}/cell1?{query}"
    assert format_cell_url(template, local) == \
        "mysql+pymysql://nova:pw@dbhost:3306/cell1?charset=utf8"
    assert format_cell_url("mysql://x/y", local) == "mysql://x/y"
    assert format_cell_url(template, None) == template


def test_templated_transport_url_with_several_hosts():
    local = "rabbit://a:x@h1:5672,b:y@h2:5673/"
    assert format_cell_url("rabbit://{username2}@{hostname2}:{port2}/c1",
                           local) == "rabbit://b@h2:5673/c1"


def test_tls_can_be_turned_off_explicitly():
    args = parse_db_url("mysql+pymysql://u@h/nova?ssl_disabled=true"
                        ).connect_args()
    assert args["ssl_disabled"] is True
