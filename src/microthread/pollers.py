"""Pollers: one tiny class per OS readiness API, all behind one interface.

The event loop asks a poller three things: watch this fd for this mask,
change or forget that, and wait for what is ready.  Each backend below is a
few lines over the standard library's wrapper, so that side by side they are
the slide 多路IO：select/poll/epoll/kqueue.  They are *readiness* APIs ("you
may read now"); completion APIs such as IOCP or io_uring ("your read is
done") would sit under the same hub with a different poller contract.

A poller knows nothing of callbacks.  ``poll()`` returns ``(fd, event)``
pairs with ``event`` one of READ or WRITE; an error or hang-up on an fd is
reported as both, so that whoever waits on it wakes and meets the error in
its own system call.  A poller does not hide what the kernel says: when
epoll answers ENOENT, EEXIST or EBADF about an fd, the OSError carries that
errno up to the loop, which alone knows whether the fd was its own to
repair (see "The kernel's set and ours" in loop.py).
"""

import errno
import operator
import os
import select

READ = 1
WRITE = 2
FD_SETSIZE = 1024   # select(2)'s fd_set holds fds below this
_second = operator.itemgetter(1)

__all__ = ["READ", "WRITE", "Poller", "make_poller", "available", "names"]


def check_fd(fd):
    """Return fd as an int, or raise ValueError naming the bad value."""
    if isinstance(fd, bool) or not isinstance(fd, int):
        raise TypeError(f"fd must be an int, got {fd!r}")
    if fd < 0:
        raise ValueError(f"fd {fd} is negative: not an open file descriptor")
    return fd


class Poller:
    """The interface: register/modify/unregister a mask, then poll."""

    name = "abstract"

    def register(self, fd, mask):
        raise NotImplementedError

    def modify(self, fd, mask):
        raise NotImplementedError

    def unregister(self, fd):
        raise NotImplementedError

    def poll(self, timeout):
        """Wait up to ``timeout`` seconds (None: forever) for ready fds."""
        raise NotImplementedError

    def close(self):
        pass

    def fileno(self):
        return -1


class EpollPoller(Poller):
    """Linux epoll: the kernel keeps the interest list, poll is O(ready)."""

    name = "epoll"

    def __init__(self):
        self._epoll = select.epoll()
        self._bits = {READ: select.EPOLLIN, WRITE: select.EPOLLOUT,
                      READ | WRITE: select.EPOLLIN | select.EPOLLOUT}

    def register(self, fd, mask):
        try:
            self._epoll.register(fd, self._bits[mask])
        except OSError as error:
            raise _refused(fd, "epoll", error) from None

    def modify(self, fd, mask):
        try:
            self._epoll.modify(fd, self._bits[mask])
        except OSError as error:
            raise _refused(fd, "epoll", error) from None

    def unregister(self, fd):
        try:
            self._epoll.unregister(fd)
        except OSError as error:
            raise _refused(fd, "epoll", error) from None

    def poll(self, timeout):
        events = self._epoll.poll(-1 if timeout is None else timeout)
        if _IN_IS_READ and sum(map(_second, events)) == len(events):
            return events   # the usual: nothing but EPOLLIN, which is READ
        pairs = [(fd, READ) for fd, bits in events if bits & _EPOLL_READ]
        pairs += [(fd, WRITE) for fd, bits in events if bits & _EPOLL_WRITE]
        return pairs                   # reads first: two tight comprehensions

    def close(self):
        self._epoll.close()

    def fileno(self):
        return self._epoll.fileno()


class PollPoller(Poller):
    """poll(2): the interest list lives in user space, poll is O(watched)."""

    name = "poll"

    def __init__(self):
        self._poll = select.poll()
        self._bits = {READ: select.POLLIN, WRITE: select.POLLOUT,
                      READ | WRITE: select.POLLIN | select.POLLOUT}

    def register(self, fd, mask):
        _check_open(fd, "poll")
        self._poll.register(fd, self._bits[mask])

    def modify(self, fd, mask):
        self._poll.modify(fd, self._bits[mask])

    def unregister(self, fd):
        try:
            self._poll.unregister(fd)
        except KeyError:
            pass

    def poll(self, timeout):
        ms = None if timeout is None else max(0, int(timeout * 1000 + 0.999))
        pairs = []
        for fd, bits in self._poll.poll(ms):
            if bits & _POLL_READ:
                pairs.append((fd, READ))
            if bits & _POLL_WRITE:
                pairs.append((fd, WRITE))
        return pairs


