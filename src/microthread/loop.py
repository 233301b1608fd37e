"""The event loop: poll, then run the callbacks registered per (fd, event).

This is the slide 事件驱动主循环 as real code.  ``run_once`` is the whole
idea: wait for events, call what was registered for each, then run the
timers and queued callbacks that are due.  Everything that makes it robust
lives in small helpers so the slide functions stay slide-sized:

- one ``FdWatch`` per fd: its kernel mask and its callbacks per event,
  found by one lookup of the fd;
- one kernel registration per fd whose mask is modified (never a second
  ADD), and *lazy* trimming: ``unregister_fd`` only drops callbacks, the
  kernel mask shrinks when an event arrives that nobody waits for, so a
  microthread that waits on the same fd again costs no ``epoll_ctl``;
- timers on a heap of (when, sequence, timer), so equal deadlines run first
  in, first out; a timer re-armed later moves lazily (no new heap entry);
- a ready queue of which each tick runs only what was ready when it began;
- an eventfd (or socketpair) that other OS threads write to wake the loop;
- a callback that raises is reported with its traceback and the loop goes
  on; KeyboardInterrupt and SystemExit propagate.

The kernel's set and ours
-------------------------

Lazy trimming means the kernel may still watch an fd after
``unregister_fd`` has returned, and the user, rightly, treats the fd as
theirs again: they close it with a plain ``close()``, ``dup`` it, or the
OS hands its number to a new socket.  Some facts about epoll decide what
can then go wrong:

- epoll registers an open *file*, under its fd number.  Closing the number
  removes the registration only if no other fd (a ``dup``, a forked
  child's copy) keeps the file open; otherwise it lingers, reporting
  readiness under a number that may now be someone else's, and no
  ``epoll_ctl`` can reach it, since the number names the new file now.
- ``epoll_ctl`` on a reused number speaks of the new file: MOD and DEL
  answer ENOENT, ADD succeeds beside the lingering one.
- select() and poll() keep no state in the kernel: they look the number up
  on every call (select fails the whole call with EBADF for a closed one).

So the loop holds three rules.  First, it never trusts a lazily kept
registration it cannot vouch for: waiting again on an fd whose interest was
kept re-asserts it with a MOD, unless a live socket adopted that fd
(``adopt``; every GreenSocket does): while a socket object is open, its
``fileno()`` still answering the fd, the number cannot have changed hands.
Second, any
disagreement -- ENOENT, EEXIST or EBADF about an fd we hold, or select's
EBADF -- is ours, never the user's: the loop throws the kernel's set away
and rebuilds it from its own watches (``_resync``; libev rebuilds its epoll
set the same way), which also kills whatever lingered.  Third, a watched fd
found closed during a rebuild is reported ready once, for both events, and
then dropped (libev's ``fd_kill``), so whoever still waits on it meets EBADF
in its own call instead of sleeping for ever; one whose wait ended in the
meantime has taken its callback back and is not disturbed.

A callback list is never shortened while a dispatch walks it (that would
skip the next callback): a removal leaves a no-op in the walked list, and
such holes are filled in before the next poll.

Events are fetched for a whole tick before any is dispatched, so one that a
callback made stale earlier in the tick (closing an fd whose number it then
reused) can still arrive: like a wakeup after another reader took the data,
it is spurious, and callbacks must try their call and tolerate EAGAIN
(GreenSocket does).

Closing an fd *while* a callback or a microthread waits on it, other than
through ``forget_fd`` (``microthread.close`` and ``GreenSocket.close`` do),
is unsupported: epoll forgets the closed file silently, and its waiter is
woken only if a later rebuild finds the fd closed.

``EventLoop(lazy=False)`` trims the kernel's interest as soon as an event
has no callback left, as the textbook loop does: two ``epoll_ctl`` per
wait.  It exists to measure what laziness saves (``make bench``).

Who may watch, and what the loop knows
--------------------------------------

The loop knows no greenlets: it calls callbacks, and a microthread's
``switch`` is one callback among others.  It keeps nothing for anyone who
watches it.  Observers (microthread.observer) register with ``observe``
and hear of each poll and each callback; the hub adds the microthreads'
lives.  While ``observers`` is empty, each event site costs one check of
an empty tuple.  ``_call`` is the only place where callbacks are called,
so it is the only place a dispatch is told.

A forked child shares its parent's epoll fd, and with it the interest
list: one ``epoll_ctl`` in the child would change the parent's watches.
So every loop the child inherits hands its poller over to a stand-in that
refuses all use, and the child makes its own loop on first use.

A loop belongs to one OS thread.  Its clock is ``time.monotonic`` unless a
test hands it another (``EventLoop(clock=...)``).
"""

