"""The hub: spawn, join, kill, sleep, Timeout, wait_fd and its fault cases."""

import concurrent.futures
import io
import math
import os
import re
import socket
import sys
import threading
import time

import pytest
from greenlet import getcurrent

from microthread import (READ, WRITE, BlockedForever, FdClosedError, Timeout,
                         detector, get_hub, get_loop, sleep, spawn, wait_fd)
from microthread.green import GreenSocket
from microthread.loop import EventLoop, set_loop
from microthread.offload import run_in_thread
from microthread.sync import Event, Lock, Queue, QueueEmpty
from support import exit_code_in_child, refusals_in_another_thread


pytestmark = pytest.mark.usefixtures("hub_on_each_poller")


def test_join_returns_the_result():
    assert spawn(lambda x, y=0: x + y, 2, y=3).join() == 5


def test_join_reraises_the_error():
    def broken():
        raise KeyError("inside")

    microthread = spawn(broken)
    with pytest.raises(KeyError, match="inside"):
        microthread.join()
    assert microthread.dead


def test_unjoined_error_is_reported_not_dropped():
    reports = []
    get_loop().on_error = lambda who, error: reports.append((who, error))

    def broken():
        raise ValueError("nobody joins me")

    microthread = spawn(broken)
    sleep(0)
    sleep(0)
    assert reports and reports[0][0] is microthread
    assert isinstance(reports[0][1], ValueError)


def test_sleep_zero_interleaves_in_spawn_order():
    trace = []

    def worker(name):
        for step in range(3):
            trace.append(f"{name}{step}")
            sleep(0)

    microthreads = [spawn(worker, name) for name in "abc"]
    for microthread in microthreads:
        microthread.join()
    assert trace == ["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"]


def test_sleep_waits_at_least_its_time():
    start = time.monotonic()
    sleep(0.02)
    assert time.monotonic() - start >= 0.02


def test_main_greenlet_can_wait_on_an_fd(pair):
    left, right = pair
    right.send(b"x")
    wait_fd(left.fileno(), READ)
    assert left.recv(1) == b"x"


def test_wait_fd_resumes_the_waiter_when_data_arrives(pair):
    left, right = pair
    trace = []

    def reader():
        trace.append("waiting")
        wait_fd(left.fileno(), READ)
        trace.append(left.recv(5))

    microthread = spawn(reader)
    sleep(0)
    assert trace == ["waiting"]
    right.send(b"hello")
    microthread.join()
    assert trace == ["waiting", b"hello"]


def test_killing_a_waiting_microthread_unregisters_its_fd(pair):
    left, _ = pair
    fd = left.fileno()
    hub = get_hub()
    microthread = spawn(wait_fd, fd, READ)
    sleep(0)
    assert hub.loop.has_callbacks(fd, READ)
    microthread.kill()
    assert microthread.dead
    assert not hub.loop.has_callbacks(fd, READ)
    assert hub.waiting_on(fd, READ) is None


def test_killing_an_unstarted_microthread_means_it_never_runs():
    ran = []
    microthread = spawn(ran.append, True)
    microthread.kill()
    sleep(0)
    assert microthread.dead and ran == []
    assert microthread.join() is None


def test_timeout_around_wait_fd_raises_and_unregisters(pair):
    left, _ = pair
    fd = left.fileno()
    after_block = []
    with pytest.raises(Timeout) as raised:
        with Timeout(0.01) as timeout:
            wait_fd(fd, READ)
        after_block.append("the block's expiry was swallowed")
    assert raised.value is timeout and timeout.fired
    assert after_block == []
    assert not get_loop().has_callbacks(fd, READ)
    assert get_hub().waiting_on(fd, READ) is None


def test_a_nan_timeout_is_refused_naming_the_fd_and_leaves_no_claim(pair):
    left, _ = pair
    fd = left.fileno()
    with pytest.raises(ValueError, match=f"READ on fd {fd}: timeout is NaN"):
        wait_fd(fd, READ, timeout=float("nan"))
    assert not get_loop().has_callbacks(fd, READ)
    sleep(0.001)                        # the timers still run


