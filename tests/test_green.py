"""Green sockets, the three sendall styles, and the Player race."""

import errno
import gc
import math
import os
import signal
import socket
import struct
import threading
import time
import types

import pytest

from microthread import (READ, WRITE, FdClosedError, Timeout, callback,
                         get_hub, get_loop, sleep, spawn, wait_fd)
from microthread.green import GreenSocket, close, connect, listen
from microthread.sendall import sendall
from support import callbacks_counted, refusals_in_another_thread, run_until

SIXTEEN_MIB = 16 * 1024 * 1024


pytestmark = pytest.mark.usefixtures("hub_on_each_poller")


@pytest.fixture(scope="module")
def payload():
    return os.urandom(SIXTEEN_MIB)


def send_with_callbacks(left, right, data):
    """The event-driven style: the loop calls the writer and the reader."""
    loop = get_loop()
    received, outcome = bytearray(), []

    def on_readable():
        chunk = right.recv(1 << 20)
        received.extend(chunk)
        if not chunk or len(received) >= len(data):
            loop.unregister_fd(right.fileno(), READ)

    left.setblocking(False)
    right.setblocking(False)
    loop.register_fd(right.fileno(), READ, on_readable)
    callback.sendall(loop, left, data, outcome.append)
    run_until(loop, lambda: outcome and len(received) >= len(data), 30)
    assert outcome == [None]
    return bytes(received)


def send_with_threads(left, right, data):
    """OS threads over blocking sockets, through the shared sendall."""
    right.settimeout(30)
    writer = threading.Thread(target=sendall, args=(left, data))
    writer.start()
    received = bytearray()
    while len(received) < len(data):
        chunk = right.recv(1 << 20)
        assert chunk, "peer closed early"
        received.extend(chunk)
    writer.join()
    return bytes(received)


def send_with_microthreads(left, right, data):
    """Microthreads over green sockets, through the same shared sendall."""
    writer_sock, reader_sock = GreenSocket(left, 30), GreenSocket(right, 30)

    def read_all():
        received = bytearray()
        while len(received) < len(data):
            chunk = reader_sock.recv(1 << 20)
            assert chunk, "peer closed early"
            received.extend(chunk)
        return bytes(received)

    writer = spawn(sendall, writer_sock, data)
    reader = spawn(read_all)
    writer.join()
    return reader.join()



@pytest.mark.parametrize("style", [send_with_callbacks, send_with_threads,
                                   send_with_microthreads],
                         ids=["callbacks", "threads", "microthreads"])
def test_each_sendall_style_moves_16_mib_intact(style, payload):
    left, right = socket.socketpair()
    left.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    try:
        assert style(left, right, payload) == payload
    finally:
        left.close()
        right.close()


def test_threads_and_microthreads_run_one_and_the_same_sendall():
    assert GreenSocket.sendall.__code__.co_names.count("sendall") == 1
    import microthread.green as green
    assert green.sendall is sendall


def test_callback_sendall_reports_a_reset_peer_once():
    loop = get_loop()
    left, right = socket.socketpair()
    left.setblocking(False)
    right.close()
    outcome = []
    callback.sendall(loop, left, b"x" * 1000, outcome.append)
    run_until(loop, lambda: outcome)
    assert len(outcome) == 1 and isinstance(outcome[0], BrokenPipeError)
    assert not loop.has_callbacks(left.fileno(), WRITE)
    left.close()


def test_green_echo_over_tcp_loopback():
    server = listen()
    address = server.socket.getsockname()
    assert address[0] == "127.0.0.1"

    def serve_one():
        conn, _ = server.accept()
        with conn:
            conn.sendall(conn.recv(100).upper())

    handler = spawn(serve_one)
    with connect(address, timeout=5) as client:
        client.sendall(b"ping")
        assert client.recv(100) == b"PING"
    handler.join()
    server.close()


def test_recv_returns_empty_when_the_peer_closes():
    left, right = socket.socketpair()
    green = GreenSocket(left, timeout=5)
    reader = spawn(green.recv, 10)
    sleep(0)
    right.close()
    assert reader.join() == b""
    green.close()


def test_reset_peer_raises_connection_reset_not_a_hang():
    server = listen()
    accepted = spawn(server.accept)
    client = connect(server.socket.getsockname(), timeout=5)
    conn, _ = accepted.join()
    reader = spawn(conn.recv, 10)
    sleep(0)
    client.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                             struct.pack("ii", 1, 0))
    client.close()                              # RST, not FIN
    with pytest.raises(ConnectionResetError):
        reader.join()
    conn.close()
    server.close()