import collections
import errno
import heapq
import itertools
import math
import os
import socket
import sys
import threading
import time
import traceback
import weakref

from .checks import check_event, check_seconds
from .names import name_of
from .observer import hooks
from .pollers import READ, WRITE, check_fd, make_poller

__all__ = ["EventLoop", "FdWatch", "Handle", "Timer", "get_loop"]

# The longest a poll may sleep: epoll takes an int of milliseconds (about
# 24.8 days), select a bounded struct.  A timer further off is not missed:
# the loop wakes early, finds nothing due and polls again (asyncio does so).
MAX_POLL_SECONDS = 24 * 3600

# What the kernel says when its set and ours disagree about an fd we hold.
_OUT_OF_STEP = {errno.ENOENT, errno.EEXIST, errno.EBADF}


class Handle:
    """A queued call; ``cancel()`` makes the loop skip it."""

    __slots__ = ("callback", "args", "cancelled")

    def __init__(self, callback, args):
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self):
        self.cancelled = True

    def __repr__(self):
        state = " cancelled" if self.cancelled else ""
        return f"<Handle {name_of(self.callback)}{state}>"


class Timer(Handle):
    """A call at a deadline; ``rearm`` moves it without a new heap entry."""

    __slots__ = ("when", "loop", "_entry")

    def __init__(self, loop, when, callback, args):
        super().__init__(callback, args)
        self.loop = loop           # the loop it runs on
        self.when = when
        self._entry = None  # the (when, seq, self) heap entry that is live

    def rearm(self, when):
        """Fire at ``when`` instead; later deadlines cost no heap push."""
        if type(when) is not float or when != when:   # a float: the usual
            _check_deadline(when, self.callback)
        self.when = when
        if self.cancelled:
            self.cancelled = False
            if self._entry is not None:
                self.loop._timer_revived()
        if self._entry is None or when < self._entry[0]:
            self.loop._push_timer(self)

    def cancel(self):
        """Skip it; its heap entry goes when due, or in a compaction."""
        if not self.cancelled:
            self.cancelled = True
            if self._entry is not None:
                self.loop._timer_cancelled()

    def __repr__(self):
        return f"<Timer at {self.when:.6f} {name_of(self.callback)}>"


class FdWatch:
    """What the loop keeps for one fd: the kernel's mask and the callbacks.

    One small object per fd, found by one lookup of the fd, with a list per
    event that has callbacks.  A microthread that waits on its socket again
    touches this object and nothing new; a dict entry per (fd, event) cost
    a tuple, a hash and a fresh list on every wait, and at 10,000
    connections each of those is a cache miss.  An event nobody waits for
    holds the empty tuple, which every watch shares: a connection parked
    on READ keeps no empty list for WRITE (56 bytes, half a MiB at C10K).
    """

    __slots__ = ("fd", "mask", "readers", "writers", "owner")

    def __init__(self, fd):
        self.fd = fd
        self.mask = 0          # the events the kernel reports for fd
        self.readers = _NO_CALLBACKS   # called on READ, in order registered
        self.writers = _NO_CALLBACKS   # called on WRITE
        self.owner = _NOBODY   # weakref to the socket that adopted fd

    def owned(self):
        """Whether a live socket still holds fd, so it was not reused.

        A socket object closes its number only through ``close()``, after
        which ``fileno()`` is -1; while it answers fd, fd is its file.
        """
        sock = self.owner()
        return sock is not None and sock.fileno() == self.fd

    def callbacks(self, event):
        """The live list of event's callbacks, made when it has none."""
        if event == READ:
            if self.readers is _NO_CALLBACKS:
                self.readers = []
            return self.readers
        if event == WRITE:
            if self.writers is _NO_CALLBACKS:
                self.writers = []
            return self.writers
        check_event(event, self.fd)

    def _current(self, event):
        """event's callbacks as they are, a list or (), making no list."""
        if event == READ:
            return self.readers
        if event == WRITE:
            return self.writers
        check_event(event, self.fd)

    def clear(self, event):
        """Drop event's callbacks; returns how many there were.

        The old list is emptied, so a dispatch that is walking it stops, and
        replaced, so a callback registered from inside that dispatch waits
        for the next event instead of running for this one.
        """
        callbacks = self._current(event)
        count = len(callbacks) - callbacks.count(_removed)
        if callbacks:
            callbacks.clear()
        self.renew(event)
        return count

    def remove(self, event, callback, walking):
        """Drop one of event's callbacks; whether it was there.

        The list a dispatch is ``walking`` is not shortened under it, which
        would skip the callback after this one: a no-op takes its slot
        (the loop fills such holes in before the next poll).  Once none of
        it is real, event gets a fresh list, so that a microthread that
        waits again from inside the dispatch waits for the next event.
        """
        callbacks = self._current(event)
        if callback not in callbacks:
            return False
        index = callbacks.index(callback)
        if callbacks is not walking:
            del callbacks[index]
        else:
            callbacks[index] = _removed
            if callbacks.count(_removed) == len(callbacks):
                self.renew(event)
        return True

    def renew(self, event):
        """Leave event with no list (a dispatch may walk the old one)."""
        if event == READ:
            self.readers = _NO_CALLBACKS
        else:
            self.writers = _NO_CALLBACKS

    def __repr__(self):
        return (f"<FdWatch fd={self.fd} mask={self.mask} "
                f"readers={len(self.readers)} writers={len(self.writers)}>")


