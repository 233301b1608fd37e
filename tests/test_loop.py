"""The event loop, run against every poller this machine has."""

import gc
import os
import select
import socket
import sys
import tempfile
import threading
import time

import pytest

from microthread import pollers
from microthread.loop import EventLoop, get_loop
from microthread.pollers import READ, WRITE
from support import exit_code_in_child, run_until


def test_read_callback_runs_when_data_arrives(loop, pair):
    left, right = pair
    seen = []
    loop.register_fd(left.fileno(), READ, lambda: seen.append(left.recv(10)))
    right.send(b"hi")
    run_until(loop, lambda: seen)
    assert seen == [b"hi"]


def test_read_and_write_share_one_registration(loop, pair):
    left, right = pair
    fd = left.fileno()
    fired = []
    loop.register_fd(fd, READ, lambda: fired.append("read"))
    loop.register_fd(fd, WRITE, lambda: fired.append("write"))
    assert loop.watches(fd) == READ | WRITE   # a MOD, not a second ADD
    right.send(b"x")
    run_until(loop, lambda: {"read", "write"} <= set(fired))


def test_several_callbacks_per_fd_and_event_run_in_order(loop, pair):
    left, _ = pair
    order = []
    for name in "abc":
        loop.register_fd(left.fileno(), WRITE,
                         lambda name=name: order.append(name))
    loop.run_once()
    assert order == ["a", "b", "c"]


def test_unregister_inside_a_callback_stops_the_dispatch_and_a_newcomer_waits(
        loop, pair):
    left, _ = pair
    fd = left.fileno()
    order = []

    def first():
        order.append("first")
        loop.unregister_fd(fd, WRITE)
        loop.register_fd(fd, WRITE, lambda: order.append("later"))

    loop.register_fd(fd, WRITE, first)
    loop.register_fd(fd, WRITE, lambda: order.append("second"))
    loop.run_once()
    assert order == ["first"]         # neither the rest nor the newcomer
    loop.run_once()
    assert order == ["first", "later"]


def test_removing_a_callback_mid_dispatch_skips_none_and_runs_none_removed(
        loop, pair):
    left, _ = pair
    fd = left.fileno()
    order = []

    def first():                        # as a microthread's wait ends:
        order.append("first")           # its own callback goes first
        loop.remove_callback(fd, WRITE, first)

    def second():
        order.append("second")
        loop.remove_callback(fd, WRITE, third)

    def third():
        order.append("third")

    def fourth():
        order.append("fourth")
        loop.unregister_fd(fd, WRITE)

    for callback in (first, second, third, fourth, lambda: order.append("x")):
        loop.register_fd(fd, WRITE, callback)
    loop.run_once()
    assert order == ["first", "second", "fourth"]
    assert not loop.has_callbacks(fd, WRITE)


def test_a_callback_that_removes_itself_leaves_newcomers_for_the_next(loop, pair):
    left, _ = pair
    fd = left.fileno()
    order = []

    def first():
        order.append("first")
        loop.remove_callback(fd, WRITE, first)     # the list is empty now
        loop.register_fd(fd, WRITE, lambda: order.append("b"))
        loop.register_fd(fd, WRITE, lambda: order.append("c"))

    loop.register_fd(fd, WRITE, first)
    loop.run_once()
    assert order == ["first"]
    loop.run_once()
    assert order == ["first", "b", "c"]


def test_a_callback_that_registers_again_mid_dispatch_runs_once_a_tick(
        loop, pair):
    """Removing itself from a shared list leaves a no-op in the walked
    list; registering again must not put it back within the walk's reach,
    or the dispatch would call it again, for ever."""
    left, _ = pair
    fd = left.fileno()
    calls = []

    def again():
        calls.append("again")
        if len(calls) > 5:
            raise SystemExit("the dispatch went round again")  # not caught
        loop.remove_callback(fd, WRITE, again)
        loop.register_fd(fd, WRITE, again)

    loop.register_fd(fd, WRITE, again)
    loop.register_fd(fd, WRITE, lambda: calls.append("other"))
    loop.run_once()
    assert calls == ["again", "other"]
    loop.run_once()
    assert calls == ["again", "other", "other", "again"]


