"""What a loop and its hub tell whoever watches them: the observer interface.

The blocking detector, the timeline recorders and the live hub view all
watch the runtime through this one interface, never through its private
parts (curio's ``Activation``, trio's ``Instrument``).  Register an
observer on a loop with ``loop.observe(observer)``; ``loop.unobserve`` takes
it off.  While a loop has no observer, each event site costs one check of
``loop.observers``, an empty tuple.

Subclass ``Observer`` and override what you need; the others do nothing,
and cost nothing: the loop calls only the methods a class overrides.
Every method is called in the loop's OS thread, in the middle of its work,
except ``stalled``, which the detector calls from its own thread: keep
them short, and do not wait or switch in them.  An observer that raises
is reported as a callback that raises is (``loop.on_error``), and the
loop, the other observers and the microthreads go on.

>>> from microthread import get_loop, spawn, sleep
>>> from microthread.names import lane_of
>>> class Journal(Observer):
...     def __init__(self):
...         self.seen = []
...     def spawned(self, microthread):
...         self.seen.append(f"spawned {lane_of(microthread)}")
...     def suspended(self, microthread, wait):
...         self.seen.append(f"{lane_of(microthread)} waits for {wait.target()}")
...     def ended(self, microthread):
...         self.seen.append(f"{lane_of(microthread)} ended")
>>> journal = Journal()
>>> get_loop().observe(journal)
>>> def napper():
...     sleep(0)
>>> spawn(napper).join()
>>> get_loop().unobserve(journal)
>>> journal.seen  # doctest: +ELLIPSIS +NORMALIZE_WHITESPACE
['spawned napper', "main waits for join <Microthread 'napper' #...>",
 'napper waits for sleep(0)', 'napper ended']
"""

__all__ = ["Observer", "EVENTS", "hooks"]


class Observer:
    """The events of one loop and its hub, each a no-op here."""

    # -- the loop: around the poll, and each callback it runs -------------

    def before_poll(self, loop, timeout):
        """A tick begins: the loop polls, sleeping at most timeout seconds
        (None: until an event)."""

    def after_poll(self, loop, events):
        """The poll returned: events is the list of (fd, event) to dispatch."""

    def dispatching(self, loop, callback, source):
        """The loop calls callback; source says why: an (fd, event) that
        is ready, ``"timer"`` (a timer fired) or ``"ready"`` (a queued
        call).  A callback that is a microthread's ``switch`` runs that
        microthread until it switches back."""

    def dispatched(self, loop, callback):
        """callback returned, or raised (the loop reports that itself)."""

    def handing_back(self, loop, error):
        """The hub gives the OS thread to the main greenlet outside any
        callback, raising error there: BlockedForever (nothing can ever
        run) or an exit (Ctrl-C).  No callback runs from now until the next
        dispatch or poll."""

    # -- the hub: each microthread's life ---------------------------------

    def spawned(self, microthread):
        """microthread was made; it runs once the loop reaches it."""

    def resumed(self, microthread):
        """microthread runs: it starts, or a wait of it ended."""

    def suspended(self, microthread, wait):
        """microthread switches to the hub to wait; ``wait`` is its Wait
        record (``wait.target()`` says for what)."""

    def ended(self, microthread):
        """microthread returned, raised or was killed."""

    # -- the blocking detector --------------------------------------------

    def stalled(self, report):
        """The detector saw the hub held too long (a detector.Report);
        called from the detector's OS thread."""


EVENTS = ("before_poll", "after_poll", "dispatching", "dispatched",
          "handing_back", "spawned", "resumed", "suspended", "ended", "stalled")


def hooks(observers):
    """{event: the bound methods to call for it}, of the observers that
    override it: an event none of them overrides costs the loop no call.
    ``"switching"`` holds those of suspended and resumed, which the hub
    asks before it switches."""
    table = {event: tuple(getattr(observer, event) for observer in observers
                          if _overrides(observer, event))
             for event in EVENTS}
    table["switching"] = table["suspended"] + table["resumed"]
    return table


def _overrides(observer, event):
    own = getattr(type(observer), event, None)
    return own is not None and own is not getattr(Observer, event)
