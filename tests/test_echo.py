"""The echo server, run as a real process in each style, over 127.0.0.1.

Every test reads the server's port from its "listening on" line, talks to
it with non-blocking client sockets multiplexed by a selector (bounded in
time), and stops it with a signal.  The helpers here are also the client
side of ``c10k_check.py``.
"""

import contextlib
import os
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

STYLES = ["green", "callback", "threads"]
EVENT_READ_WRITE = selectors.EVENT_READ | selectors.EVENT_WRITE
LINE = re.compile(
    rb"listening on 127\.0\.0\.1:(\d+) \(style (\w+), pid (\d+)\)")


# -- the server process ----------------------------------------------------

class Server:
    """A running echo server: its process, port and stderr so far."""

    def __init__(self, proc, port, errors):
        self.proc = proc
        self.port = port
        self._errors = errors             # a temporary file, until it ends

    @property
    def pid(self):
        return self.proc.pid

    def stderr(self):
        """What the server wrote to stderr so far (all of it, once ended)."""
        if isinstance(self._errors, str):
            return self._errors
        self._errors.seek(0)
        return self._errors.read().decode(errors="replace")

    def ended(self):
        """Keep stderr as text and close its file."""
        text = self.stderr()
        self._errors.close()
        self._errors = text

    def stop(self, signum=signal.SIGTERM, timeout=5):
        """Signal the server and return its exit code."""
        self.proc.send_signal(signum)
        return self.proc.wait(timeout)

    def rss(self):
        """Resident memory in bytes (VmRSS of /proc/PID/status)."""
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError(f"no VmRSS for pid {self.pid}")

    def children(self):
        with open(f"/proc/{self.pid}/task/{self.pid}/children") as children:
            return [int(pid) for pid in children.read().split()]


@contextlib.contextmanager
def echo_server(style, *args, timeout=10, **popen):
    """Start ``python -m microthread.server`` on a free port; kill it at the end.

    It runs in a session of its own, so the cleanup can reach its workers
    too, by its process group.
    """
    errors = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-m", "microthread.server", "--style", style,
         "--port", "0", *args],
        stdout=subprocess.PIPE, stderr=errors, start_new_session=True,
        **popen)
    server = None
    try:
        match = LINE.match(read_line(proc, timeout, errors))
        assert match and match[2].decode() == style, match
        assert int(match[3]) == proc.pid
        server = Server(proc, int(match[1]), errors)
        yield server
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout)
        proc.stdout.close()
        if server is None:
            errors.close()
        else:
            server.ended()


def read_line(proc, timeout, errors):
    """The first line the server prints, waiting at most timeout seconds."""
    line, deadline = b"", time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                break
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            line += chunk
    if not line.endswith(b"\n"):
        errors.seek(0)
        raise AssertionError(f"no 'listening on' line from the server; "
                             f"got {line!r}, stderr: {errors.read()!r}")
    return line


# -- the client side -------------------------------------------------------

@contextlib.contextmanager
def open_file_limit(count):
    """Let this process hold count fds (up to the hard limit) for a while."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if count > hard:
        pytest.skip(f"needs {count} open files; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, count), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@contextlib.contextmanager
def clients(port, count, batch=500, timeout=30):
    """count connections to port, each proven accepted by one echo.

    They connect in batches, each echoed before the next batch dials, so
    the listen backlog never overflows (a dropped SYN costs a 1 s retry).
    """
    socks = []
    try:
        deadline = time.monotonic() + timeout
        while len(socks) < count:
            size = min(batch, count - len(socks))
            wave = [connect(port) for _ in range(size)]
            socks += wave
            exchange(wave, [b"hello"] * len(wave), deadline - time.monotonic())
        yield socks
    finally:
        for sock in socks:
            sock.close()


def connect(port):
    """A non-blocking client socket, connecting (or connected) to port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    error = sock.connect_ex(("127.0.0.1", port))
    if error not in (0, 115):                       # 115: EINPROGRESS
        sock.close()
        raise OSError(error, os.strerror(error))
    return sock


def exchange(socks, payloads, timeout=10):
    """Send each payload on its socket and read it all back, all at once."""
    unsent = {sock: memoryview(data) for sock, data in zip(socks, payloads)}
    wanted = {sock: len(data) for sock, data in zip(socks, payloads)}
    got = {sock: bytearray() for sock in socks}
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        for sock in socks:
            selector.register(sock, EVENT_READ_WRITE)
        while selector.get_map():
            left = deadline - time.monotonic()
            assert left > 0, (f"{len(selector.get_map())} of {len(socks)} "
                              f"clients not echoed within {timeout:.1f} s")
            for key, events in selector.select(left):
                sock = key.fileobj
                if events & selectors.EVENT_WRITE:
                    send_some(selector, sock, unsent)
                if events & selectors.EVENT_READ:
                    receive_some(selector, sock, got, wanted)
    return [bytes(got[sock]) for sock in socks]


