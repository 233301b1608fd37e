"""An fd is the user's again once the runtime lets go of it.

The loop keeps kernel interest lazily after ``unregister_fd`` (and after a
wait ends); these are the ordinary things users then do with the fd -- close
it plainly, ``dup`` it, let the OS hand its number to a new socket -- each
run on every backend this machine has.
"""

import errno
import os
import socket
import time

import pytest

import microthread as mt
from microthread import READ, WRITE, Timeout, get_loop, sleep, spawn, wait_fd
from microthread.green import GreenSocket
from support import callbacks_counted

hub_on_each_poller = pytest.mark.usefixtures("hub_on_each_poller")


@hub_on_each_poller
def test_a_plain_close_after_unregister_then_a_reused_number_just_work():
    a, b = socket.socketpair()
    a.setblocking(False)
    mt.register_fd(a.fileno(), READ, lambda: a.recv(10))
    b.send(b"x")
    sleep(0.01)
    number = a.fileno()
    mt.unregister_fd(number, READ)      # the runtime no longer wants it ...
    a.close()                           # ... so the user closes it plainly
    b.close()
    sleep(0.01)                         # select: no EBADF from a kept fd
    c, d = pair_at(number)
    c.setblocking(False)
    mt.register_fd(c.fileno(), WRITE, lambda: None)   # epoll: no ENOENT
    d.send(b"y")
    wait_fd(c.fileno(), READ, timeout=5)              # and the wakeup comes
    for sock in (c, d):
        mt.close(sock)


def pair_at(number):
    """A socket pair whose first end has fd ``number`` (free now), as the
    OS hands out the lowest free number: the user's new socket."""
    c, d = socket.socketpair()
    if c.fileno() != number:
        os.dup2(c.fileno(), number)
        c.close()
        c = socket.socket(fileno=number)
    return c, d


def reuse_the_number_of_a_dup_kept_file():
    """A socket waited on, then dup'd and closed plainly: its number goes
    to a new socket while the old file, readable, lives on in the dup."""
    a, b = socket.socketpair()
    a.setblocking(False)
    waiter = spawn(wait_fd, a.fileno(), READ)
    sleep(0)
    b.send(b"x")
    waiter.join(timeout=5)               # interest in a is kept lazily
    number = a.fileno()
    old = os.dup(number)
    a.close()
    c, d = pair_at(number)
    return (b, old), c, d


def callbacks_run_by(loop, sleeps):
    """How many callbacks the loop ran while we slept(0) ``sleeps`` times."""
    with callbacks_counted(loop) as count:
        for _ in range(sleeps):
            sleep(0)
    return count.calls


@pytest.mark.parametrize("wrap", [GreenSocket, None],
                         ids=["green-socket", "bare-fd"])
@hub_on_each_poller
def test_a_registration_kept_alive_by_a_dup_never_wakes_the_new_owner(wrap):
    old, c, d = reuse_the_number_of_a_dup_kept_file()
    got = []
    if wrap is not None:
        green = wrap(c, timeout=5)
        reader = spawn(lambda: got.append(green.recv(10)))
    else:
        c.setblocking(False)
        reader = spawn(lambda: got.append(wait_fd(c.fileno(), READ)))
    sleep(0)                                       # the reader waits now
    assert callbacks_run_by(get_loop(), 10) == 10  # only our own sleeps
    assert not reader.dead
    d.send(b"y")
    reader.join(timeout=5)
    assert got == [b"y"] if wrap is not None else got == [None]
    for sock in (c, d, old[0]):
        mt.close(sock)
    os.close(old[1])


@hub_on_each_poller
def test_a_kept_registration_of_a_closed_fd_does_not_keep_the_loop_busy():
    a, b = socket.socketpair()
    a.setblocking(False)
    mt.register_fd(a.fileno(), WRITE, lambda: None)
    sleep(0)
    mt.unregister_fd(a.fileno(), WRITE)
    old = os.dup(a.fileno())            # the file stays writable in the dup
    a.close()
    cpu = time.process_time()
    sleep(0.2)                          # an idle hub sleeps in the kernel
    assert time.process_time() - cpu < 0.1
    b.close()
    os.close(old)


class AlwaysEmpty(socket.socket):
    """A socket whose reads come up empty even when the kernel says
    readable: every wakeup of its reader is a spurious one."""

    def recv(self, size, flags=0):
        raise BlockingIOError(errno.EAGAIN, "nothing after all")


@hub_on_each_poller
def test_a_socket_timeout_bounds_the_call_however_often_it_wakes():
    left, right = socket.socketpair()
    empty = AlwaysEmpty(left.family, left.type, fileno=left.detach())
    right.send(b"x")                    # readable for ever, never read
    green = GreenSocket(empty, timeout=0.05)
    with Timeout(5, "the guard") as guard:
        with pytest.raises(Timeout) as raised:
            green.recv(10)
    assert raised.value is not guard
    assert str(raised.value) == (
        f"timed out after 0.05 s waiting for READ on fd {green.fileno()}")
    green.close()
    right.close()


@hub_on_each_poller
def test_a_socket_timeout_bounds_a_whole_sendall():
    left, right = socket.socketpair()
    left.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    green = GreenSocket(left, timeout=0.1)
    right.setblocking(False)

    def slow_reader():                  # takes a little every 20 ms: each
        while True:                     # send waits far less than 0.1 s
            sleep(0.02)
            try:
                right.recv(4096)
            except BlockingIOError:
                pass

    reader = spawn(slow_reader)
    with pytest.raises(Timeout, match=f"sendall on fd {green.fileno()}"):
        green.sendall(b"x" * (4 << 20))
    reader.kill()
    green.close()
    mt.close(right)


# Sequences the model-checked loop (test_fd_model.py) found, shrunk, on a
# loop that trusted interest it had kept lazily for a number since reused.

def replay(backend, *steps):
    """Run the model's rules in this order, checking as the model does."""
    from test_fd_model import machine_for
    state = machine_for(backend)()
    try:
        for rule, arguments in steps:
            getattr(state, rule)(**arguments)
            state.nothing_went_wrong()
            state.kernel_sets_rebuilt_only_after_a_plain_close()
            state.idle_only_when_nothing_can_wake_anyone()
    finally:
        state.teardown()


@pytest.mark.parametrize("backend", mt.pollers.available())
def test_found_a_reused_number_watched_as_before_gets_its_events(backend):
    replay(backend,
           ("open_pair", {"green": False}),
           ("register", {"event": WRITE, "index": 0}),
           ("close_plainly_once_unregistered",
            {"dup": False, "index": 0, "reuse": True}),
           ("tick", {}))


@pytest.mark.parametrize("backend", mt.pollers.available())
def test_found_a_dup_of_a_closed_number_never_fires_its_new_owner(backend):
    replay(backend,
           ("open_pair", {"green": False}),
           ("register", {"event": READ, "index": 0}),
           ("close_plainly_once_unregistered",
            {"dup": True, "index": 0, "reuse": True}),
           ("send_to_a_dup", {}),
           ("tick", {}))


@pytest.mark.parametrize("backend", mt.pollers.available())
def test_found_the_tick_that_rebuilds_selects_sets_still_delivers(backend):
    replay(backend,                     # select failed on a kept closed fd,
           ("open_pair", {"green": False}),   # rebuilt, and then reported
           ("open_pair", {"green": False}),   # nothing for that tick
           ("close_plainly_once_unregistered",
            {"dup": False, "index": 0, "reuse": False}),
           ("register", {"event": WRITE, "index": 0}),
           ("close_plainly_once_unregistered",
            {"dup": False, "index": 0, "reuse": True}),
           ("tick", {}))
