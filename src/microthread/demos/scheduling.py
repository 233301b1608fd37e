"""内核调度时机 and 抢占式调度: what the kernel does, seen from Python.

- Preemption: two CPU-bound processes pinned to the *same* CPU both make
  progress, because the clock interrupt lets the scheduler take the CPU
  from one and give it to the other (unpinned, two cores would prove
  nothing).
- IO interrupts: a thread blocked in ``recv`` uses no CPU while it waits;
  the kernel wakes it when data arrives.
- The interpreter's own preemption of threads: ``sys.getswitchinterval``,
  and its effect: how often two computing threads change hands, and when
  each of them held the GIL (``gil_turns``, drawn as a timeline).
"""

import collections
import contextlib
import os
import socket
import sys
import threading
import time

__all__ = ["pinned_processes", "overlap", "handoffs", "no_time_slicing",
           "blocked_reader_cpu", "switch_interval", "gil_handoffs",
           "gil_turns"]


class Run(collections.namedtuple("Run", "start marks")):
    """One child's run: when it first ran on the CPU, and the times at
    which it had used each further tenth of its CPU time (``CLOCK_MONOTONIC``)."""

    @property
    def end(self):
        return self.marks[-1]

    @property
    def wall(self):
        return self.end - self.start


def pinned_processes(cpu_seconds=0.15, marks=10):
    """两个只算不等的进程绑在同一个 CPU 上，各算 cpu_seconds 秒：
    记下各自什么时候开始、每算完十分之一是什么时候。"""
    cpu = min(os.sched_getaffinity(0))
    pipes, pids = [], []
    for _ in range(2):
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:                          # the child: spin, report
            os.close(reader)
            _spin_and_report(cpu, writer, cpu_seconds, marks)
        os.close(writer)
        pipes.append(reader)
        pids.append(pid)
    times = [_read_times(reader) for reader in pipes]
    for pid in pids:
        os.waitpid(pid, 0)
    return [Run(start, marks) for start, *marks in times]


def overlap(a, b):
    """Seconds during which both runs had started and neither had ended."""
    return min(a.end, b.end) - max(a.start, b.start)


def handoffs(a, b):
    """How often the lead changed: 1 if one ran to its end before the other."""
    order = sorted([(t, "a") for t in a.marks] + [(t, "b") for t in b.marks])
    return sum(x != y for (_, x), (_, y) in zip(order, order[1:]))


@contextlib.contextmanager
def no_time_slicing():
    """Run the block, and the processes it forks, under SCHED_FIFO at one
    priority: a runnable task keeps the CPU until it blocks or ends, so two
    of them on one CPU run one after the other.  Needs CAP_SYS_NICE."""
    before = os.sched_getscheduler(0), os.sched_getparam(0)
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    try:
        yield
    finally:
        os.sched_setscheduler(0, before[0], before[1])


def _spin_and_report(cpu, writer, cpu_seconds, marks):
    """Child body: spin on one CPU; report the start and every tenth."""
    try:
        os.sched_setaffinity(0, {cpu})        # from here on, only that CPU
        start, used = time.monotonic(), time.thread_time()
        times, spins = [], 0
        while len(times) < marks and time.monotonic() < start + 10:
            spins += 1
            if (spins % 1000 == 0 and time.thread_time() - used
                    >= cpu_seconds * (len(times) + 1) / marks):
                times.append(time.monotonic())
        os.write(writer, " ".join(map(repr, [start, *times])).encode())
    finally:
        os._exit(0)


def _read_times(reader):
    chunks = []
    while True:
        chunk = os.read(reader, 4096)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(reader)
    return [float(t) for t in b"".join(chunks).split()]