def test_a_callback_registered_by_the_only_one_waits_for_the_next_event(
        loop, pair):
    left, _ = pair
    fd = left.fileno()
    order = []

    def only():
        order.append("only")
        loop.register_fd(fd, WRITE, lambda: order.append("newcomer"))

    loop.register_fd(fd, WRITE, only)
    loop.run_once()
    assert order == ["only"]
    loop.remove_callback(fd, WRITE, only)
    loop.run_once()
    assert order == ["only", "newcomer"]


def test_asking_or_removing_keeps_no_empty_list_for_an_event(loop, pair):
    """An event with no callbacks holds the shared empty tuple: a
    question, a removal of what is not there, or the holes a dispatch left
    must not leave an empty list behind (one per fd at 10,000 fds)."""
    left, _ = pair
    fd = left.fileno()

    def lists():
        watch = loop._fds[fd]           # the record itself: what it holds
        return [r for r in gc.get_referents(watch) if type(r) is list]

    def gone():
        loop.remove_callback(fd, WRITE, gone)

    loop.register_fd(fd, READ, print)
    loop.callbacks(fd, WRITE)
    loop.remove_callback(fd, WRITE, print)
    assert lists() == [[print]]
    loop.register_fd(fd, WRITE, gone)
    loop.register_fd(fd, WRITE, gone)          # two: the walk leaves holes
    loop.run_once()                             # each removes one of them
    loop.run_once()                             # the holes are filled in
    assert lists() == [[print]]


def test_the_loop_is_idle_once_every_callback_is_gone(loop, pair):
    left, right = pair
    fd, other = left.fileno(), right.fileno()
    keep = loop.call_soon(print)
    keep.cancel()
    loop.run_once()
    assert loop.idle_forever()
    one, two = (lambda: None), (lambda: None)
    loop.register_fd(fd, READ, one)
    loop.register_fd(fd, READ, two)
    loop.register_fd(fd, WRITE, one)
    loop.register_fd(other, READ, one)
    loop.remove_callback(fd, READ, one)
    loop.remove_callback(fd, READ, one)       # not there any more: no change
    assert not loop.idle_forever()
    loop.unregister_fd(fd, READ)
    loop.forget_fd(fd)
    assert not loop.idle_forever()            # other's callback is left
    loop.unregister_fd(other, READ)
    assert loop.idle_forever()


def test_kernel_mask_is_trimmed_lazily_when_nobody_waits(loop, pair):
    left, right = pair
    fd = left.fileno()
    loop.register_fd(fd, READ, lambda: None)
    loop.register_fd(fd, WRITE, lambda: None)
    loop.unregister_fd(fd, WRITE)
    assert loop.watches(fd) == READ | WRITE   # no epoll_ctl on unregister
    loop.run_once()                           # WRITE fires, nobody waits
    assert loop.watches(fd) == READ
    loop.unregister_fd(fd, READ)
    right.send(b"x")
    loop.run_once()
    assert loop.watches(fd) == 0


def kernel_calls_of_registering_again(loop, fd, monkeypatch):
    """register, unregister, then the epoll_ctl calls of registering again."""
    loop.register_fd(fd, READ, lambda: None)
    loop.unregister_fd(fd, READ)
    calls = []
    monkeypatch.setattr(loop._poller, "modify", lambda *a: calls.append(a))
    monkeypatch.setattr(loop._poller, "register", lambda *a: calls.append(a))
    loop.register_fd(fd, READ, lambda: None)
    return calls


def test_waiting_again_on_an_adopted_socket_costs_no_kernel_call(
        loop, pair, monkeypatch):
    left, _ = pair
    loop.adopt(left)
    assert kernel_calls_of_registering_again(
        loop, left.fileno(), monkeypatch) == []


def test_waiting_again_on_a_bare_fd_reasserts_the_kept_interest(
        loop, pair, monkeypatch):
    left, _ = pair                # its number may have changed hands since
    fd = left.fileno()
    assert kernel_calls_of_registering_again(
        loop, fd, monkeypatch) == [(fd, READ)]


def test_equal_deadlines_run_first_in_first_out(loop):
    order = []
    when = time.monotonic() - 1
    for n in range(5):
        loop.call_at(when, order.append, n)
    loop.run_once()
    assert order == [0, 1, 2, 3, 4]