def test_send_to_a_closed_peer_raises_broken_pipe():
    left, right = socket.socketpair()
    green = GreenSocket(left, timeout=5)
    right.close()
    with pytest.raises(BrokenPipeError):
        green.sendall(b"x" * 100000)
    green.close()


def test_connect_to_a_closed_port_raises_connection_refused():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(ConnectionRefusedError, match=f"127.0.0.1.*{port}"):
        connect(("127.0.0.1", port), timeout=5)


def test_a_signal_during_a_wait_is_retried_not_raised():
    left, right = socket.socketpair()
    green = GreenSocket(left, timeout=5)
    handled = []

    def on_alarm(signum, frame):
        handled.append(signum)
        right.send(b"after the signal")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.02)
        assert green.recv(100) == b"after the signal"   # EINTR retried
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert handled == [signal.SIGALRM]
    green.close()
    right.close()


class CountingSocket(socket.socket):
    """A socket that counts its reads, and the ones that found nothing."""

    def __init__(self, sock):
        super().__init__(fileno=sock.detach())
        self.reads = self.failed = 0

    def recv(self, size):
        self.reads += 1
        try:
            return super().recv(size)
        except BlockingIOError:
            self.failed += 1
            raise


def test_a_fresh_socket_waits_for_data_before_its_first_read():
    """Nothing has come yet, as after a short read: no read fails first."""
    left, right = socket.socketpair()
    counting = CountingSocket(left)
    green = GreenSocket(counting)
    reader = spawn(green.recv, 100)
    sleep(0)                                    # it parks without a recv
    assert (counting.reads, counting.failed) == (0, 0)
    right.send(b"hello")
    assert reader.join() == b"hello"
    assert (counting.reads, counting.failed) == (1, 0)
    green.close()
    right.close()


def test_a_read_of_nothing_answers_at_once_on_a_fresh_socket():
    """Waiting for data first is for reads that want some: recv(0) and an
    empty buffer answer without a switch, and a bad size is refused now."""
    left, right = socket.socketpair()
    green = GreenSocket(left, timeout=5)        # a wait would fail the test
    with callbacks_counted(get_loop()) as count:
        assert green.recv(0) == b""
        assert green.recv_into(bytearray()) == 0
        with pytest.raises(ValueError):
            green.recv(-1)
    assert count.calls == 0
    green.close()
    right.close()


def test_after_a_short_read_the_next_recv_waits_instead_of_failing():
    left, right = socket.socketpair()
    counting = CountingSocket(left)
    green = GreenSocket(counting, timeout=5)
    right.send(b"one")
    assert green.recv(100) == b"one"            # shorter than asked: drained
    reader = spawn(green.recv, 100)
    sleep(0)                                    # it parks without a recv
    assert (counting.reads, counting.failed) == (1, 0)
    right.send(b"two")
    assert reader.join() == b"two"
    assert (counting.reads, counting.failed) == (2, 0)
    green.close()
    right.close()


def test_a_microthread_waiting_after_eagain_keeps_no_exception_alive():
    """A wait inside ``except BlockingIOError`` would hold the exception, its
    traceback and the frames it names for as long as the wait lasts: at
    10,000 parked connections, half a kilobyte each."""
    gc.collect()
    before = [o for o in gc.get_objects() if isinstance(o, BlockingIOError)]
    read_end, peer = socket.socketpair()
    write_end, silent = socket.socketpair()
    reader, writer = GreenSocket(read_end), GreenSocket(write_end)
    peer.send(b"abc")
    assert reader.recv(3) == b"abc"             # as long as asked: not drained
    reading = spawn(reader.recv, 3)             # EAGAIN, then it waits
    writing = spawn(sendall, writer, b"x" * (8 << 20))          # fills, EAGAIN
    hub = get_hub()
    try:
        for _ in range(50):                         # a tick each
            if (hub.waiting_on(read_end.fileno(), READ)
                    and hub.waiting_on(write_end.fileno(), WRITE)):
                break
            sleep(0)
        assert hub.waiting_on(read_end.fileno(), READ), "the reader never waited"
        assert hub.waiting_on(write_end.fileno(), WRITE), "the writer never waited"
        alive = [o for o in gc.get_objects() if isinstance(o, BlockingIOError)
                 and not any(o is old for old in before)]
        assert alive == []
    finally:
        for microthread in (reading, writing):
            microthread.kill()
        for sock in (reader, writer, peer, silent):
            sock.close()


