"""Event-driven style: code cut into callbacks that the loop calls.

This backs the slide 使用.  The seed's callback ``sendall`` had two bugs
that every event-driven programmer meets once: it sent ``msg[:offset]``
(the part already sent) instead of ``msg[offset:]``, and it assigned
``offset`` inside the closure without ``nonlocal``, which makes it a new
local variable (UnboundLocalError on the first call).  Here it is fixed,
slices a memoryview instead of copying, and reports the end -- success or
the OS error -- through ``on_done(error)``, because a callback that raised
would be called again on the next writable event, for ever.

>>> import socket
>>> from microthread.loop import EventLoop
>>> loop = EventLoop()
>>> left, right = socket.socketpair()
>>> left.setblocking(False)
>>> sendall(loop, left, b"ping", lambda error: print("done, error:", error))
>>> loop.run()
done, error: None
>>> right.recv(4)
b'ping'
>>> loop.close(); left.close(); right.close()
"""

from .pollers import WRITE

__all__ = ["sendall"]


def sendall(loop, sock, data, on_done):
    """可写就发一段；发完或出错时注销回调，调用 on_done(error)。"""
    fd, view, offset = sock.fileno(), memoryview(data).cast("B"), 0
    def callback():
        nonlocal offset                     # 闭包里要改 offset
        error = None
        try:
            offset += sock.send(view[offset:])  # 发剩下的部分
        except BlockingIOError:
            return                          # 虚假的可写：等下一次
        except OSError as exc:              # 对端重置等：就此结束
            error = exc
        if error or offset >= len(view):
            loop.unregister_fd(fd, WRITE)
            on_done(error)
    loop.register_fd(fd, WRITE, callback)
