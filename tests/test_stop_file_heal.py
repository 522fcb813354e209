"""placement heal_allocations as a cron-grade run, against the real
Placement: --stop-file and SIGTERM/SIGINT end it before its next page of
instances (exit 1, as --max-count), --progress-interval logs on stderr
in a pipe. Before, a signal was "Interrupted" (exit 130) wherever it
fell, possibly between an instance's port updates and its allocation
write."""
import os
import signal
import time

from conftest import run_nmtool
from services import (  # noqa: F401
    PlacementSetup, nova_deployment, placement, placement_conf_section,
    placement_service)
from test_faults import PROMPT, wait_for
from test_placement_heal_bench import _bulk_instances
from test_stop_file import log_lines, stopped, touch

SKIP = "--skip-port-allocations"
INSTANCES = 150          # three pages of 50


class Cell:
    """One cell of INSTANCES instances on one compute node, none with
    allocations yet."""

    def __init__(self, nova_deployment, placement):
        self.nova = nova_deployment()
        setup = PlacementSetup()
        self.rp = setup.compute_node(inventory={
            "VCPU": 100000, "MEMORY_MB": 10 ** 8, "DISK_GB": 10 ** 6})
        self.nova.add_compute_node("host1", self.rp)
        self.instances = _bulk_instances(self.nova, ["host1"], INSTANCES)
        setup.build(placement.admin)
        self.placement = placement
        self.conf = self.nova.conf(placement_conf_section(placement.url))

    def healed(self):
        """The instances Placement has allocations for."""
        return len(self.placement.admin.provider_allocations(self.rp))

    def argv(self, *args):
        return ["--config-file", self.conf, "placement", "heal_allocations",
                SKIP] + list(args)


class Background:
    """heal_allocations in the background, its output in files."""

    def __init__(self, tmp_path, argv):
        import subprocess
        from conftest import NMTOOL
        self._out = open(tmp_path / "out", "w+")
        self._err = open(tmp_path / "err", "w+")
        self.proc = subprocess.Popen([NMTOOL] + argv, stdout=self._out,
                                     stderr=self._err, text=True)

    def poll(self):
        return self.proc.poll()

    def finish(self, since):
        self.proc.wait(timeout=60)
        seconds = time.monotonic() - since
        texts = []
        for handle in (self._out, self._err):
            handle.seek(0)
            texts.append(handle.read())
            handle.close()
        return (self.proc.returncode,) + tuple(texts) + (seconds,)


def test_heal_stop_file_before_and_during_the_run(placement,
                                                  nova_deployment,
                                                  tmp_path):
    cell = Cell(nova_deployment, placement)
    stop = str(tmp_path / "stop")
    touch(stop)
    first = run_nmtool(*cell.argv("--stop-file", stop))
    assert (first.rc, first.out) == (1, ""), first
    assert first.err == stopped("the stop file %s" % stop,
                                "0 instances looked at, 0 healed")
    assert cell.healed() == 0
    os.unlink(stop)

    run = Background(tmp_path, cell.argv("--stop-file", stop, "--verbose",
                                         "--progress-interval", "0.001"))
    assert wait_for(lambda: cell.healed() > 0, run)
    sent = time.monotonic()
    touch(stop)
    rc, out, err, seconds = run.finish(sent)
    healed = cell.healed()
    assert (rc, seconds < PROMPT) == (1, True), (rc, err)
    # whole pages, some left
    assert 0 < healed < INSTANCES and healed % 50 == 0
    assert out.count("Found 50 candidate instances.") == healed // 50
    assert "Processed" not in out
    assert err.splitlines()[-1] + "\n" == stopped(
        "the stop file %s" % stop,
        "%d instances looked at, %d healed" % (healed, healed))
    progress = log_lines(err)
    assert progress and progress[-1].group("what") == "Checked"
    assert progress[-1].group("unit") == "instances"
    assert progress[-1].group("percent") is not None
    os.unlink(stop)
    rest = run_nmtool(*cell.argv())
    assert rest.rc == 0 and cell.healed() == INSTANCES


def test_heal_sigterm_ends_after_the_page(placement, nova_deployment,
                                          tmp_path):
    """SIGINT takes the same path (see test_stop_file's map_instances
    and online_data_migrations tests)."""
    signum = signal.SIGTERM
    cell = Cell(nova_deployment, placement)
    run = Background(tmp_path, cell.argv())
    assert wait_for(lambda: cell.healed() > 0, run)
    sent = time.monotonic()
    run.proc.send_signal(signum)
    rc, out, err, seconds = run.finish(sent)
    healed = cell.healed()
    assert (rc, out, seconds < PROMPT) == (1, "", True), (rc, err)
    assert 0 < healed < INSTANCES and healed % 50 == 0
    assert err == stopped(signal.Signals(signum).name,
                          "%d instances looked at, %d healed"
                          % (healed, healed))
    rest = run_nmtool(*cell.argv())
    assert rest.rc == 0 and cell.healed() == INSTANCES
