"""The runs the slides draw as timelines: real demos, recorded.

This is the deck's plumbing, kept out of the runtime package: the demos
live in ``microthread.demos`` and know nothing of it.

Each scenario runs code the slides show, with recording on (see
``microthread.trace``), and returns its panels: a list of Timelines that
``deckext.timeline`` draws at build time.  A scenario fixes the *structure*
of its run -- the lanes, the order and the count of switches -- so every
build draws the same picture; only the durations are the run's own.

- ``sendall_styles``: the three sendall styles move the same bytes through
  a small send buffer to a reader that reads only when the writer waits;
- ``starvation``: ``starve`` without and with ``sleep(0)``;
- ``lost_update``: the forced lost update of ``race`` and its locked twin;
- ``player_race``: ``login`` while another microthread looks the player up;
- ``gil_handoff``: two computing OS threads and the GIL, under a long and
  under the default switch interval.

Lane names and labels are short: the drawing sets them at 18 px.

>>> [len(SCENARIOS[name]()) for name in SCENARIOS]
[3, 2, 2, 2, 2]
"""

import ast
import inspect
import os
import queue
import socket
import tempfile
import threading
from contextlib import contextmanager

from greenlet import getcurrent

from microthread import callback
from microthread.demos import race, scheduling, starvation
from microthread.demos.database import create_players_db
from microthread.demos.player import login, login_safe
from microthread.green import GreenSocket
from microthread.hub import spawn
from microthread.loop import EventLoop, current_loop, set_loop
from microthread.names import lane_of
from microthread.pollers import READ
from microthread.sendall import sendall
from microthread.timeline import Mark, Span, Switch, Timeline
from microthread.trace import LoopRecording, Recorder, thread_lines

from .words import N_, _

__all__ = ["SCENARIOS", "sendall_styles", "starvation_run", "lost_update",
           "player_race", "gil_handoff"]

MAIN = N_("主程序")    # a lane, named in the edition's language by _()


@contextmanager
def recording(recorder, before_wait=None):
    """A recorded loop as this thread's loop in the block, then the old one."""
    previous = current_loop()
    loop = EventLoop()
    loop.observe(LoopRecording(recorder, before_wait=before_wait))
    set_loop(loop)
    try:
        yield loop
    finally:
        set_loop(previous)
        loop.close()


def lanes_named(names):
    """lane_of, with the default names replaced as ``names`` says."""
    def lane(greenlet):
        name = lane_of(greenlet)
        return names.get(name, name)
    return lane


# -- sendall: callback, microthread, OS thread -------------------------------

SNDBUF = 8192          # the kernel doubles it; a few KiB per wakeup
CHUNKS = 3             # the data fills the send buffer this many times


class Peer:
    """The other end: an OS thread that reads only when asked (lockstep).

    ``read(size)`` reads exactly size bytes in the peer's thread and waits
    for it, so the writer never races the reader; ``read_later(size)``
    does not wait (a blocked writer thread cannot ask).
    """

    def __init__(self, sock, recorder, lane=None):
        self.sock, self.recorder, self.lane = sock, recorder, lane or _("对端")
        self.unread = 0                       # bytes sent, not yet read
        self._asks = queue.Queue()
        self._done = queue.Queue()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while (size := self._asks.get()) is not None:
            start = self.recorder.now()
            data = self.sock.recv(size, socket.MSG_WAITALL)
            self.recorder.span(self.lane, start, label="recv")
            self._done.put(len(data))

    def read_later(self, size):
        self._asks.put(size)

    def read(self, size):
        self.read_later(size)
        self.wait_reads(1)

    def wait_reads(self, count):
        """Wait until ``count`` reads asked for have been done."""
        for _read in range(count):
            self.unread -= self._done.get(timeout=10)

    def read_rest(self):
        """Lockstep: called before the writer's loop may sleep."""
        if self.unread:
            self.read(self.unread)

    def stop(self):
        self._asks.put(None)
        self._thread.join(10)


class WatchedSocket:
    """A socket whose sends are recorded on a lane (and counted for Peer)."""

    def __init__(self, sock, recorder, lane, peer):
        self.sock, self.recorder, self.lane, self.peer = (
            sock, recorder, lane, peer)

    def fileno(self):
        return self.sock.fileno()

    def setblocking(self, flag):
        self.sock.setblocking(flag)

    def gettimeout(self):
        return self.sock.gettimeout()

    def send(self, data):
        start = self.recorder.now()
        try:
            count = self.sock.send(data)
        except BlockingIOError:
            self.recorder.mark(self.lane, "EAGAIN")
            raise
        self.peer.unread += count
        if self.sock.getblocking():
            self.recorder.span(self.lane, start, kind="blocked",
                               label=_("send {size}：在内核里睡").format(size=_kib(count)))
        else:
            self.recorder.mark(self.lane, "send")
        return count


