"""The echo servers the benchmark compares, each started the same way.

Ours are ``python -m microthread.server --style ...``, exactly as a user runs
them.  The others are written here in each library's own idiom, as small as
its documentation shows them: asyncio streams and an asyncio Protocol on the
default loop, the same Protocol on uvloop, and gevent's StreamServer.  One
more is ours with a handicap: ``green-eager`` is the green server on a loop
that calls ``epoll_ctl`` on every wait, to measure what lazy deregistration
saves (``EventLoop(lazy=False)``); ``green-observed`` is the green server
watched as the live slide watches it, to measure what observing costs.  And one is a floor, not a server to use: ``greenlet-bare`` is the
least a greenlet echo server can do, to show what our runtime's features
cost.  Every server announces ``listening on HOST:PORT`` on stdout, serves
until SIGTERM or SIGINT, and reads 64 KiB at a time, as ours do.

Run one by hand: ``python -m bench.servers KIND [--port PORT]``.
"""

import argparse
import signal
import socket
import sys

from microthread import echo as microthread_echo
from microthread import server as microthread_server
from microthread.green import bind
from microthread.loop import EventLoop, get_loop, set_loop

BUFFER_SIZE = microthread_echo.BUFFER_SIZE

# name -> the command's arguments after the python (the deck names them:
# deckext/benchlabels.py)
OURS = {
    "green": ["-m", "microthread.server", "--style", "green"],
    "green-timeout": ["-m", "microthread.server", "--style", "green",
                      "--idle-timeout", "600"],
    "callback": ["-m", "microthread.server", "--style", "callback"],
    "threads": ["-m", "microthread.server", "--style", "threads"],
}
THEIRS = {
    "asyncio-streams": ["-m", "bench.servers", "asyncio-streams"],
    "asyncio-protocol": ["-m", "bench.servers", "asyncio-protocol"],
    "uvloop": ["-m", "bench.servers", "uvloop"],
    "gevent": ["-m", "bench.servers", "gevent"],
    "green-eager": ["-m", "bench.servers", "green-eager"],
    "green-observed": ["-m", "bench.servers", "green-observed"],
    "greenlet-bare": ["-m", "bench.servers", "greenlet-bare"],
    "greenlet-layered": ["-m", "bench.servers", "greenlet-layered"],
}
# What each server needs beyond the runtime's own requirements.
NEEDS = {"uvloop": "uvloop", "gevent": "gevent"}


def all_servers():
    return {**OURS, **THEIRS}


def available(kind):
    """True when this interpreter can run that server (gevent, uvloop)."""
    module = NEEDS.get(kind)
    if module is None:
        return True
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def announce(sock):
    host, port = sock.getsockname()[:2]
    print(f"listening on {host}:{port}", flush=True)


def listener(host, port):
    return bind(host, port)


# -- asyncio ---------------------------------------------------------------

class EchoProtocol:
    """asyncio's lowest level: data_received writes the data straight back."""

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)

    def eof_received(self):
        return False

    def connection_lost(self, error):
        pass

    def pause_writing(self):
        self.transport.pause_reading()

    def resume_writing(self):
        self.transport.resume_reading()


async def streams_client(reader, writer):
    """asyncio streams: read, write, drain -- the documented echo server."""
    try:
        while data := await reader.read(BUFFER_SIZE):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


def serve_asyncio(sock, kind):
    import asyncio
    if kind == "uvloop":
        import uvloop
        runner = uvloop.run
    else:
        runner = asyncio.run

    async def main():
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        if kind == "asyncio-streams":
            server = await asyncio.start_server(streams_client, sock=sock)
        else:
            server = await loop.create_server(EchoProtocol, sock=sock)
        announce(sock)
        await stop.wait()
        server.close()

    runner(main())


# -- gevent ----------------------------------------------------------------

