"""The claims the 实测 slides make, each checked twice: as it stands, and
with its cause taken away.

A proof that passes whether or not its claim is true proves nothing.  So
each claim here is one observable and one test on it, run in two worlds:
the world the slide shows, where the test must hold, and a counterfactual
world that differs only by the cause the slide names (no time slicing, no
Lock, no blocking call, ...), where the very same test must fail.  If it
held in both, it would be measuring something else.

``python -m microthread.demos list`` names the claims;
``python -m microthread.demos run NAME [--counterfactual]`` runs one and
prints a verdict line.  A check that cannot run here (no ``CAP_SYS_NICE``
for ``SCHED_FIFO``, no fork) is skipped and says why; a claim that is a
matter of structure, with no cause to remove, says so instead of
pretending to a counterfactual.
"""

import contextlib
import os
import threading
import timeit
from dataclasses import dataclass
from typing import Callable

from ..hub import spawn
from . import address_space, awaits, blocking, race, scheduling, starvation
from . import switch_points, thread_models
from .english import say
from .player import login, login_safe, seen_by_another

__all__ = ["Claim", "Outcome", "Skipped", "CLAIMS", "check"]


@dataclass(frozen=True)
class Outcome:
    """What a check saw: whether the claim held, and the numbers behind it
    (in the run's language: made by ``say``)."""
    holds: bool
    evidence: str


class Skipped(Exception):
    """The check cannot run here; the message says why, in English for
    both languages (the Chinese line has always printed it so)."""


@dataclass(frozen=True)
class Claim:
    name: str
    slide: str                  # the title of the slide that makes it (an
                                # identifier: Chinese in either language)
    says: str                   # the claim, as the slide puts it
    without: str                # the cause the counterfactual removes
                                # (None: a claim of structure has none);
                                # says and without are english.say templates
    check: Callable[[bool], Outcome]   # check(counterfactual) -> Outcome


def check(name, counterfactual=False):
    """Run claim ``name`` in its own world or in its counterfactual."""
    return CLAIMS[name].check(counterfactual)


# -- 进程与线程 ---------------------------------------------------------------

def _preemption(counterfactual):
    """Two CPU-bound processes pinned to one CPU both run at once only if
    the kernel takes the CPU from one and gives it to the other."""
    if not hasattr(os, "sched_setaffinity"):
        raise Skipped("this system cannot pin a process to a CPU")
    with contextlib.ExitStack() as world:
        if counterfactual:
            _enter_no_time_slicing(world)
        a, b = scheduling.pinned_processes()
    shared, changes = scheduling.overlap(a, b), scheduling.handoffs(a, b)
    shorter = min(a.wall, b.wall)
    return Outcome(shared > shorter / 2 and changes >= 3,
                   say("两个进程的运行区间重叠 {shared:.3f} 秒"
                       "（较短的一个跑了 {shorter:.3f} 秒），"
                       "进度领先换手 {changes} 次",
                       shared=max(shared, 0), shorter=shorter,
                       changes=changes))


def _enter_no_time_slicing(world):
    try:
        world.enter_context(scheduling.no_time_slicing())
    except PermissionError:
        raise Skipped("SCHED_FIFO needs CAP_SYS_NICE (run as root)") from None


def _syscall_cost(counterfactual):
    """os.getppid enters the kernel; (counterfactual) a Python function
    that returns the same number does not.  Each side is the best of seven
    interleaved rounds, so one stall of a busy machine cannot decide it."""
    ppid = os.getppid()
    trap = os.getppid if not counterfactual else (lambda: ppid)
    def call():
        pass
    rounds = [(timeit.timeit(call, number=10**5),
               timeit.timeit(trap, number=10**5)) for _ in range(7)]
    call_s, trap_s = (min(side) for side in zip(*rounds))
    label = "os.getppid" if not counterfactual else say("返回同一个数的函数")
    return Outcome(trap_s > 2 * call_s,
                   say("10 万次：函数调用 {call_ms:.1f} 毫秒，"
                       "{trap} {trap_ms:.1f} 毫秒",
                       call_ms=call_s * 1e3, trap=label,
                       trap_ms=trap_s * 1e3))


def _address_space(counterfactual):
    """The writer is a forked child, or (counterfactual) a thread."""
    seen, arrived = _seen_after_write("thread" if counterfactual else "fork")
    return Outcome(not arrived, _seen_words(seen))