def test_timers_run_in_deadline_order(loop):
    order = []
    now = time.monotonic()
    loop.call_at(now - 1, order.append, "late")
    loop.call_at(now - 3, order.append, "early")
    loop.call_at(now - 2, order.append, "middle")
    loop.run_once()
    assert order == ["early", "middle", "late"]


def test_rearming_later_pushes_no_new_heap_entry(loop):
    fired = []
    now = time.monotonic()
    timer = loop.call_at(now + 100, fired.append, "x")
    timer.rearm(now + 200)
    assert len(loop._timers) == 1
    timer.rearm(now - 1)            # earlier: needs a new entry
    loop.run_once()
    assert fired == ["x"]


def test_lazily_rearmed_timer_fires_at_its_new_deadline(loop):
    fired = []
    start = time.monotonic()
    timer = loop.call_at(start + 0.01, fired.append, "x")
    timer.rearm(start + 0.05)
    run_until(loop, lambda: fired)
    assert time.monotonic() >= start + 0.05


def test_cancelled_timer_never_runs(loop):
    fired = []
    loop.call_at(time.monotonic() - 1, fired.append, "x").cancel()
    loop.call_soon(lambda: None)          # so this tick does not block
    loop.run_once()
    assert fired == []
    assert loop.idle_forever()


def test_a_tick_runs_only_what_was_ready_when_it_began(loop):
    order = []

    def again():
        order.append("again")
        loop.call_soon(again)          # queued for the *next* tick

    loop.call_soon(again)
    loop.run_once()
    assert order == ["again"]
    loop.run_once()
    assert order == ["again", "again"]


def test_busy_ready_queue_does_not_starve_io(loop, pair):
    left, right = pair
    got = []

    def spin():
        loop.call_soon(spin)

    loop.call_soon(spin)
    loop.register_fd(left.fileno(), READ, lambda: got.append(left.recv(1)))
    right.send(b"x")
    for _ in range(3):
        loop.run_once()
    assert got == [b"x"]


def test_call_soon_threadsafe_wakes_a_loop_blocked_in_poll(loop):
    polling = threading.Event()
    real_poll = loop._poller.poll

    def poll(timeout):
        polling.set()
        return real_poll(timeout)

    loop._poller.poll = poll
    ran = []

    def other_thread():
        polling.wait(5)
        loop.call_soon_threadsafe(lambda: (ran.append(True), loop.stop()))

    thread = threading.Thread(target=other_thread)
    thread.start()
    loop.call_later(5, loop.stop)      # bound the test, never hang
    loop.run()
    thread.join()
    assert ran == [True]


def test_a_raising_callback_is_reported_and_the_loop_goes_on(loop, pair):
    left, _ = pair
    reports, after = [], []
    loop.on_error = lambda callback, error: reports.append(error)

    def broken():
        raise ZeroDivisionError("boom")

    loop.call_soon(broken)
    loop.call_soon(after.append, "still running")
    loop.run_once()
    assert [type(e) for e in reports] == [ZeroDivisionError]
    assert after == ["still running"]


def test_default_error_report_names_callback_with_traceback(loop, capsys):
    def broken():
        raise ZeroDivisionError("boom")

    loop.call_soon(broken)
    loop.run_once()
    err = capsys.readouterr().err
    assert "broken" in err and "Traceback" in err and "boom" in err


@pytest.mark.parametrize("exit_error", [KeyboardInterrupt, SystemExit])
def test_keyboard_interrupt_and_system_exit_propagate(loop, exit_error):
    def stop():
        raise exit_error()

    loop.call_soon(stop)
    with pytest.raises(exit_error):
        loop.run_once()


def test_negative_fd_is_refused_naming_it(loop):
    with pytest.raises(ValueError, match="fd -3"):
        loop.register_fd(-3, READ, lambda: None)


def test_closed_fd_is_refused_naming_it(loop):
    sock = socket.socket()
    fd = sock.fileno()
    sock.close()
    with pytest.raises(OSError, match=f"refused fd {fd}"):
        loop.register_fd(fd, READ, lambda: None)


@pytest.mark.skipif(not hasattr(__import__("select"), "epoll"),
                    reason="epoll only")