def serve_gevent(sock):
    import gevent
    from gevent import socket as gevent_socket
    from gevent.server import StreamServer

    def handle(conn, address):
        try:
            while data := conn.recv(BUFFER_SIZE):
                conn.sendall(data)
        except OSError:
            pass
        finally:
            conn.close()

    sock = gevent_socket.socket(fileno=sock.detach())  # a cooperative accept
    server = StreamServer(sock, handle)
    server.start()
    gevent.signal_handler(signal.SIGTERM, server.stop)
    gevent.signal_handler(signal.SIGINT, server.stop)
    announce(sock)
    server.serve_forever()


# -- ours, handicapped -----------------------------------------------------

def serve_green_eager(sock):
    set_loop(EventLoop(lazy=False))   # the kernel mask follows each wait
    options = argparse.Namespace(idle_timeout=None)
    microthread_echo.serve_green(sock, options, lambda: announce(sock))


def serve_green_observed(sock):
    """The green server watched as the live slide watches its hub: a
    HubView on the loop's observer interface and the blocking detector on,
    at the slide's threshold, to measure what observing costs."""
    from microthread import detector
    from microthread.demos.live import THRESHOLD, HubView
    get_loop().observe(HubView())
    detector.enable(THRESHOLD, report=lambda report: None)
    options = argparse.Namespace(idle_timeout=None)
    microthread_echo.serve_green(sock, options, lambda: announce(sock))


# -- the floor: a bare greenlet hub ----------------------------------------

def serve_greenlet_bare(sock):
    """The least a greenlet server does: the price of our runtime's features.

    One greenlet per connection over one epoll; each fd registered once and
    never trimmed, a dict from fd to the greenlet waiting on it, popped when
    its event comes.  No timeouts, no check for a second waiter, no cleanup
    when a wait is interrupted, no waking on close, no backpressure: a
    64-byte echo always fits the send buffer.  This is the issue's "minimal
    hub with lazy deregistration", kept to compare against, never to use.
    """
    import select

    from greenlet import getcurrent, greenlet

    sock.setblocking(False)
    epoll = select.epoll()
    epoll.register(sock.fileno(), select.EPOLLIN)
    waiting = {}                       # fd -> the greenlet waiting to read

    def handle(conn):
        fd = conn.fileno()
        epoll.register(fd, select.EPOLLIN)
        try:
            while True:
                waiting[fd] = getcurrent()
                hub.switch()           # until fd is readable
                data = conn.recv(BUFFER_SIZE)
                if not data:
                    break
                conn.send(data)
        except OSError:
            pass
        finally:
            epoll.unregister(fd)
            conn.close()

    def accept_all():
        while True:
            try:
                conn, _ = sock.accept()
            except BlockingIOError:
                return
            conn.setblocking(False)
            greenlet(handle, parent=hub).switch(conn)

    def run():
        while True:
            for fd, _ in epoll.poll():
                if fd == sock.fileno():
                    accept_all()
                else:
                    thread = waiting.pop(fd, None)
                    if thread is not None:
                        thread.switch()

    hub = greenlet(run)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: sys.exit(0))
    announce(sock)
    hub.switch()


# -- the floor of the design: the slides' layers, no features ---------------

