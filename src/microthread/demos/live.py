"""现场：hub 在工作，也会被卡住 -- an echo server under load, watched live.

    python -m microthread.demos.live [--connections 16] [--seconds 300]

The program behind the live slide (deckext.stage runs it; anyone may run it
in a terminal).  It serves echo with microthreads on 127.0.0.1, starts a
load generator in a child process (Python and microthreads, one OS thread:
at most one CPU), and prints one JSON object a line, every INTERVAL
seconds, of what the hub did meanwhile::

    {"msgs_per_s": 41200, "connections": 16, "ready": 3.1,
     "switches_per_s": 82600, "blocking": false, "detector": null,
     "strip": [[0.0, 0.031, null], [0.031, 0.094, 6], ...],
     "strip_ms": 9.4, ...}

It takes orders on stdin, one a line: ``block`` makes every request's
handler call ``time.sleep(0.5)``, as a careless library would; ``unblock``
ends that; ``stop``, or the end of stdin, ends the program, its load
generator with it.  While blocked, throughput falls to a few messages a
second and the blocking detector (threshold 0.2 s) names the microthread
and the line.

Everything it shows comes from where a user of the runtime would get it:
the messages from the handler's own count, the rest through the loop's
observer interface (``HubView``, which listens to the polls only, so that
watching costs little) and the detector's reports.  The numbers
are written by the hub's OS thread and read by the reporting thread; a
read of an int is atomic, and a copy of a deque is made without running
any Python code, so no lock is taken on the hot path.
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import threading
import time

from .. import detector
from ..green import connect, listen
from ..hub import Timeout, get_hub, spawn
from ..observer import Observer
from ..sendall import sendall
from ..sync import Event

__all__ = ["HubView", "handle", "main"]

INTERVAL = 0.25        # s between two reports
THRESHOLD = 0.2        # s the hub may be held before the detector reports
BLOCK_SECONDS = 0.5    # what the careless call sleeps, holding the hub
STRIP = 100            # ticks the strip of the timeline keeps
MESSAGE = b"x" * 64    # what each client sends and reads back
BUFFER_SIZE = 65536


class HubView(Observer):
    """Counts what the hub does, and keeps its latest ticks as a strip.

    It listens to the loop's polls only, never to each callback: per tick,
    ``ready`` adds what the poll found ready plus the calls queued -- the
    callbacks the tick runs, in this server each a switch to a microthread
    -- and ``marks`` records when the poll began and when it returned, as
    (time, None) and (time, how many are ready).  So watching costs two
    calls a tick, whatever the tick runs, and the strip shows the OS thread
    alternating between the hub's poll and the microthreads it resumes: a
    stall is a run phase that does not end.  ``stall`` is the detector's
    latest report, and when it came.
    """

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.messages = 0          # counted by the handlers
        self.ticks = 0
        self.ready = 0             # callbacks run, summed over ticks
        self.marks = collections.deque(maxlen=2 * STRIP)
        self._mark = self.marks.append
        self.stall = None          # (report, when), from the detector's thread

    def before_poll(self, loop, timeout):
        self._mark((self.clock(), None))

    def after_poll(self, loop, events):
        ready = len(events) + loop.ready_count()
        self.ticks += 1
        self.ready += ready
        self._mark((self.clock(), ready))

    def stalled(self, report):
        self.stall = (report, self.clock())

    def strip(self, now):
        """The latest phases as [start, length, ready] in seconds from the
        first: ready is None for a poll, else how many callbacks that run
        phase had ready; the last phase is still open at now."""
        marks = list(self.marks)            # one C call: no Python runs
        if not marks:
            return [], 0.0
        start = marks[0][0]
        spans = [[at - start, following[0] - at, ready]
                 for (at, ready), following in zip(marks, marks[1:])]
        at, ready = marks[-1]
        spans.append([at - start, max(0.0, now - at), ready])
        return spans, max(0.0, now - start)


class Report:
    """Turns the view's counts into one JSON line per interval."""

    def __init__(self, view, live, controls):
        self.view = view
        self.live = live             # conn -> its microthread
        self.controls = controls
        self.last = self._counts(view.clock())

    def _counts(self, now):
        view = self.view
        return now, view.messages, view.ticks, view.ready

    def line(self):
        now, messages, ticks, ready = counts = self._counts(self.view.clock())
        then, messages0, ticks0, ready0 = self.last
        self.last = counts
        elapsed = max(now - then, 1e-9)
        spans, length = self.view.strip(now)
        return json.dumps({
            "t": round(now, 3),
            "msgs_per_s": round((messages - messages0) / elapsed),
            "connections": len(self.live),
            "ready": round((ready - ready0) / max(ticks - ticks0, 1), 1),
            "switches_per_s": round((ready - ready0) / elapsed),
            "blocking": self.controls.blocking,
            "detector": self._stall(now),
            "threshold": THRESHOLD,
            "strip": [[round(a * 1000, 3), round(b * 1000, 3), ready]
                      for a, b, ready in spans],
            "strip_ms": round(length * 1000, 3),
        }, ensure_ascii=False)

    def _stall(self, now):
        if self.view.stall is None:
            return None
        report, when = self.view.stall
        return {"culprit": report.culprit, "where": report.where,
                "seconds": round(report.seconds, 2),
                "age": round(now - when, 2)}


