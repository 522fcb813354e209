"""placement audit --delete reads a candidate orphan's node again right
before removing it: an instance or migration that appeared on the node
after its page was read keeps its allocations. The engine runs here on
fakes, so the race can be placed exactly between the page read and the
delete."""
from nmtool.placement import audit

RP = "11111111-1111-1111-1111-111111111111"
RACED = "22222222-2222-2222-2222-222222222222"
ORPHAN = "33333333-3333-3333-3333-333333333333"


class Response:
    def __init__(self, status_code, body=None):
        self.status_code = status_code
        self.body = body
        self.text = ""

    def json(self):
        return self.body


class FakePlacement:
    def __init__(self):
        self.deleted = []

    def resource_providers(self, uuid=None):
        return Response(200, {"resource_providers": [
            {"uuid": RP, "root_provider_uuid": RP}]})

    def provider_allocations(self, rp_uuid):
        return Response(200, {"allocations": {
            RACED: {"resources": {"VCPU": 1}},
            ORPHAN: {"resources": {"VCPU": 2}}}})

    def consumer_allocations(self, consumer):
        return Response(200, {"allocations": {RP: {"resources": {}}}})

    def delete_allocations(self, consumer):
        self.deleted.append(consumer)
        return Response(204)


class FakeCell:
    """The page's queries see no instance; the instance created on the
    node since then shows in the per-node read before the delete."""

    def query(self, statement, params):
        name = getattr(statement, "name", None) or str(statement)
        if "compute_nodes_by_uuids" in name:
            return [(RP, "host1", "node1")]
        if name.endswith("placement.instances_on_node"):
            return [(RACED,)]
        return []


def test_delete_skips_a_consumer_that_gained_an_instance():
    placement = FakePlacement()
    result = audit.Result()
    said, out = [], []
    code = audit.run(placement, [("cell", FakeCell())], None, True, result,
                     said.append, out.append)
    assert placement.deleted == [ORPHAN]
    assert [o.consumer_uuid for o in result.orphans] == [ORPHAN]
    assert code == 4
    assert not any(RACED in line for line in out)
