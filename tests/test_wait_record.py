"""One Wait record per microthread: reused by every wait, read by everyone
who asks who waits, and nothing left behind by a hundred thousand waits."""

import gc
import signal
import socket
import tracemalloc
import weakref

import pytest
from greenlet import getcurrent

from microthread import READ, WRITE, Timeout, get_hub, sleep, spawn, wait_fd
from microthread.green import GreenSocket
from microthread.loop import get_loop
from microthread.observer import Observer
from microthread.sync import Event
from support import exit_code_in_child


@pytest.fixture
def writable():
    """An always-writable socket, adopted by the loop as a GreenSocket's is."""
    left, right = socket.socketpair()
    green = GreenSocket(left)
    yield green.fileno()
    green.close()
    right.close()


def test_a_microthread_keeps_one_wait_record_across_waits_of_every_kind(
        writable):
    records = []

    def waiter():
        hub = get_hub()
        for wait in (lambda: wait_fd(writable, WRITE),
                     lambda: wait_fd(writable, WRITE, timeout=5),
                     lambda: sleep(0),
                     lambda: sleep(0.001)):
            wait()
            records.append(hub.wait_of(getcurrent()))

    spawn(waiter).join()
    assert len(records) == 4 and len({id(wait) for wait in records}) == 1
    assert records[0].serial == 4 and not records[0].waiting


def test_the_record_says_who_waits_for_what_while_it_waits(writable):
    reader, peer = socket.socketpair()
    event = Event()
    try:
        reading = spawn(wait_fd, reader.fileno(), READ)
        parked = spawn(event.wait)
        sleep(0)
        hub = get_hub()
        wait = hub.waiting_on(reader.fileno(), READ)
        assert wait.microthread is reading
        assert wait.target() == f"READ on fd {reader.fileno()}"
        assert [w.target() for w in hub.waits()] == [
            f"READ on fd {reader.fileno()}", "Event.wait()"]
        assert hub.wait_of(parked) in hub.parked
        peer.send(b"x")
        event.set()
        reading.join()
        parked.join()
        assert hub.waits() == []
    finally:
        reader.close()
        peer.close()


