"""The hub: one greenlet per OS thread that runs that thread's event loop.

This backs the slide 区别在send的实现.  A microthread that would block
registers its own ``switch`` as the loop callback and switches to the hub;
the hub runs the loop, and when the event comes the loop calls that
``switch``, resuming the microthread where it stopped.  That is cooperative
scheduling: a switch happens only where code waits.

Some facts about waiting in a hub
---------------------------------

- A microthread waits on at most one thing at a time: an fd becoming ready
  (``wait_fd``), or a wakeup somebody else will give it (``park``: sleep,
  Event, Lock, Queue, join, a pool thread's result).  Whoever asks who
  waits, for what, until when, asks one place.
- Two microthreads waiting to read one socket would steal each other's
  data; asyncio hides that bug by replacing the first callback.
- A wait can end four ways: its event comes, its timer fires, an error is
  thrown in (a kill, a close), or the fd is closed and its number handed to
  a new socket while the waiter has not yet run.
- Waiting is the hot path: at 10,000 connections every wait that allocates
  or climbs through helpers is paid for 10,000 times a round.

What does this mean for us?
---------------------------

- **One Wait record per microthread**, made at its first wait and reused by
  every later one: its greenlet, its fd and event or what else it waits for,
  its one timeout timer, the Timeout that timer raised last, and a serial
  number that tells this wait from the next.  The hub keeps the fd waits in
  two dicts, ``readers`` and ``writers``, fd -> Wait (trio's
  ``EpollWaiters``, curio's ``(rtask, wtask)``), and the parked ones in a
  set: claiming, waking, timing out, closing and describing a deadlock all
  read the record, and none of them reads the loop's callbacks.
- Cleanup is in ``finally``, so a timeout, an error or a kill never leaves
  a stale callback or claim behind.
- ``close_fd`` takes the claims at once, so the fd number is free for a new
  socket before the old waiters even run; each is woken with an error that
  names the fd, unless its wait has ended meanwhile (the serial says so).
- A timed wait re-arms its record's one timer instead of pushing a new heap
  entry each time (the idle-timeout hot path).
- When nothing can ever wake anyone, the main greenlet gets
  ``BlockedForever`` naming every blocked microthread and what it waits on.

The layering, as rules a reader can check: the loop knows no greenlets
(it calls callbacks); the hub knows no sockets (it waits on fd numbers);
observers see the hub through ``loop.observers`` and nothing else; the
runtime imports nothing of the deck, the benchmark or Sphinx.

The main greenlet can call all of this: it blocks and the hub runs.
"""

import errno
import itertools
import math
import os
import threading
import weakref

from greenlet import GreenletExit, getcurrent, greenlet

from . import detector
from .checks import check_event, check_seconds, check_thread
from .loop import Timer, current_loop, get_loop
from .names import name_of
from .pollers import READ, WRITE

__all__ = ["Hub", "Microthread", "Timeout", "BlockedForever", "FdClosedError",
           "Wait", "Waiter", "get_hub", "wait_fd", "spawn", "sleep",
           "close_fd", "park", "current_hub"]

_EVENT_NAMES = {READ: "READ", WRITE: "WRITE"}


class Timeout(BaseException):
    """Raised in a microthread whose wait took too long.

    A BaseException, as in gevent, so that a stray ``except Exception`` in
    the waiting code cannot swallow it and wait on forever.  Use it through
    ``timeout=`` arguments, or as a context manager around any code that
    waits; the block's expiry raises, so the code after it never runs as
    if the wait had succeeded:

    >>> with Timeout(0.01):
    ...     sleep(1)
    Traceback (most recent call last):
      ...
    microthread.hub.Timeout: timed out after 0.01 s

    To give up quietly and go on, ask for it, and ask afterwards whether
    it fired (trio's ``move_on_after``, gevent's ``Timeout(s, False)``):

    >>> with Timeout(0.01, quiet=True) as deadline:
    ...     sleep(1)
    >>> deadline.fired
    True
    """

    def __init__(self, seconds=None, what=None, quiet=False):
        if seconds is not None:
            check_seconds(seconds, "Timeout")
        super().__init__(seconds, what)
        self.seconds = seconds
        self.what = what
        self.quiet = quiet    # as a block: swallow its own expiry
        self.fired = False    # as a block: whether it expired
        self._timer = None

    def __str__(self):
        what = f" waiting for {self.what}" if self.what else ""
        return f"timed out after {self.seconds} s{what}"

    def __enter__(self):
        if self._timer is not None:     # its one timer would be lost
            raise RuntimeError(f"Timeout({self.seconds}) already guards a "
                               f"block; make a new Timeout for each block")
        self.fired = False    # a Timeout may guard one block after another
        if self.seconds is not None:
            hub = get_hub()
            self._timer = hub.loop.call_later(
                self.seconds, self._fire, hub, getcurrent())
        return self

    def _fire(self, hub, microthread):
        self.fired = True
        hub.throw_into(microthread, self)

    def __exit__(self, kind, value, tb):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return value is self and self.quiet


