"""The hub: one greenlet per OS thread that runs that thread's event loop.

This backs the slide 区别在send的实现.  A microthread that would block
registers its own ``switch`` as the loop callback and switches to the hub;
the hub runs the loop, and when the event comes the loop calls that
``switch``, resuming the microthread where it stopped.  That is cooperative
scheduling: a switch happens only where code waits.

The slide function is ``wait_fd``.  What makes it safe lives here:

- one waiting microthread per (fd, event) -- two readers of one socket is a
  bug that asyncio hides by replacing the first callback; we refuse it;
- cleanup in ``finally``, so timeouts, errors and kills never leave a
  stale callback behind;
- closing an fd through ``close_fd`` wakes its waiters with an error that
  names the fd, instead of leaving them asleep forever;
- when nothing can ever wake anyone, the main greenlet gets
  ``BlockedForever`` naming every blocked microthread and what it waits on;
- a timed wait re-arms one timer per microthread instead of pushing a new
  heap entry each time (the idle-timeout hot path).

The main greenlet can call all of this: it blocks and the hub runs.
"""

import itertools
import os
import threading

from greenlet import GreenletExit, getcurrent, greenlet

from . import detector
from .loop import Timer, get_loop
from .pollers import READ, WRITE

__all__ = ["Hub", "Microthread", "Timeout", "BlockedForever", "FdClosedError",
           "get_hub", "wait_fd", "spawn", "sleep", "close_fd"]

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
        self.wait = None      # (fd, event) for a ``wait_fd`` timeout= expiry
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

    def _fire(self, hub, thread):
        self.fired = True
        hub.throw_into(thread, self)

    def __exit__(self, kind, value, tb):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return value is self and self.quiet


class BlockedForever(RuntimeError):
    """Nothing can ever wake the blocked microthreads: a deadlock."""


class FdClosedError(OSError):
    """The fd a microthread waited on was closed through the runtime."""

    def __init__(self, fd, event, waiter):
        import errno
        super().__init__(errno.EBADF,
                         f"fd {fd} was closed while {who(waiter)} waited for "
                         f"{_EVENT_NAMES.get(event, event)} on it")
        self.fd = fd


class Waiter:
    """A one-shot wakeup for a parked greenlet; stale calls do nothing.

    Wakeups that go through the ready queue (sleep, Event, join) can arrive
    after the wait they were meant for has ended, by timeout or kill.  The
    waiter is disarmed when its wait ends, so a late call is harmless.
    """

    __slots__ = ("greenlet", "armed", "value")

    def __init__(self, thread):
        self.greenlet = thread
        self.armed = True
        self.value = None

    def __call__(self, value=None):
        if self.armed:
            self.armed = False
            self.value = value
            _check_not_inherited(self.greenlet, "wake")
            self.greenlet.switch(value)


