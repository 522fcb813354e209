"""The real OpenStack services on loopback, for the placement tests.

Placement (openstack-placement 16.0.0), Neutron (29.0.0) and Keystone
(30.0.0) run from virtualenvs that scripts/services-venv.sh installs under
~/.cache/nmtool/, each served by tests/serve_wsgi.py on a free 127.0.0.1
port with its own uniquely named MariaDB database, created here and
dropped when the fixture ends. A missing PyPI makes the fixtures skip
with that reason.

Fixtures are module-scoped: one service serves a whole test module, and
each test uses its own resource providers, consumers and ports (fresh
uuids) and its own nova databases. Use them with

    from services import placement_service, nova_deployment  # noqa: F401

Helpers: PlacementAdmin / NeutronAdmin speak to a service as an admin
(for setting up state and reading it back); NovaDeployment writes the
rows nova-manage reads (cells, hosts, compute nodes, instances, ...).
"""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time
import uuid as uuidlib

import pytest
import requests

from conftest import ROOT, db_url, server_connection, unique_name

CACHE = os.environ.get("NMTOOL_SERVICES_CACHE",
                       os.path.expanduser("~/.cache/nmtool"))
VENVS = {"placement": "placement-16.0.0", "neutron": "neutron-29.0.0",
         "keystone": "keystone-30.0.0"}
SERVE = os.path.join(ROOT, "tests", "serve_wsgi.py")
START_TIMEOUT = 90  # seconds; neutron imports for ~3 s on an idle machine


# -- virtualenvs --------------------------------------------------------------

def service_venv(name):
    """The service's virtualenv, installed if need be; skips the test when
    PyPI cannot be reached."""
    venv = os.path.join(CACHE, VENVS[name])
    if os.path.exists(os.path.join(venv, ".nmtool-ready")):
        return venv
    result = subprocess.run(
        ["bash", os.path.join(ROOT, "scripts", "services-venv.sh"), name],
        capture_output=True, text=True)
    if result.returncode == 3:
        pytest.skip("PyPI cannot be reached to install %s" % VENVS[name])
    if result.returncode:
        pytest.fail("could not install %s:\n%s%s" % (
            VENVS[name], result.stdout[-3000:], result.stderr[-3000:]))
    return venv


# -- databases outside the per-test fixture ---------------------------------------

def create_database(prefix):
    name = unique_name(prefix)
    with server_connection() as conn:
        conn.cursor().execute(
            "CREATE DATABASE `%s` DEFAULT CHARACTER SET utf8" % name)
    return name


def drop_database(name):
    with server_connection() as conn:
        conn.cursor().execute("DROP DATABASE IF EXISTS `%s`" % name)


# -- running a WSGI service ------------------------------------------------------

class Service:
    """One service process; .url is its root URL."""

    def __init__(self, name, proc, url, workdir, request_log):
        self.name = name
        self.proc = proc
        self.url = url
        self.workdir = workdir
        self.request_log = request_log

    def requests(self):
        """The requests served so far, as logged by serve_wsgi.py."""
        if not os.path.exists(self.request_log):
            return []
        with open(self.request_log) as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def clear_log(self):
        if os.path.exists(self.request_log):
            os.unlink(self.request_log)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_tail(self):
        path = os.path.join(self.workdir, self.name + ".log")
        try:
            with open(path) as handle:
                return handle.read()[-4000:]
        except OSError:
            return ""