def test_epoll_refuses_a_regular_file_naming_it():
    loop = EventLoop("epoll")
    with tempfile.TemporaryFile() as f:
        with pytest.raises(OSError, match=f"epoll refused fd {f.fileno()}"):
            loop.register_fd(f.fileno(), READ, lambda: None)
    loop.close()


def test_bad_event_is_refused(loop, pair):
    fd = pair[0].fileno()
    with pytest.raises(ValueError, match=f"bad event 4 for fd {fd}"):
        loop.register_fd(fd, 4, lambda: None)
    with pytest.raises(ValueError, match=f"bad event 3 for fd {fd}"):
        loop.register_fd(fd, READ | WRITE, lambda: None)
    assert loop.watches(fd) == 0 and not loop.has_callbacks(fd, READ)


def test_forgotten_fd_number_can_be_reused_by_a_new_socket(loop):
    first, peer = socket.socketpair()
    fd = first.fileno()
    loop.register_fd(fd, READ, lambda: None)
    loop.forget_fd(fd)
    first.close()
    peer.close()
    again, other = socket.socketpair()
    try:
        assert again.fileno() == fd          # the OS reuses the number
        got = []
        loop.register_fd(fd, READ, lambda: got.append(again.recv(1)))
        other.send(b"y")
        run_until(loop, lambda: got)
        assert got == [b"y"]
    finally:
        again.close()
        other.close()


def test_run_returns_when_nothing_is_left_to_wait_on(loop):
    done = []
    loop.call_later(0.001, done.append, True)
    loop.run()
    assert done == [True]


def test_unknown_poller_name_is_refused():
    with pytest.raises(ValueError, match="unknown poller 'nope'"):
        EventLoop("nope")


def test_a_bad_poller_in_the_environment_names_the_variable(monkeypatch):
    monkeypatch.setenv("MICROTHREAD_POLLER", "Epoll")
    with pytest.raises(ValueError, match=r"\$MICROTHREAD_POLLER: .*'Epoll'"):
        EventLoop()


def test_poller_is_chosen_by_environment(monkeypatch):
    monkeypatch.setenv("MICROTHREAD_POLLER", "select")
    loop = EventLoop()
    assert loop.poller_name == "select"
    loop.close()


def test_default_poller_is_the_best_available():
    loop = EventLoop()
    assert loop.poller_name == pollers.available()[0]
    if sys.platform.startswith("linux"):
        assert loop.poller_name == "epoll"
    loop.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_gets_its_own_loop_and_leaves_the_parent_alone(pair):
    left, right = pair
    parent_loop = get_loop()
    got = []
    parent_loop.register_fd(left.fileno(), READ,
                            lambda: got.append(left.recv(1)))

    def child():
        child_loop = get_loop()
        if child_loop is parent_loop:
            return 1
        child_loop.register_fd(left.fileno(), READ, lambda: None)
        child_loop.forget_fd(left.fileno())
        return 0

    assert exit_code_in_child(child) == 0
    right.send(b"z")
    run_until(parent_loop, lambda: got)
    assert got == [b"z"]


def test_cancelled_timers_are_compacted_away_not_kept_till_due(loop):
    for _ in range(1000):
        loop.call_later(600, print).cancel()
    assert len(loop._timers) <= 201


def test_a_cancelled_timer_does_not_set_the_poll_timeout(loop):
    loop.call_later(600, print).cancel()
    ran = []
    loop.call_later(0.001, ran.append, True)
    run_until(loop, lambda: ran, seconds=5)


def test_a_rearmed_cancelled_timer_still_fires(loop):
    fired = []
    timer = loop.call_at(time.monotonic() + 100, fired.append, "x")
    timer.cancel()
    timer.rearm(time.monotonic() - 1)
    loop.run_once()
    assert fired == ["x"]
    assert loop._cancelled == 0


def test_a_timer_years_away_does_not_overflow_the_poll(loop, pair):
    left, right = pair
    loop.call_later(1e9, print)       # 31 years: more than any poll takes
    seen = []
    loop.register_fd(left.fileno(), READ, lambda: seen.append(left.recv(10)))
    right.send(b"x")
    run_until(loop, lambda: seen)
    assert seen == [b"x"]