class BlockedForever(RuntimeError):
    """Nothing can ever wake the blocked microthreads: a deadlock."""


class FdClosedError(OSError):
    """The fd a microthread waited on was closed through the runtime."""

    def __init__(self, fd, wait):
        super().__init__(errno.EBADF,
                         f"fd {fd} was closed while {name_of(wait.microthread)}"
                         f" waited for {_EVENT_NAMES[wait.event]} on it")
        self.fd = fd


class Waiter:
    """A one-shot wakeup for a parked microthread; stale calls do nothing.

    Wakeups that go through the ready queue (sleep, Event, join) can arrive
    after the wait they were meant for has ended, by timeout or kill.  The
    waiter is disarmed when its wait ends, so a late call is harmless.
    """

    __slots__ = ("microthread", "armed", "value")

    def __init__(self, microthread):
        self.microthread = microthread
        self.armed = True
        self.value = None

    def __call__(self, value=None):
        if self.armed:
            self.armed = False
            self.value = value
            _check_not_inherited(self.microthread, "wake")
            self.microthread.switch(value)


class Wait:
    """What one microthread waits for: the hub's one record of its waits.

    Reused by every wait of its microthread, so a wait allocates nothing.
    ``fd`` and ``event`` are set for the length of a ``wait_fd``, ``what``
    for the length of a ``park``; ``serial`` counts the waits, so a wakeup
    meant for one (a close) can tell it from the next.
    """

    __slots__ = ("microthread", "fd", "event", "what", "timer", "expired",
                 "serial")

    def __init__(self, microthread):
        self.microthread = microthread
        self.fd = None          # the fd of a wait_fd, else None
        self.event = None       # READ or WRITE, with fd
        self.what = None        # what a parked wait waits for, in words
        self.timer = None       # its one timeout timer, made on first use
        self.expired = None     # the Timeout that timer raised last
        self.serial = 0         # waits so far; this one's number

    @property
    def waiting(self):
        return self.fd is not None or self.what is not None

    def target(self):
        """What it waits for, in words: ``READ on fd 5``, ``Event.wait()``."""
        if self.fd is not None:
            return f"{_EVENT_NAMES[self.event]} on fd {self.fd}"
        return self.what

    def __repr__(self):
        state = f"waits for {self.target()}" if self.waiting else "runs"
        return f"<Wait: {name_of(self.microthread)} {state}>"


