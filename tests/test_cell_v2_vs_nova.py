"""cell_v2, run by nova-manage 34.0.0 and by nmtool on identical
deployments, step by step: same exit code, same output, same rows in
cell_mappings, host_mappings, instance_mappings and compute_nodes."""
import pytest

from cellworld import World, uid
from conftest import run_nmtool

pytestmark = pytest.mark.nova

HOURS = ["2026-01-01 00:%02d:00" % n for n in range(60)]


def standard_cells():
    return {
        "cell1": {"name": "cell1", "uuid": uid(1), "password": "s3cret",
                  "nodes": [("cmp1", 0, 0), ("cmp1", 0, 0), ("cmp2", 0, 0),
                            ("gone", 1, 0), ("old", 0, 1)],
                  "services": [("cmp1", "nova-compute", 0),
                               ("cmp2", "nova-compute", 0),
                               ("cmp3", "nova-compute", 0),
                               ("ctl", "nova-scheduler", 0),
                               ("dead", "nova-compute", 1)],
                  "instances": [(uid(100 + n), n % 4 == 3,
                                 "cmp%d" % (n % 2 + 1), HOURS[n % 7])
                                for n in range(23)]},
        "cell2": {"name": "Zürich ‘quoted’; DROP TABLE x", "uuid": uid(2),
                  "transport_url": "rabbit://a:b@h1:5672,c:d@h2:5672/vh",
                  "nodes": [("zh1", 0, 0), ("ZH1", 0, 0), ("zh2", 0, 0)],
                  "instances": [(uid(200 + n), n == 0, "zh1", HOURS[n])
                                for n in range(3)]},
        "cell3": {"uuid": uid(3), "disabled": 1,
                  "nodes": [], "instances": []},
    }


@pytest.fixture
def both(databases, synced, nova_manage, tmp_path):
    """both(cells, ...) -> a runner of command steps on two twins."""
    def make(cells, conf=None, **kwargs):
        return Twins(nova_manage, tmp_path, conf or {},
                     *(World(databases, synced, cells, **kwargs)
                       for _ in range(2)))
    return make


class Twins:
    def __init__(self, nova_manage, tmp_path, conf, nova_world, nm_world):
        self.nova_manage = nova_manage
        self.worlds = {"nova": nova_world, "nmtool": nm_world}
        self.confs = {side: world.conf(tmp_path, **conf)
                      for side, world in self.worlds.items()}

    def run(self, *args, check_state=True):
        nova = self.nova_manage("--config-file", self.confs["nova"], *args)
        ours = run_nmtool("--config-file", self.confs["nmtool"], *args)
        assert ours.rc == nova.rc, (args, ours, nova)
        if nova.rc != 255:  # nova prints a traceback there, nmtool a line
            assert (self.worlds["nmtool"].normalize(ours.out)
                    == self.worlds["nova"].normalize(nova.out)), (args, ours)
        if check_state:
            self.same_state(args)
        return ours

    def same_state(self, args=()):
        assert (self.worlds["nmtool"].state()
                == self.worlds["nova"].state()), args


def test_list_create_update(both):
    twins = both(standard_cells())
    twins.run("cell_v2", "list_cells")
    twins.run("cell_v2", "list_cells", "--verbose")
    twins.run("cell_v2", "create_cell", "--name", "new", "--transport-url",
              "rabbit://x:y@mq9:5672/", "--database_connection",
              "mysql+pymysql://root:pw@127.0.0.1/newcell", "--disabled")
    twins.run("cell_v2", "create_cell", "--name", "dup", "--transport-url",
              "rabbit://x:y@mq9:5672/", "--database_connection",
              "mysql+pymysql://root@127.0.0.1/other")
    for url in ("nothing-here", "rabbit://h:notaport/", "rabbit://[::1/",
                "rabbit://u:p@h1:1,h2:x/"):
        twins.run("cell_v2", "create_cell", "--transport-url", url,
                  "--database_connection", "mysql://x@y/z")
    twins.run("cell_v2", "update_cell", "--cell_uuid", uid(3), "--name",
              "renamed", "--transport-url", "rabbit://r:s@mq3:5672/",
              "--database_connection", "mysql+pymysql://root@h/c3")
    twins.run("cell_v2", "update_cell", "--cell_uuid", uid(3), "--enable")
    twins.run("cell_v2", "update_cell", "--cell_uuid", uid(3), "--enable")
    twins.run("cell_v2", "update_cell", "--cell_uuid", uid(3), "--disable")
    twins.run("cell_v2", "update_cell", "--cell_uuid", uid(3), "--disable",
              "--enable", "--transport-url", "rabbit://t:u@mq4:5672/")
    twins.run("cell_v2", "update_cell", "--cell_uuid",
              "00000000-0000-0000-0000-000000000000", "--disable",
              "--transport-url", "rabbit://t:u@mq5:5672/",
              "--database_connection", "mysql://x@y/cell0x")
    twins.run("cell_v2", "update_cell", "--cell_uuid", uid(3),
              "--transport-url", "rabbit://x:y@mq9:5672/")
    twins.run("cell_v2", "update_cell", "--cell_uuid", uid(9), "--name", "x")
    twins.run("cell_v2", "update_cell", "--cell_uuid", "not-a-uuid")
    twins.run("cell_v2", "list_cells", "--verbose")


