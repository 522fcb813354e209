"""placement sync_aggregates against a real Placement, and against
nova-manage 34.0.0 on identical data."""
import uuid

import pytest

from conftest import run_nmtool
from services import (  # noqa: F401
    PlacementStack, copy_deployment, dead_url, drop_database, normalize_ids,
    nova_deployment, nova_stdout, placement, placement_conf_section,
    placement_service)

HOST_RPS = {}


def _uuid():
    return str(uuid.uuid4())


def _run(conf, *args):
    return run_nmtool("--config-file", conf, "placement", "sync_aggregates",
                      *args)


class Scenario:
    """A deployment plus Placement state that can be rebuilt identically
    (same uuids), so nova-manage and nmtool each get a fresh copy."""

    def __init__(self, nova, placement_stack, run_url=None):
        self.nova = nova
        self.placement = placement_stack
        self.run_url = run_url or placement_stack.url
        self.providers = {}          # host -> rp uuid (in Placement)
        self.preset = {}             # rp -> aggregates already there

    def provider(self, host, aggregates=()):
        rp = _uuid()
        self.providers[host] = rp
        self.preset[rp] = list(aggregates)
        return rp

    def build_placement(self):
        for rp, aggregates in self.preset.items():
            self.placement.admin.create_provider(rp)
            if aggregates:
                self.placement.admin.set_aggregates(rp, aggregates)

    def state(self):
        return {rp: self.placement.admin.aggregates(rp)
                for rp in self.preset}


def _compare(nova_manage, databases, scenario, *args, expect_rc=None):
    """Run nova-manage on a copy, then nmtool on the original, each on a
    freshly built Placement; return both results and states."""
    copy = copy_deployment(scenario.nova, databases)
    extra = placement_conf_section(scenario.run_url)
    scenario.placement.admin.wipe()
    scenario.build_placement()
    ref = nova_manage("--config-file", copy.conf(extra), "placement",
                      "sync_aggregates", *args)
    ref_state = scenario.state()
    scenario.placement.admin.wipe()
    scenario.build_placement()
    got = _run(scenario.nova.conf(extra), *args)
    got_state = scenario.state()
    assert got.rc == ref.rc, (got, ref)
    if expect_rc is not None:
        assert got.rc == expect_rc, got
    assert normalize_ids(got.out) == normalize_ids(nova_stdout(ref.out))
    assert got_state == ref_state
    return got, got_state


@pytest.mark.nova
def test_mirrors_aggregates_like_nova(placement, nova_deployment, nova_manage,
                                      databases):
    nova = nova_deployment()
    sc = Scenario(nova, placement)
    agg_a, agg_b, agg_empty, other = _uuid(), _uuid(), _uuid(), _uuid()
    for host in ("host1", "host2", "host3"):
        nova.add_host(host)
        nova.add_compute_node(host, sc.provider(
            host, aggregates=[other, agg_a] if host == "host2" else []))
    nova.add_aggregate("agg-a", ["host1", "host2"], uuid=agg_a)
    nova.add_aggregate("agg-empty", [], uuid=agg_empty)
    nova.add_aggregate("agg-b", ["host3", "host1"], uuid=agg_b)

    got, state = _compare(nova_manage, databases, sc, "--verbose",
                          expect_rc=0)
    assert state == {
        sc.providers["host1"]: sorted([agg_a, agg_b]),
        sc.providers["host2"]: sorted([other, agg_a]),  # nothing removed
        sc.providers["host3"]: [agg_b]}
    assert got.out.splitlines()[:4] == [
        "Filling in missing placement aggregates",
        "Processing aggregate: agg-a", "Processing host: host1",
        "Successfully added host (host1) and provider (%s) to aggregate "
        "(%s)." % (sc.providers["host1"], agg_a)]
    # (the order is the server's, for nova's unordered query: the same)
    assert "Processing aggregate: agg-empty\n" in got.out

    # quiet, and a second run changes nothing
    again = _run(nova.conf(placement_conf_section(placement.url)))
    assert (again.rc, again.out, again.err) == (0, "", "")
    assert sc.state() == state


@pytest.mark.nova
def test_unmapped_hosts_and_missing_compute_nodes_like_nova(
        placement, nova_deployment, nova_manage, databases):
    nova = nova_deployment()
    sc = Scenario(nova, placement)
    agg = _uuid()
    nova.add_host("good")
    nova.add_compute_node("good", sc.provider("good"))
    nova.add_host("gone")  # mapped, but its compute node was deleted
    nova.add_compute_node("gone", _uuid(), deleted=True)
    nova.add_aggregate("agg", ["unmapped", "gone", "good"], uuid=agg)

    got, state = _compare(nova_manage, databases, sc, expect_rc=5)
    # both problems are reported after the loop; the good host was done
    assert got.out.splitlines() == [
        'The following hosts were found in nova host aggregates but no host '
        'mappings were found in the nova API DB. Run "nova-manage cell_v2 '
        'discover_hosts" and then retry. Missing: unmapped',
        'Unable to find matching compute_nodes record entries in the cell '
        'database for the following hosts; does the nova-compute service on '
        'each host need to be restarted? Missing: gone']
    assert state == {sc.providers["good"]: [agg]}