class Hub(greenlet):
    """Runs the loop; microthreads switch here when they would block."""

    def __init__(self, loop):
        root = getcurrent()
        while root.parent is not None:
            root = root.parent
        super().__init__(parent=root)
        self.loop = loop
        self.thread_ident = threading.get_ident()
        self.generation = _generation   # fork: whose hub, parent or child
        self.parked = {}          # greenlet -> what it waits for (not an fd)

    def run(self):
        loop = self.loop
        while True:
            if loop.idle_forever():
                self.parent.throw(BlockedForever(self.describe_blocked()))
                continue
            try:
                loop.run_once()
            except (KeyboardInterrupt, SystemExit) as error:
                self.parent.throw(error)     # the hub itself lives on

    # -- the waiting side ------------------------------------------------

    def claim(self, fd, event, thread):
        """Make thread the one microthread waiting for (fd, event), or refuse.

        The claim is kept where the wakeup is: the loop's callbacks of
        (fd, event), which hold the waiting microthread's ``switch``.  A
        separate table of claims cost a second lookup, insert and delete per
        wait; here the usual case -- no callback at all -- is one check.
        """
        if thread is self:
            raise RuntimeError(
                f"wait for fd {fd} inside the hub: a loop callback must not "
                f"block; spawn a microthread to do the waiting")
        if event is not READ and event is not WRITE:
            raise ValueError(f"wait for fd {fd}: event must be READ or WRITE,"
                             f" not {event!r}")
        if self.loop.has_callbacks(fd, event):
            other = self.waiter(fd, event)
            if other is not None:
                raise RuntimeError(
                    f"fd {fd} already has a microthread waiting for "
                    f"{_EVENT_NAMES[event]}: {who(other)}; two waiters on one "
                    f"fd would steal each other's data")
        thread._mt_waiting = (fd, event)    # this wait, and its name

    def release(self, fd, event, thread):
        """End thread's wait: remove its own callback, nobody else's.

        After ``close_fd`` the callback is already gone and the fd number may
        belong to a new socket: then there is nothing of ours to remove.
        """
        thread._mt_waiting = None
        self.loop.remove_callback(fd, event, thread.switch)

    def waiter(self, fd, event):
        """The greenlet waiting for (fd, event) through ``wait_fd``, if any."""
        wait = (fd, event)
        for callback in self.loop.callbacks(fd, event):
            owner = getattr(callback, "__self__", None)
            if (isinstance(owner, greenlet)
                    and getattr(owner, "_mt_waiting", None) == wait):
                return owner
        return None

    @property
    def fd_waiters(self):
        """{(fd, event): greenlet} for every wait on an fd (for diagnosis)."""
        waiting = {}
        for fd, event in self.loop.watched():
            owner = self.waiter(fd, event)
            if owner is not None:
                waiting[fd, event] = owner
        return waiting

    def switch_out(self, thread, timeout):
        """Switch to the hub; with a timeout, re-arm thread's own timer."""
        if self.loop.running:
            fd, event = thread._mt_waiting
            self._refuse_inside_run(
                f"wait for {_EVENT_NAMES[event]} on fd {fd}")
        if timeout is None:
            return self.switch()
        if type(timeout) is not float or timeout != timeout:
            fd, event = thread._mt_waiting
            check_seconds(timeout, f"wait for {_EVENT_NAMES[event]} on fd {fd}")
        timer = self._timer_of(thread)
        timer.args = (thread, timeout)
        timer.rearm(self.loop.time() + timeout)
        try:
            return self.switch()
        finally:
            timer.cancel()

    def block(self, waiter, what, timeout=None):
        """Park waiter's greenlet until ``waiter()`` is called, or timeout."""
        thread = waiter.greenlet
        if thread is self:
            raise RuntimeError(f"{what} inside the hub: a loop callback must "
                               f"not block; spawn a microthread instead")
        if self.loop.running:
            self._refuse_inside_run(what)
        timer = None
        if timeout is not None:
            check_seconds(timeout, what)
            timer = self.loop.call_later(
                timeout, self.throw_into, thread, Timeout(timeout, what))
        self.parked[thread] = what
        try:
            return self.switch()
        finally:
            waiter.armed = False
            del self.parked[thread]
            if timer is not None:
                timer.cancel()

    def _refuse_inside_run(self, what):
        raise RuntimeError(
            f"{what} inside a callback of loop.run(): the hub would run the "
            f"same loop again from inside it; let the hub run the loop, or "
            f"spawn a microthread to do the waiting")

    def throw_into(self, thread, error):
        """Raise error in a parked greenlet (a timer or close does this)."""
        if not thread.dead:
            thread.throw(error)

    def _timer_of(self, thread):
        """Each greenlet's own reusable timeout timer, made on first use."""
        timer = getattr(thread, "_mt_timer", None)
        if timer is None or timer._loop is not self.loop:   # new hub, new timer
            timer = thread._mt_timer = Timer(    # armed by its first rearm
                self.loop, float("inf"), self._expire, (thread, None))
        return timer

    def _expire(self, thread, timeout):
        fd, event = thread._mt_waiting
        error = Timeout(timeout, f"{_EVENT_NAMES[event]} on fd {fd}")
        error.wait = (fd, event)
        thread.throw(error)

    # -- closing ---------------------------------------------------------

    def close_fd(self, fd):
        """Forget fd in the loop and wake its waiters with FdClosedError.

        The claims go at once, so the fd number is free for a new socket
        before the old waiters even wake.
        """
        for event in (READ, WRITE):
            thread = self.waiter(fd, event)
            if thread is not None:
                self.loop.call_soon(self._throw_if_still_waiting, fd, event,
                                    thread, thread._mt_waiting)
        self.loop.forget_fd(fd)

    def _throw_if_still_waiting(self, fd, event, thread, wait):
        """Throw only into the very wait that was interrupted."""
        if thread._mt_waiting is wait:
            thread.throw(FdClosedError(fd, event, thread))

    # -- diagnosis -------------------------------------------------------

    def describe_blocked(self):
        """Name every blocked greenlet and what it waits on."""
        lines = [f"{who(thread)} waits for {_EVENT_NAMES[event]} on fd {fd}"
                 for (fd, event), thread in self.fd_waiters.items()]
        lines += [f"{who(thread)} waits for {what}"
                  for thread, what in self.parked.items()]
        return ("every microthread is blocked and nothing can wake one "
                "(no fd, timer or pending call): " + "; ".join(lines))