def serve_greenlet_layered(sock):
    """The least a server shaped as the slides does: the design's own floor.

    The runtime's layers and nothing else.  A loop that keeps a list of
    callbacks per fd and dispatches each event through two helpers
    (``run_once``'s ``_callbacks_for`` and ``_call``); a hub where each
    wait claims (fd, READ) with its microthread's one record, registers the
    microthread's ``switch``, switches out and takes both back (``wait_fd``'s
    claim, register_fd, switch_out, release); a socket whose ``recv`` waits
    first after a short read and whose ``send`` tries first; the slides'
    ``sendall``.  No timeouts, observers, checks of a kept registration,
    waking on close or error reports.  Against ``greenlet-bare`` it prices
    the shape; the runtime against it prices the features.  It leaves out
    two things of the shape too, ``wait_fd``'s ``get_hub()`` (one global
    hub here) and ``run_once``'s per-poll timers and ready queue, so it
    errs fast: the shape costs at least what it measures.
    """
    import select

    from greenlet import getcurrent, greenlet

    class Watch:
        __slots__ = ("readers",)

        def __init__(self):
            self.readers = ()

    class Loop:
        def __init__(self):
            self.epoll, self.fds = select.epoll(), {}

        def register_fd(self, fd, callback):
            watch = self.fds.get(fd)
            if watch is None:
                watch = self.fds[fd] = Watch()
                self.epoll.register(fd, select.EPOLLIN)
            watch.readers = [*watch.readers, callback]

        def remove_callback(self, fd, callback):
            watch = self.fds.get(fd)
            if watch is not None and watch.readers == [callback]:
                watch.readers = ()

        def run_once(self):
            for fd, _ in self.epoll.poll():
                for callback in self._callbacks_for(fd):
                    self._call(callback)

        def _callbacks_for(self, fd):
            watch = self.fds.get(fd)
            return watch.readers if watch is not None else ()

        def _call(self, callback):
            try:
                callback()
            except Exception as error:
                print(error, file=sys.stderr)

    class Record:
        __slots__ = ("microthread", "fd")

        def __init__(self, microthread):
            self.microthread, self.fd = microthread, None

    class Microthread(greenlet):
        __slots__ = ("record",)

    class Hub(greenlet):
        __slots__ = ("loop", "readers")

        def run(self):
            while True:
                self.loop.run_once()

        def claim(self, fd, microthread):
            if fd in self.readers:
                raise RuntimeError(f"fd {fd} has a reader already")
            record = self.readers[fd] = microthread.record
            record.fd = fd
            return record

        def switch_out(self, record):
            return self.switch()

        def release(self, record):
            fd, record.fd = record.fd, None
            if self.readers.pop(fd, None) is record:
                self.loop.remove_callback(fd, record.microthread.switch)

    def wait_fd(fd):
        thread = getcurrent()
        record = hub.claim(fd, thread)
        try:
            hub.loop.register_fd(fd, thread.switch)
            hub.switch_out(record)
        finally:
            hub.release(record)

    class Socket:
        __slots__ = ("sock", "fd", "drained")

        def __init__(self, conn):
            conn.setblocking(False)
            self.sock, self.fd, self.drained = conn, conn.fileno(), True

        def recv(self, size):
            if self.drained:
                wait_fd(self.fd)
            while True:
                try:
                    data = self.sock.recv(size)
                    break
                except BlockingIOError:
                    pass
                wait_fd(self.fd)
            self.drained = len(data) < size
            return data

        def send(self, data):
            return self.sock.send(data)     # 64 bytes always fit

    def sendall(conn, data):
        view = memoryview(data).cast("B")
        while view:
            count = conn.send(view)
            view = view[count:]

    def handle(conn):
        try:
            while data := conn.recv(BUFFER_SIZE):
                sendall(conn, data)
        except OSError:
            pass
        finally:                            # the fd number is reused soon
            del hub.loop.fds[conn.fd]
            hub.loop.epoll.unregister(conn.fd)
            conn.sock.close()

    def accept_all():
        while True:
            try:
                conn, _ = sock.accept()
            except BlockingIOError:
                return
            microthread = Microthread(handle, parent=hub)
            microthread.record = Record(microthread)
            microthread.switch(Socket(conn))

    sock.setblocking(False)
    hub = Hub()
    hub.loop, hub.readers = Loop(), {}
    hub.loop.register_fd(sock.fileno(), accept_all)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: sys.exit(0))
    announce(sock)
    hub.switch()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.servers",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=sorted(THEIRS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    options = parser.parse_args(argv)
    microthread_server.raise_open_file_limit(10000)
    sock = listener(options.host, options.port)
    if options.kind == "gevent":
        serve_gevent(sock)
    elif options.kind == "green-eager":
        serve_green_eager(sock)
    elif options.kind == "green-observed":
        serve_green_observed(sock)
    elif options.kind == "greenlet-bare":
        serve_greenlet_bare(sock)
    elif options.kind == "greenlet-layered":
        serve_greenlet_layered(sock)
    else:
        serve_asyncio(sock, options.kind)
    return 0


if __name__ == "__main__":
    sys.exit(main())
