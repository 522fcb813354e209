"""What a long run does between two batches: show how far it is, and
see whether it was asked to stop.

Scripts and cron jobs read stdout and exit codes; a person at a terminal
wants to know that an hour-long archive is moving and when it will end.
So the live line is drawn only when stderr is a terminal, at most a few
times a second, and erased before anything else is printed or the run
ends. In a pipe (cron, a log file) --progress-interval asks for a log
line on stderr instead, every so many seconds (as pt-archiver's
--progress); stdout stays nova-manage's.

A run is asked to stop from outside by a file appearing (--stop-file, as
pt-archiver's --sentinel) or, for the engines that let signals through
(see catch_signals), by SIGINT/SIGTERM; either way it ends after the
batch in hand, which the engine decides by calling stop_asked() before
each batch.
"""
import contextlib
import os
import signal
import sys
import threading
import time

from nmtool.interrupts import STOP_SIGNALS, interrupt


def _duration(seconds):
    seconds = int(seconds)
    if seconds >= 3600:
        return "%dh%02dm" % (seconds // 3600, seconds % 3600 // 60)
    if seconds >= 60:
        return "%dm%02ds" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


def say_stopped(cause, done, stream=None):
    """The one stderr line of a run that a stop request ended early
    (stdout stays what nova-manage prints)."""
    print("Stopped by %s after %s, run again to continue" % (cause, done),
          file=stream or sys.stderr, flush=True)


class Progress:
    """progress.stop_asked() before each batch, progress.add(n) after it;
    progress.close() at the end.

    total is the amount of work counted at the start (None if unknown);
    it may be an estimate, and the time left is then one too. draw=False
    keeps the live line off even at a terminal (runs nova-manage shows
    nothing for). log_every: seconds between two log lines when stderr
    is not a terminal (None: none). stop_file: the path whose existence
    asks the run to stop.
    """

    def __init__(self, what, total=None, stream=None, interval=0.25,
                 clock=time.monotonic, unit="rows", draw=True,
                 log_every=None, stop_file=None, wall=time.time):
        self.stream = stream or sys.stderr
        terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = draw and terminal
        # At a terminal the live line is the progress, drawn or not.
        self.log_every = None if terminal else log_every
        self.stop_file = stop_file
        self.stop_cause = None   # what asked the run to stop, once it did
        # Whether the engine was told to stop (a stop asked during the
        # last batch ends nothing early: the run is complete).
        self.stopped = False
        self.what = what
        self.unit = unit
        self.total = total
        self.done = 0
        self.clock = clock
        self.wall = wall
        self.started = clock()
        self.interval = interval
        self._drawn_at = None
        self._logged_at = None
        self._logged_done = 0
        self._width = 0
        self._lock = threading.Lock()  # cells of --jobs report together

    @property
    def wants_total(self):
        """Whether a line will show the total, so it is worth counting."""
        return self.enabled or self.log_every is not None

    def restart(self):
        """The clock starts now (after the total was counted)."""
        self.started = self.clock()

    def stop_asked(self):
        """Whether the run should end before its next batch: the stop file
        exists, or a signal came (catch_signals). Once asked, stays so,
        and stopped says the run ended early."""
        if self.stop_cause is None and self.stop_file is not None and \
                os.path.exists(self.stop_file):
            self.stop_cause = "the stop file %s" % self.stop_file
        if self.stop_cause is not None:
            self.stopped = True
        return self.stopped

    @contextlib.contextmanager
    def catch_signals(self):
        """While inside, the first SIGINT, SIGTERM or SIGHUP asks the run
        to stop after its batch (stop_asked() says so) instead of breaking
        into it; a second one interrupts at once, as ^C always did. Only
        the main thread may set handlers; elsewhere this does nothing."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        saved = {}

        signalled = []

        def ask(signum, frame):
            name = signal.Signals(signum).name
            if signalled:
                interrupt(signum, frame)
                return
            signalled.append(name)
            self.stop_cause = self.stop_cause or name
        for signum in STOP_SIGNALS:
            previous = signal.getsignal(signum)
            # Left alone: set outside Python, or ignored (nohup).
            if previous is None or previous is signal.SIG_IGN:
                continue
            saved[signum] = previous
            signal.signal(signum, ask)
        try:
            yield self
        finally:
            for signum, handler in saved.items():
                signal.signal(signum, handler)

    def line(self):
        elapsed = max(self.clock() - self.started, 1e-6)
        rate = self.done / elapsed
        text = "%s: %d %s, %.0f %s/s" % (self.what, self.done, self.unit,
                                          rate, self.unit)
        if self.total:
            text += ", %d%%" % min(100, 100 * self.done // self.total)
            if rate > 0 and self.total > self.done:
                text += ", about %s left" % _duration(
                    (self.total - self.done) / rate)
        return text

    def add(self, rows):
        with self._lock:
            self._add(rows)

    def _add(self, rows):
        self.done += rows
        if self.log_every is not None:
            now = self.clock()
            since = self.started if self._logged_at is None \
                else self._logged_at
            if now - since >= self.log_every:
                self._log(now)
        if not self.enabled:
            return
        now = self.clock()
        if self._drawn_at is not None and now - self._drawn_at < \
                self.interval:
            return
        self._drawn_at = now
        text = self.line()
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()
        self._width = len(text)

    def _log(self, now):
        self._logged_at = now
        self._logged_done = self.done
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.wall()))
        self.stream.write("%s %s\n" % (stamp, self.line()))
        self.stream.flush()

    def clear(self):
        """Erase the line before other output; the next add() redraws."""
        self._erase()
        self._drawn_at = None

    def close(self):
        """Erase the line, leaving the terminal as it was; in a pipe, the
        last log line if the run moved since the one before."""
        with self._lock:
            if self._logged_at is not None and \
                    self.done != self._logged_done:
                self._log(self.clock())
        self._erase()

    def _erase(self):
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0