def send_some(selector, sock, unsent):
    try:
        unsent[sock] = unsent[sock][sock.send(unsent[sock]):]
    except BlockingIOError:
        return
    if not unsent[sock]:
        selector.modify(sock, selectors.EVENT_READ)


def receive_some(selector, sock, got, wanted):
    try:
        chunk = sock.recv(65536)
    except BlockingIOError:
        return
    assert chunk, f"server closed {sock} after {len(got[sock])} bytes"
    got[sock] += chunk
    if len(got[sock]) >= wanted[sock]:
        selector.unregister(sock)


def wait_closed(sock, timeout):
    """True if the server closes sock (EOF or reset) within timeout."""
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if selector.select(left):
                try:
                    if not sock.recv(65536):
                        return True
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    return True
    return False


def fill_without_reading(sock, limit, stall=0.5):
    """Send up to limit bytes, never reading; stop when the peer stops taking.

    Returns the bytes sent: once the server stops reading, the kernel
    buffers fill and no more goes out for ``stall`` seconds.
    """
    chunk, sent = memoryview(bytes(256 * 1024)), 0
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_WRITE)
        while sent < limit and selector.select(stall):
            try:
                sent += sock.send(chunk[:limit - sent])
            except BlockingIOError:
                pass
    return sent


# -- the tests -------------------------------------------------------------

@pytest.mark.parametrize("style", STYLES)
def test_concurrent_clients_get_every_byte_back(style):
    payloads = [os.urandom(20 * 1024 + n) for n in range(8)]
    with echo_server(style) as server, clients(server.port, 8) as socks:
        assert exchange(socks, payloads) == payloads
        assert server.stop() == 0
    assert "Traceback" not in server.stderr()


@pytest.mark.parametrize("style", STYLES)
def test_sigterm_closes_every_connection_and_exits_zero(style):
    with echo_server(style) as server, clients(server.port, 3) as socks:
        server.proc.send_signal(signal.SIGTERM)
        assert all(wait_closed(sock, timeout=5) for sock in socks)
        assert server.proc.wait(5) == 0


@pytest.mark.parametrize("style", STYLES)
def test_sigint_stops_the_server_too(style):
    with echo_server(style) as server, clients(server.port, 1) as socks:
        assert server.stop(signal.SIGINT) == 0
        assert wait_closed(socks[0], timeout=5)


@pytest.mark.parametrize("style", STYLES)
def test_idle_timeout_closes_a_silent_client_and_spares_an_active_one(style):
    with echo_server(style, "--idle-timeout", "0.2") as server, \
            clients(server.port, 2) as (silent, active):
        start, closed_after = time.monotonic(), None
        for _ in range(100):                    # about 50 ms a round
            assert exchange([active], [b"ping"]) == [b"ping"]
            if closed_after is None and wait_closed(silent, 0.05):
                closed_after = time.monotonic() - start
            if time.monotonic() - start > 0.8:
                break
        print(f"{style}: silent client closed after {closed_after} s")
        assert closed_after is not None and 0.1 < closed_after < 0.8
        assert exchange([active], [b"still here"]) == [b"still here"]
        assert server.stop() == 0


@pytest.mark.parametrize("style", STYLES)
def test_a_client_that_never_reads_neither_bloats_nor_stalls_the_server(style):
    limit = 64 * 1024 * 1024
    with echo_server(style) as server, clients(server.port, 2) as (hog, other):
        before = server.rss()
        sent = fill_without_reading(hog, limit)
        payload = os.urandom(256 * 1024)
        assert exchange([other], [payload], timeout=5) == [payload]
        growth = server.rss() - before
        print(f"{style}: stalled after {sent} bytes; RSS grew {growth} bytes")
        assert sent < limit, "the server kept reading from a client that " \
                             "does not read its replies"
        assert growth < 16 * 1024 * 1024, f"RSS grew by {growth} bytes"
        assert server.stop() == 0


@pytest.mark.parametrize("style", STYLES)
def test_workers_share_the_port_and_all_stop_on_sigterm(style):
    with echo_server(style, "--workers", "2") as server:
        workers = server.children()
        assert len(workers) == 2
        before = {pid: count_sockets(pid) for pid in workers}
        with clients(server.port, 24) as socks:
            payloads = [os.urandom(4096) for _ in socks]
            assert exchange(socks, payloads) == payloads
            served = [count_sockets(pid) - before[pid] for pid in workers]
            assert sum(served) == 24 and min(served) > 0, served
            assert server.stop() == 0
            assert all(wait_closed(sock, timeout=5) for sock in socks)
        assert not any(os.path.exists(f"/proc/{pid}") for pid in workers)