class Hub(greenlet):
    """Runs the loop; microthreads switch here when they would block."""

    lane = "hub"              # its short name in a timeline

    # Slots, not a dict: an attribute of a greenlet subclass with a dict
    # takes twice as long to read, and waiting reads several per wait.
    __slots__ = ("loop", "os_thread", "generation", "readers", "writers",
                 "parked", "_others")

    def __init__(self, loop):
        root = getcurrent()
        while root.parent is not None:
            root = root.parent
        super().__init__(parent=root)
        self.loop = loop
        self.os_thread = threading.get_ident()  # whose microthreads these are
        self.generation = _generation   # fork: whose hub, parent or child
        self.readers = {}         # fd -> Wait of the microthread reading it
        self.writers = {}         # fd -> Wait of the microthread writing it
        self.parked = set()       # Waits of microthreads parked (no fd)
        self._others = {}         # greenlet (not a Microthread) -> its Wait

    def run(self):
        loop = self.loop
        while True:
            if loop.idle_forever():
                self._hand_back(BlockedForever(self.describe_blocked()))
                continue
            try:
                loop.run_once()
            except (KeyboardInterrupt, SystemExit) as error:
                self._hand_back(error)       # the hub itself lives on

    def _hand_back(self, error):
        """Raise error in the main greenlet, outside any callback: the
        observers hear that no callback runs now (the detector's too)."""
        if self.loop.observers:
            self.loop.tell("handing_back", self.loop, error)
        self.parent.throw(error)

    def wait_of(self, microthread):
        """microthread's Wait record, made at its first wait.

        A greenlet that is not a Microthread (the main one, a foreign one)
        has its record here, in a table that forgets it when it dies.
        """
        if type(microthread) is Microthread:
            wait = microthread._wait
            if wait is None:
                wait = microthread._wait = Wait(microthread)
            return wait
        wait = self._others.get(microthread)
        if wait is None:
            for dead in [g for g in self._others if g.dead]:
                del self._others[dead]
            wait = self._others[microthread] = Wait(microthread)
        return wait

    # -- waiting for an fd -----------------------------------------------

    def claim(self, fd, event, microthread):
        """Make microthread the one waiting for (fd, event), or refuse;
        returns its Wait, now recording this wait.

        Every refusal comes before anything is registered: a second waiter,
        a wait inside the hub or inside ``loop.run()``, a bad event.
        """
        if event is READ:
            waits = self.readers
        elif event is WRITE:
            waits = self.writers
        else:
            check_event(event, fd)          # raises: not READ, not WRITE
        if fd in waits:
            raise RuntimeError(
                f"fd {fd} already has a microthread waiting for "
                f"{_EVENT_NAMES[event]}: {name_of(waits[fd].microthread)}; "
                f"two waiters on one fd would steal each other's data")
        if self.loop.running:
            self._refuse_inside_run(f"wait for {_EVENT_NAMES[event]} on "
                                    f"fd {fd}")
        if type(microthread) is Microthread and microthread._wait:
            wait = microthread._wait        # the usual: its own, reused
        else:
            wait = self._first_wait(microthread, fd)
        wait.fd = fd
        wait.event = event
        wait.expired = None
        wait.serial += 1
        waits[fd] = wait
        return wait

    def _first_wait(self, microthread, fd):
        """claim for a microthread with no record yet, or a greenlet that
        is not a Microthread (the main one); the hub itself may not wait."""
        if microthread is self:
            raise RuntimeError(
                f"wait for fd {fd} inside the hub: a loop callback must not "
                f"block; spawn a microthread to do the waiting")
        return self.wait_of(microthread)

    def release(self, wait):
        """End an fd wait: drop its claim and its own callback, nobody else's.

        After ``close_fd`` both are gone already and the fd number may
        belong to a new socket: then there is nothing of ours to remove.
        """
        fd, event = wait.fd, wait.event
        wait.fd = None
        waits = self.readers if event is READ else self.writers
        claim = waits.pop(fd, None)
        if claim is wait:
            self.loop.remove_callback(fd, event, wait.microthread.switch)
        elif claim is not None:             # a new socket's, on fd's number
            waits[fd] = claim

    def waiting_on(self, fd, event):
        """The Wait of the microthread waiting for (fd, event), if any."""
        return (self.readers if event is READ else self.writers).get(fd)

    def switch_out(self, wait, timeout):
        """Switch to the hub until the wait ends; with a timeout, re-arm the
        wait's own timer.  (``claim`` and ``park`` refused a wait inside
        ``loop.run()`` already.)"""
        if timeout is None:
            if self.loop.observers and self.loop.hooks["switching"]:
                return self._observed_switch(wait)
            return self.switch()
        if type(timeout) is not float or timeout != timeout:
            check_seconds(timeout, f"wait for {wait.target()}")
        timer = wait.timer
        if timer is None or timer.loop is not self.loop:   # a new hub: the
            timer = wait.timer = Timer(self.loop, math.inf,   # forker's child
                                       self._expire, (wait, timeout))
        wait.expired = None
        timer.args = (wait, timeout)
        timer.rearm(self.loop.time() + timeout)
        try:
            if self.loop.observers and self.loop.hooks["switching"]:
                return self._observed_switch(wait)
            return self.switch()
        finally:
            timer.cancel()

    def _expire(self, wait, timeout):
        """The wait's timer fired: raise a Timeout the wait will know."""
        error = wait.expired = Timeout(timeout, wait.target())
        wait.microthread.throw(error)

    # -- parking: waiting for a wakeup -----------------------------------

    def park(self, waiter, what, timeout=None):
        """Switch out until ``waiter()`` is called, or Timeout after timeout
        seconds; returns the value the waiter was called with."""
        microthread = waiter.microthread
        if microthread is self:
            raise RuntimeError(f"{what} inside the hub: a loop callback must "
                               f"not block; spawn a microthread instead")
        if self.loop.running:
            self._refuse_inside_run(what)
        if timeout is not None:
            check_seconds(timeout, what)
        wait = self.wait_of(microthread)
        wait.what = what
        wait.serial += 1
        self.parked.add(wait)
        try:
            if timeout is None:
                return self._switch_for(wait)
            return self.switch_out(wait, float(timeout))
        finally:
            waiter.armed = False
            wait.what = None
            wait.expired = None     # nobody asks; its traceback holds frames
            self.parked.discard(wait)

    def _switch_for(self, wait):
        if self.loop.observers and self.loop.hooks["switching"]:
            return self._observed_switch(wait)
        return self.switch()

    def _observed_switch(self, wait):
        """Switch out, telling the observers it was suspended and resumed."""
        loop = self.loop
        loop.tell("suspended", wait.microthread, wait)
        try:
            return self.switch()
        finally:
            loop.tell("resumed", wait.microthread)

    def _refuse_inside_run(self, what):
        raise RuntimeError(
            f"{what} inside a callback of loop.run(): the hub would run the "
            f"same loop again from inside it; let the hub run the loop, or "
            f"spawn a microthread to do the waiting")

    def throw_into(self, microthread, error):
        """Raise error in a parked microthread (a kill or a close does this)."""
        if not microthread.dead:
            microthread.throw(error)

    # -- closing ---------------------------------------------------------

    def close_fd(self, fd):
        """Forget fd in the loop and wake its waiters with FdClosedError.

        The claims go at once, so the fd number is free for a new socket
        before the old waiters even wake.
        """
        for waits in (self.readers, self.writers):
            wait = waits.pop(fd, None)
            if wait is not None:
                self.loop.call_soon(self._throw_if_still_waiting, wait,
                                    wait.serial, FdClosedError(fd, wait))
        self.loop.forget_fd(fd)

    def _throw_if_still_waiting(self, wait, serial, error):
        """Throw only into the very wait that was interrupted."""
        if wait.serial == serial and wait.fd is not None:
            wait.microthread.throw(error)

    # -- diagnosis -------------------------------------------------------

    def waits(self):
        """Every Wait in progress: fd waits, then parked ones."""
        return [*self.readers.values(), *self.writers.values(), *self.parked]

    def describe_blocked(self):
        """Name every blocked microthread and what it waits on."""
        lines = [f"{name_of(wait.microthread)} waits for {wait.target()}"
                 for wait in self.waits()]
        return ("every microthread is blocked and nothing can wake one "
                "(no fd, timer or pending call): " + "; ".join(lines))


