"""Micro-costs: what one step of each kind of switching costs, in ns.

The slide 用户级线程 says "好处：开销小"; this is the ladder behind it, from
a Python function call to a hop between two processes.  Each figure is the
median of several repeats of a timed loop.  Thread and process hops are
measured pinned to one CPU (a real context switch on every hop) and
unpinned (the two sides may run on two cores and wake each other across
them).
"""

import os
import select
import socket
import statistics
import threading
import time
import timeit

from greenlet import greenlet

from microthread import WRITE, wait_fd
from microthread.loop import current_loop, get_loop, set_loop

from .servers import EagerLoop


def median_ns(run, count, repeats):
    """Median over ``repeats`` of run(count)'s seconds, per op, in ns."""
    return statistics.median(run(count) for _ in range(repeats)) / count * 1e9


def timed(stmt, setup="pass", scope=None):
    """A run(count) over timeit: seconds for count executions of stmt."""
    timer = timeit.Timer(stmt, setup, globals=scope)
    return timer.timeit


def function_call(count):
    def f():
        pass
    return timed("f()", scope={"f": f})(count)


def generator_send(count):
    def gen():
        while True:
            yield
    g = gen()
    next(g)
    return timed("send(None)", scope={"send": g.send})(count)


def greenlet_switch(count):
    """One switch: half of a round trip between two greenlets."""
    def other():
        while True:
            main.switch()
    main = greenlet.getcurrent()
    peer = greenlet(other)
    start = time.perf_counter()
    for _ in range(count // 2):
        peer.switch()
    elapsed = time.perf_counter() - start
    peer.throw()
    return elapsed


def wait_fd_round_trip(count, loop_class=None):
    """wait_fd on an always-writable socket: register, hub, epoll, back.

    The socket is adopted by the loop, as every GreenSocket's is: a wait
    on a bare fd would re-assert its kernel interest first (loop.py).
    """
    previous = current_loop()
    set_loop(loop_class() if loop_class else None)
    left, right = socket.socketpair()
    try:
        fd = left.fileno()
        get_loop().adopt(left)
        start = time.perf_counter()
        for _ in range(count):
            wait_fd(fd, WRITE)
        return time.perf_counter() - start
    finally:
        loop = current_loop()
        loop.forget_fd(fd)
        loop.close()
        set_loop(previous)
        left.close()
        right.close()


def wait_fd_eager(count):
    return wait_fd_round_trip(count, EagerLoop)


def getppid(count):
    return timed("getppid()", scope={"getppid": os.getppid})(count)


def epoll_poll0(count):
    epoll = select.epoll()
    try:
        return timed("poll(0)", scope={"poll": epoll.poll})(count)
    finally:
        epoll.close()


def socketpair_send_recv(count):
    left, right = socket.socketpair()
    payload = b"x" * 64
    try:
        return timed("send(p); recv(64)", scope={
            "send": left.send, "recv": right.recv, "p": payload})(count)
    finally:
        left.close()
        right.close()


def _pipes():
    there, back = os.pipe(), os.pipe()
    return there, back


def _bounce(read_fd, write_fd, count):
    for _ in range(count):
        os.read(read_fd, 1)
        os.write(write_fd, b"x")


def _drive(there, back, count):
    start = time.perf_counter()
    for _ in range(count):
        os.write(there[1], b"x")
        os.read(back[0], 1)
    return time.perf_counter() - start


def thread_hop(count):
    """One hop: half of a round trip between two OS threads over pipes."""
    there, back = _pipes()
    rounds = count // 2
    peer = threading.Thread(target=_bounce, args=(there[0], back[1], rounds))
    peer.start()
    try:
        return _drive(there, back, rounds)
    finally:
        peer.join()
        for fd in there + back:
            os.close(fd)


def process_hop(count):
    """One hop: half of a round trip between two processes over pipes."""
    there, back = _pipes()
    rounds = count // 2
    pid = os.fork()
    if pid == 0:
        try:
            _bounce(there[0], back[1], rounds)
        finally:
            os._exit(0)
    try:
        return _drive(there, back, rounds)
    finally:
        os.waitpid(pid, 0)
        for fd in there + back:
            os.close(fd)


def pinned(run):
    """run, with this process (and what it starts) on one CPU."""
    def run_pinned(count):
        before = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(before)})
        try:
            return run(count)
        finally:
            os.sched_setaffinity(0, before)
    return run_pinned


# key -> (label on the slide, run(count), ops per repeat at scale 1)
MEASURES = {
    "function_call_ns": ("Python 函数调用", function_call, 1_000_000),
    "generator_send_ns": ("生成器 send", generator_send, 1_000_000),
    "greenlet_switch_ns": ("greenlet 切换", greenlet_switch, 400_000),
    "getppid_ns": ("系统调用 os.getppid", getppid, 400_000),
    "epoll_poll0_ns": ("空 epoll.poll(0)", epoll_poll0, 400_000),
    "wait_fd_ns": ("wait_fd 经 hub 一个来回", wait_fd_round_trip, 100_000),
    "wait_fd_eager_ns": ("wait_fd, 每次 epoll_ctl", wait_fd_eager, 100_000),
    "socketpair_ns": ("socketpair send+recv", socketpair_send_recv, 100_000),
    "thread_hop_pinned_ns": ("线程切换 (同一 CPU)", pinned(thread_hop), 20_000),
    "thread_hop_ns": ("线程切换 (不绑 CPU)", thread_hop, 20_000),
    "process_hop_pinned_ns": ("进程切换 (同一 CPU)", pinned(process_hop), 20_000),
    "process_hop_ns": ("进程切换 (不绑 CPU)", process_hop, 20_000),
}


def measure(scale=1.0, repeats=7, only=None):
    """Every micro-cost in ns/op: {key: median}."""
    results = {}
    for key, (_, run, count) in MEASURES.items():
        if only is not None and key not in only:
            continue
        results[key] = round(median_ns(run, max(2, int(count * scale)),
                                       repeats), 1)
    return results


def labels():
    return {key: label for key, (label, _, _) in MEASURES.items()}