def _shared_memory(counterfactual):
    """The writer is a thread, or (counterfactual) a forked child."""
    seen, arrived = _seen_after_write("fork" if counterfactual else "thread")
    return Outcome(arrived, _seen_words(seen))


def _seen_words(seen):
    """What one side saw of the other's write, as both claims word it."""
    return say("另一方写过之后，这边看到的是 {seen!r}", seen=seen)


def _seen_after_write(writer):
    """What the caller sees after a "fork"ed child or a "thread" wrote,
    and whether that write reached it."""
    _need_fork()
    if writer == "fork":
        seen = address_space.child_write_is_invisible_to_parent()["parent sees"]
    else:
        seen = address_space.thread_write_is_visible()["main thread sees"]
    return seen, seen == {"fork": "child", "thread": "thread"}[writer]


def _thread_is_a_task(counterfactual):
    """A thread has a kernel task of its own; a microthread (the
    counterfactual) runs on its hub's thread and has none."""
    if not os.path.isdir("/proc/self/task"):
        raise Skipped("/proc/self/task is Linux's")
    caller = threading.get_native_id()
    if counterfactual:
        seen = spawn(_look_at_own_task).join()
    else:
        seen = address_space.thread_is_a_kernel_task()
    tid, listed = seen["tid"], seen["listed"]     # both looked from inside
    return Outcome(listed and tid != caller,
                   say("调用者的任务号 {caller}，它在任务号 {tid} 上运行",
                       caller=caller, tid=tid))


def _look_at_own_task():
    """The look thread_is_a_kernel_task takes, from inside a microthread."""
    tid = threading.get_native_id()
    return {"tid": tid, "listed": str(tid) in os.listdir("/proc/self/task")}


def _blocked_reader(counterfactual):
    """Waiting in the kernel, or (counterfactual) polling a non-blocking
    socket: CPU used against wall time waited."""
    cpu, wall, data = scheduling.blocked_reader_cpu(0.3, busy=counterfactual)
    return Outcome(data == b"wake up" and cpu < 0.05 * wall,
                   say("等了 {wall:.3f} 秒，用了 CPU {cpu:.3f} 秒，读到 {data!r}",
                       wall=wall, cpu=cpu, data=data))


def _need_fork():
    if not hasattr(os, "fork"):
        raise Skipped("this system has no fork")


# -- 用户级线程与调度 ---------------------------------------------------------

def _heartbeat(counterfactual):
    """A blocking time.sleep, or (counterfactual) the hub's sleep."""
    gap = blocking.heartbeat_gap(blocking=not counterfactual, pause=0.2)
    return Outcome(gap >= 0.2,
                   say("心跳最长间隔 {gap:.3f} 秒（等待 0.2 秒）", gap=gap))


def _switch_interval(counterfactual):
    """A switch interval of 0.1 ms, or (counterfactual) of 10 s."""
    interval = 10.0 if counterfactual else 0.0001
    changes = scheduling.gil_handoffs(interval)
    return Outcome(changes >= 2,
                   say("间隔 {interval} 秒，两个计算线程换手 {changes} 次",
                       interval=interval, changes=changes))


def _lost_update(counterfactual):
    """Read, switch, write in four threads, or (counterfactual) under a Lock."""
    total = (race.locked_update if counterfactual else race.lost_update)(4)
    return Outcome(total < 4, say("4 个线程各加一，结果 {total}", total=total))


def _starvation(counterfactual):
    """A hog that never yields, or (counterfactual) one with sleep(0)."""
    trace = starvation.starve(rounds=3, yielding=counterfactual)
    first_beat = trace.index("beat 0")
    return Outcome(first_beat == 3,
                   say("心跳第一次跑在第 {step} 步：{trace}",
                       step=first_beat + 1, trace=" ".join(trace)))


def _detector(counterfactual):
    """A hog of 0.3 s under a 50 ms threshold, or (counterfactual) under a
    threshold of 1 s: the threshold is all that changes."""
    threshold = 1.0 if counterfactual else 0.05
    found = starvation.catch_the_hog(threshold=threshold, hog_seconds=0.3)
    if found is None:
        return Outcome(False, say("检测器什么也没报告"))
    return Outcome("hog" in str(found.culprit),
                   say("报告 {culprit} 霸占 hub {seconds:.2f} 秒，在 {where}",
                       culprit=found.culprit, seconds=found.seconds,
                       where=found.where))