def count_sockets(pid):
    """How many sockets process pid holds open."""
    fds = f"/proc/{pid}/fd"
    return sum(os.readlink(f"{fds}/{fd}").startswith("socket:")
               for fd in os.listdir(fds))


@pytest.mark.parametrize("style", ["green", "callback"])
def test_holds_10000_connections_and_echoes_on_each(style):
    """C10K: every connection held at once, and each one echoes."""
    count = 10000
    if resource.getrlimit(resource.RLIMIT_NOFILE)[1] < count + 100:
        pytest.skip("the hard open-file limit here is below 10,100")
    with open_file_limit(count + 100), echo_server(style) as server:
        with clients(server.port, count, timeout=100) as socks:
            payloads = [b"%d" % n for n in range(count)]
            assert exchange(socks, payloads, timeout=60) == payloads
            assert count_sockets(server.pid) == count + 1   # and a listener
        assert server.stop() == 0


def test_threads_style_holds_1000_connections():
    count = 1000
    with open_file_limit(count + 100), echo_server("threads") as server, \
            clients(server.port, count) as socks:
        payloads = [b"%d" % n for n in range(count)]
        assert exchange(socks, payloads, timeout=10) == payloads
        assert server.stop() == 0


def test_raises_its_open_file_soft_limit_to_the_hard_one():
    limits = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, 20000))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 20000:
        pytest.skip(f"the hard open-file limit here is {hard}")
    with echo_server("green", preexec_fn=limits) as server:
        assert resource.prlimit(server.pid, resource.RLIMIT_NOFILE) == \
            (20000, 20000)
        assert "open-file limit" not in server.stderr()


def test_says_when_the_open_file_limit_is_too_low():
    limits = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, 512))
    with echo_server("callback", preexec_fn=limits) as server:
        assert server.stop() == 0
    assert ("open-file limit 512 is below the 10000 connections asked for; "
            "raise it with ulimit -n") in server.stderr()


def run_echo(*args, timeout=20):
    """The echo server's command line run to its end: (status, stderr)."""
    done = subprocess.run([sys.executable, "-m", "microthread.server", *args],
                          capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stderr.strip()


@pytest.mark.parametrize("args, culprit", [
    (["--port", "99999"], "port 99999 is out of range"),
    (["--port", "-1"], "port -1 is out of range"),
    (["--port", "eighty"], "'eighty' is not a port number"),
    (["--host", "no.such.host.invalid"],              # refused, not looked up
     "'no.such.host.invalid' is not an IPv4 address"),
    (["--idle-timeout", "nan"], "'nan' is not a finite number above zero"),
    (["--idle-timeout", "inf"], "'inf' is not a finite number above zero"),
    (["--idle-timeout", "0"], "'0' is not a finite number above zero"),
    (["--max-connections", "-5"], "'-5' is not a whole number above zero"),
    (["--workers", "0"], "'0' is not a whole number above zero"),
    (["--workers", "100000"], "'100000' is over 256"),
    (["--idle-timeout", "1e10"], "'1e10' is over 3.1536e+07"),
])
def test_a_bad_argument_is_a_usage_error_naming_it(args, culprit):
    status, errors = run_echo(*args)
    assert status == 2
    assert f"error: argument {args[0]}: {culprit}" in errors


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_port_in_use_is_one_line_naming_the_address(workers):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, errors = run_echo("--port", str(port), "--workers", workers)
    assert (status, errors) == (
        1, f"cannot listen on 127.0.0.1:{port}: address already in use")


def test_an_address_not_on_this_machine_is_one_line_naming_it():
    status, errors = run_echo("--host", "192.0.2.1")     # TEST-NET-1
    assert (status, errors) == (
        1, "cannot listen on 192.0.2.1:0: cannot assign requested address")


def test_localhost_is_taken_without_a_lookup():
    with echo_server("green", "--host", "localhost") as server, \
            clients(server.port, 1) as socks:
        assert exchange(socks, [b"ping"]) == [b"ping"]
        assert server.stop() == 0


def test_a_worker_that_cannot_bind_says_so_in_one_line(capfd):
    from microthread import server
    options = server.parse_args(["--host", "192.0.2.1"])
    ready_read, ready_write = os.pipe()
    with socket.socket() as probe:
        pid = server.fork_worker(options, 0, probe, ready_read, ready_write)
    os.close(ready_write)
    assert server.wait_for_workers(ready_read) == 0
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 1
    errors = capfd.readouterr().err
    assert errors == (f"worker {pid}: cannot listen on 192.0.2.1:{0}: "
                      f"cannot assign requested address\n")