@pytest.mark.nova
def test_unmapped_host_only_is_4_and_two_nodes_is_1_like_nova(
        placement, nova_deployment, nova_manage, databases):
    nova = nova_deployment()
    sc = Scenario(nova, placement)
    nova.add_aggregate("agg", ["nowhere"])
    got, _ = _compare(nova_manage, databases, sc, expect_rc=4)
    assert got.out.endswith("Missing: nowhere\n")

    nova = nova_deployment()
    sc = Scenario(nova, placement)
    nova.add_host("ironic")
    nova.add_compute_node("ironic", sc.provider("ironic"), node="n1")
    nova.add_compute_node("ironic", _uuid(), node="n2")
    later = sc.provider("later")
    nova.add_host("later")
    nova.add_compute_node("later", later)
    nova.add_aggregate("agg", ["ironic", "later"])
    got, state = _compare(nova_manage, databases, sc, expect_rc=1)
    assert got.out == ("Unexpected number of compute node records (2) found "
                       "for host ironic. There should only be a one-to-one "
                       "mapping.\n")
    assert state[later] == []  # stopped at once


def test_provider_missing_in_placement_is_6_after_the_loop(
        placement, nova_deployment):
    """nova-manage 34.0.0 exits 2 at the first such host (its code 6 is
    unreachable); nmtool reports them all after the loop with 6."""
    nova = nova_deployment()
    agg = _uuid()
    ghost1, ghost2 = _uuid(), _uuid()
    nova.add_host("ghost1")
    nova.add_compute_node("ghost1", ghost1)
    nova.add_host("ghost2")
    nova.add_compute_node("ghost2", ghost2)
    real = placement.admin.create_provider()
    nova.add_host("real")
    nova.add_compute_node("real", real)
    nova.add_aggregate("agg", ["ghost2", "ghost1", "real"], uuid=agg)
    result = _run(nova.conf(placement_conf_section(placement.url)))
    assert result.rc == 6
    assert result.out == (
        "Unable to find matching resource provider record in placement with "
        "uuid for the following hosts: (ghost1=%s),(ghost2=%s). Try "
        "restarting the nova-compute service on each host and then retry.\n"
        % (ghost1, ghost2))
    assert placement.admin.aggregates(real) == [agg]


@pytest.mark.nova
def test_placement_refusing_reads_and_writes_like_nova(
        placement, nova_deployment, nova_manage, databases):
    """A second Placement on the same data whose policy refuses the
    aggregate calls: a refused read is exit 2, a refused write exit 3."""
    for rule, code in (("placement:resource_providers:aggregates:list", 2),
                       ("placement:resource_providers:aggregates:update", 3)):
        strict = PlacementStack(database=placement.database,
                                policy={rule: "!"})
        try:
            nova = nova_deployment()
            sc = Scenario(nova, placement, run_url=strict.url)
            nova.add_host("h")
            nova.add_compute_node("h", sc.provider("h"))
            agg = nova.add_aggregate("agg", ["h"])
            got, state = _compare(nova_manage, databases, sc, expect_rc=code)
        finally:
            strict.stop()
        rp = sc.providers["h"]
        if code == 2:
            assert got.out == ("Failed to get aggregates for resource "
                               "provider with UUID %s\n" % rp)
        else:
            assert got.out.startswith(
                "Failed updating provider aggregates for host (h), provider "
                "(%s) and aggregate (%s). Error: Failed to update resource "
                "provider via URL /resource_providers/%s/aggregates: "
                % (rp, agg, rp))
            assert '"status": 403' in got.out
        assert state == {rp: []}


def test_placement_down_or_broken(placement, nova_deployment):
    nova = nova_deployment()
    rp = placement.admin.create_provider()
    nova.add_host("h")
    nova.add_compute_node("h", rp)
    nova.add_aggregate("agg", ["h"])

    nowhere = dead_url()
    down = _run(nova.conf(placement_conf_section(nowhere)))
    assert down.rc == 255
    assert down.out == ""
    assert down.err == "ERROR: Placement API at %s/: connection refused\n" \
        % nowhere

    # a Placement whose database is gone answers 500: exit 2 at the read
    broken = PlacementStack()
    drop_database(broken.database)
    try:
        result = _run(nova.conf(placement_conf_section(broken.url)))
    finally:
        broken.stop()
    assert result.rc == 2
    assert result.out == ("Failed to get aggregates for resource provider "
                          "with UUID %s\n" % rp)
    assert placement.admin.aggregates(rp) == []


def test_no_auth_type_is_an_error(placement, nova_deployment):
    nova = nova_deployment()
    conf = nova.conf("[placement]\nendpoint_override = %s\n" % placement.url)
    result = _run(conf)
    assert result.rc == 255
    assert result.err == ("ERROR: Placement API at [placement]: no "
                          "authentication information found: auth_type is "
                          "not set\n")