def _thread_models(counterfactual):
    if counterfactual:
        raise Skipped("a claim of structure: there is no cause to take away")
    models = thread_models.shapes(tasks=8, hubs=2)
    whole = all(total == got["done"] == 8 and got["moved"] == 0
                for _, got, total in models)
    return Outcome(whole, say("；").join(thread_models.describe(*model)
                                       for model in models))


# -- 线程安全：切换点 ---------------------------------------------------------

def _switch_points(counterfactual):
    """The calls that wait, or (counterfactual) their async twins."""
    counts = switch_points.which_switch()
    calls = (["async_execute_sql", "async_send"] if counterfactual
             else ["execute_sql", "send"])
    return Outcome(all(counts[call] >= 1 for call in calls),
                   say("，").join(say("{call} 切出去 {count} 次",
                                      call=call, count=counts[call])
                                  for call in calls))


def _awaits(counterfactual):
    """await a coroutine that does not wait, or (counterfactual) one that does."""
    label = "await asyncio.sleep(0)" if counterfactual else "await ready()"
    turns = awaits.which_await_switches()[label]
    return Outcome(turns == 0, say("{label} 期间，别的任务跑了 {turns} 轮",
                                   label=label, turns=turns))


def _player_race(counterfactual):
    """login, or (counterfactual) login_safe, while another microthread
    looks the player up."""
    login_fn = login_safe if counterfactual else login
    seen = seen_by_another(login_fn)
    return Outcome(seen.endswith("None level None>"),
                   say("{login} 的切换点上，别的微线程看到 {seen}",
                       login=login_fn.__name__, seen=seen))


CLAIMS = {claim.name: claim for claim in [
    Claim("syscall-cost", "内核级 VS 用户级 - 实测：一次系统调用",
          says="进一次内核，比一次函数调用贵好几倍",
          without="换成不进内核的函数", check=_syscall_cost),
    Claim("preemption", "进程 - 一段程序的顺序执行",
          says="绑在同一个 CPU 上的两个计算进程同时在前进：内核按时间片抢占",
          without="SCHED_FIFO 同优先级，没有时间片", check=_preemption),
    Claim("address-space", "进程 - 一段程序的顺序执行",
          says="子进程写的变量，父进程看不到",
          without="改由线程来写", check=_address_space),
    Claim("shared-memory", "线程",
          says="线程写的变量，主线程马上看得到",
          without="改由 fork 出的子进程来写", check=_shared_memory),
    Claim("thread-is-a-task", "线程",
          says="线程是内核的一个任务，有自己的任务号",
          without="改由微线程来运行", check=_thread_is_a_task),
    Claim("blocked-reader", "内核调度时机 - 事件驱动",
          says="阻塞在 recv 上的线程几乎不用 CPU",
          without="改成反复问非阻塞的 recv", check=_blocked_reader),
    Claim("heartbeat", "微线程 - 实测：阻塞调用卡住 hub",
          says="一个阻塞调用卡住整个 hub",
          without="改用微线程的 sleep", check=_heartbeat),
    Claim("switch-interval", "调度时机 - 时间线：GIL 的交接",
          says="解释器按 switchinterval 让计算线程换手",
          without="切换间隔设成 10 秒", check=_switch_interval),
    Claim("lost-update", "抢占式 - 时间线：丢失的更新",
          says="读和写之间被切换，更新就会丢",
          without="用 Lock 包住读和写", check=_lost_update),
    Claim("starvation", "协作式 - 时间线：饥饿与让出",
          says="不让出的微线程跑完之前，别人一次也轮不到",
          without="循环里加 sleep(0)", check=_starvation),
    Claim("detector", "协作式 - 实测：阻塞检测器",
          says="阻塞检测器抓住霸占 hub 的微线程",
          without="阈值高于霸占的时间", check=_detector),
    Claim("thread-models", "线程模型 - 实测：1:1、M:1、M:N",
          says="三种线程模型都做完工作，微线程从不换线程",
          without=None, check=_thread_models),
    Claim("switch-points", "识别何时会切换 - 实测",
          says="会等待的调用切换：execute_sql、send",
          without="换成 async_ 版本", check=_switch_points),
    Claim("awaits", "识别何时会切换 - 对照：async/await",
          says="await 一个不等待的协程，别的任务一轮也轮不到",
          without="改成 await asyncio.sleep(0)", check=_awaits),
    Claim("player-race", "线程安全 - 示例 - 时间线",
          says="切换点上，别的微线程看到半成品 player",
          without="换成 login_safe", check=_player_race),
]}
