"""Green sockets: blocking-style code over non-blocking sockets and the hub.

The slide 区别在send的实现 shows ``GreenSocket.send``: try the system call
first and wait only when the kernel says EAGAIN.  The seed waited for
writability before *every* send; a socket is writable almost always, so
that costs a poll per send for nothing.  Every method here has that shape,
so a microthread reads like a thread and switches only where it would block;
``recv`` adds one refinement: after a short read it waits first (see there).
None waits inside its ``except BlockingIOError``: while a handler runs, its
exception is the frame's, and a microthread parked there would keep it,
its traceback and its message alive for the whole wait (about 0.5 KiB a
connection at 10,000 connections).

A socket's ``timeout`` bounds each call as a whole, as CPython's socket
timeout does: ``recv``, ``send``, ``accept`` and ``connect`` raise Timeout
once ``timeout`` seconds have passed since they first had to wait, however
often a wakeup turned out to be spurious on the way; ``sendall`` is bounded
as a whole transfer.  Errors are the OS's: a reset peer raises
ConnectionResetError, a closed peer makes ``recv`` return b"".  EINTR is retried by Python itself (PEP
475).  ``close()`` goes through the hub, which wakes anyone still waiting
on the fd with an error naming it before the fd number can be reused.
"""

import errno
import os
import select
import socket

from greenlet import getcurrent

from .checks import check_seconds, check_thread
from .hub import Timeout, close_fd, get_hub, wait_fd
from .loop import get_loop, loops_watching
from .offload import run_in_thread
from .pollers import READ, WRITE
from .sendall import sendall

__all__ = ["GreenSocket", "connect", "listen", "bind", "close",
           "CannotListen"]


class GreenSocket:
    """A socket whose blocking calls switch to the hub instead of blocking."""

    __slots__ = ("_sock", "_fd", "timeout", "_drained", "_loop")

    def __init__(self, sock, timeout=None):
        if timeout is None:             # keep what sock.settimeout() said;
            timeout = sock.gettimeout() or None  # 0.0, non-blocking: none
        elif (check_seconds(timeout, "GreenSocket")
              or not 0 <= timeout < float("inf")):
            raise ValueError(f"GreenSocket timeout {timeout!r} is not a "
                             f"number of seconds from 0 up (None: no limit)")
        sock.setblocking(False)
        self._sock = sock
        self._fd = sock.fileno()
        self.timeout = timeout          # seconds for each call, None: no limit
        self._drained = True            # nothing read yet: wait for data first
        self._loop = get_loop()
        self._loop.adopt(sock)          # a number only close() frees

    def __repr__(self):
        return f"<GreenSocket fd={self._fd}>"

    def fileno(self):
        return self._sock.fileno()     # -1 once closed

    @property
    def socket(self):
        """The underlying non-blocking socket."""
        return self._sock

    def send(self, data):
        """先试着发；内核说 EAGAIN 才等 fd 可写。"""
        deadline = None                 # 超时限的是整个调用
        while True:
            try:
                return self._sock.send(data)
            except BlockingIOError:
                pass        # 不在 except 里等：异常连着栈帧
            deadline = self._wait(WRITE, deadline)  # wait_fd

    def recv(self, size):
        """Read up to size bytes; b"" means the peer closed.

        Reads try first, like ``send``, with one exception: after a read
        shorter than asked, which emptied the kernel's buffer, and on a
        fresh socket, which has had nothing yet, the read waits for
        readability first.  A failed ``recv`` is a system call plus a
        BlockingIOError (its message decoded from ``strerror``, and its
        traceback giving the frame an object of its own for as long as the
        read lasts), and in those two cases it is what usually happens; the
        pollers are level-triggered, so data that came in meanwhile wakes
        us at once.
        """
        data = self._read(size, None, size)
        self._drained = len(data) < size
        return data

    def recv_into(self, buffer, size=0):
        """Read into buffer (size bytes, 0: all of it), as ``recv`` reads."""
        wanted = size or memoryview(buffer).nbytes
        count = self._read(size, buffer, wanted)
        self._drained = count < wanted
        return count

    def _read(self, size, buffer, wanted):
        """recv(size), or recv_into(buffer, size) given a buffer, for wanted
        bytes: after a short read, wait for data first (unless nothing is
        wanted: a read of 0 bytes, or a bad size, answers at once); on
        EAGAIN, wait and try again, within this call's deadline.  Nothing
        is made for the wait to hold (no bound method, no tuple of
        arguments): at 10,000 parked connections each object a wait keeps
        is another megabyte."""
        deadline = None
        if self._drained and wanted > 0:
            if self.timeout is None:    # the usual: one call fewer
                wait_fd(self._fd, READ)
            else:
                deadline = self._wait_for_data()
        while True:
            try:
                if buffer is None:
                    return self._sock.recv(size)
                return self._sock.recv_into(buffer, size)
            except BlockingIOError:
                pass                    # wait outside: see the module's notes
            deadline = self._wait(READ, deadline)

    def _wait_for_data(self):
        """Wait for readability before reading, as a short read suggests,
        within this socket's timeout (``_read`` waits itself without one).

        The hub may run due timers before it polls again, so this socket's
        timeout can expire while data is already there: then it is no
        timeout, and the read goes ahead.  An enclosing ``Timeout`` block's
        expiry is that block's, and goes on up (the data stays for the
        next read): swallowing it would lose the block's deadline.
        """
        try:
            return self._wait(READ, None)
        except Timeout as error:
            if not _own_expiry(error) or not _readable_now(self._fd):
                raise
            return get_loop().time()    # spent: a further wait times out

    def _wait(self, event, deadline):
        """wait_fd within this call's deadline; returns the deadline.

        The first wait of a call sets it; every later one waits only for
        what is left, so spurious wakeups cannot stretch the call.
        """
        if self.timeout is None:
            wait_fd(self._fd, event)
            return None
        now = get_loop().time()
        if deadline is None:
            deadline = now + self.timeout
        try:
            wait_fd(self._fd, event, max(0.0, deadline - now))
        except Timeout as error:
            if _own_expiry(error):
                error.seconds = self.timeout    # the call's, not what was left
            raise
        return deadline

    def sendall(self, data):
        """The very sendall threads use, over this green ``send``.

        As with a Python socket, ``timeout`` bounds the whole transfer.
        """
        if self.timeout is None:
            sendall(self, data)
            return
        with Timeout(self.timeout, f"sendall on fd {self._fd}"):
            sendall(self, data)

    def accept(self):
        """Wait for a connection; returns (GreenSocket, address)."""
        deadline = None
        while True:
            try:
                conn, address = self._sock.accept()
            except BlockingIOError:
                pass
            else:
                return GreenSocket(conn, self.timeout), address
            deadline = self._wait(READ, deadline)

    def connect(self, address):
        """Connect without blocking the hub; raises the OS's error.

        Writable is not connected: a wakeup may be stale, and a Unix socket
        whose listener's backlog is full says EAGAIN with nothing in
        progress.  So, as gevent does, ask connect again after each wait
        until it answers 0 or EISCONN.
        """
        deadline = None
        while True:
            error = self._sock.connect_ex(address)
            if error in _CONNECTED:
                return
            if error not in _IN_PROGRESS:
                raise OSError(error, f"connect to {address} failed on fd "
                                     f"{self._fd}: {_strerror(error)}")
            deadline = self._wait(WRITE, deadline)
            error = self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if error:
                raise OSError(error, f"connect to {address} failed on fd "
                                     f"{self._fd}: {_strerror(error)}")

    def shutdown(self, how):
        self._sock.shutdown(how)

    def close(self):
        """Close through the hub: waiters wake with an error naming the fd."""
        check_thread(self._loop.thread_ident, f"close {self!r}")
        if self._sock.fileno() >= 0:
            _check_no_foreign_waiters(self._fd)
            self._drained = False       # a read now fails, never waits
            close_fd(self._fd)
            self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class CannotListen(OSError):
    """Binding or listening failed: says where, and why, in one line."""


