"""What the timelines on the slides are made of: lanes, spans, marks, switches.

A ``Timeline`` is one panel of a drawing: lanes top to bottom, time left
to right, each lane running, waiting or blocked over spans of time, with
marks at moments and switches from lane to lane.  The recorders of
``microthread.trace`` make them from a real run; ``deckext.timeline``
draws them.  This module holds the model alone, so that a drawing can be
built and checked without recording anything.
"""

from dataclasses import dataclass, field

__all__ = ["KINDS", "Span", "Mark", "Switch", "Dispatch", "Timeline"]

# running; waiting in user space; blocked in the kernel
KINDS = ("run", "wait", "blocked")


@dataclass(frozen=True)
class Span:
    """A lane doing one thing from start to end (seconds since recording)."""
    lane: str
    start: float
    end: float
    kind: str = "run"
    label: str = ""


@dataclass(frozen=True)
class Mark:
    """Something that happened at one moment on one lane."""
    lane: str
    at: float
    label: str


@dataclass(frozen=True)
class Switch:
    """Control passed from one lane to another (a greenlet switch, a call)."""
    at: float
    origin: str
    target: str
    label: str = ""


@dataclass(frozen=True)
class Dispatch:
    """One callback the loop ran: why (an (fd, event), "ready" or "timer")."""
    start: float
    end: float
    source: object
    callback: str


@dataclass
class Timeline:
    """One panel of a drawing: lanes top to bottom, time left to right."""
    title: str
    lanes: list
    spans: list = field(default_factory=list)
    marks: list = field(default_factory=list)
    switches: list = field(default_factory=list)

    def __post_init__(self):
        self.settle()

    def settle(self):
        """Put everything in time order and check it is on known lanes."""
        self.spans.sort(key=lambda span: (span.start, span.end))
        self.marks.sort(key=_at)
        self.switches.sort(key=_at)
        known = set(self.lanes)
        for item in [*self.spans, *self.marks]:
            if item.lane not in known:
                raise ValueError(f"{item} is on lane {item.lane!r}, which "
                                 f"is not one of {self.lanes}")
        for switch in self.switches:
            if not {switch.origin, switch.target} <= known:
                raise ValueError(f"{switch} leaves the lanes {self.lanes}")
        for span in self.spans:
            if span.kind not in KINDS:
                raise ValueError(f"{span}: kind must be one of {KINDS}")
        return self

    def times(self):
        """Every moment the drawing places, sorted."""
        found = {s.start for s in self.spans} | {s.end for s in self.spans}
        found |= {m.at for m in self.marks} | {s.at for s in self.switches}
        return sorted(found)

    def of(self, lane):
        """(spans, marks) of one lane, in time order."""
        return ([s for s in self.spans if s.lane == lane],
                [m for m in self.marks if m.lane == lane])


def _at(item):
    return item.at
