"""Recording what ran when: microthread switches, loop dispatches, threads.

This backs the timelines on the slides (deckext.timeline draws them): a
scenario runs a demo with a ``Recorder`` on and turns what it saw into a
``Timeline`` -- lanes, spans of running or waiting, marks, and switches.

Recording costs next to nothing when it is off: one check of an empty
tuple per event site of the loop, and nothing else, because the library
has no recording code at all:

- greenlet switches are seen through ``greenlet.settrace``, installed only
  inside ``Recorder.switches()`` and restored on the way out;
- loop dispatches are seen by a ``LoopRecording``, an observer a scenario
  puts on its loop (``loop.observe``, see microthread.observer);
- OS threads stamp their own critical sections (``Recorder.span``,
  ``Recorder.mark``), or a scenario line-traces them (``thread_lines``).

>>> from microthread import spawn, sleep
>>> from microthread.loop import EventLoop, set_loop
>>> from microthread.names import lane_of
>>> recorder = Recorder()
>>> loop = EventLoop()
>>> loop.observe(LoopRecording(recorder))
>>> set_loop(loop)
>>> def worker():
...     sleep(0)
>>> with recorder.switches(lane_of):
...     spawn(worker).join()
>>> [(s.origin, s.target) for s in recorder.switches_seen]
... # doctest: +NORMALIZE_WHITESPACE
[('main', 'hub'), ('hub', 'worker'), ('worker', 'hub'), ('hub', 'worker'),
 ('worker', 'hub'), ('hub', 'main')]
>>> timeline = recorder.timeline("sleep(0)", ["main", "hub", "worker"])
>>> [span.lane for span in timeline.spans if span.kind == "run"]
['hub', 'worker', 'hub', 'worker', 'hub']
>>> set_loop(None); loop.close()
"""

import threading
import time
from contextlib import contextmanager

import greenlet

from .names import name_of
from .observer import Observer
from .timeline import Dispatch, Mark, Span, Switch, Timeline

__all__ = ["Recorder", "LoopRecording", "thread_lines"]

class Recorder:
    """Collects spans, marks, switches and dispatches of one run."""

    def __init__(self):
        self.origin = time.perf_counter()
        self.spans = []           # list.append is atomic: threads share it
        self.marks = []
        self.switches_seen = []
        self.dispatches = []      # filled by a LoopRecording
        self.polls = []           # (start, end, events) of its polls

    def now(self):
        return time.perf_counter() - self.origin

    def mark(self, lane, label, at=None):
        self.marks.append(Mark(lane, self.now() if at is None else at, label))

    def span(self, lane, start, end=None, kind="run", label=""):
        end = self.now() if end is None else end
        self.spans.append(Span(lane, start, end, kind, label))

    @contextmanager
    def stamp(self, lane, kind="run", label=""):
        """A span around the body of the with statement."""
        start = self.now()
        try:
            yield
        finally:
            self.span(lane, start, kind=kind, label=label)

    @contextmanager
    def switches(self, lane_of):
        """Record every greenlet switch of this OS thread inside the block.

        ``lane_of(greenlet)`` names the lane.  A tracer already installed
        (a coverage tool's, say) keeps being called.
        """
        def trace(event, args):
            if event in ("switch", "throw"):
                origin, target = args
                self.switches_seen.append(
                    Switch(self.now(), lane_of(origin), lane_of(target)))
            if previous is not None:
                previous(event, args)

        previous = greenlet.settrace(trace)
        try:
            yield
        finally:
            greenlet.settrace(previous)

    def timeline(self, title, lanes, polls_on=None):
        """The recorded run as one panel.

        Between two switches the target of the first one runs: those are
        the ``run`` spans of greenlet lanes.  With ``polls_on``, that lane
        (the loop's) waits during each poll instead.  Spans, marks and
        switches on lanes not listed are left out.
        """
        wanted = set(lanes)
        switches = [s for s in self.switches_seen
                    if s.origin in wanted and s.target in wanted]
        spans = [Span(s.target, s.at, after.at)
                 for s, after in zip(switches, switches[1:])]
        if polls_on is not None:
            waits = [Span(polls_on, start, end, "wait", "")
                     for start, end, _ in self.polls]
            spans = [piece for span in spans
                     for piece in _carve(span, waits)] + waits
        spans += [s for s in self.spans if s.lane in wanted]
        marks = [m for m in self.marks if m.lane in wanted]
        return Timeline(title, list(lanes), spans, marks, switches)


def _carve(span, waits):
    """span without the parts its lane spent in ``waits``."""
    pieces = [span]
    for wait in waits:
        if wait.lane != span.lane:
            continue
        cut = []
        for piece in pieces:
            if wait.end <= piece.start or wait.start >= piece.end:
                cut.append(piece)
                continue
            if piece.start < wait.start:
                cut.append(Span(piece.lane, piece.start, wait.start))
            if wait.end < piece.end:
                cut.append(Span(piece.lane, wait.end, piece.end))
        pieces = cut
    return pieces


class LoopRecording(Observer):
    """Records each poll of a loop and each callback it runs, and why.

    ``before_wait`` (optional) is called before a poll that may sleep --
    nothing ready to run -- so a scenario can move its peer in lockstep.
    """

    def __init__(self, recorder, before_wait=None):
        self.recorder = recorder
        self.before_wait = before_wait
        self._poll_start = None
        self._running = []        # (start, source) of dispatches under way

    def before_poll(self, loop, timeout):
        self._poll_start = self.recorder.now()
        if self.before_wait is not None and not loop.has_ready():
            self.before_wait()        # the loop would be waiting meanwhile

    def after_poll(self, loop, events):
        self.recorder.polls.append(
            (self._poll_start, self.recorder.now(), events))

    def dispatching(self, loop, callback, source):
        self._running.append((self.recorder.now(), source))

    def dispatched(self, loop, callback):
        start, source = self._running.pop()
        self.recorder.dispatches.append(
            Dispatch(start, self.recorder.now(), source, name_of(callback)))


@contextmanager
def thread_lines(recorder, code, into):
    """Line-trace ``code`` in the OS threads started inside the block.

    Every line event and the return of a frame running ``code`` is appended
    to ``into`` as (thread, time, line number or "return", frame locals).
    Only frames of ``code`` are traced line by line; the tracer is the
    previous one again (for threads started later) when the block ends.
    """
    def local(frame, event, arg):
        if event in ("line", "return"):
            into.append((threading.current_thread(), recorder.now(),
                         frame.f_lineno if event == "line" else "return",
                         dict(frame.f_locals)))
        return local

    def call(frame, event, arg):
        return local if frame.f_code is code else None

    previous = threading.gettrace()
    threading.settrace(call)
    try:
        yield
    finally:
        threading.settrace(previous)
