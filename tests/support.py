"""Helpers shared by the tests."""

import threading
import time


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