def test_urls_from_the_configuration(both):
    twins = both(standard_cells())
    # No URLs on the command line: both come from nova.conf, and the
    # database one clashes with cell1's.
    twins.run("cell_v2", "create_cell", "--name", "fromconf")
    twins.run("cell_v2", "update_cell", "--cell_uuid", uid(2), "--name", "n")
    twins.run("cell_v2", "update_cell", "--cell_uuid", uid(1), "--name", "n")


def test_without_transport_url_in_the_configuration(both):
    twins = both(standard_cells(), conf={"transport": False, "main": None})
    twins.run("cell_v2", "create_cell", "--name", "a")
    twins.run("cell_v2", "create_cell", "--name", "b", "--transport-url",
              "rabbit://q:w@mq:5672/")
    twins.run("cell_v2", "map_cell_and_hosts")


def test_discover_hosts(both):
    twins = both(standard_cells(), host_mappings=[("cmp2", "cell1")])
    twins.run("cell_v2", "discover_hosts", "--cell_uuid", uid(2),
              "--verbose", "--strict")
    twins.run("cell_v2", "discover_hosts", "--verbose")
    twins.run("cell_v2", "discover_hosts", "--verbose", "--strict")
    twins.run("cell_v2", "discover_hosts", "--by-service", "--verbose")
    twins.run("cell_v2", "list_hosts")
    twins.run("cell_v2", "list_hosts", "--cell_uuid", uid(1))
    twins.run("cell_v2", "list_hosts", "--cell_uuid", uid(8))
    twins.run("cell_v2", "discover_hosts", "--cell_uuid", uid(8))


def test_delete_host_and_cell(both):
    cells = standard_cells()
    cells["cell4"] = {"name": "empty", "uuid": uid(4),
                      "instances": [(uid(400), True, "e1", HOURS[0])],
                      "nodes": [("e1", 0, 1)]}
    twins = both(cells, host_mappings=[("cmp1", "cell1"), ("cmp2", "cell1"),
                                       ("e1", "cell4"), ("lonely", "cell3")],
                 instance_mappings=[(uid(100), "cell1"), (uid(400), "cell4"),
                                    (uid(999), None)])
    twins.run("cell_v2", "delete_host", "--cell_uuid", uid(8), "--host", "x")
    twins.run("cell_v2", "delete_host", "--cell_uuid", uid(1), "--host", "x")
    twins.run("cell_v2", "delete_host", "--cell_uuid", uid(2), "--host",
              "cmp1")
    twins.run("cell_v2", "delete_host", "--cell_uuid", uid(1), "--host",
              "cmp1")
    twins.run("cell_v2", "delete_host", "--cell_uuid", uid(3), "--host",
              "lonely")
    twins.run("cell_v2", "delete_cell", "--cell_uuid", uid(8))
    twins.run("cell_v2", "delete_cell", "--cell_uuid", uid(1))
    twins.run("cell_v2", "delete_cell", "--cell_uuid", uid(1), "--force")
    twins.run("cell_v2", "delete_cell", "--cell_uuid", uid(4))
    twins.run("cell_v2", "delete_cell", "--cell_uuid", uid(4), "--force")
    twins.run("cell_v2", "delete_cell", "--cell_uuid", uid(2))
    twins.run("cell_v2", "delete_cell", "--cell_uuid", uid(3))
    twins.run("cell_v2", "list_cells")