_ids = itertools.count(1)


class Microthread(greenlet):
    """A spawned function: ``join()`` for its result, ``kill()`` to stop it."""

    # Slots, not a per-instance dict: at 10,000 connections it is memory.
    __slots__ = ("_hub", "_fn", "_args", "_kwargs", "name", "id", "_done",
                 "_result", "_error", "_joiners", "_start", "_wait",
                 "_retrieved")

    def __init__(self, hub, fn, args, kwargs, name=None):
        super().__init__(parent=hub)
        self._hub = hub
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self.name = name or getattr(fn, "__name__", "microthread")
        self.id = next(_ids)
        self._done = False
        self._result = None
        self._error = None
        self._retrieved = False   # a joiner has raised _error
        self._joiners = None      # a list once someone joins
        self._wait = None         # its Wait record, made at its first wait
        if hub.loop.observers:
            hub.loop.tell("spawned", self)
        self._start = hub.loop.call_soon(self.switch)

    def __repr__(self):
        return f"<Microthread {self.name!r} #{self.id}>"

    @property
    def lane(self):
        """Its short name in a timeline: the name it was spawned with."""
        return self.name

    @property
    def dead(self):
        """True once the function returned, raised or was killed."""
        return self._done

    def run(self):
        self._start = None            # started: nothing left to cancel
        if self._hub.loop.observers:
            self._hub.loop.tell("resumed", self)
        try:
            self._result = _call(self)
        except GreenletExit:
            pass
        except BaseException as error:
            self._error = error
            self._report(error)
        finally:
            self._finish()

    def _report(self, error):
        """An error nobody is waiting to join would be lost: report it.

        With joiners, it is reported after they ran if none raised it (one
        whose timeout fired in the same tick will not), as asyncio says
        "exception was never retrieved".
        """
        if isinstance(error, (KeyboardInterrupt, SystemExit)):
            self._hub.loop.call_soon(self._hub.parent.throw, error)
        elif not self._joiners:
            self._hub.loop.on_error(self, error)

    def _finish(self):
        self._done = True
        self._fn = self._args = self._kwargs = None
        if self._wait is not None:          # it and its timer go with us
            if self._wait.timer is not None:
                self._wait.timer.cancel()
            self._wait = None
        if self._hub.loop.observers:
            self._hub.loop.tell("ended", self)
        for waiter in self._joiners or ():
            self._hub.loop.call_soon(waiter)
        if self._joiners and self._error is not None and not isinstance(
                self._error, (KeyboardInterrupt, SystemExit)):
            self._hub.loop.call_soon(self._report_unless_retrieved)
        self._joiners = None

    def _report_unless_retrieved(self):
        if not self._retrieved:
            self._hub.loop.on_error(self, self._error)

    def join(self, timeout=None):
        """Wait for the end; return the result or raise its error."""
        self._check_thread("join")
        if getcurrent() is self and not self._done:
            raise RuntimeError(f"{self!r} cannot join itself: it would wait "
                               f"for ever")
        if not self._done:
            if self._joiners is None:
                self._joiners = []
            park(self._joiners, f"join {self!r}", timeout)
        if self._error is not None:
            self._retrieved = True
            raise self._error
        return self._result

    def kill(self, block=True, timeout=None):
        """Raise GreenletExit in it at its next wait; by default wait for it."""
        self._check_thread("kill")
        if self._done:
            return
        if not self:                      # never started: it never will
            self._start.cancel()
            self._finish()
            return
        self._hub.loop.call_soon(self._hub.throw_into, self, GreenletExit())
        if block and getcurrent() is not self:
            self.join(timeout)

    def _check_thread(self, action):
        _check_not_inherited(self, action)
        check_thread(self._hub.os_thread, f"{action} {self!r}")


