"""The HTTP clients against the real Keystone and Placement: password
authentication with the service catalog, interface and region choice,
endpoint_override, re-authentication, bad credentials, TLS, timeouts,
the request id and microversion headers."""
import socket
import subprocess
import time
import uuid

import pytest

from conftest import run_nmtool
from nmtool.clients.placement import PlacementClient
from nmtool.clients.http import AuthenticationError, ServiceUnreachable
from nmtool.config import Config
from services import (  # noqa: F401
    PlacementStack, dead_url, keystone_stack, nova_deployment, placement,
    placement_conf_section, placement_service)


def _password_section(ks, **overrides):
    opts = {"auth_type": "password", "auth_url": ks.url + "/v3",
            "username": "nova", "password": ks.service_password,
            "project_name": "service", "user_domain_name": "Default",
            "project_domain_name": "Default", "region_name": "RegionOne"}
    opts.update(overrides)
    return "[placement]\n" + "".join("%s = %s\n" % (k, v)
                                     for k, v in opts.items()
                                     if v is not None)


def _audit_one(nova, section, rp):
    return run_nmtool("--config-file", nova.conf(section), "placement",
                      "audit", "--resource_provider", rp)


@pytest.fixture
def ks_world(keystone_stack, nova_deployment):
    nova = nova_deployment()
    rp = keystone_stack.placement.admin.compute_node()
    keystone_stack.placement.service.clear_log()
    return keystone_stack, nova, rp


def test_password_auth_uses_the_catalog(ks_world):
    ks, nova, rp = ks_world
    result = _audit_one(nova, _password_section(ks), rp)
    assert (result.rc, result.out, result.err) == (0, "", "")
    calls = ks.placement.service.requests()
    assert [(c["method"], c["path"], c["query"]) for c in calls] == [
        ("GET", "/", ""),
        ("GET", "/resource_providers", "uuid=" + rp),
        ("GET", "/resource_providers/%s/allocations" % rp, "")]
    # discovery without a token; then the fernet token, one request id
    assert "HTTP_X_AUTH_TOKEN" not in calls[0]
    assert len({c["HTTP_X_AUTH_TOKEN"] for c in calls[1:]}) == 1
    ids = {c["HTTP_X_OPENSTACK_REQUEST_ID"] for c in calls}
    assert len(ids) == 1 and ids.pop().startswith("req-")
    assert calls[1]["HTTP_OPENSTACK_API_VERSION"] == "placement 1.14"
    assert "HTTP_OPENSTACK_API_VERSION" not in calls[2]


def test_unversioned_auth_url_and_ids(ks_world):
    ks, nova, rp = ks_world
    section = _password_section(
        ks, auth_url=ks.url, username=None, user_domain_name=None,
        user_id=ks.users["nova"], project_name=None,
        project_domain_name=None, project_id=ks.project_id)
    assert _audit_one(nova, section, rp).rc == 0


def test_valid_interfaces_are_tried_in_order(ks_world):
    ks, nova, rp = ks_world
    # no admin endpoint: internal is next
    ok = _audit_one(nova, _password_section(
        ks, valid_interfaces="admin,internal"), rp)
    assert ok.rc == 0
    # public comes first and points nowhere
    bad = _audit_one(nova, _password_section(
        ks, valid_interfaces="public,internal"), rp)
    assert bad.rc == 255
    assert bad.err == "ERROR: Placement API at %s/: connection refused\n" \
        % ks.nowhere
    # endpoint_override wins over the catalog
    assert _audit_one(nova, _password_section(
        ks, valid_interfaces="public",
        endpoint_override=ks.placement.url), rp).rc == 0


def test_region_choice(ks_world):
    ks, nova, rp = ks_world
    other = _audit_one(nova, _password_section(ks, region_name="RegionTwo"),
                       rp)
    assert (other.rc, other.err) == (
        255, "ERROR: Placement API at %s/: connection refused\n" % ks.nowhere)
    unknown = _audit_one(nova, _password_section(ks, region_name="Nowhere"),
                         rp)
    assert unknown.rc == 255
    assert unknown.err == (
        "ERROR: Placement API at %s/v3: no internal/public endpoint for "
        "service type placement in region Nowhere in the service catalog\n"
        % ks.url)
    wrong_type = _audit_one(nova, _password_section(
        ks, service_type="no-such-type"), rp)
    assert wrong_type.rc == 255
    assert "service type no-such-type" in wrong_type.err


def test_bad_credentials_and_empty_catalog(ks_world):
    ks, nova, rp = ks_world
    bad = _audit_one(nova, _password_section(ks, password="wrong"), rp)
    assert bad.rc == 255 and bad.out == ""
    assert bad.err.startswith(
        "ERROR: Keystone at %s/v3/auth/tokens: the credentials of "
        "[placement] were refused (HTTP 401" % ks.url)
    assert bad.err.count("\n") == 1
    # an unscoped token comes without a catalog
    unscoped = _audit_one(nova, _password_section(
        ks, project_name=None, project_domain_name=None), rp)
    assert unscoped.rc == 255
    assert unscoped.err == ("ERROR: Placement API at %s/v3: the service "
                            "catalog is empty (token scope of [placement])\n"
                            % ks.url)
    down = _audit_one(nova, _password_section(ks, auth_url=dead_url() + "/v3"),
                      rp)
    assert down.rc == 255
    assert "/auth/tokens: connection refused" in down.err