class EventLoop:
    """One OS thread's loop over one poller (epoll, poll, select, kqueue)."""

    def __init__(self, poller=None, clock=None, lazy=True):
        self._poller = make_poller(poller)  # epoll, kqueue, poll or select
        self.time = clock or time.monotonic  # deadlines are in its seconds
        self.lazy = lazy          # trim the kernel's interest lazily (below)
        self.observers = ()       # see microthread.observer; () costs a check
        self.hooks = hooks(())    # event -> the observers' methods for it
        self._fds = {}            # fd -> FdWatch: its kernel mask, callbacks
        self._live = 0            # callbacks registered on all fds
        self._ready = collections.deque()   # Handles to run this tick
        self._timers = []         # heap of (when, seq, Timer)
        self._seq = itertools.count()       # tie-break: FIFO at equal when
        self._external = 0        # calls other threads have promised us
        self._cancelled = 0       # cancelled timers still on the heap
        self._stopping = False
        self._closed = False
        self.thread_ident = threading.get_ident()
        self.on_error = _print_error
        self.resyncs = 0          # kernel sets rebuilt after a disagreement
        self.running = False      # inside run(), driven by its caller
        self._source = None       # what the observed dispatch answers
        self._observing = threading.Lock()   # observe() from any OS thread
        self._walking = None      # the callback list being dispatched
        self._dead = []           # watches of fds found closed, to report
        self._buried = []         # watches reported dead, to drop
        self._holed = []          # watches whose walked list has holes
        self._wake_lock = threading.RLock()  # the wakeup fd's lifetime
        self._pid = os.getpid()   # a forked child shares our epoll: hands off
        self._open_wakeup()
        _loops.add(self)

    @property
    def poller_name(self):
        return self._poller.name

    @property
    def closed(self):
        return self._closed

    @property
    def wakeup_fd(self):
        """The fd that ``call_soon_threadsafe`` makes readable (its READ
        callback drains it): an observer can tell its dispatches apart."""
        return self._wake_fd

    # -- the slide: the main loop ----------------------------------------

    def run_once(self):
        """一轮主循环：等事件，调用注册在 (fd, event) 上的回调。"""
        events = self._wait()        # epoll_wait()，超时看定时器
        for fd, event in events:
            for callback in self._callbacks_for(fd, event):
                self._call(callback)
        self._run_timers()
        self._run_ready()

    def run(self):
        """Run ticks until ``stop()`` or until nothing is left to wait on.

        Its callbacks run in the caller's greenlet, so none may block: a
        hub would run this loop again from inside it (``running`` says so).
        """
        self._stopping = False
        self.running = True
        try:
            while not self._stopping and not self.idle_forever():
                self.run_once()
        finally:
            self.running = False

    def stop(self):
        self._stopping = True

    # -- observers -------------------------------------------------------

    def observe(self, observer):
        """Tell observer what this loop and its hub do (microthread.observer).

        Any OS thread may add or remove one: ``observers`` is a tuple,
        replaced whole, so a dispatch walking the old one is undisturbed.
        """
        with self._observing:
            if observer not in self.observers:
                self.hooks = hooks((*self.observers, observer))
                self.observers = (*self.observers, observer)

    def unobserve(self, observer):
        with self._observing:
            observers = tuple(o for o in self.observers if o is not observer)
            self.hooks = hooks(observers)
            self.observers = observers

    # -- the slide: registering callbacks --------------------------------

    def register_fd(self, fd, event, callback):
        """注册：fd 上发生 event 时调用 callback。"""
        if self._closed or not callable(callback):
            self._refuse_callback(fd, callback)  # 当场拒绝，不等到分发
        watch = self._fds.get(fd) or FdWatch(fd)  # fd 的掩码和回调表
        callbacks = watch.callbacks(event)
        if not watch.mask & event:                # 内核还没关注这个事件
            self._watch(watch, watch.mask | event)  # epoll_ctl: ADD/MOD
        elif not callbacks and not watch.owned():  # 惰性注销留下的关注：
            self._watch(watch, watch.mask)        # fd 号可能已易主，重申
        callbacks.append(callback)
        self._live += 1

    def unregister_fd(self, fd, event):
        """注销 (fd, event) 上的全部回调；内核的关注稍后再撤。"""
        watch = self._fds.get(fd)
        if watch is not None:
            self._live -= watch.clear(event)  # 本轮正在分发的也不再调用
            if not self.lazy:
                self._trim(watch, event)

    # -- closing an fd through the loop ----------------------------------

    def remove_callback(self, fd, event, callback):
        """Remove one callback of (fd, event), leaving the others.

        The usual call ends a wait: its callback is the only one, and the
        list gets replaced (a dispatch walking it is undisturbed) without
        a call to FdWatch.remove.
        """
        watch = self._fds.get(fd)
        if watch is None:
            return
        if event is READ and watch.readers == [callback]:   # the usual:
            watch.readers = _NO_CALLBACKS                    # a wait's own
        elif event is WRITE and watch.writers == [callback]:
            watch.writers = _NO_CALLBACKS
        else:
            self._remove_one_of_many(watch, event, callback)
            return
        self._live -= 1
        if not self.lazy:
            self._trim(watch, event)

    def _remove_one_of_many(self, watch, event, callback):
        """remove_callback where others share (fd, event), or it is not there."""
        if watch.remove(event, callback, self._walking):
            self._live -= 1
            live = watch.callbacks(event)
            if live is self._walking:
                self._holed.append(watch)   # filled in before the next poll
            elif not self.lazy and not live:
                self._trim(watch, event)

    def forget_fd(self, fd):
        """Drop every callback of fd and remove it from the poller.

        Call this *before* closing fd: once closed, the OS may hand the same
        number to a new socket, and epoll has already forgotten the old one.
        """
        watch = self._fds.pop(fd, None)
        if watch is not None:
            self._live -= watch.clear(READ) + watch.clear(WRITE)
            self._unwatch(watch)

    def adopt(self, sock):
        """sock holds its fd from now on: its lazily kept interest is trusted.

        A record left by an fd closed without the loop's knowledge (a socket
        dropped or closed by a library) is dropped first: its kernel
        registration is gone, or lingers on a ``dup`` of the old file.
        Only a record with no callbacks can be stale.
        """
        fd = sock.fileno()
        watch = self._fds.get(fd)
        if watch is not None and not watch.readers and not watch.writers:
            del self._fds[fd]
            self._unwatch(watch)
            watch = None
        if watch is None:
            watch = self._fds[fd] = FdWatch(check_fd(fd))
        watch.owner = weakref.ref(sock)

    def watches(self, fd):
        """The events the kernel is asked to report for fd (0: none)."""
        watch = self._fds.get(fd)
        return watch.mask if watch is not None else 0

    def has_ready(self):
        """Whether calls wait in the ready queue (read by other threads)."""
        return bool(self._ready)

    def ready_count(self):
        """How many calls wait in the ready queue (the live hub view shows it)."""
        return len(self._ready)

    def has_callbacks(self, fd, event):
        """Whether (fd, event) has a callback (a claim checks this per wait)."""
        watch = self._fds.get(fd)
        if watch is None:
            return False
        return bool(watch.readers if event == READ else
                    event == WRITE and watch.writers)

    def callbacks(self, fd, event):
        """A copy of the callbacks registered for (fd, event)."""
        watch = self._fds.get(fd)
        if watch is None:
            return ()
        check_event(event, fd)
        return tuple(watch.readers if event == READ else watch.writers)

    def watched(self):
        """Every (fd, event) that has callbacks now."""
        return [(fd, event) for fd, watch in self._fds.items()
                for event, callbacks in ((READ, watch.readers),
                                         (WRITE, watch.writers))
                if callbacks]

    # -- queued calls and timers -----------------------------------------

    def call_soon(self, callback, *args):
        """Run callback(*args) in the next tick, after this tick's I/O."""
        if self._closed:
            self._refuse_closed(callback)
        handle = Handle(callback, args)
        self._ready.append(handle)
        return handle

    def call_later(self, delay, callback, *args):
        return self.call_at(self.time() + delay, callback, *args)

    def call_at(self, when, callback, *args):
        if self._closed:
            self._refuse_closed(callback)
        _check_deadline(when, callback)
        timer = Timer(self, when, callback, args)
        self._push_timer(timer)
        return timer

    def call_soon_threadsafe(self, callback, *args):
        """Queue a call from any OS thread and wake the loop if it sleeps.

        The check and the write hold the wakeup lock that ``close`` takes,
        so the wakeup fd cannot be closed -- and its number given to
        someone else -- between them.  Re-entrant: a signal handler may
        call this in a thread that is inside it already.
        """
        with self._wake_lock:
            if self._closed:
                self._refuse_closed(callback)
            handle = Handle(callback, args)
            self._ready.append(handle)      # deque.append is atomic
            self._wake()
        return handle

    def expect_external(self):
        """Note that another thread will call back: the loop is not stuck.

        Without it, a hub whose microthreads all wait for such a call has
        nothing it can see that would wake them, and says BlockedForever.
        Pair every call with ``external_done()`` (``offload`` does).
        """
        self._external += 1

    def external_done(self):
        self._external -= 1

    def idle_forever(self):
        """True when no fd, timer, queued or promised call can wake us."""
        if self._ready or self._external or self._live > 1:
            return False                           # 1: the wakeup fd
        return self._next_deadline() in (None, math.inf)  # inf: never comes

    def _refuse_callback(self, fd, callback):
        """A closed loop, or a callback that cannot be called, fails now,
        not at every later tick."""
        if self._closed:
            self._refuse_closed(callback)
        raise TypeError(f"callback for fd {fd} must be callable, "
                        f"not {callback!r}")

    def _refuse_closed(self, callback):
        raise RuntimeError(f"event loop of thread {self.thread_ident} is "
                           f"closed; cannot run {name_of(callback)}")

    def _drop_cancelled_timers(self):
        """Rebuild the heap without cancelled or superseded entries.

        They would keep an idle loop waiting, and keep alive whatever their
        callbacks reference until their deadline (asyncio compacts too).
        """
        live = []
        for entry in self._timers:
            timer = entry[2]
            if timer._entry is entry and not timer.cancelled:
                live.append(entry)
            elif timer._entry is entry:
                timer._entry = None
        if len(live) != len(self._timers):
            heapq.heapify(live)
            self._timers = live
        self._cancelled = 0

    def _timer_revived(self):
        self._cancelled -= 1

    def _timer_cancelled(self):
        self._cancelled += 1
        if self._cancelled > 100 and self._cancelled * 2 > len(self._timers):
            self._drop_cancelled_timers()

    def _next_deadline(self):
        """The earliest live deadline, popping dead entries off the top."""
        timers = self._timers
        while timers:
            entry = timers[0]
            timer = entry[2]
            if timer._entry is entry and not timer.cancelled:
                return entry[0]
            heapq.heappop(timers)
            if timer._entry is entry:
                timer._entry = None
                self._cancelled -= 1
        return None

    def close(self):
        """Release the poller and the wakeup fd; the loop is unusable after."""
        if self._pid != os.getpid():
            self._close_copies()
            return
        with self._wake_lock:
            if self._closed:
                return
            self._closed = True
            self._close_wakeup()
        self._poller.close()
        self._fds.clear()
        self._live = 0

    def _close_copies(self):
        """In a forked child: close our copies of the parent's fds, with no
        epoll_ctl (its interest list is the parent's) and no lock (a thread
        that did not fork may have held it)."""
        if self._closed:
            return
        self._closed = True
        self._close_wakeup_copy()
        if not isinstance(self._poller, _ParentsPoller):
            self._poller.close()
        self._fds.clear()
        self._live = 0

    # -- helpers of the slide functions ----------------------------------

    def _wait(self):
        """Poll for events, sleeping no longer than the next timer allows."""
        if self._closed:
            self._refuse_closed(self.run_once)
        self._walking = None
        if self._buried or self._holed:
            self._after_dispatch()
        if self._ready or self._dead:
            timeout = 0
        elif self._timers and self._next_deadline() is not None:
            timeout = min(max(0.0, self._timers[0][0] - self.time()),
                          MAX_POLL_SECONDS)
        else:
            timeout = None
        if not self.observers:
            return self._poll(timeout)
        self.tell("before_poll", self, timeout)
        events = self._poll(timeout)
        self.tell("after_poll", self, events)
        return events

    def _poll(self, timeout):
        """The poller's poll; select's EBADF for an fd we kept is ours.

        The rebuilt set holds only open fds, so the second poll cannot
        fail the same way, and what was ready is not put off a tick.
        """
        try:
            events = self._poller.poll(timeout)
        except OSError as error:
            if error.errno != errno.EBADF:
                raise
            self._resync()
            events = self._poller.poll(0 if self._dead else timeout)
        if self._dead:
            events += self._report_dead()
        return events

    def _after_dispatch(self):
        """Fill in the holes removals left in walked lists; drop the dead."""
        if self._buried:
            for watch in self._buried:
                if self._fds.get(watch.fd) is watch and not watch.mask:
                    del self._fds[watch.fd]
                    self._live -= watch.clear(READ) + watch.clear(WRITE)
            self._buried = []
        if self._holed:
            for watch in self._holed:
                watch.readers = _without_holes(watch.readers)
                watch.writers = _without_holes(watch.writers)
            self._holed = []

    def _report_dead(self):
        """Each fd found closed under its callbacks is reported ready once
        (as poll's POLLNVAL): whoever still waits wakes and meets EBADF in
        its own call.  Its watch goes after this dispatch (libev's fd_kill).
        """
        dead, self._dead = self._dead, []
        self._buried += dead
        return [(watch.fd, event) for watch in dead
                for event in (READ, WRITE) if self._fds.get(watch.fd) is watch]

    def _callbacks_for(self, fd, event):
        """The callbacks registered when the dispatch began, or () after
        trimming the kernel mask.

        The walk sees a removal (it leaves a no-op in the list, see
        ``FdWatch.remove``) but never reaches past the callbacks there were
        when it began: one registered during the dispatch waits for the
        next event, as the module says, even when it lands in the walked
        list (a callback that removes itself and registers again would
        otherwise run again in the same dispatch, for ever).
        """
        watch = self._fds.get(fd)
        if watch is not None:
            callbacks = watch.readers if event == READ else watch.writers
            if callbacks:
                self._walking = callbacks
                if self.observers:
                    self._source = (fd, event)
                if len(callbacks) == 1:        # the usual: a wait's switch
                    return (callbacks[0],)
                return itertools.islice(callbacks, len(callbacks))
            self._trim(watch, event)
        return ()    # no watch: forgotten (closed) this tick

    def _trim(self, watch, event):
        """Nobody waits for this event: stop the kernel reporting it.

        A watch whose mask empties is dropped: it has no callbacks either,
        since registering one always sets its event in the mask.
        """
        if not watch.mask & event:
            return                         # trimmed already this tick
        if watch.mask & ~event:
            watch.mask &= ~event
            self._tell_kernel(self._poller.modify, watch.fd, watch.mask)
            return
        if not watch.owned():              # an owned socket keeps its watch
            del self._fds[watch.fd]
        self._unwatch(watch)

    def _watch(self, watch, mask):
        """Ask the kernel for ``mask`` on an fd: ADD the first time, MOD after.

        When the kernel disagrees about an fd we held (see the module's
        essay), its set is rebuilt from ours and the request made once more:
        failing again, it is the caller's fd that is bad, and they hear so.
        """
        fd = watch.fd
        if mask & ~(READ | WRITE) or not mask:
            raise ValueError(f"bad event mask {mask} for fd {fd}:"
                             f" use READ ({READ}) or WRITE ({WRITE})")
        try:
            self._ask(watch, mask)
        except OSError as error:
            if not (watch.mask and error.errno in _OUT_OF_STEP
                    or error.errno == errno.EEXIST):
                raise
            self._resync()
            self._ask(watch, mask)
        watch.mask = mask

    def _ask(self, watch, mask):
        """One epoll_ctl: MOD an fd the kernel has from us, else ADD it."""
        if watch.mask and self._fds.get(watch.fd) is watch:
            self._poller.modify(watch.fd, mask)
        else:
            self._poller.register(check_fd(watch.fd), mask)
            self._fds[watch.fd] = watch

    def _unwatch(self, watch):
        """Take fd out of the kernel's set (if the kernel has it from us)."""
        if watch.mask:
            watch.mask = 0
            self._tell_kernel(self._poller.unregister, watch.fd)

    def _tell_kernel(self, call, *args):
        """Housekeeping the user never asked for: a failure is ours.

        It means fd was closed, and perhaps reused, behind our back; a
        ``dup`` of its file may keep the old registration alive, so the
        kernel's set is rebuilt.
        """
        try:
            call(*args)
        except OSError:
            self._resync()

    def _resync(self):
        """Rebuild the kernel's set from our watches, after a disagreement.

        A fresh poller takes every watch with a mask; the old one goes,
        and with it any registration that lingered on a closed fd's file.
        A watched fd that is closed now is dropped; its callbacks are
        called once, so a waiter wakes and meets EBADF in its own call.
        """
        self.resyncs += 1
        name = self._poller.name
        self._poller.close()      # first: at the fd limit, its number is free
        self._poller = make_poller(name)
        for fd, watch in list(self._fds.items()):
            if watch.mask:
                try:
                    self._poller.register(fd, watch.mask)
                    continue
                except OSError:
                    watch.mask = 0           # closed behind our back
            if watch.readers or watch.writers:
                if watch not in self._dead:
                    self._dead.append(watch)
            elif not watch.owned():
                del self._fds[fd]

    def _call(self, callback, args=()):
        """Run one callback; report what it raises, except exits.

        This is the only place where callbacks are called.
        """
        if self.observers:
            return self._observed_call(callback, args)
        try:
            if args:
                callback(*args)
            else:
                callback()           # most calls: a greenlet's switch
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:
            self._report(callback, error)

    def _observed_call(self, callback, args):
        """``_call``, with the observers told before, and after if one asks.

        The hot path of an observed loop: its own loop over the hooks, and
        nothing at all for an event no observer overrides.
        """
        hooks = self.hooks
        for hook in hooks["dispatching"]:
            try:
                hook(self, callback, self._source)
            except Exception as error:
                self._report(hook, error)
        try:
            if args:
                callback(*args)
            else:
                callback()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:
            self._report(callback, error)
        finally:
            if hooks["dispatched"]:
                self.tell("dispatched", self, callback)

    def tell(self, event, *args):
        """Call ``event`` of each observer that has it (microthread.observer's
        EVENTS); one that raises is reported as a callback is (``on_error``),
        and the others and the loop go on."""
        for hook in self.hooks[event]:
            try:
                hook(*args)
            except Exception as error:
                self._report(hook, error)

    def _report(self, callback, error):
        """on_error, which must not kill the loop's hub: if it raises, both
        errors are printed; if printing fails too (stderr gone), so be it."""
        try:
            self.on_error(callback, error)
        except Exception as handler_error:
            try:
                _print_error(callback, error)
                _print_error(self.on_error, handler_error)
            except Exception:
                pass

    def _run_timers(self):
        """Run the timers due when the pass began (asyncio does the same);
        a lazily re-armed one goes back on the heap."""
        timers = self._timers
        if not timers:
            return
        self._source = "timer"
        now = self.time()
        due = []                 # only these: a callback that schedules a
        while timers and timers[0][0] <= now:      # past deadline waits
            entry = heapq.heappop(timers)          # for the next pass
            timer = entry[2]
            if timer._entry is not entry:
                continue                       # superseded by an earlier one
            timer._entry = None
            if timer.cancelled:
                self._cancelled -= 1
            else:
                due.append(timer)
        for index, timer in enumerate(due):
            if timer.cancelled or timer._entry is not None:
                continue               # cancelled or re-armed in this pass
            if timer.when > now:
                self._push_timer(timer)        # re-armed later: move it
                continue
            try:
                self._call(timer.callback, timer.args)
            except BaseException:      # KeyboardInterrupt, SystemExit: the
                for rest in due[index + 1:]:       # others stay due
                    if not rest.cancelled and rest._entry is None:
                        self._push_timer(rest)
                raise

    def _run_ready(self):
        """Run the calls that were queued when this tick began, no more."""
        ready = self._ready
        self._source = "ready"
        for _ in range(len(ready)):
            handle = ready.popleft()
            if not handle.cancelled:
                self._call(handle.callback, handle.args)

    def _push_timer(self, timer):
        timer._entry = (timer.when, next(self._seq), timer)
        heapq.heappush(self._timers, timer._entry)

    # -- the thread-safe wakeup ------------------------------------------

    def _open_wakeup(self):
        """An eventfd (or a socketpair) that other threads write to."""
        if hasattr(os, "eventfd"):
            self._wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            self._wake_write_fd = self._wake_fd
            self._wake_pair = None
        else:
            self._wake_pair = socket.socketpair()
            for sock in self._wake_pair:
                sock.setblocking(False)
            self._wake_fd = self._wake_pair[0].fileno()
            self._wake_write_fd = self._wake_pair[1].fileno()
        self.register_fd(self._wake_fd, READ, self._drain_wakeup)

    def _wake(self):
        try:
            os.write(self._wake_write_fd, b"\1\0\0\0\0\0\0\0")
        except BlockingIOError:
            pass  # the counter or pipe is full: the loop will wake anyway

    def _drain_wakeup(self):
        try:
            os.read(self._wake_fd, 4096)
        except BlockingIOError:
            pass

    def _close_wakeup(self):
        self.forget_fd(self._wake_fd)
        self._close_wakeup_copy()

    def _close_wakeup_copy(self):
        """Close the wakeup fds without a word to the poller: a forked
        child's copies, whose epoll registrations are the parent's."""
        if self._wake_pair is None:
            os.close(self._wake_fd)
        else:
            for sock in self._wake_pair:
                sock.close()


