"""Helpers shared by the tests."""

import os
import threading
import time
from contextlib import contextmanager

from microthread.observer import Observer


def run_until(loop, condition, seconds=10.0):
    """Tick loop until condition() holds; fail, never hang, after seconds."""
    deadline = time.monotonic() + seconds
    guard = loop.call_at(deadline, lambda: None)   # bounds each poll
    try:
        while not condition():
            assert time.monotonic() < deadline, "condition never held"
            loop.run_once()
    finally:
        guard.cancel()


def refusals_in_another_thread(call):
    """Run call() in a new OS thread; the RuntimeError messages it raised."""
    errors = []

    def run():
        try:
            call()
        except RuntimeError as error:
            errors.append(str(error))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return errors


def exit_code_in_child(child):
    """Fork; the child exits with what child() returns, or 99 if it raised
    (a failed assert there is never a pass).  Returns the exit code."""
    pid = os.fork()
    if pid == 0:
        status = 99
        try:
            status = child()
        finally:
            os._exit(status)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


class CallbackCount(Observer):
    """Counts the callbacks a loop runs, through its observer interface."""

    def __init__(self):
        self.calls = 0

    def dispatching(self, loop, callback, source):
        self.calls += 1


@contextmanager
def callbacks_counted(loop):
    """A CallbackCount of loop's callbacks while the block runs."""
    count = CallbackCount()
    loop.observe(count)
    try:
        yield count
    finally:
        loop.unobserve(count)