class ConflictingPlacement:
    """A pass-through in front of the real Placement that, right after
    handing out a provider's aggregates (the read before the write),
    updates that provider itself through the real API while it has
    conflicts left: the generation just read is stale, and Placement's own
    answer to the write that follows is a 409."""

    def __init__(self, placement_stack):
        import http.server
        import threading
        import requests
        self.target = placement_stack.url
        self.admin = placement_stack.admin
        self.conflicts = 0
        self.writes = 0
        self.member_reads = 0
        upstream = requests.Session()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length",
                                                "connection")}
                resp = upstream.request(self.command,
                                        proxy.target + self.path,
                                        data=body, headers=headers,
                                        timeout=30)
                proxy.observe(self.command, self.path)
                self.send_response(resp.status_code)
                for key, value in resp.headers.items():
                    if key.lower() not in ("content-length", "connection",
                                           "transfer-encoding",
                                           "content-encoding", "date",
                                           "server"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(resp.content)))
                self.end_headers()
                self.wfile.write(resp.content)

            do_GET = do_PUT = do_POST = do_DELETE = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def observe(self, method, path):
        path = path.split("?")[0]
        if method == "GET" and path == "/resource_providers":
            self.member_reads += 1
        if not path.endswith("/aggregates"):
            return
        if method == "PUT":
            self.writes += 1
        elif self.conflicts > 0:
            self.conflicts -= 1
            rp = path.split("/")[2]
            # the same aggregates again: only the generation moves on
            self.admin.set_aggregates(rp, self.admin.aggregates(rp))

    def reset(self, conflicts):
        self.conflicts = conflicts
        self.writes = 0
        self.member_reads = 0

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.nova
@pytest.mark.parametrize("conflicts,code", [(3, 0), (4, 3)])
def test_generation_conflicts_retried_like_nova(
        conflicts, code, placement, nova_deployment, nova_manage, databases):
    """Placement answers 409 to the first `conflicts` writes: nova-manage
    makes four attempts in all, so three conflicts still end with the
    aggregate added (exit 0) and four are exit 3 with the conflict."""
    proxy = ConflictingPlacement(placement)
    try:
        nova = nova_deployment()
        sc = Scenario(nova, placement, run_url=proxy.url)
        other = _uuid()
        nova.add_host("busy")
        nova.add_compute_node("busy", sc.provider(
            "busy", aggregates=[other]))
        agg = nova.add_aggregate("agg", ["busy"])
        extra = placement_conf_section(proxy.url)
        runs = {}
        for who in ("nova", "nmtool"):
            placement.admin.wipe()
            sc.build_placement()
            proxy.reset(conflicts)
            if who == "nova":
                copy = copy_deployment(nova, databases)
                result = nova_manage("--config-file", copy.conf(extra),
                                     "placement", "sync_aggregates",
                                     "--verbose")
                out = nova_stdout(result.out)
            else:
                result = _run(nova.conf(extra), "--verbose")
                out = result.out
            runs[who] = (result.rc, normalize_ids(out), proxy.writes,
                         sc.state())
    finally:
        proxy.stop()
    assert runs["nmtool"] == runs["nova"]
    rc, out, writes, state = runs["nmtool"]
    rp = sc.providers["busy"]
    assert rc == code
    assert writes == 4 if code else conflicts + 1
    if code:
        assert state == {rp: [other]}
        assert out.splitlines()[-1].startswith(
            "Failed updating provider aggregates for host (busy), provider "
            "(%s) and aggregate (%s). Error: A conflict was encountered "
            "attempting to update resource provider %s (generation "
            % (rp, agg, rp))
    else:
        assert state == {rp: sorted([other, agg])}
        assert out.splitlines()[-1] == (
            "Successfully added host (busy) and provider (%s) to aggregate "
            "(%s)." % (rp, agg))


def test_pairs_already_present_cost_one_request_per_aggregate(
        placement, nova_deployment):
    """Hosts already in their aggregate in Placement are found with one
    member_of request for the aggregate; none of them is read or written
    on its own."""
    proxy = ConflictingPlacement(placement)
    try:
        nova = nova_deployment()
        agg = _uuid()
        hosts = ["h%d" % i for i in range(5)]
        rps = {}
        for host in hosts:
            rps[host] = placement.admin.create_provider()
            placement.admin.set_aggregates(rps[host], [agg])
            nova.add_host(host)
            nova.add_compute_node(host, rps[host])
        fresh = placement.admin.create_provider()
        nova.add_host("fresh")
        nova.add_compute_node("fresh", fresh)
        nova.add_aggregate("agg", hosts + ["fresh"], uuid=agg)
        reads = []
        original = proxy.observe

        def observe(method, path):
            reads.append((method, path.split("?")[0]))
            original(method, path)
        proxy.observe = observe
        result = _run(nova.conf(placement_conf_section(proxy.url)),
                      "--verbose")
    finally:
        proxy.stop()
    assert result.rc == 0, result
    assert result.out.count("Successfully added host") == 6
    assert proxy.member_reads == 1
    per_provider = [r for r in reads if r[1].endswith("/aggregates")]
    assert per_provider == [
        ("GET", "/resource_providers/%s/aggregates" % fresh),
        ("PUT", "/resource_providers/%s/aggregates" % fresh)]
    assert placement.admin.aggregates(fresh) == [agg]
