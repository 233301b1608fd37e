"""Helpers shared by the tests."""

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