def test_revoked_or_expiring_token_is_renewed_once(keystone_stack):
    ks = keystone_stack
    conf = Config.from_text(_password_section(ks), use_env=False)
    client = PlacementClient.from_conf(conf)
    auth = client.session.auth
    assert client.resource_providers().status_code == 200
    first = auth._token
    ks.revoke(first)
    # Placement answers 401 for the revoked token; one re-authentication
    assert client.resource_providers().status_code == 200
    second = auth._token
    assert second != first
    # a token about to expire is renewed before it is used
    import datetime
    auth._expires = datetime.datetime.now(datetime.timezone.utc)
    assert client.resource_providers().status_code == 200
    assert auth._token not in (first, second)


def test_admin_token_options(placement, nova_deployment):
    nova = nova_deployment()
    rp = placement.admin.compute_node()
    # the plugin's endpoint, under its deprecated name "url"
    section = ("[placement]\nauth_type = admin_token\ntoken = admin\n"
               "url = %s\n" % placement.url)
    assert _audit_one(nova, section, rp).rc == 0
    # endpoint_override wins over a bad endpoint
    section = ("[placement]\nauth_type = admin_token\ntoken = admin\n"
               "endpoint = %s\nendpoint_override = %s\n"
               % (dead_url(), placement.url))
    assert _audit_one(nova, section, rp).rc == 0
    # a token without rights: Placement says 403, one line, code 1
    section = placement_conf_section(placement.url).replace(
        "token = admin", "token = nobody")
    refused = run_nmtool("--config-file", nova.conf(section), "placement",
                         "audit")
    assert refused.rc == 1
    assert refused.err.startswith("ERROR: Placement API at %s/resource_"
                                  "providers: cannot list resource providers "
                                  "(HTTP 403: " % placement.url)


@pytest.fixture(scope="module")
def tls_placement(placement_service, tmp_path_factory):
    """A second Placement on the same data, served over HTTPS with a
    self-signed certificate for 127.0.0.1."""
    tmp = tmp_path_factory.mktemp("tls")
    cert, key = str(tmp / "cert.pem"), str(tmp / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    stack = PlacementStack(database=placement_service.database,
                           tls=(cert, key))
    stack.cert = cert
    yield stack
    stack.stop()


def test_tls_options(placement, tls_placement, nova_deployment):
    nova = nova_deployment()
    rp = placement.admin.compute_node()
    base = placement_conf_section(tls_placement.url)
    assert tls_placement.url.startswith("https://")
    untrusted = _audit_one(nova, base, rp)
    assert untrusted.rc == 255
    assert untrusted.err.startswith("ERROR: Placement API at %s/: TLS "
                                    "error: " % tls_placement.url)
    assert _audit_one(nova, base + "cafile = %s\n" % tls_placement.cert,
                      rp).rc == 0
    assert _audit_one(nova, base + "insecure = true\n", rp).rc == 0


def test_timeout_and_connect_retries(placement, nova_deployment):
    nova = nova_deployment()
    # a socket that accepts connections (backlog) but never answers
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = "http://127.0.0.1:%d" % silent.getsockname()[1]
        started = time.monotonic()
        slow = _audit_one(nova, placement_conf_section(url)
                          + "timeout = 0.5\n", str(uuid.uuid4()))
        elapsed = time.monotonic() - started
    assert slow.rc == 255
    assert slow.err == ("ERROR: Placement API at %s/: no answer within "
                        "0.5 s\n" % url)
    assert elapsed < 10
    # connect retries: two more attempts, 0.4 s apart, then the error
    nowhere = dead_url()
    started = time.monotonic()
    down = _audit_one(nova, placement_conf_section(nowhere)
                      + "connect_retries = 2\nconnect_retry_delay = 0.4\n",
                      str(uuid.uuid4()))
    assert down.rc == 255
    assert time.monotonic() - started >= 0.8
    assert down.err == "ERROR: Placement API at %s/: connection refused\n" \
        % nowhere


def test_session_errors_name_service_and_url(placement_service):
    conf = Config.from_text(placement_conf_section(dead_url()),
                            use_env=False)
    with pytest.raises(ServiceUnreachable) as err:
        PlacementClient.from_conf(conf)
    assert str(err.value).startswith("Placement API at http://127.0.0.1:")
    with pytest.raises(AuthenticationError) as err:
        PlacementClient.from_conf(Config.from_text(
            "[placement]\nauth_type = v3password\n", use_env=False))
    assert str(err.value) == ("Placement API at [placement]: auth_url is "
                              "not set for auth_type v3password")
