"""The concept demos prove what the slides claim, by structure, not speed."""

import os
import sys

import pytest

from microthread.demos import address_space, race, starvation


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_childs_write_stays_in_the_child():
    assert address_space.child_write_is_invisible_to_parent() == {
        "parent sees": "parent", "child saw": "child"}


def test_a_threads_write_is_seen_by_the_main_thread():
    assert address_space.thread_write_is_visible() == {
        "main thread sees": "thread"}


@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="/proc/self/task is Linux's")
def test_a_thread_is_a_task_the_kernel_lists():
    seen = address_space.thread_is_a_kernel_task()
    assert seen["listed"] and seen["tid"] != seen["pid"]


@pytest.mark.parametrize("threads", [2, 4, 8])
def test_forced_interleaving_loses_all_but_one_update(threads):
    assert race.lost_update(threads) == 1


@pytest.mark.parametrize("threads", [2, 4, 8])
def test_a_lock_loses_no_update(threads):
    assert race.locked_update(threads) == threads


def test_a_hog_runs_its_whole_stretch_before_anyone_else():
    trace = starvation.starve(rounds=5, yielding=False)
    hog_steps = [i for i, step in enumerate(trace) if step.startswith("hog")]
    assert hog_steps == list(range(5))        # no beat in between


def test_yielding_lets_the_heartbeat_tick_every_round():
    trace = starvation.starve(rounds=5, yielding=True)
    assert trace == [f"{who} {n}" for n in range(5) for who in ("hog", "beat")]


def test_runs_one_after_the_other_hand_off_once_and_do_not_overlap():
    from microthread.demos.scheduling import Run, handoffs, overlap
    first = Run(0.0, [0.1, 0.2, 0.3])
    then = Run(0.3, [0.4, 0.5, 0.6])
    assert handoffs(first, then) == 1 and overlap(first, then) == 0.0


def test_runs_that_take_turns_hand_off_at_every_mark_and_overlap():
    from microthread.demos.scheduling import Run, handoffs, overlap
    a = Run(0.0, [0.1, 0.3, 0.5])
    b = Run(0.05, [0.2, 0.4, 0.6])
    assert handoffs(a, b) == 5 and overlap(a, b) == 0.45


def test_a_thread_blocked_in_recv_uses_almost_no_cpu():
    from microthread.demos.scheduling import blocked_reader_cpu
    cpu, wall, data = blocked_reader_cpu(wait_seconds=0.3)
    assert data == b"wake up"
    assert wall >= 0.3 and cpu < 0.05 * wall


@pytest.mark.hogs_hub
def test_a_blocking_sleep_stalls_the_heartbeat_a_green_one_does_not():
    from microthread.demos.blocking import heartbeat_gap
    assert heartbeat_gap(blocking=True, pause=0.2) >= 0.2
    assert heartbeat_gap(blocking=False, pause=0.2) < 0.15


@pytest.mark.hogs_hub
def test_the_detector_catches_the_hog_and_says_where():
    from microthread.demos.starvation import catch_the_hog
    found = catch_the_hog(threshold=0.05)
    assert found.culprit.startswith("<Microthread 'hog'")
    assert found.where.startswith("starvation.py:") and found.where.endswith(
        " in hog")
    assert found.seconds >= 0.05


def test_a_long_switch_interval_lets_one_thread_finish_first():
    from microthread.demos.scheduling import gil_handoffs
    assert gil_handoffs(10.0) == 1


def test_a_short_switch_interval_makes_the_interpreter_preempt():
    from microthread.demos.scheduling import gil_handoffs
    assert gil_handoffs(0.0001) >= 2
    assert sys.getswitchinterval() == 0.005      # restored afterwards