def check_thread(owner, what):
    """Refuse ``what`` unless called from OS thread ``owner``: greenlets,
    and whatever wakes them, belong to the thread that made them."""
    here = threading.get_ident()
    if here != owner:
        raise RuntimeError(
            f"cannot {what} from OS thread {here}: greenlets are bound to "
            f"the thread that made them ({owner}); hand the call over with "
            f"loop.call_soon_threadsafe")


def check_seconds(seconds, what):
    """A timeout must be a number of seconds; say whose it is if not."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"{what}: timeout must be a number of seconds, "
                        f"not {seconds!r}")
    if seconds != seconds:
        raise ValueError(f"{what}: timeout is NaN, not a number of seconds")


def who(thread):
    """A readable name for any greenlet: ours, the main one, or foreign."""
    if isinstance(thread, Microthread):
        return repr(thread)
    if thread.parent is None:
        return "the main greenlet"
    return f"greenlet {thread!r}"


_ids = itertools.count(1)


class Microthread(greenlet):
    """A spawned function: ``join()`` for its result, ``kill()`` to stop it."""

    # Slots, not a per-instance dict: at 10,000 connections it is memory.
    __slots__ = ("_hub", "_fn", "_args", "_kwargs", "name", "id", "_done",
                 "_result", "_error", "_joiners", "_start", "_mt_waiting",
                 "_mt_timer", "_retrieved")

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
        self._start = hub.loop.call_soon(self.switch)

    def __repr__(self):
        return f"<Microthread {self.name!r} #{self.id}>"

    @property
    def dead(self):
        """True once the function returned, raised or was killed."""
        return self._done

    def run(self):
        self._start = None            # started: nothing left to cancel
        try:
            self._result = _call(self._fn, self._args, self._kwargs)
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
            waiter = Waiter(getcurrent())
            if self._joiners is None:
                self._joiners = []
            self._joiners.append(waiter)
            try:
                self._hub.block(waiter, f"join {self!r}", timeout)
            finally:
                if self._joiners and waiter in self._joiners:
                    self._joiners.remove(waiter)
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
        check_thread(self._hub.thread_ident, f"{action} {self!r}")


# Bumped in a forked child: the hubs and microthreads made before the fork
# are copies of the parent's, which the child must never run -- except the
# one that called fork, which goes on in the child.
_generation = 0
_forker = None


def _forked():
    global _generation, _forker
    _generation += 1
    _forker = root = getcurrent()
    while root.parent is not None:
        root = root.parent
    if _forker is not root:
        _forker.parent = root     # it ends into the child's main greenlet,
                                  # not into the parent's hub copy


os.register_at_fork(after_in_child=_forked)


def _check_not_inherited(thread, action):
    """Refuse to run a microthread a forked child inherited: resumed, it
    would end in its hub's copy, a loop that belongs to the parent."""
    if isinstance(thread, Microthread) and (
            thread._hub.generation != _generation) and thread is not _forker:
        raise RuntimeError(
            f"cannot {action} {thread!r}: it was inherited from the parent "
            f"process across fork, and never runs in the child")


def _call(fn, args, kwargs):
    """fn(*args, **kwargs), by a plain call when there are few positionals.

    CPython 3.11 runs a plain call of a Python function in the same C frame,
    but ``fn(*args)`` recurses in C; a parked microthread keeps its C stack,
    so the plain call saves about 0.4 KiB per microthread (C10K: 4 MiB).
    """
    if not kwargs:
        count = len(args)
        if count == 0:
            return fn()
        if count == 1:
            return fn(args[0])
        if count == 2:
            return fn(args[0], args[1])
        if count == 3:
            return fn(args[0], args[1], args[2])
    return fn(*args, **kwargs)


def get_hub():
    """This OS thread's hub (and loop), made on first use."""
    loop = get_loop()
    hub = loop.hub
    if hub is None or hub.dead:
        hub = loop.hub = Hub(loop)
        detector.attach(loop)
    return hub


def wait_fd(fd, event, timeout=None):
    """挂起当前微线程，直到 fd 上发生 event。"""
    thread = getcurrent()
    hub = get_hub()
    hub.claim(fd, event, thread)        # 一个 (fd, event) 一个等待者
    try:
        hub.loop.register_fd(fd, event, thread.switch)
        # 主动挂起当前微线程，切到 hub：协作式调度
        hub.switch_out(thread, timeout)
    finally:
        hub.release(fd, event, thread)  # 超时、出错、被杀都要注销


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
        hub.block(waiter, "sleep(0)")
        return
    timer = hub.loop.call_later(seconds, waiter)
    try:
        hub.block(waiter, f"sleep({seconds})")
    finally:
        timer.cancel()


def close_fd(fd):
    """Forget fd in this thread's loop, waking its waiters with an error."""
    get_hub().close_fd(fd)