def test_timeout_argument_raises_timeout_naming_the_fd(pair):
    left, _ = pair
    with pytest.raises(Timeout, match=f"READ on fd {left.fileno()}"):
        wait_fd(left.fileno(), READ, timeout=0.01)
    assert not get_loop().has_callbacks(left.fileno(), READ)


def test_a_quiet_timeout_goes_on_after_the_block_and_says_it_fired(pair):
    left, right = pair
    with Timeout(0.01, quiet=True) as expired:
        wait_fd(left.fileno(), READ)
    right.send(b"x")
    with Timeout(10, quiet=True) as spared:
        wait_fd(left.fileno(), READ)
    assert expired.fired and not spared.fired
    assert not get_loop().has_callbacks(left.fileno(), READ)


def test_a_foreign_timeout_is_not_swallowed_by_an_inner_quiet_one(pair):
    left, _ = pair
    after_inner = []
    with pytest.raises(Timeout) as raised:
        with Timeout(0.01) as outer:
            with Timeout(10, quiet=True) as inner:
                wait_fd(left.fileno(), READ)
            after_inner.append("the inner Timeout swallowed the outer one")
    assert after_inner == []
    assert raised.value is outer and not inner.fired


def test_timed_waits_reuse_one_timer_per_microthread(pair):
    left, right = pair
    loop = get_loop()

    def reader():
        for _ in range(100):
            wait_fd(left.fileno(), READ, timeout=60)
            left.recv(1)

    microthread = spawn(reader)
    for _ in range(100):
        sleep(0)
        right.send(b"x")
    microthread.join()
    assert len(loop._timers) == 1      # 100 timed waits, one heap entry


def test_two_waiters_on_one_fd_is_an_error_naming_the_fd(pair):
    left, _ = pair
    first = spawn(wait_fd, left.fileno(), READ)
    sleep(0)
    with pytest.raises(RuntimeError, match=f"fd {left.fileno()} already has"):
        wait_fd(left.fileno(), READ)
    first.kill()


def test_a_second_waiter_is_refused_even_behind_a_plain_callback(pair):
    left, _ = pair
    fd = left.fileno()
    get_loop().register_fd(fd, READ, lambda: None)   # not a microthread

    def first():
        wait_fd(fd, READ)

    microthread = spawn(first)
    sleep(0)
    with pytest.raises(RuntimeError, match=f"fd {fd} already has .*'first'"):
        wait_fd(fd, READ)
    microthread.kill()
    assert get_loop().callbacks(fd, READ) != ()     # the plain one stays
    assert get_hub().waits() == []


def test_reader_and_writer_may_wait_on_one_fd_together(pair):
    left, right = pair
    reader = spawn(wait_fd, left.fileno(), READ)
    writer = spawn(wait_fd, left.fileno(), WRITE)
    writer.join(timeout=5)
    right.send(b"x")
    reader.join(timeout=5)


def test_closing_an_fd_wakes_its_waiter_with_an_error_naming_it():
    left, right = socket.socketpair()
    green = GreenSocket(left)
    fd = green.fileno()
    reader = spawn(green.recv, 10)
    sleep(0)
    green.close()
    with pytest.raises(FdClosedError, match=f"fd {fd} was closed"):
        reader.join(timeout=5)
    right.close()


def test_everything_blocked_forever_names_each_blocked_microthread():
    never = Event()
    stuck = spawn(never.wait)
    with pytest.raises(BlockedForever) as raised:
        stuck.join()
    message = str(raised.value)
    assert repr(stuck) in message and "Event.wait()" in message
    assert "the main greenlet waits for join" in message
    stuck.kill()


def test_main_waiting_on_nothing_gets_blocked_forever_not_a_hang():
    with pytest.raises(BlockedForever, match="Queue.get"):
        Queue().get()