def _removed():
    """Stands where a removed callback was while a dispatch walks the list."""


_NO_CALLBACKS = ()   # an event's callbacks while it has none: no list kept


def _without_holes(callbacks):
    """callbacks without the no-ops removals left, or the shared ()."""
    return [c for c in callbacks if c is not _removed] or _NO_CALLBACKS


class _Gone:
    """Never kept: a weak reference to one is dead from the start."""


_NOBODY = weakref.ref(_Gone())   # the owner of an fd no socket adopted: None


def _check_deadline(when, callback):
    """A NaN deadline never comes due and blocks every timer behind it."""
    if when != when or not isinstance(when, (int, float)):
        check_seconds(when, name_of(callback), "deadline")


def _print_error(callback, error):
    """Default error report: which callback, then the traceback."""
    print(f"microthread: callback {name_of(callback)} raised:", file=sys.stderr)
    traceback.print_exception(error, file=sys.stderr)


_local = threading.local()
_loops = weakref.WeakSet()    # every loop of this process, for fork


def get_loop():
    """This OS thread's loop, made on first use (or once it was closed).

    A loop made here is closed when its thread ends, as asyncio closes an
    unclosed loop: its epoll fd and wakeup fd would otherwise outlive the
    thread.  A loop handed over with ``set_loop`` is its giver's to close.
    """
    try:
        loop = _local.loop
    except AttributeError:      # this thread's first call
        loop = None
    if loop is None or loop._closed:
        loop = _local.loop = EventLoop()
        _local.owner = _ClosesAtThreadEnd(loop)
    return loop