def start_wsgi(name, venv, app, workdir, env, tls=None, threads=False):
    """Start `app` from `venv` on a free loopback port; wait (bounded) until
    GET / answers."""
    port_file = os.path.join(workdir, name + ".port")
    request_log = os.path.join(workdir, name + ".requests")
    args = [os.path.join(venv, "bin", "python"), SERVE, "127.0.0.1", "0",
            app, "--port-file", port_file, "--log", request_log]
    if tls:
        args += ["--certfile", tls[0], "--keyfile", tls[1]]
    if threads:
        args.append("--threads")
    full_env = dict(os.environ)
    full_env.update(env)
    log = open(os.path.join(workdir, name + ".log"), "w")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                            env=full_env, cwd=workdir)
    log.close()
    scheme = "https" if tls else "http"
    service = Service(name, proc, None, workdir, request_log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail("%s exited at start:\n%s" % (name, service.log_tail()))
        if os.path.exists(port_file):
            with open(port_file) as handle:
                service.url = "%s://127.0.0.1:%s" % (scheme, handle.read())
            try:
                requests.get(service.url + "/", timeout=5,
                             verify=tls[0] if tls else True)
                service.clear_log()
                return service
            except requests.RequestException:
                pass
        time.sleep(0.1)
    service.stop()
    pytest.fail("%s did not answer within %d s:\n%s"
                % (name, START_TIMEOUT, service.log_tail()))


def _run(args, what, env=None, cwd=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    result = subprocess.run(args, capture_output=True, text=True,
                            env=full_env, cwd=cwd)
    if result.returncode:
        pytest.fail("%s failed:\n%s%s" % (what, result.stdout[-3000:],
                                          result.stderr[-3000:]))
    return result


# -- Placement ----------------------------------------------------------------------

def _placement_conf(workdir, database, keystone=None, policy=None):
    lines = ["[DEFAULT]", "debug = False"]
    if policy:
        pathlib.Path(workdir, "policy.yaml").write_text("".join(
            '"%s": "%s"\n' % item for item in policy.items()))
        lines += ["[oslo_policy]",
                  "policy_file = %s/policy.yaml" % workdir]
    lines.append("[api]")
    if keystone:
        lines += ["auth_strategy = keystone"] + _authtoken_lines(keystone)
    else:
        lines.append("auth_strategy = noauth2")
    # no reconnect retries: a test that drops the database wants the 500
    lines += ["[placement_database]",
              "connection = " + (database if "://" in database
                                 else db_url(database)),
              "max_retries = 0", "db_max_retries = 0"]
    os.makedirs(workdir, exist_ok=True)
    pathlib.Path(workdir, "placement.conf").write_text("\n".join(lines) + "\n")


class PlacementStack:
    """A Placement service plus its database; stop() undoes both."""

    def __init__(self, keystone=None, database=None, tls=None, policy=None):
        """database: a database name, or a whole URL (not synced, not
        dropped: a second Placement on the same data, or a broken one)."""
        self.venv = service_venv("placement")
        self.workdir = tempfile.mkdtemp(prefix="nmt-placement-")
        self.own_database = database is None
        self.database = database or create_database("plc")
        self.service = None
        try:
            _placement_conf(self.workdir, self.database, keystone, policy)
            if self.own_database:
                _run([os.path.join(self.venv, "bin", "placement-manage"),
                      "--config-file",
                      os.path.join(self.workdir, "placement.conf"),
                      "db", "sync"], "placement-manage db sync")
            self.service = start_wsgi(
                "placement", self.venv, "placement.wsgi.api:application",
                self.workdir, {"OS_PLACEMENT_CONFIG_DIR": self.workdir},
                tls=tls, threads=True)
        except BaseException:
            self.stop()
            raise
        self.url = self.service.url
        self.admin = PlacementAdmin(self.url, verify=tls[0] if tls else True)

    def stop(self):
        if self.service:
            self.service.stop()
        if self.own_database:
            drop_database(self.database)
        shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def placement_service(mariadb):
    """A noauth2 Placement shared by a test module (token "admin")."""
    stack = PlacementStack()
    yield stack
    stack.stop()


@pytest.fixture
def placement(placement_service):
    """The module's Placement, emptied for this test (tests of one worker
    run one after the other, so a test sees only its own providers)."""
    placement_service.admin.wipe()
    return placement_service


class PlacementAdmin:
    """Talks to Placement as its admin, at the newest microversion: sets up
    providers, inventories, traits and allocations, and reads them back."""

    def __init__(self, url, token="admin", verify=True):
        self.url = url
        self.http = requests.Session()
        self.http.verify = verify
        self.http.headers.update({
            "X-Auth-Token": token, "Accept": "application/json",
            "OpenStack-API-Version": "placement 1.39"})

    def call(self, method, path, body=None, expect=None):
        resp = self.http.request(method, self.url + path, json=body,
                                 timeout=30)
        if expect is not None and resp.status_code != expect:
            raise AssertionError("%s %s -> %d %s" % (
                method, path, resp.status_code, resp.text))
        return resp.json() if resp.content else None

    def create_provider(self, uuid=None, name=None, parent=None):
        uuid = uuid or str(uuidlib.uuid4())
        body = {"uuid": uuid, "name": name or "rp-" + uuid}
        if parent:
            body["parent_provider_uuid"] = parent
        self.call("POST", "/resource_providers", body, expect=200)
        return uuid

    def set_inventory(self, rp, inventories):
        """inventories: {rc: total} or {rc: {inventory fields}}."""
        gen = self.provider(rp)["generation"]
        invs = {rc: (v if isinstance(v, dict) else {"total": v})
                for rc, v in inventories.items()}
        for rc in invs:
            if not rc.startswith("CUSTOM_"):
                continue
            self.call("PUT", "/resource_classes/" + rc)
        self.call("PUT", "/resource_providers/%s/inventories" % rp,
                  {"inventories": invs, "resource_provider_generation": gen},
                  expect=200)

    def set_traits(self, rp, traits):
        for trait in traits:
            if trait.startswith("CUSTOM_"):
                self.call("PUT", "/traits/" + trait)
        gen = self.provider(rp)["generation"]
        self.call("PUT", "/resource_providers/%s/traits" % rp,
                  {"traits": list(traits),
                   "resource_provider_generation": gen}, expect=200)

    def compute_node(self, rp=None, vcpus=64, memory_mb=131072, disk_gb=2000,
                     pcpus=None):
        rp = self.create_provider(rp)
        inv = {"VCPU": vcpus, "MEMORY_MB": memory_mb, "DISK_GB": disk_gb}
        if pcpus:
            inv["PCPU"] = pcpus
        self.set_inventory(rp, inv)
        return rp

    def provider(self, rp):
        return self.call("GET", "/resource_providers/" + rp, expect=200)

    def aggregates(self, rp):
        return sorted(self.call("GET", "/resource_providers/%s/aggregates"
                                % rp, expect=200)["aggregates"])

    def set_aggregates(self, rp, aggregates):
        gen = self.provider(rp)["generation"]
        self.call("PUT", "/resource_providers/%s/aggregates" % rp,
                  {"aggregates": list(aggregates),
                   "resource_provider_generation": gen}, expect=200)

    def allocations(self, consumer):
        """{rp: {rc: amount}} plus project/user, generations dropped."""
        data = self.call("GET", "/allocations/" + consumer, expect=200)
        return {
            "allocations": {rp: a["resources"]
                            for rp, a in data["allocations"].items()},
            "project_id": data.get("project_id"),
            "user_id": data.get("user_id"),
        }

    def raw_allocations(self, consumer):
        return self.call("GET", "/allocations/" + consumer, expect=200)

    def provider_allocations(self, rp):
        data = self.call("GET", "/resource_providers/%s/allocations" % rp,
                         expect=200)
        return {c: a["resources"] for c, a in data["allocations"].items()}

    def allocate(self, consumer, allocations, project_id="p", user_id="u",
                 version="1.28"):
        """allocations: {rp: {rc: amount}}; at nova's microversion unless
        told (1.38 would want a consumer_type)."""
        body = {"allocations": {rp: {"resources": res}
                                for rp, res in allocations.items()},
                "project_id": project_id, "user_id": user_id,
                "consumer_generation": None}
        headers = {}
        if version:
            headers["OpenStack-API-Version"] = "placement " + version
            if version < "1.28":
                body.pop("consumer_generation")
            if version < "1.12":
                body = {"allocations": [
                    {"resource_provider": {"uuid": rp}, "resources": res}
                    for rp, res in allocations.items()]}
                if version >= "1.8":
                    body.update(project_id=project_id, user_id=user_id)
        resp = self.http.put(self.url + "/allocations/" + consumer,
                             json=body, headers=headers, timeout=30)
        assert resp.status_code == 204, resp.text
        return consumer

    def wipe(self):
        """Remove every allocation and provider, children before parents,
        so the next test of the module starts from an empty Placement."""
        rps = self.call("GET", "/resource_providers",
                        expect=200)["resource_providers"]
        consumers = set()
        for rp in rps:
            consumers.update(self.provider_allocations(rp["uuid"]))
        for consumer in consumers:
            self.call("DELETE", "/allocations/" + consumer)
        remaining = {rp["uuid"]: rp.get("parent_provider_uuid") for rp in rps}
        while remaining:
            parents = set(remaining.values())
            for rp in [r for r in remaining if r not in parents]:
                self.call("DELETE", "/resource_providers/" + rp)
                del remaining[rp]

    def state(self, rps, consumers=()):
        """What a differential test compares: each provider's aggregates
        and allocations, and each consumer's allocations."""
        return {
            "providers": {rp: {"aggregates": self.aggregates(rp),
                               "allocations": self.provider_allocations(rp)}
                          for rp in rps},
            "consumers": {c: self.allocations(c) for c in consumers},
        }


# -- Neutron --------------------------------------------------------------------------

NEUTRON_ML2 = """\
[ml2]
type_drivers = flat,vlan
tenant_network_types =
mechanism_drivers = openvswitch
extension_drivers = port_security,qos
[ml2_type_flat]
flat_networks = *
[ml2_type_vlan]
network_vlan_ranges = physnet1:100:200
"""


class NeutronStack:
    """A Neutron API server and its database. database: share another
    stack's database (not migrated, not dropped here).

    Without keystone, Neutron's noauth context is admin and bypasses the
    policy rules. With a KeystoneStack, tokens are validated there and the
    new policy defaults are enforced for everybody (no admin bypass), so
    `policy` (rule name -> check string, written to a policy file) can
    refuse what nova's service user asks for; the stack's admin helper then
    acts as Keystone's admin user, who also holds the role "port-reset"
    (see RESET_ROLE)."""

    def __init__(self, database=None, keystone=None, policy=None):
        self.venv = service_venv("neutron")
        self.workdir = tempfile.mkdtemp(prefix="nmt-neutron-")
        self.own_database = database is None
        self.database = database or create_database("neu")
        self.service = None
        try:
            os.makedirs(os.path.join(self.workdir, "lock"))
            auth = ["auth_strategy = noauth"]
            policy_lines = ["enforce_new_defaults = False"]
            if keystone:
                auth = ["auth_strategy = keystone"]
                policy_lines = ["enforce_new_defaults = True"]
            if policy:
                pathlib.Path(self.workdir, "policy.yaml").write_text("".join(
                    '"%s": "%s"\n' % item for item in policy.items()))
                policy_lines.append("policy_file = %s/policy.yaml"
                                    % self.workdir)
            conf = "\n".join([
                "[DEFAULT]", "core_plugin = ml2", "service_plugins = qos",
                "transport_url = fake:/",
                "api_paste_config = %s/etc/neutron/api-paste.ini" % self.venv,
                "notify_nova_on_port_status_changes = False",
                "notify_nova_on_port_data_changes = False",
                "host = nmt-neutron"] + auth + [
                "[database]", "connection = " + db_url(self.database),
                "[oslo_concurrency]",
                "lock_path = %s/lock" % self.workdir,
                "[oslo_policy]", "enforce_scope = False"] + policy_lines
                + (_authtoken_lines(keystone) if keystone else [])) + "\n"
            pathlib.Path(self.workdir, "neutron.conf").write_text(conf)
            pathlib.Path(self.workdir, "ml2_conf.ini").write_text(NEUTRON_ML2)
            if self.own_database:
                _run([os.path.join(self.venv, "bin", "neutron-db-manage"),
                      "--config-file",
                      os.path.join(self.workdir, "neutron.conf"),
                      "--config-file",
                      os.path.join(self.workdir, "ml2_conf.ini"),
                      "upgrade", "head"], "neutron-db-manage upgrade head")
            self.service = start_wsgi(
                "neutron", self.venv, "neutron.wsgi.api:application",
                self.workdir, {"OS_NEUTRON_CONFIG_DIR": self.workdir,
                               "OS_NEUTRON_CONFIG_FILES":
                               "neutron.conf;ml2_conf.ini"})
        except BaseException:
            self.stop()
            raise
        self.url = self.service.url
        token = "admin"
        if keystone:
            keystone.grant_admin_role(RESET_ROLE)
            token = keystone.token("admin", keystone.admin_password, "admin")
        self.admin = NeutronAdmin(self.url, token=token)

    def stop(self):
        if self.service:
            self.service.stop()
        if self.own_database:
            drop_database(self.database)
        shutil.rmtree(self.workdir, ignore_errors=True)


# The role that lets the tests' admin reset ports whatever a test's policy
# refuses nova.
RESET_ROLE = "port-reset"


def _authtoken_lines(keystone):
    """keystonemiddleware's section for a service behind the KeystoneStack
    (the placement service user validates the tokens)."""
    return ["[keystone_authtoken]",
            "www_authenticate_uri = %s/v3" % keystone.url,
            "auth_url = %s/v3" % keystone.url,
            "auth_type = password",
            "username = placement",
            "password = %s" % keystone.service_password,
            "project_name = service",
            "user_domain_name = Default",
            "project_domain_name = Default",
            # revoked tokens must fail at once (token tests)
            "token_cache_time = -1"]


@pytest.fixture(scope="module")
def neutron_service(mariadb):
    stack = NeutronStack()
    yield stack
    stack.stop()


class NeutronAdmin:
    """Sets up networks, QoS policies and ports; reads ports back."""

    def __init__(self, url, token="admin"):
        self.url = url + "/v2.0"
        self.http = requests.Session()
        self.http.headers.update({"X-Auth-Token": token,
                                  "Accept": "application/json"})
        self._network = None
        self._policy = None

    def call(self, method, path, body=None, expect=None):
        resp = self.http.request(method, self.url + path, json=body,
                                 timeout=60)
        if expect is not None and resp.status_code != expect:
            raise AssertionError("%s %s -> %d %s" % (
                method, path, resp.status_code, resp.text))
        return resp.json() if resp.content else None

    def bandwidth_network(self):
        """A vlan network on physnet1 and a min-bandwidth QoS policy
        (1000 kbps egress), created once per service."""
        if self._network is None:
            self._network = self.call("POST", "/networks", {"network": {
                "name": "n", "provider:network_type": "vlan",
                "provider:physical_network": "physnet1",
                "project_id": "p"}}, expect=201)["network"]["id"]
            self._policy = self.call("POST", "/qos/policies", {"policy": {
                "name": "minbw", "project_id": "p"}},
                expect=201)["policy"]["id"]
            self.call("POST", "/qos/policies/%s/minimum_bandwidth_rules"
                      % self._policy, {"minimum_bandwidth_rule": {
                          "min_kbps": 1000, "direction": "egress"}},
                      expect=201)
        return self._network, self._policy

    def create_port(self, device_id, qos=True, profile=None, name=None,
                    project="p"):
        network, policy = self.bandwidth_network()
        body = {"network_id": network, "device_id": device_id,
                "device_owner": "compute:nova", "project_id": project}
        if name is not None:
            body["name"] = name
        if qos:
            body["qos_policy_id"] = policy
        if profile is not None:
            body["binding:profile"] = profile
        return self.call("POST", "/ports", {"port": body},
                         expect=201)["port"]

    def port(self, port_id):
        return self.call("GET", "/ports/" + port_id, expect=200)["port"]

    def profile(self, port_id):
        return self.port(port_id).get("binding:profile") or {}

    def delete_port(self, port_id):
        self.call("DELETE", "/ports/" + port_id)


def bandwidth_child_provider(placement, compute_rp, kbps=10000):
    """What the OVS agent reports: a child of the compute node's provider
    with egress bandwidth and the physnet/vnic traits."""
    child = placement.create_provider(parent=compute_rp)
    placement.set_inventory(child, {"NET_BW_EGR_KILOBIT_PER_SEC": kbps})
    placement.set_traits(child, ["CUSTOM_PHYSNET_PHYSNET1",
                                 "CUSTOM_VNIC_TYPE_NORMAL"])
    return child


# -- Keystone --------------------------------------------------------------------------

class KeystoneStack:
    """Keystone with fernet tokens, bootstrapped with an admin, a project
    "service" and the users nova and placement (roles admin and service)."""

    admin_password = "admin-secret"
    service_password = "svc-secret"

    def __init__(self):
        self.venv = service_venv("keystone")
        self.workdir = tempfile.mkdtemp(prefix="nmt-keystone-")
        self.database = create_database("ks")
        self.service = None
        try:
            self._setup()
        except BaseException:
            self.stop()
            raise

    def _setup(self):
        conf = os.path.join(self.workdir, "keystone.conf")
        pathlib.Path(conf).write_text("\n".join([
            "[database]", "connection = " + db_url(self.database),
            "[token]", "provider = fernet",
            "[fernet_tokens]",
            "key_repository = %s/fernet-keys" % self.workdir,
            "[fernet_receipts]",
            "key_repository = %s/fernet-keys" % self.workdir,
            "[credential]",
            "key_repository = %s/credential-keys" % self.workdir]) + "\n")
        manage = [os.path.join(self.venv, "bin", "keystone-manage"),
                  "--config-file", conf]
        _run(manage + ["db_sync"], "keystone-manage db_sync")
        for step in ("fernet_setup", "credential_setup"):
            _run(manage + [step, "--keystone-user", "root",
                           "--keystone-group", "root"], step)
        # The service URL is not known before the start; bootstrap's own
        # endpoints are replaced below.
        _run(manage + ["bootstrap", "--bootstrap-password",
                       self.admin_password,
                       "--bootstrap-region-id", "RegionOne"],
             "keystone-manage bootstrap")
        self.service = start_wsgi(
            "keystone", self.venv, "keystone.wsgi.api:application",
            self.workdir, {"OS_KEYSTONE_CONFIG_DIR": self.workdir,
                           "OS_KEYSTONE_CONFIG_FILES": "keystone.conf"})
        self.url = self.service.url
        self.http = requests.Session()
        self.http.headers["X-Auth-Token"] = self.token(
            "admin", self.admin_password, "admin")
        self.project_id = self.post("/projects", {"project": {
            "name": "service", "domain_id": "default"}})["project"]["id"]
        roles = {r["name"]: r["id"]
                 for r in self.get("/roles")["roles"]}
        for role in ("admin", "service"):
            if role not in roles:
                roles[role] = self.post("/roles", {"role": {
                    "name": role}})["role"]["id"]
        self.users = {}
        for name in ("nova", "placement"):
            user = self.post("/users", {"user": {
                "name": name, "password": self.service_password,
                "domain_id": "default"}})["user"]["id"]
            self.users[name] = user
            for role in ("admin", "service"):
                resp = self.http.put("%s/v3/projects/%s/users/%s/roles/%s" % (
                    self.url, self.project_id, user, roles[role]), timeout=30)
                assert resp.status_code == 204, resp.text
        self.regions = {"RegionOne"}
        self.services = {svc["type"]: svc["id"]
                         for svc in self.get("/services")["services"]}
        # keystonemiddleware (in Placement) finds Keystone in the catalog.
        self.add_endpoints("identity", "keystone", [
            (interface, "RegionOne", self.url + "/v3")
            for interface in ("admin", "internal", "public")])

    def get(self, path):
        resp = self.http.get(self.url + "/v3" + path, timeout=30)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def post(self, path, body):
        resp = self.http.post(self.url + "/v3" + path, json=body, timeout=30)
        assert resp.status_code == 201, resp.text
        return resp.json()

    def token(self, user, password, project, body=False):
        resp = requests.post(self.url + "/v3/auth/tokens", json={"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "password": password,
                "domain": {"id": "default"}}}},
            "scope": {"project": {"name": project,
                                  "domain": {"id": "default"}}}}},
            timeout=30)
        assert resp.status_code == 201, resp.text
        if body:
            return resp.headers["X-Subject-Token"], resp.json()
        return resp.headers["X-Subject-Token"]

    def grant_admin_role(self, role):
        """Give Keystone's admin user (project admin) one more role."""
        roles = {r["name"]: r["id"] for r in self.get("/roles")["roles"]}
        if role not in roles:
            roles[role] = self.post("/roles", {"role": {
                "name": role}})["role"]["id"]
        admin = self.get("/users?name=admin")["users"][0]["id"]
        project = self.get("/projects?name=admin")["projects"][0]["id"]
        resp = self.http.put("%s/v3/projects/%s/users/%s/roles/%s" % (
            self.url, project, admin, roles[role]), timeout=30)
        assert resp.status_code == 204, resp.text

    def revoke(self, token):
        resp = self.http.delete(self.url + "/v3/auth/tokens",
                                headers={"X-Subject-Token": token}, timeout=30)
        assert resp.status_code == 204, resp.text

    def add_endpoints(self, service_type, name, endpoints):
        """endpoints: [(interface, region, url)]."""
        if service_type not in self.services:
            self.services[service_type] = self.post("/services", {"service": {
                "type": service_type, "name": name}})["service"]["id"]
        for interface, region, url in endpoints:
            if region not in self.regions:
                self.post("/regions", {"region": {"id": region}})
                self.regions.add(region)
            self.post("/endpoints", {"endpoint": {
                "service_id": self.services[service_type],
                "interface": interface, "region_id": region, "url": url}})

    def stop(self):
        if self.service:
            self.service.stop()
        drop_database(self.database)
        shutil.rmtree(self.workdir, ignore_errors=True)


