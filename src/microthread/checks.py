"""The runtime's argument checks, each written once, each naming the culprit.

A bad value is refused where it enters, with the call or fd it was meant
for in the message, never later in the loop where nobody can tell whose
it was: a NaN deadline would never come due and block every timer behind
it; an event that is neither READ nor WRITE would never be reported; a
greenlet woken from another OS thread would run on the wrong one.
"""

import threading

from .pollers import READ, WRITE

__all__ = ["check_seconds", "check_event", "check_thread"]


def check_seconds(seconds, what, name="timeout"):
    """A number of seconds (inf allowed: never); say whose it is if not."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{what}: {name} must be a number of seconds, "
                        f"not {seconds!r}")
    if seconds != seconds:
        raise ValueError(f"{what}: {name} is NaN, not a number of seconds")


def check_event(event, fd):
    """READ or WRITE, one at a time, and nothing that merely equals one
    (1.0, True): the loop masks with it and the hub files by it."""
    if event is not READ and event is not WRITE:
        raise ValueError(f"bad event {event!r} for fd {fd}:"
                         f" use READ ({READ}) or WRITE ({WRITE})")


def check_thread(owner, what):
    """Refuse ``what`` unless called from OS thread ``owner``: greenlets,
    and whatever wakes them, belong to the OS thread that made them."""
    here = threading.get_ident()
    if here != owner:
        raise RuntimeError(
            f"cannot {what} from OS thread {here}: greenlets are bound to "
            f"the OS thread that made them ({owner}); hand the call over with "
            f"loop.call_soon_threadsafe")