def bind(host, port, reuse_port=False, backlog=socket.SOMAXCONN):
    """A TCP socket bound to (host, port), listening unless backlog is None.

    A failure is a CannotListen naming the address and the OS's reason
    (``cannot listen on 127.0.0.1:8000: address already in use``).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
        if backlog is not None:
            sock.listen(backlog)
    except OSError as error:
        sock.close()
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise CannotListen(error.errno, f"cannot listen on {host}:{port}: "
                           f"{reason[:1].lower()}{reason[1:]}") from None
    except BaseException:
        sock.close()
        raise
    return sock


def listen(address=("127.0.0.1", 0), backlog=1024, reuse_port=False):
    """A green listening TCP socket, bound to loopback by default."""
    host, port = address
    return GreenSocket(bind(host, port, reuse_port, backlog))


def connect(address, timeout=None):
    """A green TCP connection to (host, port); names are resolved in a
    pool thread, since getaddrinfo blocks and would stall the hub."""
    host, port = address
    error = None
    for family, kind, proto, _, where in _resolve(host, port):
        sock = GreenSocket(socket.socket(family, kind, proto), timeout)
        try:
            sock.connect(where)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
        except BaseException:
            sock.close()
            raise
    raise error


def _resolve(host, port):
    """getaddrinfo, off the hub unless host is already a numeric address."""
    flags = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
    try:
        return socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0, flags)
    except socket.gaierror:
        return run_in_thread(socket.getaddrinfo, host, port, 0,
                             socket.SOCK_STREAM)


def close(sock):
    """Close any socket through the runtime (see GreenSocket.close)."""
    if isinstance(sock, GreenSocket):
        sock.close()
    elif sock.fileno() >= 0:
        fd = sock.fileno()
        _check_no_foreign_waiters(fd)
        close_fd(fd)
        sock.close()


def _check_no_foreign_waiters(fd):
    """Closing fd must wake its waiters, and only their own OS thread can."""
    for loop in loops_watching(fd):
        check_thread(loop.thread_ident,
                     f"close fd {fd}, which another OS thread's loop watches,")


_IN_PROGRESS = {errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY}
_CONNECTED = {0, errno.EISCONN}


def _own_expiry(error):
    """Whether a Timeout is our wait_fd's own, not an enclosing block's:
    the wait's record keeps the Timeout its timer raised."""
    return get_hub().wait_of(getcurrent()).expired is error


def _readable_now(fd):
    """Whether a read on fd would not block now (data, EOF or an error)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


def _strerror(code):
    return os.strerror(code)