def test_a_parked_reader_holds_no_method_of_its_socket():
    """recv and recv_into share their loop without handing it a bound method
    to call: one more object per parked connection otherwise."""
    left, right = socket.socketpair()
    green = GreenSocket(left)
    readers = [spawn(green.recv, 10)]
    sleep(0)
    assert [holder for holder in gc.get_referrers(left)
            if isinstance(holder, (types.BuiltinMethodType, types.MethodType))] == []
    right.send(b"x")
    assert readers[0].join() == b"x"
    green.close()
    right.close()


def test_data_that_came_after_a_short_read_is_read_at_once():
    left, right = socket.socketpair()
    green = GreenSocket(left, timeout=5)
    right.send(b"one")
    assert green.recv(100) == b"one"
    right.send(b"two")                          # already there: no waiting
    assert green.recv(100) == b"two"            # level-triggered wakeup
    right.close()
    assert green.recv(100) == b""               # and EOF after a short read
    green.close()


def test_a_full_read_reads_again_without_switching():
    left, right = socket.socketpair()
    counting = CountingSocket(left)
    green = GreenSocket(counting, timeout=5)
    right.send(b"abcdef")
    assert green.recv(3) == b"abc"              # as long as asked: maybe more
    with callbacks_counted(get_loop()) as count:
        assert green.recv(3) == b"def"
    assert count.calls == 0                     # no callback ran: no switch
    assert (counting.reads, counting.failed) == (2, 0)
    green.close()
    right.close()


def test_a_short_timeout_does_not_expire_on_data_already_there():
    left, right = socket.socketpair()
    green = GreenSocket(left, timeout=0)        # never wait for more data
    for message in (b"one", b"two", b"three"):
        right.send(message)                     # there before each read
        assert green.recv(100) == message       # the hub's due timers ran
    with pytest.raises(Timeout):                # nothing there: a real one
        green.recv(100)
    green.close()
    right.close()


@pytest.mark.parametrize("own_timeout", [None, 5])
def test_an_enclosing_timeout_that_expires_on_data_is_not_swallowed(own_timeout):
    left, right = socket.socketpair()
    nudge, nudger = socket.socketpair()
    green = GreenSocket(left, timeout=own_timeout)
    right.send(b"x")
    assert green.recv(100) == b"x"              # drained: the next read waits
    outcome = []

    def reader():
        wait_fd(nudge.fileno(), READ)           # resumed by an fd event, so
        right.send(b"y")                        # the hub runs due timers
        with Timeout(0, quiet=True) as deadline:  # before it polls again
            outcome.append(green.recv(100))
        outcome.append(deadline)

    microthread = spawn(reader)
    sleep(0)
    nudger.send(b"!")
    microthread.join(timeout=5)
    assert len(outcome) == 1 and outcome[0].fired
    assert green.recv(100) == b"y"              # the data waited for us
    for sock in (green, right, nudge, nudger):
        sock.close()


def test_a_closed_socket_read_after_a_short_read_fails_at_once():
    left, right = socket.socketpair()
    green = GreenSocket(left, timeout=1)
    right.send(b"one")
    assert green.recv(100) == b"one"            # drained
    quiet, peer = socket.socketpair()           # nothing will come on it...
    number = green.fileno()
    green.close()
    os.dup2(quiet.fileno(), number)             # ...and it has the old number
    try:
        with pytest.raises(OSError) as error:   # not a wait on that number
            green.recv(100)
        assert error.value.errno == errno.EBADF
    finally:
        os.close(number)
        for sock in (quiet, peer, right):
            sock.close()


def test_recv_into_reads_like_recv():
    left, right = socket.socketpair()
    green = GreenSocket(left, timeout=5)
    buffer = bytearray(8)
    right.send(b"abcdefgh")
    assert green.recv_into(buffer) == 8 and buffer == b"abcdefgh"
    right.send(b"xyz")
    assert green.recv_into(buffer, 4) == 3 and buffer[:3] == b"xyz"
    writer = spawn(right.send, b"later")
    assert green.recv_into(buffer) == 5 and buffer[:5] == b"later"
    writer.join()
    green.close()
    right.close()


def test_closing_twice_is_harmless():
    left, right = socket.socketpair()
    green = GreenSocket(left)
    green.close()
    green.close()
    right.close()


# -- the Player race (线程安全 - 示例) ----------------------------------------

@pytest.fixture
def players_db(tmp_path):
    from microthread.demos.database import create_players_db
    return create_players_db(str(tmp_path / "players.sqlite"),
                             [(1, "alice", 7), (2, "bob", 3)])