def test_joining_from_another_os_thread_says_greenlets_are_bound():
    microthread = spawn(sleep, 0)
    errors = refusals_in_another_thread(microthread.join)
    assert errors and "bound to the OS thread" in errors[0]
    microthread.join()


def test_blocking_inside_a_loop_callback_is_refused(pair):
    left, _ = pair
    errors = []
    loop = get_loop()
    loop.on_error = lambda callback, error: errors.append(error)
    loop.call_soon(wait_fd, left.fileno(), READ)
    sleep(0)
    sleep(0)
    assert errors and "inside the hub" in str(errors[0])


def test_each_os_thread_has_its_own_hub():
    hubs = []
    thread = threading.Thread(target=lambda: hubs.append(
        (get_hub(), spawn(lambda: 7).join())))
    thread.start()
    thread.join()
    assert hubs[0][0] is not get_hub() and hubs[0][1] == 7


def test_event_wakes_every_waiter():
    event, woken = Event(), []
    microthreads = [spawn(lambda n=n: (event.wait(), woken.append(n)))
               for n in range(3)]
    sleep(0)
    event.set()
    for microthread in microthreads:
        microthread.join()
    assert sorted(woken) == [0, 1, 2]


def test_event_wait_times_out():
    with pytest.raises(Timeout, match="Event.wait"):
        Event().wait(timeout=0.01)


def test_lock_serialises_a_critical_section_with_a_switch_inside():
    lock, counter = Lock(), [0]

    def add():
        for _ in range(50):
            with lock:
                value = counter[0]
                sleep(0)               # a switch inside the critical section
                counter[0] = value + 1

    microthreads = [spawn(add) for _ in range(4)]
    for microthread in microthreads:
        microthread.join()
    assert counter[0] == 200


def test_lock_is_handed_on_when_its_next_owner_times_out():
    lock = Lock()
    lock.acquire()
    late = spawn(lock.acquire, 0.001)
    sleep(0)
    with pytest.raises(Timeout):
        late.join()
    lock.release()
    assert not lock.locked()
    assert spawn(lock.acquire).join() is True


def test_queue_passes_items_in_order_and_bounds_the_producer():
    queue, got = Queue(maxsize=1), []

    def consumer():
        for _ in range(3):
            got.append(queue.get())

    microthread = spawn(consumer)
    for item in "xyz":
        queue.put(item)
    microthread.join()
    assert got == ["x", "y", "z"]


def test_offloaded_call_runs_in_another_os_thread():
    from microthread.offload import run_in_thread
    assert run_in_thread(threading.get_ident) != threading.get_ident()


def test_offloaded_error_is_raised_in_the_caller():
    from microthread.offload import run_in_thread
    with pytest.raises(ZeroDivisionError):
        run_in_thread(lambda: 1 / 0)


@pytest.mark.hogs_hub
def test_blocking_detector_reports_the_hog_with_its_stack():
    reports, reported = [], threading.Event()

    def report(found):
        reports.append(found)
        reported.set()

    def hog():
        deadline = time.monotonic() + 5
        while not reported.is_set() and time.monotonic() < deadline:
            pass                       # computes without ever yielding

    detector.enable(0.05, report)
    try:
        get_hub()
        detector.attach(get_loop())
        spawn(hog).join()
    finally:
        detector.disable()
    assert reports, "the detector never reported the hog"
    text = str(reports[0])
    assert "<Microthread 'hog'" in text and "in hog" in text


@pytest.mark.parametrize("exit_error", [KeyboardInterrupt, SystemExit])
def test_exit_errors_in_a_microthread_reach_the_main_greenlet(exit_error):
    def interrupted():
        raise exit_error()

    spawn(interrupted)
    with pytest.raises(exit_error):
        sleep(0.5)


