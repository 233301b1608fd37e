"""A model-checked loop and hub: Hypothesis drives the public API.

A ``RuleBasedStateMachine`` opens socket pairs, registers and unregisters
callbacks, spawns microthreads that wait (with and without a timeout) or
sleep, sends and drains data, closes fds through the runtime, plainly, or
after a ``dup``, lets the OS reuse their numbers, kills microthreads and
runs the hub one tick at a time -- in whatever order Hypothesis finds --
and after every step compares the loop with a small model of what must
have happened.  The loop gets a hand-driven clock, so a timeout passes
when the machine says so and never because the test machine was slow.

``make test`` runs a small derandomized budget on every backend;
``make fuzz`` (HYPOTHESIS_PROFILE=fuzz) a long random one, and prints the
rule steps it ran.  A failure it finds is shrunk to a short sequence: keep
it as a plain test in test_fd_lifecycle.py.
"""

import os
import socket
import time

import pytest
from greenlet import GreenletExit
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, invariant,
                                 precondition, rule)

import microthread as mt
from microthread import (READ, WRITE, BlockedForever, FdClosedError, Timeout,
                         get_hub, pollers, sleep, spawn, wait_fd)
from microthread.green import GreenSocket
from microthread.loop import EventLoop, set_loop
from microthread.observer import Observer
from microthread.sync import Event

settings.register_profile(
    "default", max_examples=100, stateful_step_count=40, derandomize=True,
    deadline=None, suppress_health_check=list(HealthCheck))