def test_another_microthread_sees_the_half_made_player(players_db):
    from microthread.demos.player import login
    players, seen = {}, []

    def look():
        seen.append(repr(players.get(1)))

    logging_in = spawn(login, players, 1, players_db)
    spawn(look)                # runs while login waits for the database
    player = logging_in.join()
    assert seen == ["<Player 1 None level None>"]
    assert (player.name, player.level) == ("alice", 7)


def test_event_driven_login_is_half_made_until_its_callback(players_db):
    from microthread.demos.player import login_async
    players = {}
    player = login_async(players, 2, players_db)
    assert players[2] is player and not player.ready   # no switch yet
    while not player.ready:
        sleep(0.001)
    assert (player.name, player.level) == ("bob", 3)


def test_safe_login_never_publishes_a_half_made_player(players_db):
    from microthread.demos.player import login_safe
    players, seen = {}, []
    logging_in = spawn(login_safe, players, 1, players_db)
    spawn(lambda: seen.append(players.get(1)))
    logging_in.join()
    assert seen == [None] and players[1].ready


def test_connect_resolves_names_off_the_hub(monkeypatch):
    import microthread.green as green
    resolved_in = []
    real = socket.getaddrinfo

    def spy(host, port, *args):
        resolved_in.append((host, threading.get_ident()))
        if host == "echo.test":
            if len(args) == 4 and args[3] & socket.AI_NUMERICHOST:
                raise socket.gaierror(socket.EAI_NONAME, "not numeric")
            host = "127.0.0.1"
        return real(host, port, *args)

    monkeypatch.setattr(green.socket, "getaddrinfo", spy)
    server = listen()
    accepted = spawn(server.accept)
    client = connect(("echo.test", server.socket.getsockname()[1]), timeout=5)
    conn, _ = accepted.join()
    assert [host for host, _ in resolved_in] == ["echo.test", "echo.test"]
    assert resolved_in[-1][1] != threading.get_ident()   # in a pool thread
    for sock in (client, conn, server):
        sock.close()


def test_module_level_register_and_close_use_this_threads_loop():
    import microthread
    left, right = socket.socketpair()
    got = []
    microthread.register_fd(left.fileno(), READ, lambda: got.append(1))
    right.send(b"x")
    run_until(get_loop(), lambda: got)
    microthread.unregister_fd(left.fileno(), READ)
    assert not get_loop().has_callbacks(left.fileno(), READ)
    microthread.close(left)
    assert left.fileno() == -1 and get_loop().watches(left.fileno()) == 0
    right.close()


def test_another_callback_sees_the_half_made_player_event_driven(players_db):
    from microthread.demos.player import login_async
    loop, players, seen = get_loop(), {}, []
    loop.call_soon(lambda: seen.append(repr(players.get(2))))  # queued first
    player = login_async(players, 2, players_db)
    run_until(loop, lambda: player.ready)
    assert seen == ["<Player 2 None level None>"]


def test_event_driven_fix_publishes_only_a_whole_player(players_db):
    from microthread.demos.player import login_async_safe
    loop, players, seen = get_loop(), {}, []
    loop.call_soon(lambda: seen.append(players.get(2)))
    login_async_safe(players, 2, players_db)
    run_until(loop, lambda: 2 in players)
    assert seen == [None] and players[2].ready


def test_blocking_style_calls_switch_and_async_ones_do_not():
    from microthread.demos.switch_points import which_switch
    assert which_switch() == {"execute_sql": 1, "async_execute_sql": 0,
                              "send": 1, "async_send": 0}


def test_other_microthreads_run_while_execute_sql_waits(players_db):
    from microthread.demos.database import execute_sql
    from microthread.demos.player import PLAYER_SQL
    trace = []

    def query():
        trace.append("query starts")
        execute_sql(players_db, PLAYER_SQL, (1,))
        trace.append("query done")

    first = spawn(query)
    spawn(trace.append, "bystander ran")
    first.join()
    assert trace == ["query starts", "bystander ran", "query done"]


def test_a_green_socket_keeps_the_timeout_its_socket_was_given():
    left, right = socket.socketpair()
    left.settimeout(5)
    assert GreenSocket(left).timeout == 5
    right.setblocking(False)            # non-blocking: no timeout of its own
    assert GreenSocket(right).timeout is None
    assert GreenSocket(right, timeout=2).timeout == 2
    left.close()
    right.close()