def test_kill_from_inside_a_microthread_takes_effect_at_its_next_wait():
    trace = []

    def suicidal():
        get_current_microthread().kill()
        trace.append("still running until the next wait")
        sleep(0)
        trace.append("never")

    get_current_microthread = getcurrent
    microthread = spawn(suicidal)
    microthread.join()
    assert trace == ["still running until the next wait"]


# -- regressions: claims, callbacks and fd numbers after errors and closes --

def test_a_refused_fd_leaves_no_claim_behind():
    reader, writer = os.pipe()
    os.close(reader)
    os.close(writer)
    for _ in range(2):                      # the same error both times
        with pytest.raises(OSError, match=f"refused fd {reader}"):
            wait_fd(reader, READ)
    assert get_hub().waits() == []


def test_a_bad_event_is_refused_naming_the_fd(pair):
    with pytest.raises(ValueError, match=f"fd {pair[0].fileno()}"):
        wait_fd(pair[0].fileno(), READ | WRITE)


def test_waiting_removes_only_its_own_callback(pair):
    left, right = pair
    seen = []
    get_loop().register_fd(left.fileno(), READ, lambda: seen.append(1))
    right.send(b"x")
    wait_fd(left.fileno(), READ)
    assert get_loop().has_callbacks(left.fileno(), READ)


def test_closing_frees_the_fd_number_for_a_new_socket_at_once():
    first, first_peer = socket.socketpair()
    green = GreenSocket(first)
    fd = green.fileno()
    old_reader = spawn(green.recv, 1)
    sleep(0)
    green.close()
    again, again_peer = socket.socketpair()
    assert again.fileno() == fd
    new_green = GreenSocket(again, timeout=5)
    got = []
    new_reader = spawn(lambda: got.append(new_green.recv(1)))
    sleep(0)
    again_peer.send(b"y")
    new_reader.join()
    assert got == [b"y"]
    with pytest.raises(FdClosedError):
        old_reader.join()
    for sock in (first_peer, new_green, again_peer):
        sock.close()


def test_closing_a_green_socket_twice_spares_the_next_owner_of_its_fd():
    first, first_peer = socket.socketpair()
    green = GreenSocket(first)
    green.close()
    again, again_peer = socket.socketpair()
    new_green = GreenSocket(again, timeout=5)
    reader = spawn(new_green.recv, 1)
    sleep(0)
    import microthread
    microthread.close(green)                # the second close: a no-op
    again_peer.send(b"z")
    assert reader.join() == b"z"
    for sock in (first_peer, new_green, again_peer):
        sock.close()


def test_a_socket_dropped_without_close_does_not_hang_the_next_one():
    def use_and_drop():
        sock, peer = socket.socketpair()
        green = GreenSocket(sock)
        reader = spawn(green.recv, 1)
        sleep(0)
        peer.send(b"x")
        reader.join()
        return sock.fileno()

    fd = use_and_drop()                     # freed: CPython closes the fd
    again, peer = socket.socketpair()
    assert again.fileno() == fd
    green = GreenSocket(again, timeout=5)
    peer.send(b"y")
    assert green.recv(1) == b"y"
    green.close()
    peer.close()


def test_an_interrupt_in_a_loop_callback_reaches_main_and_the_hub_lives():
    def interrupt():
        raise KeyboardInterrupt

    worker = spawn(lambda: (sleep(0.05), "result")[1])
    hub = get_hub()
    get_loop().call_soon(interrupt)
    with pytest.raises(KeyboardInterrupt):
        sleep(1)
    assert get_hub() is hub and not hub.dead
    assert worker.join() == "result"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_in_a_microthread_cannot_touch_the_parents_poller(pair):
    left, right = pair
    right.send(b"x")
    wait_fd(left.fileno(), READ)        # READ stays in the kernel mask

    inherited = get_loop()

    def child():
        if get_loop() is inherited:
            return 3
        try:
            inherited.run_once()        # the copied hub would do this
        except RuntimeError as error:
            return 0 if "parent process" in str(error) else 2
        return 1                        # it let the child use it

    assert spawn(exit_code_in_child, child).join() == 0
    wait_fd(left.fileno(), READ, timeout=5)   # the parent's registration


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_microthread_in_a_forked_child_waits_on_the_childs_own_hub():
    parents = get_hub()

    def child():
        hub = get_hub()
        if hub is parents:
            return 1
        if hub.loop is not get_loop():
            return 2
        sleep(0.001)                    # a wait that uses the runtime
        return 0

    assert spawn(exit_code_in_child, child).join() == 0