class SelectPoller(Poller):
    """select(2): three fd sets rebuilt on every call; fds below FD_SETSIZE."""

    name = "select"

    def __init__(self):
        self._readers = set()
        self._writers = set()

    def register(self, fd, mask):
        if fd >= FD_SETSIZE:
            raise ValueError(f"select cannot watch fd {fd}: it is not below "
                             f"FD_SETSIZE ({FD_SETSIZE}); use poll or epoll")
        _check_open(fd, "select")
        self.modify(fd, mask)

    def modify(self, fd, mask):
        (self._readers.add if mask & READ else self._readers.discard)(fd)
        (self._writers.add if mask & WRITE else self._writers.discard)(fd)

    def unregister(self, fd):
        self._readers.discard(fd)
        self._writers.discard(fd)

    def poll(self, timeout):
        readable, writable, broken = select.select(
            self._readers, self._writers, self._readers | self._writers, timeout)
        pairs = [(fd, READ) for fd in readable]
        pairs += [(fd, WRITE) for fd in writable]
        pairs += [(fd, ev) for fd in broken for ev in (READ, WRITE)]
        return pairs


class KqueuePoller(Poller):
    """BSD/macOS kqueue: one filter per (fd, direction)."""

    name = "kqueue"

    def __init__(self):
        self._kq = select.kqueue()
        self._masks = {}

    def _control(self, fd, mask, flags):
        changes = [select.kevent(fd, f, flags)
                   for ev, f in ((READ, select.KQ_FILTER_READ),
                                 (WRITE, select.KQ_FILTER_WRITE)) if mask & ev]
        self._kq.control(changes, 0)

    def register(self, fd, mask):
        try:
            self._control(fd, mask, select.KQ_EV_ADD)
        except OSError as error:
            raise _refused(fd, "kqueue", error) from None
        self._masks[fd] = mask

    def modify(self, fd, mask):
        old = self._masks.get(fd, 0)
        if old & ~mask:
            self._control(fd, old & ~mask, select.KQ_EV_DELETE)
        if mask & ~old:
            self._control(fd, mask & ~old, select.KQ_EV_ADD)
        self._masks[fd] = mask

    def unregister(self, fd):
        mask = self._masks.pop(fd, 0)
        try:
            self._control(fd, mask, select.KQ_EV_DELETE)
        except OSError:
            pass

    def poll(self, timeout):
        kevents = self._kq.control(None, max(1, len(self._masks)), timeout)
        return [(k.ident, READ if k.filter == select.KQ_FILTER_READ else WRITE)
                for k in kevents]

    def close(self):
        self._kq.close()

    def fileno(self):
        return self._kq.fileno()


if hasattr(select, "epoll"):
    # Every event bit is at least 1, so the bits of n events sum to n only
    # when each is EPOLLIN alone; and EPOLLIN is 1, as READ is, so such a
    # list of (fd, bits) pairs is already a list of (fd, READ) pairs.
    _IN_IS_READ = select.EPOLLIN == READ
    _EPOLL_READ = select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR | select.EPOLLRDHUP
    _EPOLL_WRITE = select.EPOLLOUT | select.EPOLLHUP | select.EPOLLERR
if hasattr(select, "poll"):
    _POLL_READ = select.POLLIN | select.POLLHUP | select.POLLERR | select.POLLNVAL
    _POLL_WRITE = select.POLLOUT | select.POLLHUP | select.POLLERR | select.POLLNVAL

_BACKENDS = {
    "epoll": (EpollPoller, "epoll"),
    "kqueue": (KqueuePoller, "kqueue"),
    "poll": (PollPoller, "poll"),
    "select": (SelectPoller, "select"),
}


def names():
    """Every backend name, available here or not."""
    return list(_BACKENDS)


def available():
    """Backend names this platform has, best first."""
    return [name for name, (_, attr) in _BACKENDS.items()
            if hasattr(select, attr)]


def make_poller(name=None):
    """Build the poller called ``name``, $MICROTHREAD_POLLER, or the best."""
    chosen = name or os.environ.get("MICROTHREAD_POLLER")
    source = "" if name else "$MICROTHREAD_POLLER: "
    name = chosen or available()[0]
    if name not in _BACKENDS:
        raise ValueError(f"{source}unknown poller {name!r}; "
                         f"choose one of {names()}")
    if name not in available():
        raise ValueError(f"{source}poller {name!r} is not available on this "
                         f"platform; this one has {available()}")
    return _BACKENDS[name][0]()


def _check_open(fd, backend):
    """poll and select accept any int at register time; fail early instead."""
    try:
        os.fstat(fd)
    except OSError as error:
        raise _refused(fd, backend, error) from None


def _refused(fd, backend, error):
    """An OSError that says which fd the backend refused, and why."""
    reason = {errno.EBADF: "not an open file descriptor",
              errno.EPERM: "a file type it cannot watch (regular file?)",
              errno.EEXIST: "already registered with this poller",
              errno.ENOENT: "not registered with this poller"}.get(
                  error.errno, error.strerror)
    return OSError(error.errno, f"{backend} refused fd {fd}: {reason}")
