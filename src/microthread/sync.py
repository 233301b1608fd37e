"""Green synchronisation: Event, Lock and Queue for microthreads.

They park the waiting microthread in the hub (never an OS-level block), so
other microthreads run meanwhile; each wait takes ``timeout=`` and raises
``Timeout``.  Within one OS thread only; to signal a hub from another OS
thread use ``loop.call_soon_threadsafe`` (and ``loop.expect_external()``
while the hub waits for it, or it cannot tell the wait from a deadlock).

>>> from microthread import spawn
>>> ready, trace = Event(), []
>>> def waiter():
...     trace.append("waiting")
...     ready.wait()
...     trace.append("woken")
>>> microthread = spawn(waiter)
>>> ready.set(); trace.append("set")
>>> microthread.join(); trace
['set', 'waiting', 'woken']
"""

import collections
import threading
import time

from greenlet import getcurrent

from .checks import check_seconds, check_thread
from .hub import get_hub, park

__all__ = ["Event", "Lock", "Queue", "QueueEmpty", "QueueFull"]


class Event:
    """A flag microthreads can wait for; ``set()`` wakes them all."""

    def __init__(self):
        self._flag = False
        self._waiters = []
        self._thread = None       # the OS thread whose microthreads wait

    def is_set(self):
        return self._flag

    def set(self):
        if self._waiters:
            check_thread(self._thread, "call Event.set()")
        self._flag = True
        loop = get_hub().loop
        for waiter in self._waiters:
            loop.call_soon(waiter)
        self._waiters.clear()

    def clear(self):
        self._flag = False

    def wait(self, timeout=None):
        """Return once the flag is set; Timeout after ``timeout`` seconds."""
        if not self._flag:
            if self._waiters:       # one set() must be able to wake them all
                check_thread(self._thread, "call Event.wait()")
            self._thread = threading.get_ident()
            park(self._waiters, "Event.wait()", timeout)
        return True


class Lock:
    """A mutual-exclusion lock, handed to waiters first come, first served."""

    def __init__(self):
        self._owner = None
        self._waiters = collections.deque()
        self._thread = None       # the OS thread of its owner and waiters

    def locked(self):
        return self._owner is not None

    def acquire(self, timeout=None):
        current = getcurrent()
        if self._owner is current:
            raise RuntimeError(f"Lock is not re-entrant: {current!r} holds it")
        if self._owner is not None or self._waiters:    # a release hands
            check_thread(self._thread, "call Lock.acquire()")   # it over
        self._thread = threading.get_ident()
        if self._owner is None and not self._waiters:
            self._owner = current
            return True
        try:
            park(self._waiters, "Lock.acquire()", timeout)
        except BaseException:
            if self._owner is current:    # handed over just as we gave up
                self.release()
            raise
        return True

    def release(self):
        if self._owner is not getcurrent():
            raise RuntimeError("release of a Lock not held by this microthread")
        self._owner = None
        if self._waiters:                     # hand it over: no barging
            waiter = self._waiters.popleft()
            self._owner = waiter.microthread
            get_hub().loop.call_soon(waiter)

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


class QueueEmpty(Exception):
    pass


class QueueFull(Exception):
    pass


class Queue:
    """A FIFO queue; ``maxsize`` > 0 makes ``put`` wait when full.

    Getters are served first come, first served: ``put`` reserves its item
    for the getter it wakes, so a newcomer's ``get_nowait`` cannot take it
    in between.  A timeout is a deadline, however often a wait is woken.
    """

    def __init__(self, maxsize=0):
        if isinstance(maxsize, bool) or not isinstance(maxsize, int):
            raise TypeError(f"Queue maxsize must be a whole number of items "
                            f"(0: no limit), not {maxsize!r}")
        self.maxsize = maxsize
        self._items = collections.deque()
        self._reserved = 0        # items promised to getters already woken
        self._getters = collections.deque()
        self._putters = collections.deque()
        self._thread = None       # the OS thread whose microthreads wait

    def qsize(self):
        return len(self._items)

    def full(self):
        return 0 < self.maxsize <= len(self._items)

    def put(self, item, timeout=None):
        deadline = _deadline(timeout, "Queue.put()")
        self._check_thread("put")
        while self.full():
            self._thread = threading.get_ident()
            park(self._putters, "Queue.put()", _left(deadline),
                 woken_anyway=lambda: _wake_one(self._putters))
        self._items.append(item)
        if self._getters:
            self._reserved += 1
            get_hub().loop.call_soon(self._getters.popleft())

    def put_nowait(self, item):
        if self.full():
            raise QueueFull(f"queue is full ({self.maxsize} items)")
        self.put(item)

    def get(self, timeout=None):
        self._check_thread("get")
        if len(self._items) <= self._reserved:    # none free: queue up
            self._thread = threading.get_ident()
            self._wait_for_reserved_item(timeout)
        item = self._items.popleft()
        _wake_one(self._putters)
        return item

    def get_nowait(self):
        if len(self._items) <= self._reserved:
            raise QueueEmpty("queue is empty")
        return self.get()

    def _check_thread(self, what):
        """Waiters are microthreads of one OS thread; only it may wake them."""
        if self._getters or self._putters:
            check_thread(self._thread, f"call Queue.{what}()")

    def _wait_for_reserved_item(self, timeout):
        """Park until a put reserves an item for us; keep the promise even
        if we give up (pass it to the next getter, or free it)."""
        park(self._getters, "Queue.get()", timeout,
             woken_anyway=self._pass_reserved_item)
        self._reserved -= 1

    def _pass_reserved_item(self):
        if self._getters:
            get_hub().loop.call_soon(self._getters.popleft())
        else:
            self._reserved -= 1


def _deadline(timeout, what):
    if timeout is None:
        return None
    check_seconds(timeout, what)
    return time.monotonic() + timeout


def _left(deadline):
    """Seconds to a deadline (None: no limit), never below zero."""
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _wake_one(waiters):
    if waiters:
        get_hub().loop.call_soon(waiters.popleft())

