"""抢占式调度的关键区域: a lost update that happens every time, then a Lock.

On CPython 3.11 ``counter += 1`` in four threads loses no update in
practice; a preemptive switch must land between the read and the write.
So the critical section here is honest -- read, a call, write -- and the
interleaving is *forced*: each thread reads, then waits at a barrier until
every thread has read, then writes.  That is exactly the schedule a
preemptive switch can produce at any moment; forcing it makes the loss
certain instead of likely.

>>> lost_update(threads=4)
1
>>> locked_update(threads=4)
4
"""

import threading

__all__ = ["lost_update", "locked_update"]


def lost_update(threads=4):
    """每个线程读、切换、写：最后只剩一次加一。"""
    counter = {"value": 0}
    everyone_read = threading.Barrier(threads)

    def add_one():
        value = counter["value"]          # 读
        everyone_read.wait(5)             # 强制在这里切换
        counter["value"] = value + 1      # 写：覆盖了别人的结果

    _run_threads(add_one, threads)
    return counter["value"]


def locked_update(threads=4):
    """加锁：读和写之间别人进不来，一个也不丢。"""
    counter = {"value": 0}
    lock = threading.Lock()

    def add_one():
        with lock:
            value = counter["value"]
            _switch_now()                 # 同样让出 CPU
            counter["value"] = value + 1

    _run_threads(add_one, threads)
    return counter["value"]


# The statements of each add_one that the slides' timelines follow, named
# in order: deckext.scenarios finds their lines by position, so rewording
# a line keeps its name, and a statement added or removed is an error
# there, not a wrong picture.  The slides show the functions, not this.
TRACE_POINTS = {
    "lost_update": ("read", "barrier", "write"),
    "locked_update": ("lock", "read", "switch", "write"),
}


def _switch_now():
    """Give the CPU away, as a preemptive switch at this point would."""
    threading.Event().wait(0.001)


def _run_threads(target, count):
    workers = [threading.Thread(target=target) for _ in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


if __name__ == "__main__":
    print("4 个线程各加一，强制交错:", lost_update(4))
    print("4 个线程各加一，加锁:", locked_update(4))