def _kib(size):
    return f"{size / 1024:.1f} KiB"


@contextmanager
def _socket_pair(recorder, lane):
    """A Unix socket pair with a small send buffer, its Peer and the data.

    The data is CHUNKS times what one send puts into an empty buffer, so
    each style needs the same number of rounds on every machine.
    """
    writer, reader = socket.socketpair()
    writer.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
    writer.setblocking(False)
    fill = writer.send(bytes(16 * SNDBUF))
    reader.recv(fill, socket.MSG_WAITALL)
    peer = Peer(reader, recorder)
    try:
        yield WatchedSocket(writer, recorder, lane, peer), peer, bytes(
            CHUNKS * fill)
    finally:
        peer.stop()
        writer.close()
        reader.close()


def _callback_style():
    recorder = Recorder()
    loop_lane, callback_lane = _("主循环"), _("回调")
    with _socket_pair(recorder, callback_lane) as (sock, peer, data):
        with recording(recorder, before_wait=peer.read_rest) as loop:
            callback.sendall(loop, sock, data, lambda error: loop.stop())
            loop.run()
        peer.read_rest()
    for run in recorder.dispatches:
        if run.callback.endswith("sendall.<locals>.callback"):
            recorder.switches_seen += [
                Switch(run.start, loop_lane, callback_lane, _("fd 可写：调用回调")),
                Switch(run.end, callback_lane, loop_lane, _("回调返回主循环"))]
    return recorder.timeline(
        _("回调：每次可写只发一段，然后返回主循环"),
        [loop_lane, callback_lane, peer.lane], polls_on=loop_lane)


def _microthread_style():
    recorder = Recorder()
    names = {"main": _(MAIN), "hub": "hub", "sendall": _("微线程")}
    with _socket_pair(recorder, names["sendall"]) as (sock, peer, data):
        with recording(recorder, before_wait=peer.read_rest), \
                recorder.switches(lanes_named(names)):
            spawn(sendall, GreenSocket(sock), data).join()
        peer.read_rest()
    return recorder.timeline(
        _("微线程：send 遇到 EAGAIN 就切换到 hub，可写时切回来"),
        [*names.values(), peer.lane], polls_on=names["hub"])