def blocked_reader_cpu(wait_seconds=0.3, busy=False):
    """线程阻塞在 recv 上：等待期间几乎不占 CPU，数据一到就被唤醒。

    Returns (CPU seconds the reader used while waiting, wall seconds it
    waited, what it read).  ``busy=True`` is the counterfactual: the same
    reader asks a non-blocking socket again and again instead of sleeping
    in the kernel, and burns a CPU for the whole wait.
    """
    left, right = socket.socketpair()
    result, started = {}, threading.Event()

    def reader():
        clock = time.pthread_getcpuclockid(threading.get_ident())
        before_cpu, before = time.clock_gettime(clock), time.monotonic()
        started.set()
        result["data"] = _poll_recv(left) if busy else left.recv(100)
        result["cpu"] = time.clock_gettime(clock) - before_cpu
        result["wall"] = time.monotonic() - before

    thread = threading.Thread(target=reader)
    thread.start()
    started.wait(5)
    time.sleep(wait_seconds)                   # let it sit waiting a while
    right.send(b"wake up")
    thread.join(5)
    left.close()
    right.close()
    return result["cpu"], result["wall"], result["data"]


def _poll_recv(sock, give_up=10):
    """recv without ever sleeping in the kernel: ask until data is there."""
    sock.setblocking(False)
    deadline = time.monotonic() + give_up
    while time.monotonic() < deadline:
        try:
            return sock.recv(100)
        except BlockingIOError:
            pass
    return b""


def switch_interval():
    """The interpreter asks a running thread to drop the GIL this often."""
    return sys.getswitchinterval()


def gil_handoffs(interval, rounds=1_000_000):
    """两个线程只算不等：数一数解释器让它们换了几次手。"""
    owners, start = [], threading.Barrier(2)
    def work(name):
        start.wait(5)
        for _ in range(rounds):
            owners.append(name)           # 记下此刻谁在跑
    with switch_interval_set(interval):
        _run_both(work)
    return sum(a != b for a, b in zip(owners, owners[1:]))


class Turn(collections.namedtuple("Turn", "thread start end")):
    """One thread's turn with the GIL: from its first stamp after the other
    thread's last one to its last stamp before the other's next one
    (``time.perf_counter`` seconds)."""


def gil_turns(interval, cpu_seconds=0.02):
    """Two compute-only threads start together; who held the GIL when.

    Each runs bytecode until it has used ``cpu_seconds`` of CPU, stamping
    the time every few bytecodes; merged, the stamps say whose turn it was.
    Nothing in the loop releases the GIL, so a turn ends only when the
    interpreter asks the holder to drop it -- after the other thread has
    waited ``interval`` seconds -- or when the holder is done.
    """
    stamps, start = {}, threading.Barrier(2)
    def work(name):
        mine = stamps[name] = []
        start.wait(5)
        used = time.thread_time()
        while time.thread_time() - used < cpu_seconds:
            for _ in range(20):            # a few bytecodes between stamps
                pass
            mine.append(time.perf_counter())
    with switch_interval_set(interval):
        _run_both(work)
    turns = []
    for at, name in sorted((t, name) for name in stamps for t in stamps[name]):
        if turns and turns[-1].thread == name:
            turns[-1] = turns[-1]._replace(end=at)
        else:
            turns.append(Turn(name, at, at))
    return turns


@contextlib.contextmanager
def switch_interval_set(interval):
    """sys.setswitchinterval(interval) in the block, the old one after."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def _run_both(work):
    threads = [threading.Thread(target=work, args=(name,)) for name in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    a, b = pinned_processes()
    print(f"同一个 CPU 上的两个计算进程：运行区间重叠 {overlap(a, b):.3f} 秒"
          f"（各跑了 {a.wall:.3f} 和 {b.wall:.3f} 秒），领先换手 {handoffs(a, b)} 次")
    cpu, wall, data = blocked_reader_cpu()
    print(f"阻塞在 recv 上 {wall:.3f} 秒，用了 CPU {cpu * 1000:.3f} 毫秒，"
          f"醒来读到 {data!r}")
    print(f"解释器的切换间隔: {switch_interval()} 秒")
    for interval in (10.0, 0.005, 0.0001):
        print(f"  间隔 {interval} 秒: 两个线程换手 {gil_handoffs(interval)} 次")