def dead_url():
    """A loopback URL nothing listens on (bound, then closed)."""
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return "http://127.0.0.1:%d" % port


@pytest.fixture(scope="module")
def keystone_stack(mariadb):
    """Keystone plus a Placement behind keystonemiddleware (sharing one
    Placement database with nothing else) registered in the catalog:
    placement `internal` in RegionOne is the real service, `public` in
    RegionOne points nowhere, and RegionTwo's endpoints point nowhere."""
    keystone = KeystoneStack()
    placement = None
    try:
        placement = PlacementStack(keystone=keystone)
        # The noauth admin helper cannot talk to a keystone-protected
        # Placement; give it the nova service user's token.
        placement.admin = PlacementAdmin(placement.url, token=keystone.token(
            "nova", keystone.service_password, "service"))
        nowhere = dead_url()
        keystone.add_endpoints("placement", "placement", [
            ("internal", "RegionOne", placement.url),
            ("public", "RegionOne", nowhere),
            ("internal", "RegionTwo", nowhere),
            ("public", "RegionTwo", nowhere)])
        keystone.placement = placement
        keystone.nowhere = nowhere
        yield keystone
    finally:
        if placement:
            placement.stop()
        keystone.stop()


# -- nova's side: the rows nova-manage reads -----------------------------------------

