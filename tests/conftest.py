"""Test fixtures: a fresh loop per test, and the blocking detector always on.

As curio runs its own tests, every test here runs with the blocking
detector watching the hub: a test whose code holds the hub for longer than
DETECTOR_THRESHOLD fails, unless it is marked ``hogs_hub`` (it hogs on
purpose, to show starvation).

The run ends with a warning naming ``make bench`` when the slides' numbers
were measured on other code than this tree's (deckext.fingerprint): a
warning, not a failure, so a runtime change lands without a benchmark run.
"""

import os
import socket
from pathlib import Path

import pytest

from deckext import present
from deckext.fingerprint import stale_warning
from microthread import detector, pollers
from microthread import loop as loop_module
from microthread.loop import EventLoop, set_loop

DETECTOR_THRESHOLD = 2.0
_reports = []


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium, as the deck's tools start it.

    Without it a browser test is skipped, loudly, except under CI=true,
    where a skipped browser test would let a broken deck through: there it
    fails.
    """
    if not Path(present.CHROMIUM).exists():
        reason = (f"BROWSER TEST SKIPPED: {present.CHROMIUM} is missing, so nobody "
                  f"checked the deck in a browser; apt-get install chromium "
                  f"fonts-noto-cjk")
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (and CI=true: failing instead of skipping)")
        pytest.skip(reason)
    with present.chromium() as running:
        yield running


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "hogs_hub: the test blocks the hub on purpose; the "
        "blocking detector is off for it")


@pytest.fixture(autouse=True)
def blocking_detector(request):
    """Fail any test that holds its hub past the threshold."""
    if request.node.get_closest_marker("hogs_hub"):
        detector.disable()
        yield
        return
    del _reports[:]
    detector.enable(DETECTOR_THRESHOLD, _reports.append)
    yield
    detector.disable()
    assert not _reports, "\n".join(map(str, _reports))


@pytest.fixture(autouse=True)
def fresh_loop():
    """Each test gets a new loop and hub for the main thread, then closes it."""
    set_loop(None)
    yield
    loop = loop_module.current_loop()
    set_loop(None)
    if loop is not None:
        loop.close()


@pytest.fixture
def pair():
    """A connected pair of non-blocking Unix sockets, closed afterwards."""
    left, right = socket.socketpair()
    left.setblocking(False)
    right.setblocking(False)
    yield left, right
    left.close()
    right.close()


@pytest.fixture(params=pollers.available())
def poller_name(request):
    return request.param


@pytest.fixture
def hub_on_each_poller(poller_name):
    """Run a hub test once per backend: this thread's loop uses it."""
    set_loop(EventLoop(poller_name))
    yield poller_name


@pytest.fixture
def loop(poller_name):
    """A bare event loop over each backend this machine has."""
    loop = EventLoop(poller_name)
    yield loop
    loop.close()


def pytest_terminal_summary(terminalreporter):
    warning = stale_warning(Path(__file__).resolve().parents[1],
                            'slides/data/bench.json')
    if warning:
        terminalreporter.write_sep('=', 'benchmark numbers', yellow=True)
        terminalreporter.write_line(warning, yellow=True, bold=True)