settings.register_profile(
    "fuzz", max_examples=400, stateful_step_count=50, derandomize=False,
    deadline=None, suppress_health_check=list(HealthCheck),
    print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

STEP_CPU_SECONDS = 0.5      # no tick may spin: far more than one needs
MAX_PAIRS = 3
EVENTS = st.sampled_from([READ, WRITE])
TIMEOUTS = st.sampled_from([None, 0, 0.5, 2])
steps_run = {}              # backend -> rule steps, for ``make fuzz``


class Clock:
    """The loop's clock, moved by the ``advance`` rule, or, while
    ``following``, by real time (to let the hub really sleep)."""

    def __init__(self):
        self.now = 1000.0
        self.since = None       # real time when it began following

    def __call__(self):
        if self.since is None:
            return self.now
        return self.now + time.monotonic() - self.since


class Pair:
    """A socket pair: ``mine`` is watched, ``peer`` writes to it."""

    def __init__(self):
        self.mine, self.peer = socket.socketpair()
        self.mine.setblocking(False)
        self.peer.setblocking(False)
        self.fd = self.mine.fileno()
        self.pending = 0        # bytes sent to mine and not read
        self.green = None       # the GreenSocket wrapping mine, if any

    def ready(self, event):
        return event == WRITE or self.pending > 0


class Recorder:
    """A loop callback that notes each call and whether it was allowed;
    a ``remover`` also removes the other callbacks of its (fd, event)
    from inside the dispatch, as callbacks that give up a peer's job do."""

    def __init__(self, model, pair, event, remover=False):
        self.model, self.pair, self.event = model, pair, event
        self.remover = remover
        self.live = True
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if not self.live:
            self.model.violations.append(f"{self} ran after its unregister")
        elif not self.model.ready_at_poll.get((self.pair, self.event)):
            self.model.violations.append(f"{self} ran for an fd not ready")
        if self.remover and self.live:
            self.model.remove_peers_of(self)

    def __repr__(self):
        return f"<callback for {self.event} on fd {self.pair.fd}>"


class Task:
    """A spawned microthread, what it does, and what became of it."""

    def __init__(self, kind, pair=None, event=None, timeout=None):
        self.kind, self.pair, self.event, self.timeout = (
            kind, pair, event, timeout)
        self.microthread = None
        self.started = None     # the clock when it began to wait
        self.start_tick = None
        self.outcome = None     # woke, timeout, closed, killed, data
        self.killed = None      # the tick count when it was killed
        self.closed = False

    def deadline(self):
        if self.timeout is None or self.started is None:
            return None
        return self.started + self.timeout

    def run(self):
        try:
            if self.kind == "wait":
                wait_fd(self.pair.fd, self.event, self.timeout)
                self.outcome = "woke"
            elif self.kind == "recv":
                self.pair.green.timeout = self.timeout
                self.outcome = self.pair.green.recv(100)
            else:
                sleep(self.timeout)
                self.outcome = "woke"
        except Timeout:
            self.outcome = "timeout"
        except FdClosedError:
            self.outcome = "closed"
        except GreenletExit:
            self.outcome = "killed"


class PairedEvents(Observer):
    """An observer that checks the observer interface's own promises: a
    poll never begins inside a dispatch, every dispatch ends, and only a
    microthread that was spawned or suspended is resumed."""

    def __init__(self, violations):
        self.violations = violations
        self.depth = 0
        self.parked = set()

    def before_poll(self, loop, timeout):
        if self.depth:
            self.violations.append(f"poll inside {self.depth} dispatches")

    def dispatching(self, loop, callback, source):
        self.depth += 1

    def dispatched(self, loop, callback):
        self.depth -= 1

    def spawned(self, microthread):
        self.parked.add(microthread)

    def suspended(self, microthread, wait):
        self.parked.add(microthread)

    def resumed(self, microthread):
        if microthread not in self.parked:
            self.violations.append(f"{microthread!r} resumed, never parked")
        self.parked.discard(microthread)


class LoopModel(RuleBasedStateMachine):
    backend = None
    observed = False

    def __init__(self):
        super().__init__()
        self.clock = Clock()
        self.loop = EventLoop(self.backend, clock=self.clock)
        set_loop(self.loop)
        self.hub = get_hub()
        self.violations = []
        if self.observed:
            self.loop.observe(PairedEvents(self.violations))
        self.loop.on_error = lambda callback, error: self.violations.append(
            f"{callback!r} raised {error!r}")
        self.pairs = []
        self.recorders = []     # live Recorders
        self.tasks = []         # tasks with no outcome yet
        self.orphans = []       # peers of pairs closed after a dup
        self.dups = []          # fds of those dups
        self.ready_at_poll = {}
        self.ticks = 0
        self.plain_closes = 0
        steps_run.setdefault(self.backend, 0)

    # -- choosing ----------------------------------------------------------

    def pick(self, index):
        return self.pairs[index % len(self.pairs)]

    def busy(self, pair):
        return (any(r.pair is pair for r in self.recorders)
                or any(t.pair is pair for t in self.tasks))

    def waiting_on(self, pair, event):
        return any(t.pair is pair and (t.event == event or
                                       t.kind == "recv" and event == READ)
                   for t in self.tasks)

    # -- rules: sockets ---------------------------------------------------

    @precondition(lambda self: len(self.pairs) < MAX_PAIRS)
    @rule(green=st.booleans())
    def open_pair(self, green=False):
        pair = Pair()                   # reuses the lowest free numbers
        if green:
            pair.green = GreenSocket(pair.mine)
        self.pairs.append(pair)

    @precondition(lambda self: self.pairs)
    @rule(index=st.integers(0, MAX_PAIRS), size=st.sampled_from([1, 300, 0]))
    def send_or_drain(self, index, size):
        pair = self.pick(index)
        if size:
            pair.pending += pair.peer.send(b"x" * size)
        while not size and pair.pending:
            pair.pending -= len(pair.mine.recv(4096))

    @precondition(lambda self: self.orphans)
    @rule()
    def send_to_a_dup(self):
        """Make the newest dup of a closed socket readable (its file may
        still be registered under a number that is someone else's now)."""
        self.orphans[-1].send(b"z")

    # -- rules: closing ---------------------------------------------------

    @precondition(lambda self: self.pairs)
    @rule(index=st.integers(0, MAX_PAIRS))
    def close_through_the_runtime(self, index):
        pair = self.pick(index)
        if any(t.pair is pair and t.start_tick is None for t in self.tasks):
            return                      # it would wait on a closed number
        for task in self.tasks:
            if task.pair is pair:
                task.closed = True
        self.drop_recorders(pair)
        mt.close(pair.green or pair.mine)
        pair.peer.close()
        self.pairs.remove(pair)

    @precondition(lambda self: self.pairs)
    @rule(index=st.integers(0, MAX_PAIRS), dup=st.booleans(),
          reuse=st.booleans())
    def close_plainly_once_unregistered(self, index, dup, reuse):
        """What users do: unregister, then ``close()`` (or ``dup`` first);
        with ``reuse`` a new pair takes the freed numbers at once and is
        watched as the old one was (a server's next connection)."""
        pair = self.pick(index)
        if any(t.pair is pair for t in self.tasks):
            return                      # closing under a waiter: unsupported
        events = {r.event for r in self.recorders if r.pair is pair}
        for event in (READ, WRITE):
            mt.unregister_fd(pair.fd, event)
        self.drop_recorders(pair)
        if dup:
            self.orphans.append(pair.peer)
            self.dups.append(os.dup(pair.fd))
        else:
            pair.peer.close()
        pair.mine.close()               # not through the runtime
        self.pairs.remove(pair)
        self.plain_closes += 1
        if reuse:
            self.open_pair(green=pair.green is not None)
            for event in events:
                self.register(len(self.pairs) - 1, event)

    # -- rules: callbacks -------------------------------------------------

    @precondition(lambda self: self.pairs)
    @rule(index=st.integers(0, MAX_PAIRS), event=EVENTS,
          remover=st.booleans())
    def register(self, index, event, remover=False):
        pair = self.pick(index)
        recorder = Recorder(self, pair, event, remover)
        self.loop.register_fd(pair.fd, event, recorder)
        self.recorders.append(recorder)

    def remove_peers_of(self, recorder):
        for other in list(self.recorders):
            if other is not recorder and (other.pair, other.event) == (
                    recorder.pair, recorder.event):
                self.loop.remove_callback(other.pair.fd, other.event, other)
                other.live = False
                self.recorders.remove(other)

    @precondition(lambda self: self.recorders)
    @rule(index=st.integers(0, 20))
    def unregister(self, index):
        recorder = self.recorders[index % len(self.recorders)]
        if self.waiting_on(recorder.pair, recorder.event):
            return                      # it would drop the waiter's wakeup
        mt.unregister_fd(recorder.pair.fd, recorder.event)
        self.drop_recorders(recorder.pair, recorder.event)

    def drop_recorders(self, pair, event=None):
        for recorder in list(self.recorders):
            if recorder.pair is pair and event in (None, recorder.event):
                recorder.live = False
                self.recorders.remove(recorder)

    # -- rules: microthreads ----------------------------------------------

    @precondition(lambda self: self.pairs)
    @rule(index=st.integers(0, MAX_PAIRS), event=EVENTS, timeout=TIMEOUTS)
    def spawn_a_waiter(self, index, event, timeout):
        """wait_fd; on a green pair's READ, a GreenSocket.recv."""
        pair = self.pick(index)
        if self.waiting_on(pair, event):
            return                      # one waiter per (fd, event)
        kind = "recv" if pair.green and event == READ else "wait"
        self.start(Task(kind, pair, event, timeout))

    @rule(seconds=st.sampled_from([0, 0.5, 1]))
    def spawn_a_sleeper(self, seconds):
        self.start(Task("sleep", timeout=seconds))

    def start(self, task):
        task.microthread = spawn(task.run)
        self.tasks.append(task)

    @precondition(lambda self: self.tasks)
    @rule(index=st.integers(0, 20))
    def kill(self, index):
        task = self.tasks[index % len(self.tasks)]
        task.killed = self.ticks
        task.microthread.kill(block=False)
        if task.microthread.dead:            # never started: it never will
            self.tasks.remove(task)

    # -- rules: time and the hub ------------------------------------------

    @rule(seconds=st.sampled_from([0.25, 0.5, 1, 3]))
    def advance(self, seconds):
        self.clock.now += seconds

    @rule()
    def tick(self):
        """One sleep(0) of the main greenlet: the hub polls once.

        With nothing left that could wake anyone, the main greenlet waits
        instead, and must be told BlockedForever.
        """
        cpu = time.process_time()
        try:
            self.run_the_hub_once()
        finally:
            cpu = time.process_time() - cpu
        assert cpu < STEP_CPU_SECONDS, f"a tick spun for {cpu:.2f} s of CPU"

    def run_the_hub_once(self):
        if not self.recorders and not self.tasks and not (
                self.loop.has_ready()):
            with pytest.raises(BlockedForever):
                Event().wait()
            return
        self.ready_at_poll = {(p, e): p.ready(e) for p in self.pairs
                              for e in (READ, WRITE)}
        calls = {r: r.calls for r in self.recorders}
        for task in self.tasks:
            if task.start_tick is None:
                task.start_tick = self.ticks
                task.started = self.clock.now
        sleep(0)
        self.ticks += 1
        for recorder in self.recorders:
            if recorder in calls and self.ready_at_poll[
                    recorder.pair, recorder.event]:
                assert recorder.calls > calls[recorder], (
                    f"{recorder} was not called though its fd was ready")
        for task in list(self.tasks):
            self.check_task(task)

    def check_task(self, task):
        """What a task must have come to after this tick, if anything."""
        armed = task.start_tick < self.ticks - 1   # waiting before the poll
        outcome = task.outcome
        if task.kind == "recv" and isinstance(outcome, bytes):
            assert outcome, "a green recv returned b'' from an open peer"
            task.pair.pending -= len(outcome)
            outcome = "woke"
        expected = self.expected(task, armed)
        if outcome is None:
            assert "waiting" in expected, (
                f"{task.kind} on {task.pair and task.pair.fd} should have "
                f"ended ({expected}) but waits on")
        else:
            assert outcome in expected, (
                f"{task.kind} {task.event} on {task.pair and task.pair.fd} "
                f"ended {outcome}, expected {expected}")
            self.tasks.remove(task)

    def expected(self, task, armed):
        if task.killed is not None:
            ended = {"killed", "woke", "timeout", "closed"}
            return ended if self.ticks > task.killed else ended | {"waiting"}
        due = task.deadline() is not None and self.clock.now >= task.deadline()
        if task.closed:                 # a timer due runs before the close
            return {"closed", "timeout"} if due else {"closed"}
        if task.kind == "sleep":
            due = task.timeout == 0 or (
                self.clock.now >= task.deadline())
            return {"woke"} if armed and due else {"waiting"}
        ready = self.ready_at_poll.get((task.pair, task.event))
        if not armed:
            return {"waiting", "woke"} if ready else {"waiting"}
        if ready:
            return {"woke"}
        return {"timeout"} if due else {"waiting"}

    def quiet(self):
        """Nothing is ready or due: a hub left alone must sleep."""
        return not self.tasks and not self.loop.has_ready() and not any(
            r.pair.ready(r.event) for r in self.recorders)

    @precondition(quiet)
    @rule()
    def let_the_hub_sleep(self):
        """Sleep 10 ms of real time: a registration that keeps firing (a
        stale one of a closed, dup'd file, say) would make the hub spin."""
        self.ready_at_poll = {(p, e): p.ready(e) for p in self.pairs
                              for e in (READ, WRITE)}
        cpu = time.process_time()
        self.clock.since = time.monotonic()
        try:
            sleep(0.01)
        finally:
            self.clock.now, self.clock.since = self.clock(), None
        cpu = time.process_time() - cpu
        assert cpu < 0.005, f"the hub spun for {cpu * 1000:.1f} ms of 10 ms"
        sleep(0)    # a timer resumed us: back to where a tick ends, no poll

    # -- invariants -------------------------------------------------------

    @invariant()
    def nothing_went_wrong(self):
        steps_run[self.backend] += 1
        assert not self.violations, self.violations

    @invariant()
    def kernel_sets_rebuilt_only_after_a_plain_close(self):
        assert self.loop.resyncs <= self.plain_closes, (
            f"{self.loop.resyncs} rebuilds after {self.plain_closes} closes")

    @invariant()
    def idle_only_when_nothing_can_wake_anyone(self):
        nothing = not self.recorders and not self.tasks
        if self.loop.idle_forever():
            assert nothing, "the loop says idle while someone can be woken"
        elif nothing and not self.loop.has_ready():
            assert False, "nothing can wake anyone, yet the loop is not idle"

    def teardown(self):
        try:
            for task in self.tasks:
                task.microthread.kill(block=False)
            sleep(0)
            for pair in self.pairs:
                mt.close(pair.green or pair.mine)
                pair.peer.close()
            for orphan in self.orphans:
                orphan.close()
            for fd in self.dups:
                os.close(fd)
        finally:
            set_loop(None)
            self.loop.close()


def machine_for(backend, observed=False):
    return type(f"LoopModel_{backend}", (LoopModel,),
                {"backend": backend, "observed": observed})


# The main greenlet drives the hub between steps while Hypothesis thinks
# (and shrinks), so it holds the hub on purpose: no blocking detector.
# Unobserved, every event site takes its one-check path; observed, the
# other, so the model checks both.
@pytest.mark.hogs_hub
@pytest.mark.parametrize("backend, observed", [
    *((backend, False) for backend in pollers.available()),
    (pollers.available()[0], True)])
def test_the_loop_keeps_its_promises_in_any_order_of_calls(backend, observed):
    machine_for(backend, observed).TestCase().runTest()
    print(f"fd model on {backend}: {steps_run.get(backend, 0)} rule steps")