def test_setting_an_event_from_another_os_thread_is_refused_not_lost():
    event = Event()
    waiter = spawn(event.wait)
    sleep(0)
    errors = refusals_in_another_thread(event.set)
    assert errors and "call_soon_threadsafe" in errors[0]
    get_loop().expect_external()
    setter = threading.Thread(target=get_loop().call_soon_threadsafe,
                              args=(event.set,))
    setter.start()
    waiter.join(timeout=5)
    get_loop().external_done()
    setter.join()


def test_waiting_on_one_event_from_two_os_threads_is_refused():
    event = Event()
    waiter = spawn(event.wait, timeout=5)
    sleep(0)
    errors = refusals_in_another_thread(lambda: event.wait(timeout=1))
    assert errors and "Event.wait" in errors[0]
    event.set()                         # the set wakes the waiter it has
    assert waiter.join() is True


def test_acquiring_a_lock_held_in_another_os_thread_is_refused():
    lock = Lock()
    lock.acquire()
    errors = refusals_in_another_thread(lambda: lock.acquire(timeout=1))
    assert errors and "Lock.acquire" in errors[0]
    lock.release()
    assert not lock.locked()


def test_a_timeout_used_again_says_whether_this_block_fired():
    deadline = Timeout(0.01, quiet=True)
    with deadline:
        sleep(1)
    assert deadline.fired
    with deadline:
        sleep(0)
    assert not deadline.fired


@pytest.mark.parametrize("args", [(), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)])
def test_spawn_passes_any_number_of_arguments(args):
    assert spawn(lambda *got: got, *args).join() == args


@pytest.mark.hogs_hub
def test_blocking_detector_reports_the_main_greenlet_starving_others():
    reports, ran = [], []
    detector.enable(0.05, reports.append)
    try:
        get_hub()
        detector.attach(get_loop())
        spawn(ran.append, True)          # ready, and starved by main
        deadline = time.monotonic() + 5
        while not reports and time.monotonic() < deadline:
            pass                         # main computes without yielding
    finally:
        detector.disable()
    assert ran == []
    assert reports and reports[0].culprit == "the main greenlet"
    assert "test_blocking_detector_reports_the_main" in str(reports[0])
    sleep(0)
    assert ran == [True]


def test_main_at_work_after_blocked_forever_is_not_a_stall():
    """The hub hands the thread back outside any callback: the last
    callback it ran holds nothing, and nothing waits to run."""
    reports = []
    detector.enable(0.05, reports.append)
    try:
        get_hub()
        detector.attach(get_loop())
        spawn(lambda: None).join()
        with pytest.raises(BlockedForever):
            Event().wait()
        time.sleep(0.3)                  # main works on, without the hub
    finally:
        detector.disable()
    assert reports == []


def test_an_idle_main_greenlet_with_nothing_ready_is_not_reported():
    reports = []
    detector.enable(0.05, reports.append)
    try:
        get_hub()
        detector.attach(get_loop())
        time.sleep(0.3)                  # nothing is waiting to run
    finally:
        detector.disable()
    assert reports == []


def test_a_woken_getter_keeps_its_item_against_a_newcomer():
    queue, got = Queue(), []
    first = spawn(lambda: got.append(("first", queue.get())))
    sleep(0)                                  # first is queued, waiting
    queue.put("a")                            # reserved for first
    with pytest.raises(QueueEmpty):
        queue.get_nowait()                    # the newcomer may not take it
    first.join()
    assert got == [("first", "a")]


