"""The runtime's one way to name a microthread, a greenlet or a callback.

An error, a detector report, a deadlock report and a timeline lane all name
the same microthread the same way, because they all ask here.  Duck-typed,
so the loop can name its callbacks without knowing what a greenlet is:
a greenlet is whatever has a ``gr_frame``, and a class of ours says its
own short name in ``lane`` (the hub: ``hub``; a microthread: its name).
"""

import types

__all__ = ["name_of", "lane_of"]


def name_of(thing):
    """A readable name for a microthread, a greenlet or a callback.

    A greenlet's bound ``switch``, a Waiter and a Wait are named for the
    microthread behind them: that is who holds the hub when they run.
    """
    owner = getattr(thing, "__self__", None)
    if _is_greenlet(owner):
        return name_of(owner)
    if owner is not None and not isinstance(owner, types.ModuleType):
        return f"{_qualname(thing)} of {owner!r}"
    behind = getattr(thing, "microthread", None)     # a Waiter, a Wait
    if _is_greenlet(behind):
        return name_of(behind)
    if _is_greenlet(thing):
        if thing.parent is None:
            return "the main greenlet"
        if type(thing).__module__.startswith("greenlet"):
            return f"greenlet {thing!r}"
        return repr(thing)
    return _qualname(thing)


def lane_of(greenlet):
    """A short name for a greenlet's lane in a timeline: ``hub``, ``main``,
    a microthread's own name, or a foreign greenlet's address."""
    lane = getattr(greenlet, "lane", None)
    if lane:
        return lane
    if greenlet.parent is None:
        return "main"
    return f"greenlet {id(greenlet):#x}"


def _is_greenlet(thing):
    return thing is not None and hasattr(thing, "gr_frame")


def _qualname(callback):
    return getattr(callback, "__qualname__", None) or repr(callback)
