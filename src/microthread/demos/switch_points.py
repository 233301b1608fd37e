"""线程安全 - 识别何时会切换: which calls switch, proved by recording.

A call that waits switches the calling microthread out; a call that only
registers a callback returns at once.  ``switched_out`` counts the
switches away from the caller with ``greenlet.settrace`` -- a record of
what happened, not a timing -- and ``which_switch`` asks it about four
calls over a real SQLite file and a real socket pair.

Run ``python -m microthread.demos.switch_points`` to see the table.
"""

import os
import socket
import tempfile
import threading

import greenlet
from greenlet import getcurrent

from ..callback import sendall as async_send
from ..green import GreenSocket
from ..hub import get_hub, spawn
from ..sync import Event
from .database import async_execute_sql, create_players_db, execute_sql
from .player import PLAYER_SQL

__all__ = ["switched_out", "which_switch"]


def switched_out(call, *args):
    """调用 call 期间，当前微线程被切出去几次。"""
    me, count = getcurrent(), [0]
    def tracer(event, args):
        if event in ("switch", "throw") and args[0] is me:
            count[0] += 1                 # 从我这里切走了一次
    previous = greenlet.settrace(tracer)
    try:
        call(*args)
    finally:
        greenlet.settrace(previous)
    return count[0]


def which_switch():
    """Count the switches of the four calls the slide names."""
    with tempfile.TemporaryDirectory() as folder:
        db = create_players_db(os.path.join(folder, "players.sqlite"),
                               [(1, "alice", 7)])
        return spawn(_count_all, db).join()


def _count_all(db):
    counts, answered = {}, Event()
    counts["execute_sql"] = switched_out(execute_sql, db, PLAYER_SQL, (1,))
    counts["async_execute_sql"] = switched_out(
        async_execute_sql, db, PLAYER_SQL, (1,), lambda row: answered.set())
    answered.wait(timeout=5)          # its callback comes later, from the loop
    with _full_socket() as (sock, drain):
        get_hub().loop.call_soon(drain.set)   # runs once send has switched
        counts["send"] = switched_out(GreenSocket(sock).send, b"x" * 4096)
        sent = Event()
        counts["async_send"] = switched_out(
            async_send, get_hub().loop, sock, b"y" * 4096,
            lambda error: sent.set())
        sent.wait(timeout=5)
    return counts


class _full_socket:
    """A socket whose send buffer is full; a reader thread drains it later.

    The reader starts draining only once told to (``drain``, set by the hub
    after the green ``send`` has switched out), so that ``send`` must wait
    while ``async_send`` returns at once.
    """

    def __enter__(self):
        self.sock, self.peer = socket.socketpair()
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        try:
            while True:
                self.sock.send(b"\0" * 65536)
        except BlockingIOError:
            pass
        self.drain = threading.Event()
        self.reader = threading.Thread(target=self._read)
        self.reader.start()
        return self.sock, self.drain

    def _read(self):
        self.drain.wait(5)
        self.peer.settimeout(5)
        while self.peer.recv(65536):
            pass

    def __exit__(self, *exc):
        self.drain.set()
        get_hub().close_fd(self.sock.fileno())
        self.sock.close()
        self.reader.join(5)
        self.peer.close()


if __name__ == "__main__":
    for name, count in which_switch().items():
        print(f"{name:18} 切出去 {count} 次")