def test_a_getter_that_gives_up_passes_its_item_on():
    queue = Queue()
    leaving, staying = spawn(queue.get), spawn(queue.get)
    sleep(0)
    leaving.kill(block=False)                 # its end is queued first...
    queue.put("x")                            # ...then x, reserved for it
    assert staying.join(timeout=5) == "x"
    assert leaving.join() is None and leaving.dead
    assert queue.qsize() == 0 and queue._reserved == 0


def test_a_timed_get_keeps_its_deadline():
    queue = Queue()
    start = time.monotonic()
    with pytest.raises(Timeout):
        queue.get(timeout=0.05)
    assert queue._reserved == 0 and not queue._getters
    assert time.monotonic() - start < 5


def test_a_failed_offload_submit_still_lets_the_hub_see_a_deadlock(
        monkeypatch):
    def refuse(self, fn, *args, **kwargs):
        raise RuntimeError("no room in the pool")

    monkeypatch.setattr(concurrent.futures.ThreadPoolExecutor, "submit", refuse)
    with pytest.raises(RuntimeError, match="no room in the pool"):
        run_in_thread(time.sleep, 0)
    assert get_loop().idle_forever()    # nobody will call back


@pytest.mark.parametrize("wait", [
    lambda: Event().wait(timeout=math.inf),
    lambda: sleep(math.inf),
], ids=["event", "sleep"])
def test_an_infinite_timeout_is_no_timer_when_looking_for_a_deadlock(wait):
    microthread = spawn(wait)
    sleep(0)
    try:
        assert get_loop().idle_forever()    # its timer never comes
    finally:
        microthread.kill()


def hog_until(reported, seconds=5):
    """Compute without yielding until reported is set (or seconds pass)."""
    deadline = time.monotonic() + seconds
    while not reported.is_set() and time.monotonic() < deadline:
        pass


@pytest.mark.hogs_hub
@pytest.mark.parametrize("threshold_before", [None, 30.0],
                         ids=["made-before-enable", "threshold-changed"])
def test_the_detector_watches_hubs_made_before_it_was_enabled(
        threshold_before):
    get_hub()                             # the hub exists first
    if threshold_before is not None:
        detector.enable(threshold_before, lambda report: None)
    reported = threading.Event()
    detector.enable(0.05, lambda report: reported.set())
    try:
        spawn(hog_until, reported).join()
    finally:
        detector.disable()
    assert reported.is_set()


@pytest.mark.hogs_hub
def test_the_detector_goes_on_in_a_forked_child():
    detector.enable(0.05, lambda report: None)

    def child():
        reported = threading.Event()
        detector.enable(0.05, lambda report: reported.set())  # a new report
        get_hub()
        spawn(hog_until, reported).join()
        return 0 if reported.is_set() else 1

    try:
        get_hub()
        assert exit_code_in_child(child) == 0
    finally:
        detector.disable()


@pytest.mark.hogs_hub                    # the detector is off: it stays off
@pytest.mark.parametrize("threshold, error", [
    (0, ValueError), (-1, ValueError), (math.nan, ValueError),
    (math.inf, ValueError), (1e-12, ValueError), (1e12, ValueError),
    (None, TypeError), ("1", TypeError)])
def test_the_detector_refuses_a_threshold_that_is_no_duration(
        threshold, error):
    with pytest.raises(error, match=f"(?i)threshold .*{threshold!r}"):
        detector.enable(threshold)
    assert not detector.enabled()


def test_a_queue_put_from_another_os_thread_is_refused_not_lost():
    queue = Queue()
    getter = spawn(queue.get, timeout=5)
    sleep(0)                            # the getter waits now
    errors = refusals_in_another_thread(lambda: queue.put("item"))
    assert errors and "call_soon_threadsafe" in errors[0]
    queue.put("item")
    assert getter.join() == "item"


