"""The blocking detector: who held the hub too long, and where.

Cooperative scheduling starves everyone when one microthread computes or
calls a blocking function without yielding.  Like gevent's monitor thread
(max_blocking_time), asyncio's slow-callback warning and curio's
longblock, an OS thread samples each watched loop: if the same callback has
been running for longer than the threshold, it reports the microthread and
the stack it is stuck in.  Off by default; the test suite turns it on.

It watches through the loop's observer interface (microthread.observer):
while it is on, each loop it watches tells a ``_Watch`` which callback runs
and whether it polls, and the sampling thread reads those; while it is off,
the loops have nothing to tell and pay one check per event site.  A stall
it reports goes to the report function and to every observer's ``stalled``.
"""

import os
import re
import sys
import threading
import time
import traceback
import weakref

from .checks import check_seconds
from .names import name_of
from .observer import Observer

__all__ = ["enable", "disable", "attach", "Report", "enabled"]


_FRAME = re.compile(r'File "(.*)", line (\d+), in (.*)')   # a stack line


class Report:
    """One long block: which callback or microthread, how long, its stack."""

    def __init__(self, culprit, seconds, stack):
        self.culprit = culprit
        self.seconds = seconds
        self.stack = stack

    @property
    def where(self):
        """The innermost frame: ``file:line in function``."""
        if not self.stack:
            return "?"
        first = self.stack[-1].strip().splitlines()[0]  # File "f", line n, in g
        found = _FRAME.fullmatch(first)
        if found is None:
            return first
        path, line, function = found.groups()
        return f"{os.path.basename(path)}:{line} in {function}"

    def __str__(self):
        return (f"blocking detector: {self.culprit} held the hub for "
                f"{self.seconds:.2f} s without yielding; it is here:\n"
                + "".join(self.stack))


class _Detector(threading.Thread):
    """The sampling thread; one per process, watching every attached loop."""

    def __init__(self, threshold, report):
        super().__init__(name="microthread-detector", daemon=True)
        self.threshold = threshold
        self.report = report
        self._stop_event = threading.Event()
        self._seen = {}   # loop -> (ticks, first seen at, reported yet)

    def run(self):
        while not self._stop_event.wait(self.threshold / 4):
            for loop in list(_loops):
                self._sample(loop)

    def _sample(self, loop):
        """Blocked: the same callback runs on, or, outside any callback,
        nothing runs while calls wait in the ready queue (a greenlet that
        is not a callback -- the main one -- holds the thread)."""
        if loop.closed or loop.thread_ident not in sys._current_frames():
            _loops.discard(loop)    # closed, or its thread ended: frozen
            return
        watch = _watches.get(loop)
        if watch is None:
            return
        ticks, current = watch.ticks, watch.current
        if current is None and (watch.polling or not loop.has_ready()):
            self._seen.pop(loop, None)
            return
        now = time.monotonic()
        seen = self._seen.get(loop)
        if seen is None or seen[0] != ticks:
            self._seen[loop] = (ticks, now, False)
        elif not seen[2] and now - seen[1] >= self.threshold:
            self._seen[loop] = (ticks, seen[1], True)
            culprit = ("the main greenlet" if current is None
                       else name_of(current))
            report = Report(culprit, now - seen[1],
                            _stack_of(loop.thread_ident))
            try:
                self.report(report)
                for observer in loop.observers:
                    observer.stalled(report)
            except Exception:          # a broken report must not end us
                traceback.print_exc()

    def stop(self):
        self._stop_event.set()
        self.join()


MIN_THRESHOLD = 0.001           # samples 4 times a threshold: no busy spin
MAX_THRESHOLD = 86400           # what a wait of a quarter of it can take
_detector = None
_loops = weakref.WeakSet()      # every loop a hub runs, watched or not
_watches = weakref.WeakKeyDictionary()   # loop -> its _Watch, while on
_lock = threading.RLock()       # attach (loop threads) vs enable/disable


class _Watch(Observer):
    """What the sampling thread reads of one loop, kept by its events."""

    def __init__(self):
        self.current = None       # the callback running now
        self.ticks = 0            # callbacks run so far
        self.polling = False      # inside poll() now: idle, not hogging

    def before_poll(self, loop, timeout):
        self.polling = True
        self.current = None

    def after_poll(self, loop, events):
        self.polling = False

    def dispatching(self, loop, callback, source):
        self.current = callback
        self.ticks += 1

    # No ``dispatched``: a call per callback to learn what the next
    # dispatch, the next poll or the hub's handing back tells anyway.

    def handing_back(self, loop, error):
        self.current = None


def _watch(loop):
    if loop not in _watches:
        _watches[loop] = watch = _Watch()
        loop.observe(watch)


def _unwatch_all():
    for loop, watch in list(_watches.items()):
        loop.unobserve(watch)
    _watches.clear()


def _print(report):
    print(report, file=sys.stderr)


def enable(threshold=0.5, report=_print):
    """Watch every loop a hub runs, made before or after; report blocks
    longer than threshold seconds.  Enabling again changes the threshold."""
    global _detector
    check_seconds(threshold, "detector", "threshold")
    if not MIN_THRESHOLD <= threshold <= MAX_THRESHOLD:
        raise ValueError(f"detector threshold {threshold!r} is not a number "
                         f"of seconds from {MIN_THRESHOLD} to {MAX_THRESHOLD}")
    with _lock:
        disable()
        for loop in list(_loops):
            _watch(loop)
        _detector = _Detector(threshold, report)
        _detector.start()


def disable():
    """Stop watching (the loops keep working, unwatched)."""
    global _detector
    with _lock:
        if _detector is not None:
            _detector.stop()
            _detector = None
        _unwatch_all()


def enabled():
    return _detector is not None


def attach(loop):
    """Make loop watchable, now or once enabled (hubs call this when made)."""
    with _lock:
        _loops.add(loop)
        if _detector is not None:
            _watch(loop)


def _restart_in_child():
    """A forked child has no detector thread and none of the parent's
    loops: watch its own, as the parent asked."""
    global _detector, _loops, _watches, _lock
    _lock = threading.RLock()   # its holder may not have forked
    _loops = weakref.WeakSet()
    _watches = weakref.WeakKeyDictionary()
    if _detector is not None:
        _detector = _Detector(_detector.threshold, _detector.report)
        _detector.start()


os.register_at_fork(after_in_child=_restart_in_child)


def _stack_of(thread_ident):
    frame = sys._current_frames().get(thread_ident)
    return traceback.format_stack(frame) if frame is not None else []