def test_a_unix_connect_into_a_full_backlog_waits_until_really_connected(
        tmp_path):
    path = str(tmp_path / "listener")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(0)
    fillers = []
    while not fillers or fillers[-1].connect_ex(path) == 0:
        fillers.append(socket.socket(socket.AF_UNIX))
        fillers[-1].setblocking(False)
    green = GreenSocket(socket.socket(socket.AF_UNIX), timeout=5)

    def accept_all_later():
        sleep(0.05)
        listener.setblocking(False)
        while True:
            try:
                listener.accept()[0].close()
            except BlockingIOError:
                return

    spawn(accept_all_later)
    green.connect(path)                 # EAGAIN: nothing was in progress
    assert green.socket.getpeername() == path
    for sock in (green, listener, *fillers):
        sock.close()


def tcp_socket_at(number):
    """A new TCP socket with fd ``number`` (free now), as the OS would
    hand it out were it the lowest free one."""
    sock = socket.socket()
    if sock.fileno() != number:
        os.dup2(sock.fileno(), number)
        sock.close()
        sock = socket.socket(fileno=number)
    return sock


def test_a_stale_writable_event_from_the_same_poll_never_connects_a_socket():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)                  # room for one: the next waits
    address = listener.getsockname()
    first = socket.create_connection(address, timeout=5)
    old, peer = socket.socketpair()
    old.setblocking(False)
    get_loop().register_fd(old.fileno(), WRITE, lambda: None)
    peer.send(b"x")                     # old: readable and writable at once
    outcome = []

    def reconnect():                    # woken by old's READ; old's WRITE
        wait_fd(old.fileno(), READ)     # is still to come in this batch
        number = old.fileno()
        close(old)
        new = GreenSocket(tcp_socket_at(number), timeout=0.3)
        try:
            new.connect(address)        # in progress: the queue is full
            outcome.append(("connected", new.socket.getpeername()))
        except Timeout:
            outcome.append("still connecting")
        new.close()

    spawn(reconnect).join(timeout=5)
    assert outcome == ["still connecting"]
    for sock in (first, peer, listener):
        sock.close()


@pytest.mark.parametrize("bad, error", [
    (math.nan, ValueError), (-1, ValueError), (math.inf, ValueError),
    ("5", TypeError)])
def test_a_green_socket_refuses_a_timeout_that_is_no_duration(bad, error):
    left, right = socket.socketpair()
    with pytest.raises(error, match="GreenSocket"):
        GreenSocket(left, timeout=bad)
    left.close()
    right.close()


def test_closing_a_green_socket_from_another_os_thread_is_refused():
    left, right = socket.socketpair()
    green = GreenSocket(left)
    errors = refusals_in_another_thread(green.close)
    assert errors and "call_soon_threadsafe" in errors[0]
    assert green.fileno() >= 0          # still open, still ours
    green.close()
    right.close()


def test_closing_a_plain_socket_another_threads_microthread_reads_is_refused():
    import microthread
    left, right = socket.socketpair()
    reader = spawn(wait_fd, left.fileno(), READ, timeout=5)
    sleep(0)                            # it waits on fd now, in our loop
    errors = refusals_in_another_thread(lambda: microthread.close(left))
    assert errors and f"close fd {left.fileno()}" in errors[0]
    assert left.fileno() >= 0           # still open: the reader can wake
    microthread.close(left)             # from its own thread: woken
    with pytest.raises(FdClosedError):
        reader.join()
    right.close()


def test_closing_a_green_socket_a_microthread_of_another_thread_waits_on_is_refused():
    from microthread.loop import loops_watching
    left, right = socket.socketpair()
    green = GreenSocket(left)
    woke = []
    reader = threading.Thread(target=lambda: woke.append(
        wait_fd(left.fileno(), READ, timeout=5)))
    reader.start()
    for _ in range(500):                # until its loop watches the fd
        if any(loop.thread_ident == reader.ident
               for loop in loops_watching(left.fileno())):
            break
        time.sleep(0.01)
    with pytest.raises(RuntimeError, match=f"close fd {left.fileno()}"):
        green.close()                   # it would sleep on for ever
    right.send(b"x")
    reader.join(5)
    assert woke == [None] and green.fileno() >= 0
    green.close()
    right.close()


def test_listening_on_a_port_in_use_names_it_and_leaks_no_socket():
    taken = listen()
    port = taken.socket.getsockname()[1]
    before = len(os.listdir("/proc/self/fd"))
    with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{port}"):
        listen(("127.0.0.1", port))
    assert len(os.listdir("/proc/self/fd")) == before
    taken.close()