def test_a_queue_put_refuses_a_nan_timeout_as_get_does():
    queue = Queue(maxsize=1)
    queue.put("first")
    with pytest.raises(ValueError, match="Queue.put.*NaN"):
        queue.put("second", timeout=math.nan)
    with pytest.raises(ValueError, match="NaN"):
        Queue().get(timeout=math.nan)


def open_fds():
    return len(os.listdir("/proc/self/fd"))


def test_short_lived_threads_leave_no_loop_behind():
    def use_the_runtime():
        spawn(sleep, 0).join()          # a loop, a hub, a wait

    before = open_fds()
    for _ in range(50):
        thread = threading.Thread(target=use_the_runtime)
        thread.start()
        thread.join()
    assert open_fds() <= before         # each loop closed with its thread


def test_a_closed_loop_is_not_the_threads_loop_any_more():
    closed = get_loop()
    closed.close()
    assert get_loop() is not closed
    assert spawn(lambda: "ran").join() == "ran"


def test_an_error_is_reported_when_the_joiner_timed_out_in_the_same_tick():
    clock = [1000.0]
    backend = get_loop()
    set_loop(EventLoop(backend.poller_name, clock=lambda: clock[0]))
    backend.close()
    reported = []
    get_loop().on_error = lambda callback, error: reported.append(error)

    def fail():
        sleep(1)
        raise ValueError("lost?")

    failing = spawn(fail)
    outcome = []

    def joiner():
        try:
            failing.join(timeout=1)     # due in the same tick as the error
        except BaseException as error:
            outcome.append(type(error).__name__)

    spawn(joiner)
    sleep(0)
    clock[0] += 1
    sleep(0)
    sleep(0)
    assert outcome == ["Timeout"]
    assert [str(error) for error in reported] == ["lost?"]


