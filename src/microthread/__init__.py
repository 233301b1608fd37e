"""microthread: the runtime behind the talk 进程、线程、微线程和事件驱动.

An event loop over epoll/poll/select/kqueue (``loop``), a greenlet hub that
turns waits into switches (``hub``), green sockets (``green``), the three
``sendall`` styles of the slides, green sync primitives, a thread pool for
blocking calls, and a blocking detector.  Every function a slide shows is
the code path this library really runs.

>>> from microthread import spawn, sleep
>>> def worker(name, trace):
...     for step in range(2):
...         trace.append(f"{name}{step}")
...         sleep(0)                  # a switch point: let the others run
>>> trace = []
>>> a, b = spawn(worker, "a", trace), spawn(worker, "b", trace)
>>> a.join(); b.join()
>>> trace
['a0', 'b0', 'a1', 'b1']
"""

from .hub import (BlockedForever, FdClosedError, Microthread, Timeout,
                  get_hub, sleep, spawn, wait_fd)
from .loop import EventLoop, get_loop
from .pollers import READ, WRITE

__all__ = ["READ", "WRITE", "register_fd", "unregister_fd", "wait_fd",
           "spawn", "sleep", "Timeout", "BlockedForever", "FdClosedError",
           "Microthread", "EventLoop", "get_loop", "get_hub", "close"]


def register_fd(fd, event, callback):
    """Register callback for (fd, event) in this OS thread's loop."""
    get_loop().register_fd(fd, event, callback)


def unregister_fd(fd, event):
    """Drop the callbacks of (fd, event) in this OS thread's loop."""
    get_loop().unregister_fd(fd, event)


def close(sock):
    """Close a socket through the runtime, waking whoever waits on it."""
    from .green import close as close_socket
    close_socket(sock)