FLAVOR_DEFAULTS = {"id": 1, "name": "m1.small", "memory_mb": 2048,
                   "vcpus": 2, "root_gb": 20, "ephemeral_gb": 0,
                   "flavorid": "2", "swap": 0, "rxtx_factor": 1.0,
                   "vcpu_weight": 0, "disabled": False, "is_public": True,
                   "extra_specs": {}, "description": None}


def flavor_json(**fields):
    """instance_extra.flavor as nova stores it (Flavor 1.2 primitives)."""
    data = dict(FLAVOR_DEFAULTS)
    data.update(fields)
    cur = {"nova_object.name": "Flavor", "nova_object.namespace": "nova",
           "nova_object.version": "1.2", "nova_object.data": data,
           "nova_object.changes": []}
    return json.dumps({"cur": cur, "old": None, "new": None})


class NovaDeployment:
    """An API DB and cell DBs with the rows the placement commands read.

    cells: names of the cells to create besides cell0 (each gets its own
    synced database). Rows are written with plain SQL, as nova would have
    left them.
    """

    def __init__(self, synced, conf_file, cells=("cell1",), extra_conf=""):
        self.api = synced("api")
        self.cell0 = synced("main")
        self.cells = {}
        self._conf_file = conf_file
        self.extra_conf = extra_conf
        self._ids = {}
        with server_connection(self.api) as conn:
            cur = conn.cursor()
            cur.execute(
                "INSERT INTO cell_mappings (created_at, uuid, name, "
                "transport_url, database_connection, disabled) VALUES "
                "(NOW(), %s, 'cell0', 'none:///', %s, 0)",
                ("00000000-0000-0000-0000-000000000000", db_url(self.cell0)))
            for name in cells:
                db = synced("main")
                cell_uuid = str(uuidlib.uuid4())
                cur.execute(
                    "INSERT INTO cell_mappings (created_at, uuid, name, "
                    "transport_url, database_connection, disabled) VALUES "
                    "(NOW(), %s, %s, 'rabbit://guest:guest@127.0.0.1:5672/', "
                    "%s, 0)", (cell_uuid, name, db_url(db)))
                self.cells[name] = (cell_uuid, db, cur.lastrowid)
        self.main = self.cells[cells[0]][1] if cells else self.cell0

    def conf(self, extra=""):
        return self._conf_file(api=self.api, main=self.main,
                               extra=self.extra_conf + extra)

    def cell_uuid(self, cell="cell1"):
        return self.cells[cell][0]

    def _cell_db(self, cell):
        return self.cells[cell][1]

    def execute(self, database, statement, params=()):
        with server_connection(database) as conn:
            cur = conn.cursor()
            cur.execute(statement, params)
            return cur.lastrowid

    def add_host(self, host, cell="cell1", mapped=True):
        if mapped:
            self.execute(self.api,
                         "INSERT INTO host_mappings (created_at, cell_id, "
                         "host) VALUES (NOW(), %s, %s)",
                         (self.cells[cell][2], host))

    def add_compute_node(self, host, rp_uuid, cell="cell1", node=None,
                         deleted=False):
        node = node or host
        row_id = self.execute(
            self._cell_db(cell),
            "INSERT INTO compute_nodes (created_at, uuid, host, "
            "hypervisor_hostname, vcpus, memory_mb, local_gb, vcpus_used, "
            "memory_mb_used, local_gb_used, hypervisor_type, "
            "hypervisor_version, cpu_info, deleted) VALUES (NOW(), %s, %s, "
            "%s, 64, 131072, 2000, 0, 0, 0, 'QEMU', 8000000, '{}', 0)",
            (rp_uuid, host, node))
        if deleted:
            self.execute(self._cell_db(cell),
                         "UPDATE compute_nodes SET deleted = id, "
                         "deleted_at = NOW() WHERE id = %s", (row_id,))
        return rp_uuid

    def add_instance(self, host="host1", node=None, cell="cell1", uuid=None,
                     project_id="proj", user_id="user", task_state=None,
                     image_ref="img", created_at="2024-01-01 00:00:00",
                     flavor=None, vm_state="active", deleted=False,
                     mapped=True, bdms=()):
        """bdms: [(boot_index, destination_type)]."""
        uuid = uuid or str(uuidlib.uuid4())
        db = self._cell_db(cell)
        if node is None and host is not None:
            node = host
        row_id = self.execute(
            db, "INSERT INTO instances (created_at, uuid, host, node, "
            "project_id, user_id, task_state, image_ref, vm_state, "
            "launched_on, deleted) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, "
            "%s, %s, 0)", (created_at, uuid, host, node, project_id, user_id,
                           task_state, image_ref, vm_state, host))
        if deleted:
            self.execute(db, "UPDATE instances SET deleted = id WHERE id = %s",
                         (row_id,))
        self.execute(db, "INSERT INTO instance_extra (created_at, "
                     "instance_uuid, flavor, deleted) VALUES (%s, %s, %s, 0)",
                     (created_at, uuid, flavor or flavor_json()))
        for boot_index, destination in bdms:
            self.execute(db, "INSERT INTO block_device_mapping (created_at, "
                         "instance_uuid, boot_index, destination_type, "
                         "source_type, delete_on_termination, deleted) VALUES "
                         "(NOW(), %s, %s, %s, 'image', 0, 0)",
                         (uuid, boot_index, destination))
        if mapped:
            self.execute(self.api, "INSERT INTO instance_mappings "
                         "(created_at, instance_uuid, cell_id, project_id, "
                         "user_id, queued_for_delete) VALUES (NOW(), %s, %s, "
                         "%s, %s, 0)",
                         (uuid, self.cells[cell][2] if cell in self.cells
                          else None, project_id, user_id))
        return uuid

    def add_migration(self, uuid, source_host, dest_host, status,
                      source_node=None, dest_node=None, cell="cell1",
                      instance_uuid=None):
        if instance_uuid is None:  # the FK wants an instance row
            instance_uuid = self.add_instance(host="elsewhere", cell=cell,
                                              mapped=False)
        self.execute(self._cell_db(cell),
                     "INSERT INTO migrations (created_at, uuid, source_compute,"
                     " dest_compute, source_node, dest_node, status, "
                     "instance_uuid, migration_type, deleted) VALUES (NOW(), "
                     "%s, %s, %s, %s, %s, %s, %s, 'migration', 0)",
                     (uuid, source_host, dest_host, source_node or source_host,
                      dest_node or dest_host, status, instance_uuid))
        return uuid

    def add_aggregate(self, name, hosts, uuid=None):
        uuid = uuid or str(uuidlib.uuid4())
        agg_id = self.execute(self.api, "INSERT INTO aggregates (created_at, "
                              "uuid, name) VALUES (NOW(), %s, %s)",
                              (uuid, name))
        for host in hosts:
            self.execute(self.api, "INSERT INTO aggregate_hosts (created_at, "
                         "host, aggregate_id) VALUES (NOW(), %s, %s)",
                         (host, agg_id))
        return uuid


