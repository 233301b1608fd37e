"""线程模型: the same I/O-bound work run 1:1, M:1 and M:N, compared by structure.

Each task waits for "I/O" a few rounds and notes, every round, which OS
thread and which hub it is on.  1:1 gives each task an OS thread; M:1 runs
every task as a microthread of one hub; M:N starts N OS threads with a hub
each, and a dispatcher hands tasks to them through ``call_soon_threadsafe``
-- a microthread is born on its hub's thread and never leaves it.

What this proves is structure, not an effect of some cause, so its claim
(``python -m microthread.demos run thread-models``) has no counterfactual:
there is nothing to take away that would leave "the same check" standing,
and ``--counterfactual`` says so and is skipped.

>>> print(compare(tasks=4, hubs=2))
1:1  任务做完 4/4，系统线程 4 个，hub 0 个，换过线程的 0 个
M:1  任务做完 4/4，系统线程 1 个，hub 1 个，换过线程的 0 个
M:N  任务做完 4/4，系统线程 2 个，hub 2 个，换过线程的 0 个
"""

import contextlib
import sys
import threading
import time
from concurrent.futures import Future

from ..hub import current_hub, sleep, spawn
from ..loop import get_loop, set_loop
from ..sync import Event
from .english import say

__all__ = ["job", "one_to_one", "many_to_one", "many_to_many", "hub_threads",
           "shape", "who_ran", "shapes", "describe", "compare"]


def job(wait, rounds, tick):
    """同样的工作：等几次 I/O，每次记下在哪个线程、哪个 hub 上。"""
    places = [where()]
    for _ in range(rounds):
        wait(tick)                 # 等 I/O：交出 CPU，也放下 GIL
        places.append(where())
    return places


def one_to_one(tasks=8, rounds=3, tick=0.01):
    """1:1：每个任务一个系统线程，等待时由内核切换。"""
    results = [Future() for _ in range(tasks)]
    work = (job, time.sleep, rounds, tick)  # 阻塞的 sleep：内核切换
    threads = [threading.Thread(target=settle, args=(result, *work),
                                name=f"task-{n}")
               for n, result in enumerate(results)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    return [result.result(0) for result in results]


def many_to_one(tasks=8, rounds=3, tick=0.01):
    """M:1：M 个微线程共用本线程的一个 hub。"""
    microthreads = [spawn(job, sleep, rounds, tick) for _ in range(tasks)]
    return [microthread.join() for microthread in microthreads]


def many_to_many(tasks=8, hubs=2, rounds=3, tick=0.01):
    """M:N：N 个系统线程各跑一个 hub，调度者把任务派给它们。"""
    results = [Future() for _ in range(tasks)]
    work = (job, sleep, rounds, tick)       # 绿色的 sleep：切到 hub
    with hub_threads(hubs) as loops:
        for n, result in enumerate(results):
            loop = loops[n % hubs]              # 轮流派给各个 hub
            # 线程安全的唤醒：spawn 在那个 hub 自己的线程里执行，
            # 微线程生在那个线程上，也一直留在那里
            loop.call_soon_threadsafe(spawn, settle, result, *work)
        return [result.result(5) for result in results]


# -- helpers ------------------------------------------------------------

def where():
    """(this OS thread, id of its hub or None): where a task runs now."""
    hub = current_hub()
    return threading.current_thread(), None if hub is None else id(hub)


def settle(result, fn, *args):
    """Run fn(*args) and put its outcome in the Future ``result``."""
    try:
        result.set_result(fn(*args))
    except Exception as error:
        result.set_exception(error)


@contextlib.contextmanager
def hub_threads(count):
    """``count`` OS threads named hub-0, hub-1, ..., each running its own
    hub until the block ends; yields their loops.  On the way out each hub
    is stopped through its loop, its thread joined and its fds closed."""
    handles = [Future() for _ in range(count)]
    threads = [threading.Thread(target=_run_hub, args=(handle,),
                                name=f"hub-{n}", daemon=True)
               for n, handle in enumerate(handles)]
    for thread in threads:
        thread.start()
    started = []
    try:
        for handle in handles:
            started.append(handle.result(5))
        yield [loop for loop, _ in started]
    finally:
        for loop, stop in started:
            loop.call_soon_threadsafe(stop)
        for thread in threads:
            thread.join(5)


def _run_hub(handle):
    """One OS thread's hub: serve microthreads until told to stop."""
    loop = get_loop()
    stopped = Event()
    loop.expect_external()         # the dispatcher will call: not a deadlock
    handle.set_result((loop, stopped.set))
    try:
        stopped.wait()             # the main greenlet parks; the hub runs
    finally:
        loop.external_done()
        set_loop(None)
        loop.close()


def shape(runs, rounds):
    """What a run proves: tasks that did every round, the OS threads and
    hubs they ran on, and how many ever changed thread or hub."""
    places = [place for run in runs for place in run]
    return {"done": sum(len(run) == rounds + 1 for run in runs),
            "threads": len({thread for thread, _ in places}),
            "hubs": len({hub for _, hub in places if hub is not None}),
            "moved": sum(len(set(run)) > 1 for run in runs)}


def who_ran(runs):
    """{OS thread name: [task numbers]}: which thread ran which task."""
    ran = {}
    for n, run in enumerate(runs):
        ran.setdefault(run[0][0].name, []).append(n)
    return ran


def shapes(tasks=8, hubs=2, rounds=3, tick=0.01):
    """[(model, its shape, tasks run)] of the three models on the same
    work: the numbers themselves, for a check to test without reading
    words that change with the language."""
    return [(name, shape(runs, rounds), len(runs))
            for name, runs in _run_all(tasks, hubs, rounds, tick)]


def describe(model, got, tasks):
    """One line of structure for one of shapes()'s models."""
    return say("{model}  任务做完 {done}/{total}，系统线程 {threads} 个，"
               "hub {hubs} 个，换过线程的 {moved} 个",
               model=model, total=tasks, done=got["done"],
               threads=got["threads"], hubs=got["hubs"], moved=got["moved"])


def compare(tasks=8, hubs=2, rounds=3, tick=0.01):
    """Run the three models on the same work; one line of structure each."""
    return "\n".join(describe(*model)
                     for model in shapes(tasks, hubs, rounds, tick))


def _run_all(tasks, hubs, rounds, tick):
    yield "1:1", one_to_one(tasks, rounds, tick)
    yield "M:1", many_to_one(tasks, rounds, tick)
    yield "M:N", many_to_many(tasks, hubs, rounds, tick)


def _gil_enabled():
    """False only on a free-threaded build (3.13t+) running without a GIL."""
    return getattr(sys, "_is_gil_enabled", lambda: True)()


if __name__ == "__main__":
    print(compare())
    for thread, tasks in who_ran(many_to_many()).items():
        print(f"M:N  {thread} 跑了任务 {tasks}")
    print("GIL 开着" if _gil_enabled() else "GIL 关着：自由线程构建")