def test_map_instances_and_verify(both):
    twins = both(standard_cells(),
                 instance_mappings=[(uid(105), "cell1"), (uid(999), None)])
    twins.run("cell_v2", "map_instances", "--cell_uuid", uid(1),
              "--max-count", "0")
    twins.run("cell_v2", "map_instances", "--cell_uuid", uid(1),
              "--max-count", "x")
    twins.run("cell_v2", "map_instances", "--cell_uuid", uid(8))
    for _ in range(3):
        twins.run("cell_v2", "map_instances", "--cell_uuid", uid(1),
                  "--max-count", "5")
    twins.run("cell_v2", "map_instances", "--cell_uuid", uid(1),
              "--max-count", "4", "--reset")
    twins.run("cell_v2", "map_instances", "--cell_uuid", uid(1),
              "--max-count", "11")
    twins.run("cell_v2", "map_instances", "--cell_uuid", uid(1),
              "--max-count", "7")
    twins.run("cell_v2", "map_instances", "--cell_uuid", uid(2))
    for instance in (uid(100), uid(103), uid(888), uid(999), "bogus"):
        twins.run("cell_v2", "verify_instance", "--uuid", instance)
    twins.run("cell_v2", "verify_instance", "--uuid", uid(103), "--quiet")


def test_hidden_instances_as_nova_lists_them(both):
    """The copy of an instance a cross-cell resize keeps in the other cell
    (hidden = 1) is not mapped by map_instances, whose instance listing
    leaves hidden instances out (NULL counts as not hidden); delete_cell's
    check lists every instance, hidden ones included."""
    cells = {
        "cell1": {"name": "cell1", "uuid": uid(1), "nodes": [],
                  "instances": [(uid(100 + n), False, "c1", HOURS[n],
                                 [0, 1, None][n % 3]) for n in range(9)]},
        "cell2": {"name": "cell2", "uuid": uid(2), "nodes": [],
                  "instances": [(uid(200), False, "c2", HOURS[0], 1)]},
    }
    twins = both(cells, instance_mappings=[(uid(200), "cell2")])
    twins.run("cell_v2", "map_instances", "--cell_uuid", uid(1),
              "--max-count", "2")
    twins.run("cell_v2", "map_instances", "--cell_uuid", uid(1))
    twins.run("cell_v2", "map_instances", "--cell_uuid", uid(2))
    twins.run("cell_v2", "verify_instance", "--uuid", uid(101))
    twins.run("cell_v2", "delete_cell", "--cell_uuid", uid(2))
    twins.run("cell_v2", "delete_cell", "--cell_uuid", uid(2), "--force")


def test_runs_continue_each_other(both, nova_manage):
    """A map_instances run of nmtool continues where nova-manage's
    stopped and the other way round, on one deployment."""
    twins = both(standard_cells())
    nova_world = twins.worlds["nova"]
    conf = twins.confs["nova"]
    steps = [nova_manage, run_nmtool, nova_manage, run_nmtool, run_nmtool]
    codes = []
    for step in steps:
        codes.append(step("--config-file", conf, "cell_v2", "map_instances",
                          "--cell_uuid", uid(1), "--max-count", "6").rc)
    # The fourth run maps the last 5 and drops the marker, so the fifth
    # starts again from the oldest instance (all mapped already).
    assert codes == [1, 1, 1, 0, 1]
    mapped = [row for row in nova_world.state()["instance_mappings"]
              if "MARKER" not in row]
    assert len(mapped) == 23 and all(uid(1) in row for row in mapped)


def test_setup_commands(both):
    cells = standard_cells()
    cells["cell1"]["mapped"] = False
    twins = both(cells, cell0=False, host_mappings=[("zh2", "cell2")])
    twins.run("cell_v2", "map_cell_and_hosts", "--name", "local",
              "--verbose")
    twins.run("cell_v2", "map_cell_and_hosts", "--verbose")
    twins.run("cell_v2", "map_cell0")
    twins.run("cell_v2", "map_cell0")
    twins.run("cell_v2", "list_cells", "--verbose")


def test_simple_cell_setup(both):
    cells = {"cell1": dict(standard_cells()["cell1"], mapped=False)}
    twins = both(cells, cell0=False)
    twins.run("cell_v2", "simple_cell_setup", "--transport-url",
              "rabbit://a:b@mq:5672/")
    twins.run("cell_v2", "simple_cell_setup")
    twins.run("cell_v2", "list_cells")
