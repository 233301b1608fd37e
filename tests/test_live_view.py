"""The live hub view's program (microthread.demos.live), apart from the stage.

Its counts come through the loop's observer interface: a HubView on a loop
that runs real microthreads sees them switch and keeps the latest switches
as a strip of spans that tile time without gaps.  Its command line refuses
bad input in one line, and its orders arrive on stdin.
"""

import io
import json
import subprocess
import sys

from microthread import get_loop, sleep, spawn
from microthread.demos import live


def test_a_hub_view_counts_what_each_tick_runs_and_keeps_a_strip_without_gaps():
    view = live.HubView()
    loop = get_loop()
    loop.observe(view)
    try:
        workers = [spawn(lambda: [sleep(0) for _ in range(5)]) for _ in range(3)]
        for worker in workers:
            worker.join()
    finally:
        loop.unobserve(view)
    assert view.ready >= 3 * 6             # each worker: started, then 5 yields
    assert view.ticks >= 6
    spans, length = view.strip(view.clock())
    assert spans[0][2] is None or spans[1][2] is None     # polls ...
    assert any(ready for _, _, ready in spans)            # ... and what they made ready
    for (start, took, _), (following, _, _) in zip(spans, spans[1:]):
        assert abs(start + took - following) < 1e-9   # each span ends where the next begins
    assert abs(spans[-1][0] + spans[-1][1] - length) < 1e-9


def test_without_observing_the_view_sees_nothing():
    view = live.HubView()
    spawn(lambda: sleep(0)).join()
    assert view.ticks == 0 and not view.marks


def test_a_report_line_is_json_with_the_slides_metrics():
    view, controls = live.HubView(), live.Controls()
    report = live.Report(view, {object(): None}, controls)
    view.messages += 10
    line = json.loads(report.line())
    assert line["connections"] == 1 and line["msgs_per_s"] > 0
    assert line["detector"] is None and line["blocking"] is False


def test_orders_on_stdin_block_unblock_and_stop():
    controls, stopped, seen = live.Controls(), [], []

    def orders():
        yield "block\n"
        seen.append(controls.blocking)
        yield "unblock\n"
        seen.append(controls.blocking)
        yield "block\n"
        seen.append(controls.blocking)
        yield "stop\n"
        seen.append("read on after stop")

    live.read_orders(orders(), controls, lambda: stopped.append(controls.blocking))
    assert seen == [True, False, True]
    assert stopped == [False]       # stopping unblocks first: no stop waits behind a sleep


def test_the_end_of_the_orders_stops():
    stopped = []
    live.read_orders(io.StringIO("block\n"), live.Controls(), lambda: stopped.append(True))
    assert stopped == [True]


def test_bad_arguments_are_refused_in_one_line():
    for arguments, culprit in ((["--connections", "0"], "--connections 0"),
                               (["--seconds", "-1"], "--seconds -1")):
        done = subprocess.run([sys.executable, "-m", "microthread.demos.live", *arguments],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 2
        assert culprit in done.stderr and "Traceback" not in done.stderr