def loops_watching(fd):
    """Every open loop of this process with a callback on fd: closing fd is
    the business of each one's thread, since its waiters must wake."""
    return [loop for loop in list(_loops) if not loop.closed and
            (loop.has_callbacks(fd, READ) or loop.has_callbacks(fd, WRITE))]


def current_loop():
    """This OS thread's loop if it has one, else None (makes none)."""
    return getattr(_local, "loop", None)


def set_loop(loop):
    """Make ``loop`` this thread's loop (None: make a fresh one on demand).

    The loop it replaces is the caller's to close (or to set back).
    """
    owner = getattr(_local, "owner", None)
    if owner is not None:
        owner.loop = None
    _local.owner = None
    _local.loop = loop


class _ClosesAtThreadEnd:
    """Held in a thread's local storage only: goes, and closes the loop
    get_loop made, when the thread ends."""

    __slots__ = ("loop",)

    def __init__(self, loop):
        self.loop = loop

    def __del__(self):
        if self.loop is not None:
            self.loop.close()


def _fresh_state_after_fork():
    """A forked child must never touch its parent's epoll: start over.

    An epoll fd is shared across fork, and so is its interest list: a child
    that unregistered an fd would remove the parent's registration.  We drop
    the references without any epoll_ctl; the child builds its own loop.
    """
    global _local
    for loop in list(_loops):
        loop._poller = _ParentsPoller(loop._poller.name)
        loop._wake_lock = threading.RLock()   # its holder did not fork
    _local = threading.local()


class _ParentsPoller:
    """Stands in, in a forked child, for a poller the parent still uses."""

    def __init__(self, name):
        self.name = name
        self.parent = os.getppid()

    def __getattr__(self, method):
        raise RuntimeError(
            f"this event loop belongs to the parent process {self.parent}: "
            f"its {self.name} fd is shared with the child, and using it would "
            f"change the parent's registrations; a forked child makes its "
            f"own loop (microthread.get_loop())")


os.register_at_fork(after_in_child=_fresh_state_after_fork)
