"""线程模型: 1:1, M:1 and M:N, proved by which OS thread and hub ran what."""

import os
import sys
import threading

import pytest
from greenlet import getcurrent

from microthread.demos import thread_models
from microthread.demos.thread_models import (compare, hub_threads,
                                             many_to_many, many_to_one,
                                             one_to_one, shape, who_ran)
from microthread.loop import EventLoop

ROUNDS = 3


def threads_of(runs):
    return {thread for run in runs for thread, _ in run}


def test_one_to_one_runs_each_task_on_its_own_os_thread_without_a_hub():
    runs = one_to_one(tasks=6, rounds=ROUNDS, tick=0.001)
    assert shape(runs, ROUNDS) == {"done": 6, "threads": 6, "hubs": 0,
                                   "moved": 0}
    assert threading.main_thread() not in threads_of(runs)


def test_many_to_one_runs_every_task_on_the_callers_thread_and_one_hub():
    runs = many_to_one(tasks=6, rounds=ROUNDS, tick=0.001)
    assert shape(runs, ROUNDS) == {"done": 6, "threads": 1, "hubs": 1,
                                   "moved": 0}
    assert threads_of(runs) == {threading.current_thread()}


@pytest.mark.parametrize("hubs", [1, 2, 3])
def test_many_to_many_uses_exactly_n_os_threads_each_with_its_own_hub(hubs):
    runs = many_to_many(tasks=7, hubs=hubs, rounds=ROUNDS, tick=0.001)
    assert shape(runs, ROUNDS) == {"done": 7, "threads": hubs, "hubs": hubs,
                                   "moved": 0}
    hubs_of = {}
    for run in runs:
        for thread, hub in run:
            hubs_of.setdefault(thread, set()).add(hub)
    assert all(len(ids) == 1 for ids in hubs_of.values())    # one hub each
    assert threading.current_thread() not in hubs_of          # not the dispatcher


def test_many_to_many_hands_tasks_to_the_hubs_in_turn():
    runs = many_to_many(tasks=8, hubs=2, rounds=1, tick=0.001)
    assert who_ran(runs) == {"hub-0": [0, 2, 4, 6], "hub-1": [1, 3, 5, 7]}


def test_every_microthread_stays_on_the_thread_that_spawned_it(monkeypatch):
    spawned_on = {}
    real_spawn, real_job = thread_models.spawn, thread_models.job

    def spawn(*args):                   # runs in a hub's OS thread
        microthread = real_spawn(*args)
        spawned_on[microthread] = threading.current_thread()
        return microthread

    def job(*args):                     # runs in the microthread
        return getcurrent(), real_job(*args)

    monkeypatch.setattr(thread_models, "spawn", spawn)
    monkeypatch.setattr(thread_models, "job", job)
    runs = many_to_many(tasks=6, hubs=2, rounds=4, tick=0.001)
    assert len(runs) == 6 and set(spawned_on.values()) != {
        threading.current_thread()}
    for microthread, places in runs:
        assert len(places) == 5         # seen at the start and after 4 waits
        assert {os_thread for os_thread, _ in places} == {spawned_on[microthread]}


def test_the_dispatcher_hands_work_only_through_call_soon_threadsafe(
        monkeypatch):
    calls = []
    real = EventLoop.call_soon_threadsafe

    def spy(loop, callback, *args):
        calls.append((threading.current_thread(), loop.thread_ident,
                      callback))
        return real(loop, callback, *args)

    monkeypatch.setattr(EventLoop, "call_soon_threadsafe", spy)
    runs = many_to_many(tasks=4, hubs=2, rounds=1, tick=0.001)
    hub_idents = {thread.ident for run in runs for thread, _ in run}
    spawns = [call for call in calls if call[2] is thread_models.spawn]
    assert len(spawns) == 4
    assert {caller for caller, _, _ in spawns} == {threading.current_thread()}
    assert {target for _, target, _ in spawns} == hub_idents
    assert len(calls) == 4 + 2          # the work, then one stop per hub


def test_a_failing_task_reports_its_error_to_the_dispatcher():
    def broken(wait, rounds, tick):
        raise ValueError("task failed")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(thread_models, "job", broken)
        with pytest.raises(ValueError, match="task failed"):
            many_to_many(tasks=2, hubs=2)
        with pytest.raises(ValueError, match="task failed"):
            one_to_one(tasks=2)
    assert not [t for t in threading.enumerate()
                if t.name.startswith(("hub-", "task-"))]


def test_hub_threads_end_and_leave_no_fd_behind():
    before = set(threading.enumerate())
    fds = _open_fds()
    with hub_threads(3) as loops:
        assert len({loop.thread_ident for loop in loops}) == 3
        assert len(set(threading.enumerate()) - before) == 3
    assert set(threading.enumerate()) <= before
    assert _open_fds() == fds


def test_every_model_completes_the_same_work():
    table = compare(tasks=4, hubs=2, rounds=2, tick=0.001).splitlines()
    assert table == [
        "1:1  任务做完 4/4，系统线程 4 个，hub 0 个，换过线程的 0 个",
        "M:1  任务做完 4/4，系统线程 1 个，hub 1 个，换过线程的 0 个",
        "M:N  任务做完 4/4，系统线程 2 个，hub 2 个，换过线程的 0 个"]


def test_the_demo_prints_what_the_slide_claims():
    import subprocess
    out = subprocess.run(
        [sys.executable, "-m", "microthread.demos.thread_models"],
        capture_output=True, text=True, timeout=30, check=True).stdout
    assert "M:N  任务做完 8/8，系统线程 2 个，hub 2 个，换过线程的 0 个" in out
    assert "hub-0 跑了任务 [0, 2, 4, 6]" in out


def _open_fds():
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd")
    return set(os.listdir("/proc/self/fd"))
