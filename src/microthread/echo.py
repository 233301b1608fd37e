"""An echo server in the talk's three styles: microthreads, callbacks, threads.

The slides compare the styles on one task; this is that task, each style
a ``serve_*`` function that serves a listening socket until a stop signal.
The per-connection code of each style is slide-sized (``echo`` for threads
and microthreads alike, ``Connection`` for callbacks).  Starting them as a
program -- the listener, the open-file limit, forked workers, the command
line -- is ``microthread.server``'s job: ``python -m microthread.server``.
"""

import errno
import signal
import socket
import sys
import threading
import time

from .green import GreenSocket
from .hub import Timeout, sleep, spawn
from .loop import get_loop
from .pollers import READ, WRITE
from .sendall import sendall
from .sync import Event

__all__ = ["echo", "Connection", "CallbackServer", "STYLES", "serve_green",
           "serve_callback", "serve_threads"]

BUFFER_SIZE = 64 * 1024     # bytes asked of each recv
MAX_PENDING = 64 * 1024     # callback style: unsent bytes that stop reading
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
ACCEPT_RETRY = 0.1          # seconds to wait when out of fds or memory
_ACCEPT_EXHAUSTED = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


# -- threads and microthreads: one function -------------------------------

def echo(conn):
    """Send back all that comes, until the peer closes.

    The same code serves both styles, as the slides' ``sendall`` does: over
    a blocking socket in an OS thread, ``recv`` and ``send`` block in the
    kernel; over a GreenSocket in a microthread, they switch to the hub.  A
    client that does not read makes ``sendall`` wait, so it is not read from
    either: backpressure comes free.
    """
    while True:
        data = conn.recv(BUFFER_SIZE)
        if not data:
            return
        sendall(conn, data)


# -- the green style -------------------------------------------------------

def green_connection(conn, live):
    """One client's microthread: echo, then close whatever ended it."""
    try:
        echo(conn)
    except (OSError, Timeout):
        pass    # reset by the peer, silent too long, or closed at shutdown
    finally:
        conn.close()
        live.pop(conn, None)


def green_accept(listener, live, idle_timeout):
    """The accept loop, itself a microthread: a new microthread per client."""
    while True:
        conn = accept_green(listener)
        if conn is None:
            return                          # the listener was closed
        conn.timeout = idle_timeout
        live[conn] = spawn(green_connection, conn, live)


def accept_green(listener):
    """Accept one client; None once the listener is closed.

    Out of fds or memory, the accept fails while the client stays queued:
    wait a little instead of failing at once again, for ever.
    """
    while True:
        try:
            return listener.accept()[0]
        except OSError as error:
            if listener.socket.fileno() < 0:
                return None                 # closed at shutdown
            if error.errno in _ACCEPT_EXHAUSTED:
                report_accept_error(error)
                sleep(ACCEPT_RETRY)
            elif error.errno != errno.ECONNABORTED:
                raise


def serve_green(listener, options, ready):
    """Serve with microthreads until a stop signal, then close everything."""
    listener = GreenSocket(listener)
    live = {}                               # GreenSocket -> its microthread
    stopping = Event()
    stop_on_signals(get_loop(), stopping.set)
    acceptor = spawn(green_accept, listener, live, options.idle_timeout)
    ready()
    stopping.wait()
    listener.close()                        # wakes the acceptor: it returns
    for conn in list(live):
        conn.close()                        # wakes each handler with an error
    acceptor.join()
    for microthread in list(live.values()):
        microthread.join()


# -- the callback style ----------------------------------------------------

class Connection:
    """One client in the callback style: its socket and its unsent output.

    There is no microthread to park, so backpressure is explicit: while
    MAX_PENDING bytes wait to be sent, we stop watching READ, and resume
    once the kernel has taken them.
    """

    def __init__(self, server, sock):
        self.server = server
        self.loop = server.loop
        self.sock = sock
        self.fd = sock.fileno()
        self.pending = bytearray()          # read but not yet sent back
        self.eof = False                    # the peer will send no more
        self.reading = self.writing = False  # what the loop calls us for
        self.timer = None                   # closes us when silent too long
        if server.idle_timeout is not None:
            self.timer = self.loop.call_later(server.idle_timeout, self.close)
        self.watch()

    def on_readable(self):
        """Read what came and send it back; the peer's EOF ends reading."""
        try:
            data = self.sock.recv(BUFFER_SIZE)
        except BlockingIOError:
            return                          # readiness was stale
        except OSError:
            return self.close()             # reset by the peer
        if self.timer is not None:
            self.timer.rearm(time.monotonic() + self.server.idle_timeout)
        self.eof = not data
        self.pending += data
        self.flush()

    def flush(self):
        """Send what the kernel takes now; watch for the rest."""
        try:
            if self.pending:
                del self.pending[:self.sock.send(self.pending)]
        except BlockingIOError:
            pass
        except OSError:
            return self.close()
        self.watch()

    def watch(self):
        """READ while there is room for output, WRITE while output waits.

        The usual message changes neither (all sent, still reading): two
        comparisons here, not two calls of ``want``.
        """
        if self.eof and not self.pending:
            return self.close()
        reading = not self.eof and len(self.pending) < MAX_PENDING
        writing = bool(self.pending)
        if reading is not self.reading:
            self.want(READ, reading)
        if writing is not self.writing:
            self.want(WRITE, writing)

    def want(self, event, wanted):
        """Register or drop our callback for event, if that changes."""
        if event == READ and wanted != self.reading:
            self.reading = wanted
            callback = self.on_readable
        elif event == WRITE and wanted != self.writing:
            self.writing = wanted
            callback = self.flush
        else:
            return
        if wanted:
            self.loop.register_fd(self.fd, event, callback)
        else:
            self.loop.unregister_fd(self.fd, event)

    def close(self):
        """Forget the fd in the loop first: the OS reuses its number soon."""
        if self.sock.fileno() < 0:
            return
        self.loop.forget_fd(self.fd)
        self.sock.close()
        if self.timer is not None:
            self.timer.cancel()
        self.server.connections.discard(self)