# Bumped in a forked child: the hubs and microthreads made before the fork
# are copies of the parent's, which the child must never run -- except the
# one that called fork, which goes on in the child.
_generation = 0
_forker = None


def _forked():
    global _generation, _forker, _local
    _generation += 1
    _forker = root = getcurrent()
    while root.parent is not None:
        root = root.parent
    if _forker is not root:
        _forker.parent = root     # it ends into the child's main greenlet,
                                  # not into the parent's hub copy
    _local = threading.local()    # the parent's hubs are not the child's


os.register_at_fork(after_in_child=_forked)


def _check_not_inherited(microthread, action):
    """Refuse to run a microthread a forked child inherited: resumed, it
    would end in its hub's copy, a loop that belongs to the parent."""
    if isinstance(microthread, Microthread) and (
            microthread._hub.generation != _generation
            and microthread is not _forker):
        raise RuntimeError(
            f"cannot {action} {microthread!r}: it was inherited from the parent "
            f"process across fork, and never runs in the child")


def _call(microthread):
    """Run microthread's function, holding neither its arguments' tuple nor
    its keywords' dict while it runs, and by a plain call when there are few
    positionals.

    A parked microthread keeps its frames and its C stack.  CPython 3.11 runs
    a plain call of a Python function in the same C frame, but ``fn(*args)``
    recurses in C: the plain call saves about 0.4 KiB per microthread (C10K:
    4 MiB).  And the tuple and the (usually empty) dict ``spawn`` was given
    would stay for the microthread's whole life, about 0.1 KiB, unless taken
    off it and let go before the call.  Both savings are for the usual
    spawn, up to three positionals and no keywords; any other call keeps
    its tuple and dict, as ``fn(*args, **kwargs)`` must.
    """
    fn, args, kwargs = microthread._fn, microthread._args, microthread._kwargs
    microthread._fn = microthread._args = microthread._kwargs = None
    if not kwargs:
        count = len(args)
        if count == 0:
            del args, kwargs
            return fn()
        if count == 1:
            first, = args
            del args, kwargs
            return fn(first)
        if count == 2:
            first, second = args
            del args, kwargs
            return fn(first, second)
        if count == 3:
            first, second, third = args
            del args, kwargs
            return fn(first, second, third)
    return fn(*args, **kwargs)


