"""A live progress line for long runs, on stderr, only at a terminal.

Scripts and cron jobs read stdout and exit codes; a person at a terminal
wants to know that an hour-long archive is moving and when it will end.
So the line is drawn only when stderr is a terminal, at most a few times
a second, and erased before anything else is printed or the run ends.
"""
import sys
import threading
import time


def _duration(seconds):
    seconds = int(seconds)
    if seconds >= 3600:
        return "%dh%02dm" % (seconds // 3600, seconds % 3600 // 60)
    if seconds >= 60:
        return "%dm%02ds" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


class Progress:
    """progress.add(n) after each batch; progress.close() at the end.

    total is the amount of work counted at the start (None if unknown);
    it may be an estimate, and the time left is then one too.
    """

    def __init__(self, what, total=None, stream=None, interval=0.25,
                 clock=time.monotonic, unit="rows"):
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.what = what
        self.unit = unit
        self.total = total
        self.done = 0
        self.clock = clock
        self.started = clock()
        self.interval = interval
        self._drawn_at = None
        self._width = 0
        self._lock = threading.Lock()  # cells of --jobs report together

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

    def clear(self):
        """Erase the line before other output; the next add() redraws."""
        self.close()
        self._drawn_at = None

    def close(self):
        """Erase the line, leaving the terminal as it was."""
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0
