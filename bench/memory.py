"""Idle memory: what one parked task costs, in KiB of resident memory.

Each kind is measured in a fresh interpreter (``python -m bench.memory
KIND COUNT``): resident memory is read, COUNT tasks are started and left
waiting on an event, and the growth is divided by COUNT.  A thread's
figure is what its stack and bookkeeping touch, not its reserved stack.
"""

import gc
import json
import os
import subprocess
import sys
import threading

KINDS = ("microthread", "asyncio_task", "gevent_greenlet", "thread")
NEEDS = {"gevent_greenlet": "gevent"}
IMPORTS = {"microthread": "microthread.sync", "asyncio_task": "asyncio",
           "gevent_greenlet": "gevent.event", "thread": "threading"}


def rss_bytes(pid="self"):
    """Resident set size of a process, from /proc."""
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def park_microthreads(count):
    from microthread import sleep, spawn
    from microthread.sync import Event
    event = Event()
    threads = [spawn(event.wait) for _ in range(count)]
    sleep(0)
    yield
    event.set()
    for thread in threads:
        thread.join()


def park_asyncio_tasks(count):
    import asyncio
    loop = asyncio.new_event_loop()
    event = asyncio.Event()
    tasks = [loop.create_task(event.wait()) for _ in range(count)]
    loop.run_until_complete(asyncio.sleep(0))
    yield
    event.set()
    loop.run_until_complete(asyncio.gather(*tasks))
    loop.close()


def park_gevent_greenlets(count):
    import gevent
    from gevent.event import Event
    event = Event()
    greenlets = [gevent.spawn(event.wait) for _ in range(count)]
    gevent.sleep(0)
    yield
    event.set()
    gevent.joinall(greenlets)


def park_threads(count):
    event = threading.Event()
    threads = [threading.Thread(target=event.wait) for _ in range(count)]
    for thread in threads:
        thread.start()
    yield
    event.set()
    for thread in threads:
        thread.join()


PARKERS = {"microthread": park_microthreads, "asyncio_task": park_asyncio_tasks,
           "gevent_greenlet": park_gevent_greenlets, "thread": park_threads}


def measure_here(kind, count):
    """KiB per parked task of that kind, measured in this process."""
    __import__(IMPORTS[kind])       # an import is not the tasks' cost
    parker = PARKERS[kind](count)
    gc.collect()
    before = rss_bytes()
    next(parker)
    gc.collect()
    after = rss_bytes()
    for _ in parker:
        pass
    return (after - before) / count / 1024


def measure(count=10000, thread_count=1000, kinds=None):
    """{kind: KiB per parked task}, each kind in a fresh interpreter."""
    results = {}
    for kind in kinds or KINDS:
        n = thread_count if kind == "thread" else count
        out = subprocess.run(
            [sys.executable, "-m", "bench.memory", kind, str(n)],
            check=True, capture_output=True, text=True,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__)))).stdout
        results[kind] = round(json.loads(out), 2)
    return results


if __name__ == "__main__":
    print(json.dumps(measure_here(sys.argv[1], int(sys.argv[2]))))