def test_a_hundred_thousand_waits_leave_nothing_behind(writable):
    """Timed and untimed waits, all on one record and one timer each:
    the memory in use after 100,000 of them is what it was after 1,000."""
    def waits(count):
        for _ in range(count // 2):
            wait_fd(writable, WRITE)
            wait_fd(writable, WRITE, timeout=5)

    waits(1000)                          # the record, its timer, the caches
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        waits(100_000)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert grown < 100_000 * 0.1, f"{grown} bytes more after 100,000 waits"


def test_a_parked_microthread_keeps_no_tuple_of_the_arguments_it_was_spawned_with():
    """Its function holds what it needs; the tuple spawn() was given would
    be one more object per parked connection, for the connection's life."""
    class Argument:
        pass

    argument, event = Argument(), Event()
    microthread = spawn(lambda value: event.wait(), argument)
    sleep(0)                                         # started, and parked
    assert microthread and not microthread.dead
    assert [type(holder).__name__ for holder in gc.get_referrers(argument)
            if isinstance(holder, (tuple, list, dict))] == []
    event.set()
    microthread.join()


def test_a_socket_parked_on_read_keeps_no_list_for_write():
    """At 10,000 parked connections an empty list per fd is 0.7 MiB: the
    loop's record of the fd holds a list for the event that has callbacks
    and nothing for the other."""
    left, right = socket.socketpair()
    green = GreenSocket(left)
    reading = spawn(green.recv, 10)
    try:
        sleep(0)                                      # parked in recv
        watch = get_loop()._fds[green.fileno()]     # the record itself
        lists = [r for r in gc.get_referents(watch) if type(r) is list]
        assert lists == [[reading.switch]]
        right.send(b"x")
        assert reading.join() == b"x"
        assert [r for r in gc.get_referents(watch) if type(r) is list] == []
    finally:
        green.close()
        right.close()


def test_the_sockets_own_timeout_is_told_from_an_enclosing_one():
    """The record keeps the Timeout its own timer raised: the socket's
    timeout is reported with the socket's seconds, a block's with its own."""
    left, right = socket.socketpair()
    green = GreenSocket(left, timeout=0.01)
    try:
        with pytest.raises(Timeout) as own:
            green.recv(10)
        assert own.value.seconds == 0.01
        green.timeout = 5
        with pytest.raises(Timeout) as outer:
            with Timeout(0.01) as block:
                green.recv(10)
        assert outer.value is block and block.seconds == 0.01
    finally:
        green.close()
        right.close()


def test_the_forking_microthreads_timeout_fires_in_the_child():
    """The microthread that forks goes on in the child under a new hub: its
    record's timer must run on the child's loop, not the parent's copy."""
    reader, peer = socket.socketpair()
    outcome = []

    def forker():
        with pytest.raises(Timeout):
            wait_fd(reader.fileno(), READ, timeout=0.01)   # the timer is made

        def child():
            signal.alarm(5)                  # a hang fails, it never passes
            try:
                wait_fd(reader.fileno(), READ, timeout=0.05)
            except Timeout:
                return 0
            return 1
        outcome.append(exit_code_in_child(child))

    try:
        spawn(forker).join()
    finally:
        reader.close()
        peer.close()
    assert outcome == [0]


def test_an_event_that_merely_equals_read_is_refused_naming_the_fd():
    """1.0 == READ, but the loop masks with it and the hub files by it."""
    reader, peer = socket.socketpair()
    try:
        for bad in (1.0, True):
            with pytest.raises(ValueError, match=f"bad event {bad!r} for fd "
                                                 f"{reader.fileno()}"):
                wait_fd(reader.fileno(), bad)
        assert get_hub().waits() == []
    finally:
        reader.close()
        peer.close()


class Raising(Observer):
    def spawned(self, microthread):
        raise RuntimeError("spawned")

    def resumed(self, microthread):
        raise RuntimeError("resumed")

    def suspended(self, microthread, wait):
        raise RuntimeError("suspended")

    def ended(self, microthread):
        raise RuntimeError("ended")

    def dispatching(self, loop, callback, source):
        raise RuntimeError("dispatching")


def test_an_observer_that_raises_is_reported_and_nobody_hangs():
    loop = get_hub().loop
    reports = []
    loop.on_error = lambda callback, error: reports.append(str(error))
    raising = Raising()
    loop.observe(raising)
    try:
        napper = spawn(sleep, 0.001)
        assert napper.join(timeout=5) is None and napper.dead
    finally:
        loop.unobserve(raising)
    assert {"spawned", "resumed", "suspended", "ended",
            "dispatching"} <= set(reports)


def test_a_finished_microthread_is_freed_without_the_cycle_collector():
    gc.disable()
    try:
        finished = spawn(sleep, 0.001)
        finished.join()
        gone = weakref.ref(finished)
        del finished
        assert gone() is None
    finally:
        gc.enable()


class PollsOnly(Observer):
    def __init__(self):
        self.polls = 0

    def before_poll(self, loop, timeout):
        self.polls += 1


def test_the_loop_calls_only_the_events_an_observer_overrides(monkeypatch):
    """An observer of the polls costs no call per switch: hooks() leaves
    out what its class does not override, however often it happens."""
    calls = []
    for event in ("dispatching", "dispatched", "resumed", "suspended"):
        monkeypatch.setattr(Observer, event,
                            lambda *args, event=event: calls.append(event))
    loop = get_hub().loop
    polls = PollsOnly()
    loop.observe(polls)
    try:
        spawn(lambda: [sleep(0) for _ in range(10)]).join()
    finally:
        loop.unobserve(polls)
    assert polls.polls >= 10
    assert calls == []
    assert [hook for event in ("dispatching", "dispatched", "switching")
            for hook in loop.hooks[event] if hook.__self__ is polls] == []


def test_an_observer_without_the_base_class_is_told_what_it_has():
    class Duck:
        def __init__(self):
            self.seen = []

        def ended(self, microthread):
            self.seen.append(microthread)

    loop = get_hub().loop
    duck = Duck()
    loop.observe(duck)
    try:
        done = spawn(sleep, 0)
        done.join()
    finally:
        loop.unobserve(duck)
    assert duck.seen == [done]