class Controls:
    """What stdin's orders change: read by the handlers, set by one thread."""

    def __init__(self):
        self.blocking = False


def handle(conn, view, controls, live):
    """One client's microthread: echo each message and count it, until the
    client goes.  Block makes it call a blocking function on the way."""
    try:
        while data := conn.recv(BUFFER_SIZE):
            if controls.blocking:
                time.sleep(BLOCK_SECONDS)    # 粗心的库：整个 hub 跟着停下
            sendall(conn, data)
            view.messages += 1
    except OSError:
        pass                                 # the client went, or we stop
    finally:
        conn.close()
        live.pop(conn, None)


def serve(listener, view, controls, live):
    while True:
        conn, _ = listener.accept()
        live[conn] = spawn(handle, conn, view, controls, live)


def read_orders(stream, controls, stop):
    """block / unblock / stop, a line each; the end of the stream stops."""
    for line in stream:
        order = line.strip()
        if order == "block":
            controls.blocking = True
        elif order == "unblock":
            controls.blocking = False
        elif order == "stop":
            break
        elif order:
            print(f"live: unknown order {order!r} (block, unblock, stop)",
                  file=sys.stderr, flush=True)
    controls.blocking = False     # else the stop waits behind blocked ticks
    stop()


def report_every(interval, report, out, stop, stopped):
    """Print report.line() each interval until stopped; a reader gone stops."""
    while not stopped.wait(interval):
        try:
            out.write(report.line() + "\n")
            out.flush()
        except (BrokenPipeError, ValueError):
            stop()
            return


def start_load(port, connections, seconds):
    """The load generator: this module with --load, in a child process."""
    return subprocess.Popen(
        [sys.executable, "-m", "microthread.demos.live", "--load", str(port),
         "--connections", str(connections), "--seconds", str(seconds)],
        stdin=subprocess.PIPE)


def run_live(connections, seconds, out=sys.stdout, orders=sys.stdin):
    """Serve, load, report and obey orders, until stopped or seconds pass."""
    hub = get_hub()
    view, controls, live = HubView(), Controls(), {}
    stopping = Event()

    def stop():
        hub.loop.call_soon_threadsafe(stopping.set)

    listener = listen(("127.0.0.1", 0))
    hub.loop.observe(view)
    detector.enable(THRESHOLD, report=lambda report: None)  # view.stalled
    acceptor = spawn(serve, listener, view, controls, live)
    load = start_load(listener.socket.getsockname()[1], connections, seconds)
    stopped = threading.Event()
    threads = [threading.Thread(target=read_orders, args=(orders, controls, stop),
                                daemon=True),
               threading.Thread(target=report_every, daemon=True,
                                args=(INTERVAL, Report(view, live, controls),
                                      out, stop, stopped))]
    for thread in threads:
        thread.start()
    try:
        stopping.wait(seconds)
    except Timeout:
        pass
    finally:
        controls.blocking = False
        stopped.set()
        threads[1].join()
        load.kill()
        load.wait()
        detector.disable()
        hub.loop.unobserve(view)
        acceptor.kill()
        listener.close()
        handlers = list(live.values())
        for conn in list(live):
            conn.close()              # wakes its handler with an error
        for handler in handlers:
            handler.join()


def run_load(port, connections, seconds):
    """Clients that each send MESSAGE and read it back, as fast as echoed."""
    def client():
        with connect(("127.0.0.1", port)) as conn:
            while True:
                sendall(conn, MESSAGE)
                received = 0
                while received < len(MESSAGE):
                    data = conn.recv(BUFFER_SIZE)
                    if not data:
                        return
                    received += len(data)

    threading.Thread(target=_exit_at_end_of_stdin, daemon=True).start()
    clients = [spawn(client) for _ in range(connections)]
    deadline = time.monotonic() + seconds
    for microthread in clients:
        try:
            microthread.join(max(0.0, deadline - time.monotonic()))
        except Timeout:
            break
        except OSError:
            continue


def _exit_at_end_of_stdin():
    """The parent holds our stdin: when it goes, so do we, whatever we do."""
    sys.stdin.buffer.read()
    os._exit(0)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m microthread.demos.live",
        description="An echo server under load; one JSON line of what its "
                    "hub does every %g s; orders on stdin: block, unblock, "
                    "stop." % INTERVAL)
    parser.add_argument("--connections", type=int, default=16,
                        help="clients of the load generator (default 16)")
    parser.add_argument("--seconds", type=float, default=300,
                        help="end after this long (default 300)")
    parser.add_argument("--load", type=int, metavar="PORT",
                        help=argparse.SUPPRESS)   # the load generator's side
    options = parser.parse_args(argv)
    if not 1 <= options.connections <= 1000:
        parser.error(f"--connections {options.connections} is not from 1 to 1000")
    if not 0 < options.seconds <= 3600:
        parser.error(f"--seconds {options.seconds:g} is not from 0 to 3600")
    try:
        if options.load is not None:
            run_load(options.load, options.connections, options.seconds)
        else:
            run_live(options.connections, options.seconds)
    except KeyboardInterrupt:
        return 130                    # Ctrl-C in a terminal: everything ended
    return 0


if __name__ == "__main__":
    sys.exit(main())