_local = threading.local()     # this OS thread's hubs, one per loop


def get_hub():
    """This OS thread's hub (and loop), made on first use."""
    loop = get_loop()
    try:
        hub = _local.hub
    except AttributeError:      # this OS thread's first call
        hub = None
    if hub is None or hub.loop is not loop or not hub and hub.dead:
        hub = _local.hub = _hub_of(loop)    # (a running hub is not dead)
    return hub


def current_hub():
    """This OS thread's hub if it has one running its loop, else None
    (makes none)."""
    hub = getattr(_local, "hub", None)
    if hub is None or hub.dead or hub.loop is not current_loop():
        return None
    return hub


def _hub_of(loop):
    """loop's hub: an OS thread may set a loop aside and take it back later
    (``set_loop``), and its microthreads must find their hub again."""
    hubs = _local.__dict__.setdefault("hubs", weakref.WeakValueDictionary())
    hub = hubs.get(id(loop))            # alive only while someone needs it
    if hub is None or hub.dead or hub.loop is not loop:
        hub = hubs[id(loop)] = Hub(loop)
        detector.attach(loop)
    return hub


def wait_fd(fd, event, timeout=None):
    """挂起当前微线程，直到 fd 上发生 event。"""
    thread = getcurrent()
    hub = get_hub()
    wait = hub.claim(fd, event, thread)  # 一个 (fd, event) 一个等待者
    try:
        hub.loop.register_fd(fd, event, thread.switch)
        # 主动挂起当前微线程，切到 hub：协作式调度
        hub.switch_out(wait, timeout)
    finally:
        hub.release(wait)                # 超时、出错、被杀都要注销


def park(waiters, what, timeout=None, woken_anyway=None):
    """Wait in the list ``waiters`` until a waker calls our Waiter from it.

    However the wait ends, the list is left as it should be: a Waiter still
    in it is taken out; one a waker took just as we gave up (a Timeout, a
    kill) calls ``woken_anyway()``, to pass on what it was given (a Lock's
    turn, a Queue's item) instead of losing it.
    """
    hub = get_hub()
    waiter = Waiter(getcurrent())
    waiters.append(waiter)
    try:
        return hub.park(waiter, what, timeout)
    except BaseException:
        if waiter in waiters:
            waiters.remove(waiter)
        elif woken_anyway is not None:
            woken_anyway()
        raise


def spawn(fn, *args, **kwargs):
    """Start fn(*args, **kwargs) in a new microthread; returns its handle."""
    if not callable(fn):
        raise TypeError(f"spawn() needs a function to run, not {fn!r}")
    return Microthread(get_hub(), fn, args, kwargs)


def sleep(seconds=0):
    """Let others run; ``sleep(0)`` just yields to everyone ready."""
    check_seconds(seconds, "sleep()")
    hub = get_hub()
    waiter = Waiter(getcurrent())
    if seconds <= 0:
        hub.loop.call_soon(waiter)
        hub.park(waiter, "sleep(0)")
        return
    timer = hub.loop.call_later(seconds, waiter)
    try:
        hub.park(waiter, f"sleep({seconds})")
    finally:
        timer.cancel()


def close_fd(fd):
    """Forget fd in this OS thread's loop, waking its waiters with an error."""
    get_hub().close_fd(fd)