def test_a_joined_error_is_raised_once_and_not_reported_again():
    reported = []
    get_loop().on_error = lambda callback, error: reported.append(error)
    failing = spawn(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        failing.join()
    sleep(0)
    assert reported == []


def test_an_on_error_that_raises_does_not_kill_the_hub(capfd):
    def broken_handler(callback, error):
        raise RuntimeError("the handler is broken")

    get_loop().on_error = broken_handler
    hub = get_hub()
    spawn(lambda: 1 / 0)
    sleep(0.01)
    assert get_hub() is hub and not hub.dead
    errors = capfd.readouterr().err
    assert "ZeroDivisionError" in errors and "the handler is broken" in errors


def test_a_microthread_inherited_across_fork_never_runs_in_the_child():
    ready = Event()
    ran = []
    inherited = spawn(lambda: (ready.wait(), ran.append("woke")))
    sleep(0)                            # parked on the event

    def child():
        reports = []
        get_loop().on_error = lambda callback, error: reports.append(error)
        ready.set()                     # its waiter is the parent's copy
        sleep(0)
        sleep(0)
        with pytest.raises(RuntimeError, match="inherited from the parent"):
            inherited.join()
        assert ran == []
        assert reports and "inherited from the parent" in str(reports[0])
        return 0

    assert exit_code_in_child(child) == 0
    ready.set()
    inherited.join(timeout=5)
    assert ran == ["woke"]              # the parent's own runs on


def test_a_broken_stderr_while_reporting_does_not_kill_the_hub(monkeypatch):
    broken = io.StringIO()
    broken.close()                      # writing raises ValueError
    monkeypatch.setattr(sys, "stderr", broken)
    hub = get_hub()
    spawn(lambda: 1 / 0)
    sleep(0.01)
    assert get_hub() is hub and not hub.dead
    started = time.monotonic()
    sleep(0.05)                         # and the hub keeps time
    assert time.monotonic() - started >= 0.05


@pytest.mark.parametrize("wait, what", [
    (lambda t: sleep(t), "sleep()"),
    (lambda t: Event().wait(timeout=t), "Event.wait()"),
    (lambda t: Queue().get(timeout=t), "Queue.get()"),
    (lambda t: spawn(sleep, 1).join(timeout=t), "join"),
], ids=["sleep", "event", "queue", "join"])
@pytest.mark.parametrize("bad, error", [(math.nan, ValueError),
                                        ("1", TypeError)], ids=["nan", "str"])
def test_a_bad_timeout_is_refused_naming_the_call_and_parks_no_one(
        wait, what, bad, error):
    def waiter():
        with pytest.raises(error, match=re.escape(what)):
            wait(bad)

    microthread = spawn(waiter)
    microthread.join()
    waiting = [wait.microthread for wait in get_hub().waits()]
    assert microthread not in waiting        # not left "waiting" when dead


def test_a_microthread_that_joins_itself_is_refused():
    def self_join():
        with pytest.raises(RuntimeError, match="cannot join itself"):
            getcurrent().join()
        return "went on"

    assert spawn(self_join).join(timeout=5) == "went on"


@pytest.mark.hogs_hub
def test_a_report_that_raises_does_not_stop_the_detector(capfd):
    reported = threading.Event()
    calls = []

    def report(found):
        calls.append(found)
        if len(calls) == 1:
            raise RuntimeError("the report is broken")
        reported.set()

    detector.enable(0.05, report)
    try:
        spawn(hog_until, reported).join()   # reported once, raised: and
        reported.clear()                    # a second hog is still caught
        spawn(hog_until, reported).join()
    finally:
        detector.disable()
    assert reported.is_set() and len(calls) >= 2
    assert "the report is broken" in capfd.readouterr().err


def test_blocking_inside_a_callback_of_loop_run_is_refused():
    loop = get_loop()
    errors, order = [], []
    loop.on_error = lambda callback, error: errors.append(str(error))

    def blocks(name):
        order.append(name)
        sleep(0.01)                     # would make the hub rerun the loop
        order.append(f"{name} end")

    loop.call_soon(blocks, "a")
    loop.call_soon(blocks, "b")
    loop.run()
    assert order == ["a", "b"]
    assert len(errors) == 2 and all("loop.run()" in e for e in errors)


def test_a_microthread_that_forks_goes_on_and_ends_in_the_child():
    def work():
        pid = os.fork()
        if pid == 0:
            sleep(0.01)                 # a wait on the child's own hub
            return "child"
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

    parent = os.getpid()
    try:
        result = spawn(work).join(timeout=10)
    finally:
        if os.getpid() != parent:       # the child's main: never return
            os._exit(0 if sys.exc_info()[0] is None and result == "child"
                     else 99)
    assert result == 0                  # the child's exit status


def test_a_timeout_entered_again_while_it_guards_a_block_is_refused():
    deadline = Timeout(0.05)
    with deadline:
        with pytest.raises(RuntimeError, match="already guards a block"):
            with deadline:
                pass
    sleep(0.1)                          # its one timer was cancelled


@pytest.mark.parametrize("call, names", [
    (lambda fd: wait_fd(fd, READ, timeout="1"), "on fd"),
    (lambda fd: Timeout("1"), "Timeout"),
    (lambda fd: Queue().put("x", timeout="1"), "Queue.put"),
    (lambda fd: Queue("3"), "Queue maxsize"),
    (lambda fd: spawn(5), "spawn"),
])
def test_a_value_of_the_wrong_type_is_refused_naming_the_call(
        pair, call, names):
    with pytest.raises(TypeError, match=names):
        call(pair[0].fileno())
    assert get_hub().waits() == []


def test_a_report_names_the_frame_even_when_its_path_has_a_comma():
    report = detector.Report("hog", 0.1, [
        '  File "/tmp/a,b/task.py", line 3, in hog\n    pass\n'])
    assert report.where == "task.py:3 in hog"
