"""The KeyboardInterrupt a stop signal (SIGINT, SIGTERM, SIGHUP) raises,
never where Python would swallow it.

Python runs a signal's handler in whatever code the main thread is in,
and that can be an object's finalizer (`__del__`, which the garbage
collector runs at any allocation; pymysql's results have one). An
exception raised there is printed as "Exception ignored in ..." with a
traceback and dropped: the run would go on as if no signal had come. So
a signal that lands in a finalizer is sent again a moment later, when the
finalizer is over, and handled then like any other.
"""
import os
import signal
import threading

AGAIN_AFTER = 0.01  # seconds: a finalizer is over well before this
# The signals that stop a run (those a platform has).
STOP_SIGNALS = tuple(getattr(signal, name) for name in
                     ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, name))


def in_finalizer(frame):
    """Whether frame is a finalizer's, or code one runs."""
    while frame is not None:
        if frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


def send_again(signum):
    """signum to this process again shortly, from another thread (the
    main one is inside the finalizer)."""
    timer = threading.Timer(AGAIN_AFTER, os.kill, (os.getpid(), signum))
    timer.daemon = True
    timer.start()


def interrupt(signum, frame):
    """A signal handler: KeyboardInterrupt named after the signal."""
    if in_finalizer(frame):
        send_again(signum)
        return
    raise KeyboardInterrupt(signal.Signals(signum).name)
