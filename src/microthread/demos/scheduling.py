"""内核调度时机 and 抢占式调度: what the kernel does, seen from Python.

- Preemption: two CPU-bound processes pinned to the *same* CPU both make
  progress, because the clock interrupt lets the scheduler take the CPU
  from one and give it to the other (unpinned, two cores would prove
  nothing).
- IO interrupts: a thread blocked in ``recv`` uses no CPU while it waits;
  the kernel wakes it when data arrives.
- The interpreter's own preemption of threads: ``sys.getswitchinterval``,
  and its effect: how often two computing threads change hands.
"""

import os
import socket
import sys
import threading
import time

__all__ = ["pinned_processes_both_progress", "blocked_reader_cpu",
           "switch_interval"]


def pinned_processes_both_progress(seconds=0.5, samples=5):
    """两个只算不等的进程绑在同一个 CPU 上：都在前进，靠的是抢占。

    Returns, for each process, its progress counter at each sample time.
    """
    cpu = min(os.sched_getaffinity(0))
    pipes, pids = [], []
    for _ in range(2):
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:                          # the child: count, report
            os.close(reader)
            _count_and_report(cpu, writer, seconds, samples)
        os.close(writer)
        pipes.append(reader)
        pids.append(pid)
    counts = [_read_counts(reader) for reader in pipes]
    for pid in pids:
        os.waitpid(pid, 0)
    return counts


def _count_and_report(cpu, writer, seconds, samples):
    """Child body: spin on one CPU, writing the counter at each sample."""
    try:
        os.sched_setaffinity(0, {cpu})
        count, deadline = 0, time.monotonic() + seconds
        step = seconds / samples
        marks = [time.monotonic() + step * (i + 1) for i in range(samples)]
        reports = []
        while marks:
            count += 1
            if count % 1000 == 0 and time.monotonic() >= marks[0]:
                reports.append(count)
                marks.pop(0)
            if count % 1000 == 0 and time.monotonic() > deadline + 5:
                break                           # never run away
        os.write(writer, (" ".join(map(str, reports)) + "\n").encode())
    finally:
        os._exit(0)


def _read_counts(reader):
    chunks = []
    while True:
        chunk = os.read(reader, 4096)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(reader)
    return [int(n) for n in b"".join(chunks).split()]


def blocked_reader_cpu(wait_seconds=0.3):
    """线程阻塞在 recv 上：等待期间几乎不占 CPU，数据一到就被唤醒。

    Returns (CPU seconds the reader used while blocked, wall seconds it
    was blocked, what it read).
    """
    left, right = socket.socketpair()
    result, started = {}, threading.Event()

    def reader():
        clock = time.pthread_getcpuclockid(threading.get_ident())
        before_cpu, before = time.clock_gettime(clock), time.monotonic()
        started.set()
        result["data"] = left.recv(100)        # blocks in the kernel
        result["cpu"] = time.clock_gettime(clock) - before_cpu
        result["wall"] = time.monotonic() - before

    thread = threading.Thread(target=reader)
    thread.start()
    started.wait(5)
    time.sleep(wait_seconds)                   # let it sit blocked a while
    right.send(b"wake up")
    thread.join(5)
    left.close()
    right.close()
    return result["cpu"], result["wall"], result["data"]


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
    old = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    try:
        _run_both(work)
    finally:
        sys.setswitchinterval(old)
    return sum(a != b for a, b in zip(owners, owners[1:]))


def _run_both(work):
    threads = [threading.Thread(target=work, args=(name,)) for name in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    first, second = pinned_processes_both_progress()
    print("同一个 CPU 上两个进程的计数器（每 0.1 秒一次）:")
    print("  A:", first)
    print("  B:", second)
    cpu, wall, data = blocked_reader_cpu()
    print(f"阻塞在 recv 上 {wall:.3f} 秒，用了 CPU {cpu * 1000:.3f} 毫秒，"
          f"醒来读到 {data!r}")
    print(f"解释器的切换间隔: {switch_interval()} 秒")
    for interval in (10.0, 0.005, 0.0001):
        print(f"  间隔 {interval} 秒: 两个线程换手 {gil_handoffs(interval)} 次")
