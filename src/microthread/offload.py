"""A thread pool for the calls that would block a hub: DNS, SQLite, files.

A microthread must never make a blocking system call: it would stall every
other microthread of its hub (the slide 用户级线程's 坏处).  ``run_in_thread``
hands the call to an OS thread and parks the microthread; the worker hands
the result back through the loop's thread-safe wakeup.  While a call is in
flight the loop knows someone will call back, so it is not "blocked
forever".

>>> from microthread import spawn
>>> import threading
>>> spawn(run_in_thread, threading.current_thread).join().name.startswith(
...     "microthread-pool")
True
"""

import concurrent.futures
import os
import threading

from greenlet import getcurrent

from .hub import Waiter, get_hub
from .loop import get_loop

__all__ = ["run_in_thread", "call_in_thread", "shutdown"]

_lock = threading.Lock()
_pool = None


def _get_pool():
    global _pool
    with _lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=min(32, (os.cpu_count() or 1) + 4),
                thread_name_prefix="microthread-pool")
        return _pool


def run_in_thread(fn, *args):
    """Run fn(*args) in an OS thread; park this microthread until it ends."""
    hub = get_hub()
    waiter = Waiter(getcurrent())
    _submit(hub.loop, fn, args, waiter)
    return hub.park(waiter, f"{getattr(fn, '__name__', fn)} in a thread"
                    ).result()


def call_in_thread(fn, args, on_result, loop=None):
    """Callback style: run fn(*args) in an OS thread, then on_result(result)
    in the loop's thread.  Returns at once: the caller never switches."""
    # an error in fn is raised by result(), in a callback: the loop reports it
    _submit(loop or get_loop(), fn, args,
            lambda future: on_result(future.result()))


def _submit(loop, fn, args, then):
    """Run fn(*args) in the pool; then(future) in the loop's thread after.

    While it runs the loop knows a call will come (so it is not "blocked
    forever"); the worker hands the future back by the thread-safe wakeup.
    """
    def done(future):                    # runs in the loop's thread
        loop.external_done()
        then(future)

    loop.expect_external()
    try:
        future = _get_pool().submit(fn, *args)
    except BaseException:
        loop.external_done()            # nothing will call back after all
        raise
    future.add_done_callback(
        lambda future: loop.call_soon_threadsafe(done, future))


def shutdown():
    """Stop the pool's threads (a new pool is made on next use)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True)


def _reset_after_fork():
    global _pool, _lock
    _pool, _lock = None, threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)
