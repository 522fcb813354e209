"""placement heal_allocations as a cron-grade run, against the real
Placement: --stop-file and SIGTERM/SIGINT end it before its next page of
instances (exit 1, as --max-count), --progress-interval logs on stderr
in a pipe. Before, a signal was "Interrupted" (exit 130) wherever it
fell, possibly between an instance's port updates and its allocation
write.

The file or signal comes while Placement answers the run's first write
(tests/placement_proxy.py holds the answer back until it is sent), so
the run is known to be inside its first page: it must end after that
page, exactly."""
import os
import signal
import time

from conftest import run_nmtool
from services import (  # noqa: F401
    PlacementSetup, nova_deployment, placement, placement_conf_section,
    placement_service)
from placement_proxy import PlacementProxy
from test_faults import PROMPT
from test_placement_heal_bench import _bulk_instances
from test_stop_file import log_lines, stopped, touch

SKIP = "--skip-port-allocations"
INSTANCES = 120          # three pages of 50 (the last one short)
PAGE = 50


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
        self.proxy = None

    def through_proxy(self, on_first_write):
        """Runs go through a proxy that calls on_first_write() when
        Placement has answered the run's first allocation write, before
        the run gets the answer."""
        written = []

        def after(method, path):
            if method in ("POST", "PUT") and \
                    path.startswith("/allocations") and not written:
                written.append(path)
                on_first_write()
        self.proxy = PlacementProxy(self.placement.url, after)
        self.conf = self.nova.conf(placement_conf_section(self.proxy.url))

    def close(self):
        """Back to Placement itself."""
        if self.proxy is not None:
            self.proxy.stop()
            self.proxy = None
        self.conf = self.nova.conf(placement_conf_section(
            self.placement.url))

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

    cell.through_proxy(lambda: touch(stop))
    sent = time.monotonic()
    run = Background(tmp_path, cell.argv("--stop-file", stop, "--verbose",
                                         "--progress-interval", "0.001"))
    rc, out, err, seconds = run.finish(sent)
    cell.close()
    healed = cell.healed()
    assert (rc, seconds < PROMPT) == (1, True), (rc, err)
    # the first page, whole, and nothing of the next
    assert healed == PAGE
    assert out.count("Found 50 candidate instances.") == 1
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
    runs = []
    cell.through_proxy(lambda: runs[0].proc.send_signal(signum))
    sent = time.monotonic()
    runs.append(Background(tmp_path, cell.argv()))
    rc, out, err, seconds = runs[0].finish(sent)
    cell.close()
    healed = cell.healed()
    assert (rc, out, seconds < PROMPT) == (1, "", True), (rc, err)
    assert healed == PAGE
    assert err == stopped(signal.Signals(signum).name,
                          "%d instances looked at, %d healed"
                          % (healed, healed))
    rest = run_nmtool(*cell.argv())
    assert rest.rc == 0 and cell.healed() == INSTANCES