class CallbackServer:
    """The accepting side of the callback style, and its shutdown."""

    def __init__(self, loop, listener, idle_timeout=None):
        listener.setblocking(False)
        self.loop = loop
        self.listener = listener
        self.idle_timeout = idle_timeout
        self.connections = set()
        loop.register_fd(listener.fileno(), READ, self.on_acceptable)

    def on_acceptable(self):
        """Accept every client queued now (at most a backlog's worth)."""
        for _ in range(socket.SOMAXCONN):
            try:
                sock, _ = self.listener.accept()
            except BlockingIOError:
                return
            except OSError as error:
                return self.accept_failed(error)
            sock.setblocking(False)
            self.connections.add(Connection(self, sock))

    def accept_failed(self, error):
        """Out of fds: stop watching the listener for a while, not spin."""
        if error.errno not in _ACCEPT_EXHAUSTED:
            return                          # e.g. aborted before accepted
        report_accept_error(error)
        fd = self.listener.fileno()
        self.loop.unregister_fd(fd, READ)
        self.loop.call_later(ACCEPT_RETRY, self.loop.register_fd, fd, READ,
                             self.on_acceptable)

    def stop(self):
        """Close the listener and every connection, then end the loop."""
        self.loop.forget_fd(self.listener.fileno())
        self.listener.close()
        for conn in list(self.connections):
            conn.close()
        self.loop.stop()


def serve_callback(listener, options, ready):
    """Serve with loop callbacks only, no greenlet, until a stop signal."""
    loop = get_loop()
    server = CallbackServer(loop, listener, options.idle_timeout)
    stop_on_signals(loop, server.stop)
    ready()
    loop.run()


# -- the threads style -----------------------------------------------------

def thread_connection(conn, live, lock):
    """One client's OS thread: echo, then close under the lock."""
    try:
        echo(conn)
    except OSError:
        pass    # reset by the peer, silent too long, or shut down
    finally:
        with lock:
            live.pop(conn, None)
            conn.close()


def thread_accept(listener, live, lock, idle_timeout):
    """The accept loop: a new OS thread per client, until shut down."""
    while True:
        try:
            conn, _ = listener.accept()
        except OSError as error:
            if error.errno not in _ACCEPT_EXHAUSTED:
                return                      # the listener was shut down
            report_accept_error(error)
            time.sleep(ACCEPT_RETRY)
            continue
        conn.settimeout(idle_timeout)
        thread = threading.Thread(target=thread_connection, daemon=True,
                                  args=(conn, live, lock))
        with lock:
            live[conn] = thread
        thread.start()


def serve_threads(listener, options, ready):
    """Serve with a thread per client; the main thread waits for a signal.

    Stop signals are blocked in every thread and taken by ``sigwait``, so
    no handler interrupts a thread halfway.  ``shutdown`` wakes the threads
    blocked on a socket; each then closes its own.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    live, lock = {}, threading.Lock()       # socket -> its thread
    acceptor = threading.Thread(target=thread_accept, daemon=True,
                                args=(listener, live, lock,
                                      options.idle_timeout))
    acceptor.start()
    ready()
    signal.sigwait(STOP_SIGNALS)
    listener.shutdown(socket.SHUT_RDWR)     # accept() fails: acceptor ends
    acceptor.join()
    listener.close()
    with lock:
        threads = list(live.values())
        for conn in live:
            shutdown(conn)
    for thread in threads:
        thread.join()


STYLES = {"green": serve_green, "callback": serve_callback,
          "threads": serve_threads}


# -- helpers shared by the styles ------------------------------------------

def stop_on_signals(loop, stop):
    """Make SIGINT and SIGTERM call ``stop`` in the loop, as a callback.

    A signal handler runs between two bytecodes of whatever code is
    running, so it only queues the call; the loop's wakeup fd ends the
    poll, and ``stop`` runs in a tick like any callback.
    """
    on_stop_signals(lambda signum, frame: loop.call_soon_threadsafe(stop))


def on_stop_signals(handler):
    """Call handler(signum, frame) on SIGINT and SIGTERM, and let them in
    (a supervisor blocked them while it forked)."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def shutdown(conn):
    """Wake the thread blocked on conn; the peer may have reset it already."""
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def report_accept_error(error):
    print(f"accept failed: {error}; retrying in {ACCEPT_RETRY} s",
          file=sys.stderr, flush=True)


