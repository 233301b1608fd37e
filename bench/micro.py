"""Micro-costs: what one step of each kind of switching costs, in ns.

The slide 用户级线程 says "好处：开销小"; this is the ladder behind it, and
it compares like with like.  Switches: a greenlet switch against a hop
between two OS threads and between two processes, each pinned to one CPU
so that every hop is a real context switch (the thread hop also hands the
GIL over).  Wakeups: a thread blocked in ``recv`` against a microthread in
``wait_fd``, both woken by the same one-byte ``send`` on a socketpair.
Then the references: a Python call and a system call on their own.  Each
figure is the median of several repeats of a timed loop; every label says
what its step includes.
"""

import os
import select
import socket
import statistics
import threading
import time
import timeit

from greenlet import greenlet

from microthread import READ, WRITE, spawn, wait_fd
from microthread.loop import EventLoop, current_loop, get_loop, set_loop


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


def wait_fd_round_trip(count, lazy=True):
    """wait_fd on an always-writable socket: register, hub, epoll, back.

    The socket is adopted by the loop, as every GreenSocket's is: a wait
    on a bare fd would re-assert its kernel interest first (loop.py).
    """
    previous = current_loop()
    set_loop(EventLoop(lazy=lazy))
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
    return wait_fd_round_trip(count, lazy=False)


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


def _socket_bounce(sock, rounds):
    for _ in range(rounds):
        sock.recv(1)
        sock.send(b"x")


def thread_wakeup(count):
    """One wakeup: a thread blocked in recv, woken by the other's send.

    Two OS threads bounce a byte over a socketpair; each hop is a send, a
    context switch into the thread blocked in recv, and a GIL hand-off.
    """
    left, right = socket.socketpair()
    rounds = count // 2
    peer = threading.Thread(target=_socket_bounce, args=(right, rounds))
    peer.start()
    try:
        start = time.perf_counter()
        for _ in range(rounds):
            left.send(b"x")
            left.recv(1)
        return time.perf_counter() - start
    finally:
        left.close()        # first: a peer still in recv gets EOF, not a hang
        peer.join()
        right.close()


def _green_bounce(sock, rounds):
    fd = sock.fileno()
    for _ in range(rounds):
        wait_fd(fd, READ)
        sock.recv(1)
        sock.send(b"x")


def wait_fd_wakeup(count):
    """One wakeup: a microthread in wait_fd, woken by the other's send.

    The same bounce as thread_wakeup, between two microthreads of one hub:
    each hop is a send, a switch to the hub, its epoll_wait, and a switch
    into the microthread whose fd became readable.  The sockets are adopted,
    as a GreenSocket's are, so no wait re-asserts its kernel interest.
    """
    previous = current_loop()
    set_loop(None)
    left, right = socket.socketpair()
    try:
        for sock in (left, right):
            sock.setblocking(False)
            get_loop().adopt(sock)
        rounds = count // 2
        peer = spawn(_green_bounce, right, rounds)
        fd = left.fileno()
        start = time.perf_counter()
        for _ in range(rounds):
            left.send(b"x")
            wait_fd(fd, READ)
            left.recv(1)
        elapsed = time.perf_counter() - start
        peer.join()
        return elapsed
    finally:
        loop = current_loop()
        for sock in (left, right):
            loop.forget_fd(sock.fileno())
        loop.close()
        set_loop(previous)
        left.close()
        right.close()


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


# key in bench.json -> (run(count), ops per repeat at scale 1).  The switches
# and the wakeups run pinned to one CPU.  The deck names each, and says what
# one step includes (deckext/benchlabels.py): the data is numbers only.
MEASURES = {
    "function_call_ns": (function_call, 1_000_000),
    "generator_send_ns": (generator_send, 1_000_000),
    "greenlet_switch_ns": (pinned(greenlet_switch), 400_000),
    "getppid_ns": (getppid, 400_000),
    "epoll_poll0_ns": (epoll_poll0, 400_000),
    "wait_fd_ns": (wait_fd_round_trip, 100_000),
    "wait_fd_eager_ns": (wait_fd_eager, 100_000),
    "socketpair_ns": (socketpair_send_recv, 100_000),
    "thread_hop_pinned_ns": (pinned(thread_hop), 20_000),
    "thread_hop_ns": (thread_hop, 20_000),
    "process_hop_pinned_ns": (pinned(process_hop), 20_000),
    "process_hop_ns": (process_hop, 20_000),
    "thread_wakeup_ns": (pinned(thread_wakeup), 20_000),
    "wait_fd_wakeup_ns": (pinned(wait_fd_wakeup), 20_000),
}


def measure(scale=1.0, repeats=7, only=None):
    """Every micro-cost in ns/op: {key: median of its repeats}.

    The repeats interleave, every measure once a round, as the echo's do:
    a slow minute of this shared machine falls on all of them alike, and
    two costs a slide compares (wait_fd, lazy and eager, which differ by
    two system calls in a round trip of thirty function calls) are
    measured side by side, not minutes apart.
    """
    keys = [key for key in MEASURES if only is None or key in only]
    samples = {key: [] for key in keys}
    for _ in range(repeats):
        for key in keys:
            run, count = MEASURES[key]
            count = max(2, int(count * scale))
            samples[key].append(run(count) / count * 1e9)
    return {key: round(statistics.median(samples[key]), 1) for key in keys}