def _thread_style():
    recorder = Recorder()
    lane = _("系统线程")
    with _socket_pair(recorder, lane) as (sock, peer, data):
        sock.setblocking(True)
        writer = threading.Thread(target=sendall, args=(sock, data))
        writer.start()
        for _chunk in range(CHUNKS):
            peer.read_later(len(data) // CHUNKS)
        writer.join(10)
        peer.wait_reads(CHUNKS)
    return recorder.timeline(
        _("系统线程：一次 send 阻塞在内核里，对端读走一段才醒来"), [lane, peer.lane])


def sendall_styles():
    """The same bytes through the three sendall styles of the slides."""
    return [_callback_style(), _microthread_style(), _thread_style()]


# -- cooperative starvation ---------------------------------------------------

def starvation_run():
    """starve() without sleep(0), then with it: who ran when."""
    names = {"main": _(MAIN)}
    lanes = [_(MAIN), "hub", "hog", "heartbeat"]
    panels = []
    for yielding, title in (
            (False, _("hog 不让出：它算完之前 heartbeat 一次也没轮到")),
            (True, _("hog 每轮 sleep(0)：两个微线程交替前进"))):
        recorder = Recorder()
        with recording(recorder), recorder.switches(lanes_named(names)):
            starvation.starve(rounds=3, yielding=yielding)
        timeline = recorder.timeline(title, lanes)
        spawned = timeline.switches[0].at         # main joins: hub starts
        first = next(s.at for s in timeline.switches
                     if s.target == "heartbeat")
        timeline.spans.append(Span("heartbeat", spawned, first, "wait",
                                   "" if yielding else _("就绪，但轮不到它")))
        panels.append(timeline.settle())
    return panels


# -- the lost update of OS threads, and the lock -----------------------------

def _inner_code(function, name):
    """The code object of function's nested function ``name``."""
    for const in function.__code__.co_consts:
        if getattr(const, "co_name", None) == name:
            return const
    raise LookupError(f"{function.__qualname__} has no nested {name}")


def _trace_points(function, inner="add_one"):
    """{line: name} of the statements race.TRACE_POINTS names, found by
    their position in function's nested ``inner``; a ``with`` counts its
    own line, then its body's."""
    names = race.TRACE_POINTS[function.__name__]
    tree = ast.parse(inspect.getsource(race))
    outer = next(node for node in tree.body if isinstance(node, ast.FunctionDef)
                 and node.name == function.__name__)
    nested = next(node for node in outer.body
                  if isinstance(node, ast.FunctionDef) and node.name == inner)
    lines = []
    for statement in nested.body:
        lines.append(statement.lineno)
        if isinstance(statement, ast.With):
            lines += [inside.lineno for inside in statement.body]
    if len(lines) != len(names):
        raise LookupError(
            f"race.{function.__name__}'s {inner} has {len(lines)} "
            f"statements; race.TRACE_POINTS names {len(names)}: {names}")
    return dict(zip(lines, names))


def _critical_sections(function, threads=4):
    """Run race.<function>, line-tracing each thread's add_one: for each
    OS thread, when it first reached each named statement, and the value
    it had read by then."""
    recorder, lines = Recorder(), []
    code = _inner_code(function, "add_one")
    points = _trace_points(function)
    with thread_lines(recorder, code, lines):
        result = function(threads=threads)
    steps = {}
    for thread, at, line, local in lines:
        name = "return" if line == "return" else points.get(line)
        if name is not None:
            steps.setdefault(thread, {}).setdefault(
                name, (at, local.get("value")))
    return recorder, result, steps


def lost_update():
    """The forced lost update (a Barrier between read and write), and the
    same critical section under a Lock: what each thread read and wrote."""
    panels = []
    recorder, result, steps = _critical_sections(race.lost_update)
    runs = []
    for at in steps.values():
        (read, _value), (barrier, value) = at["read"], at["barrier"]
        runs.append((read, barrier, at["write"][0], at["return"][0], value))
    runs.sort()
    lanes = [_("线程 {n}").format(n=n) for n in range(1, len(runs) + 1)]
    timeline = Timeline(
        _("Barrier 强制的交错：都读到 0 再写，结果 {result}").format(result=result),
        lanes)
    for lane, (read, barrier, write, end, value) in zip(lanes, runs):
        timeline.spans += [
            Span(lane, read, barrier, "run"),
            Span(lane, barrier, write, "wait", _("等 Barrier")),
            Span(lane, write, end, "run")]
        timeline.marks += [Mark(lane, read, _("读到 {value}").format(value=value)),
                           Mark(lane, write, _("写 {value}").format(value=value + 1))]
    panels.append(timeline.settle())

    recorder, result, steps = _critical_sections(race.locked_update)
    runs = []
    for at in steps.values():
        (read, _value), (switch, value) = at["read"], at["switch"]
        runs.append((read, at["lock"][0], switch, at["write"][0],
                     at["return"][0], value))
    runs.sort()
    timeline = Timeline(_("加锁：读和写之间别人进不来，结果 {result}").format(result=result), lanes)
    for lane, (read, lock, switch, write, end, value) in zip(lanes, runs):
        timeline.spans += [
            Span(lane, lock, read, "wait", _("等锁")),
            Span(lane, read, switch, "run"),
            Span(lane, switch, write, "blocked", _("让出 CPU")),
            Span(lane, write, end, "run")]
        timeline.marks += [Mark(lane, read, _("读到 {value}").format(value=value)),
                           Mark(lane, write, _("写 {value}").format(value=value + 1))]
    panels.append(timeline.settle())
    return panels


# -- the Player race ---------------------------------------------------------

class PublishedPlayers(dict):
    """The players table; marks on the writer's lane when one is published."""

    def __init__(self, recorder, lane):
        super().__init__()
        self.recorder, self.lane = recorder, lane

    def __setitem__(self, key, player):
        super().__setitem__(key, player)
        state = _("完整的") if player.ready else _("半成品")
        self.recorder.mark(self.lane(getcurrent()),
                           f"players[{key}] = {state}")


def peek(players, player_id, recorder, lane):
    """Another microthread: looks the player up while login waits."""
    player = players.get(player_id)
    recorder.mark(lane, _("players 里还没有它") if player is None
                  else _("看到 name={name}").format(name=repr(player.name)))
    return player


def player_race():
    """login() switches in execute_sql: the moment peek sees a half-made
    player, and the moment login resumes and finishes it; then the same
    run with login_safe, which publishes the player only when whole."""
    with tempfile.TemporaryDirectory() as folder:
        db = create_players_db(os.path.join(folder, "players.db"),
                               [(1, "alice", 7)])
        return [
            _login_run(login, db,
                       _("login 在 execute_sql 切换：另一个微线程看到了半成品")),
            _login_run(login_safe, db,
                       _("login_safe：先初始化完整，再放进 players"))]


def _login_run(function, db, title):
    names = {"main": _(MAIN), function.__name__: function.__name__,
             "peek": _("另一个微线程")}
    lane, user_lane = lanes_named(names), names[function.__name__]
    recorder = Recorder()
    players = PublishedPlayers(recorder, lane)
    with recording(recorder) as loop, recorder.switches(lane):
        user = spawn(function, players, 1, db)
        other = spawn(peek, players, 1, recorder, names["peek"])
        user.join()
        other.join()
        wakeup = loop.wakeup_fd
    timeline = recorder.timeline(
        title, [_(MAIN), "hub", user_lane, names["peek"]])
    out_of_user = next(s for s in timeline.switches if s.origin == user_lane)
    timeline.marks.append(Mark(user_lane, out_of_user.at, _("execute_sql：切换")))
    if function is login:
        back = [s for s in timeline.switches if s.target == user_lane][1]
        timeline.marks.append(Mark(user_lane, back.at, _("init()：完整了")))
    timeline.marks += [
        Mark("hub", run.start, _("查询结果到了")) for run in recorder.dispatches
        if run.source == (wakeup, READ)]
    return timeline.settle()


# -- the GIL changing hands between two OS threads ---------------------------

LONG_INTERVAL = 10.0
SHORT_INTERVAL = 0.005      # CPython's default


def gil_handoff():
    """Two compute-only OS threads start together, under a switch interval
    of 10 s, then of 5 ms: when each held the GIL, and every hand-off."""
    return [_gil_run(LONG_INTERVAL, _("一个跑完，另一个才开始")),
            _gil_run(SHORT_INTERVAL, _("解释器让两个线程轮流持有 GIL"))]


def _gil_run(interval, outcome):
    """One run of gil_turns as a panel: a lane per thread, the first to
    run on top; a thread waits from the start, or from the end of its
    turn, until its next turn."""
    turns = _gil_turns(interval)
    lanes = {}
    for turn in turns:
        lanes.setdefault(turn.thread, _("线程 {n}").format(n=len(lanes) + 1))
    timeline = Timeline(_("切换间隔 {interval}：{outcome}").format(
        interval=_interval(interval), outcome=outcome),
                        list(lanes.values()))
    waiting = dict.fromkeys(lanes, turns[0].start)     # they start together
    for before, turn in zip([None, *turns], turns):
        lane = lanes[turn.thread]
        if turn.start > waiting[turn.thread]:
            label = _("等 GIL") if turn is turns[1] else ""    # the first wait
            timeline.spans.append(
                Span(lane, waiting[turn.thread], turn.start, "wait", label))
        timeline.spans.append(Span(lane, turn.start, turn.end))
        waiting[turn.thread] = turn.end
        if before is not None:
            timeline.switches.append(Switch(
                turn.start, lanes[before.thread], lane, _("GIL 交给{lane}").format(lane=lane)))
    return timeline.settle()


def _gil_turns(interval, attempts=3):
    """gil_turns, recorded again (``attempts`` runs at most) when the OS
    rather than the interpreter chose who ran: a turn went on for over
    three switch intervals while the other thread waited, so the waiter
    had no CPU to ask for the GIL with.  A busy machine does that now and
    then; the panel is about the interpreter.  A long interval never
    asks, so under 10 s no turn is too long and the first run stands."""
    for _attempt in range(attempts):
        turns = scheduling.gil_turns(interval)
        if all(turn.end - turn.start <= 3 * interval for turn in turns[:-1]):
            break
    return turns


def _interval(seconds):
    if seconds >= 1:
        return _("{seconds} 秒").format(seconds=f"{seconds:g}")
    return _("{ms} 毫秒").format(ms=f"{seconds * 1000:g}")


SCENARIOS = {
    "sendall_styles": sendall_styles,
    "starvation": starvation_run,
    "lost_update": lost_update,
    "player_race": player_race,
    "gil_handoff": gil_handoff,
}