@pytest.fixture
def nova_deployment(synced, conf_file):
    """make(cells=("cell1",), extra_conf="") -> NovaDeployment."""
    def make(cells=("cell1",), extra_conf=""):
        return NovaDeployment(synced, conf_file, cells=cells,
                              extra_conf=extra_conf)
    return make


def placement_conf_section(url, group="placement", extra=""):
    """The [placement] (or [neutron]) section for a noauth service."""
    lines = ["[%s]" % group, "auth_type = admin_token", "token = admin",
             "endpoint = %s" % url, "endpoint_override = %s" % url]
    if group == "neutron":
        lines.append("http_retries = 0")
    return "\n".join(lines) + "\n" + extra


def copy_deployment(deployment, databases):
    """Identical copies of a deployment's databases (for running
    nova-manage and nmtool on the same data); returns a NovaDeployment-like
    object whose conf points at the copies."""
    from conftest import copy_database
    clone = object.__new__(NovaDeployment)
    clone._conf_file = deployment._conf_file
    clone.extra_conf = deployment.extra_conf
    clone.api = databases.create("api")
    copy_database(deployment.api, clone.api)
    mapping = {}
    clone.cells = {}
    for name, (cell_uuid, db, cell_id) in deployment.cells.items():
        copy = databases.create("main")
        copy_database(db, copy)
        mapping[db] = copy
        clone.cells[name] = (cell_uuid, copy, cell_id)
    clone.cell0 = databases.create("main")
    copy_database(deployment.cell0, clone.cell0)
    mapping[deployment.cell0] = clone.cell0
    clone.main = mapping[deployment.main]
    with server_connection(clone.api) as conn:
        cur = conn.cursor()
        for old, new in mapping.items():
            cur.execute("UPDATE cell_mappings SET database_connection = %s "
                        "WHERE database_connection = %s",
                        (db_url(new), db_url(old)))
    return clone