def test_a_nan_delay_is_refused_naming_the_callback(loop):
    with pytest.raises(ValueError, match="print: deadline is NaN"):
        loop.call_later(float("nan"), print)
    timer = loop.call_later(1, print)
    with pytest.raises(ValueError, match="print: deadline is NaN"):
        timer.rearm(float("nan"))
    assert timer.when != timer.when or timer.when > 0   # not moved
    timer.cancel()
    assert loop._next_deadline() is None


def test_select_refuses_an_fd_it_cannot_hold():
    loop = EventLoop("select")
    with pytest.raises(ValueError, match="select cannot watch fd 1500"):
        loop.register_fd(1500, READ, lambda: None)
    loop.close()


def test_a_timer_scheduled_in_the_past_by_a_timer_waits_for_the_next_pass(
        loop):
    calls = []

    def late():                         # a late Queue.get(timeout=...) does
        calls.append(loop.time())       # this: its deadline has passed
        if len(calls) < 1000:
            loop.call_at(loop.time() - 1, late)

    loop.call_at(loop.time() - 1, late)
    loop.run_once()
    assert len(calls) == 1              # the fds and the ready queue get
    loop.run_once()                     # their turn in between
    assert len(calls) == 2


def test_timers_cancelled_or_rearmed_by_one_due_with_them_do_not_run(loop):
    order = []
    now = loop.time()
    later = loop.call_at(now - 1, order.append, "rearmed")
    gone = loop.call_at(now - 1, order.append, "cancelled")

    def first():
        order.append("first")
        gone.cancel()
        later.rearm(now + 3600)

    loop.call_at(now - 2, first)
    loop.run_once()
    assert order == ["first"]
    assert later.when == now + 3600 and not later.cancelled


def test_a_wakeup_racing_close_never_writes_into_the_numbers_next_owner(
        monkeypatch):
    loop = EventLoop()
    real_write, writing, proceed = os.write, threading.Event(), threading.Event()

    def write(fd, data):                # the waker, paused mid-wakeup
        if threading.current_thread().name == "waker":
            writing.set()
            proceed.wait(5)
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    waker = threading.Thread(name="waker",
                             target=loop.call_soon_threadsafe, args=(print,))
    waker.start()
    assert writing.wait(5)
    closer = threading.Thread(target=loop.close)
    closer.start()
    closer.join(0.5)                    # it must wait for the wakeup: if it
    stranger = None                     # did not, the number is free now
    if not closer.is_alive():
        stranger = os.pipe()            # ... and goes to a new owner
    proceed.set()
    waker.join(5)
    closer.join(5)
    if stranger is not None:
        os.set_blocking(stranger[0], False)
        leaked = os.read(stranger[0], 64) if _readable(stranger[0]) else b""
        os.close(stranger[0])
        os.close(stranger[1])
        assert leaked == b"", "the wakeup wrote into a stranger's pipe"
    assert loop.closed


def _readable(fd):
    return bool(select.select([fd], [], [], 0)[0])


def test_an_interrupt_from_a_timer_leaves_the_other_due_timers_due(loop):
    ran = []

    def interrupt():
        raise KeyboardInterrupt

    now = loop.time()
    loop.call_at(now - 2, interrupt)
    loop.call_at(now - 1, ran.append, "after")
    with pytest.raises(KeyboardInterrupt):
        loop.run_once()
    loop.run_once()
    assert ran == ["after"]


@pytest.mark.parametrize("use", ["register_fd", "call_soon", "call_later",
                                 "run_once"])
def test_a_closed_loop_refuses_work_on_every_backend(loop, use):
    left, right = socket.socketpair()
    loop.close()
    calls = {"register_fd": lambda: loop.register_fd(left.fileno(),
                                                     pollers.READ, print),
             "call_soon": lambda: loop.call_soon(print),
             "call_later": lambda: loop.call_later(0.01, print),
             "run_once": loop.run_once}
    with pytest.raises(RuntimeError, match="event loop .* is closed"):
        calls[use]()
    left.close()
    right.close()


def test_a_callback_that_cannot_be_called_is_refused_naming_the_fd(loop):
    left, right = socket.socketpair()
    with pytest.raises(TypeError, match=f"fd {left.fileno()}.*None"):
        loop.register_fd(left.fileno(), pollers.READ, None)
    assert not loop.has_callbacks(left.fileno(), pollers.READ)
    left.close()
    right.close()