# -- comparing with nova-manage ---------------------------------------------------

class PlacementSetup:
    """Placement state that can be built again identically (same uuids,
    same order of calls), so nova-manage and nmtool each start from it."""

    def __init__(self):
        self.steps = []
        self.providers = []
        self.consumers = []

    def provider(self, inventory=None, parent=None, traits=(), uuid=None,
                 aggregates=()):
        uuid = uuid or str(uuidlib.uuid4())
        self.providers.append(uuid)
        self.steps.append(("provider", uuid, parent, inventory or {},
                           list(traits), list(aggregates)))
        return uuid

    def compute_node(self, **kwargs):
        inventory = {"VCPU": 64, "MEMORY_MB": 131072, "DISK_GB": 2000}
        inventory.update(kwargs.pop("inventory", {}))
        return self.provider(inventory=inventory, **kwargs)

    def allocate(self, allocations, consumer=None, project_id="proj",
                 user_id="user", version="1.28"):
        consumer = consumer or str(uuidlib.uuid4())
        if consumer not in self.consumers:
            self.consumers.append(consumer)
        self.steps.append(("allocate", consumer, allocations, project_id,
                           user_id, version))
        return consumer

    def build(self, admin):
        admin.wipe()
        for step in self.steps:
            if step[0] == "provider":
                _, uuid, parent, inventory, traits, aggregates = step
                admin.create_provider(uuid, parent=parent)
                if inventory:
                    admin.set_inventory(uuid, inventory)
                if traits:
                    admin.set_traits(uuid, traits)
                if aggregates:
                    admin.set_aggregates(uuid, aggregates)
            else:
                _, consumer, allocations, project, user, version = step
                admin.allocate(consumer, allocations, project_id=project,
                               user_id=user, version=version)

    def state(self, admin, consumers=()):
        return admin.state(self.providers,
                           list(self.consumers) + list(consumers))


class Comparison:
    def __init__(self, ref, got, ref_state, got_state):
        self.ref = ref
        self.got = got
        self.ref_state = ref_state
        self.got_state = got_state


def compare_with_nova(nova_manage, databases, deployment, placement_stack,
                      setup, args, run_url=None, extra_conf="",
                      consumers=(), check=True):
    """Run `nova-manage placement <args>` on a copy of the deployment's
    databases and `nmtool placement <args>` on the originals, each after
    building `setup` afresh in Placement; compare codes, stdout and the
    resulting Placement state."""
    from conftest import run_nmtool
    copy = copy_deployment(deployment, databases)
    extra = placement_conf_section(run_url or placement_stack.url) \
        + extra_conf
    setup.build(placement_stack.admin)
    ref = nova_manage("--config-file", copy.conf(extra), "placement", *args)
    ref_state = setup.state(placement_stack.admin, consumers)
    setup.build(placement_stack.admin)
    got = run_nmtool("--config-file", deployment.conf(extra), "placement",
                     *args)
    got_state = setup.state(placement_stack.admin, consumers)
    result = Comparison(ref, got, ref_state, got_state)
    if check:
        assert got.rc == ref.rc, (got, ref)
        assert normalize_ids(got.out) == normalize_ids(
            nova_stdout(ref.out)), (got.out, ref.out)
        assert got_state == ref_state, (got_state, ref_state)
    return result


_LOG_LINE = None


def nova_stdout(text):
    """nova-manage's stdout without its log lines (oslo.log writes ERROR
    and WARNING records there), including the second line of the report
    client's "... Got <status>: <body>" records."""
    import re
    global _LOG_LINE
    if _LOG_LINE is None:
        _LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \d+ ")
    keep = []
    previous_was_log = False
    for line in text.splitlines(True):
        if _LOG_LINE.match(line) or (previous_was_log and
                                     re.match(r"Got \d+: ", line)):
            previous_was_log = True
            continue
        previous_was_log = False
        keep.append(line)
    return "".join(keep)


def normalize_ids(text):
    """Request ids differ from run to run."""
    import re
    return re.sub(r"req-[0-9a-f-]{36}", "req-X", text)


__all__ = ["placement_service", "placement", "PlacementSetup",
           "compare_with_nova", "nova_stdout", "normalize_ids", "neutron_service", "keystone_stack",
           "nova_deployment", "PlacementAdmin", "NeutronAdmin",
           "NovaDeployment", "bandwidth_child_provider", "flavor_json",
           "placement_conf_section", "copy_deployment", "dead_url"]
