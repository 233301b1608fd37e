"""One ``sendall`` for threads and microthreads alike.

The slides 对比系统线程+阻塞接口 and 微线程+事件驱动+非阻塞接口 show the same
code on purpose: the talk's point is that only ``send`` differs.  So there
is exactly one function.  Over a blocking ``socket.socket`` in an OS thread,
``send`` blocks in the kernel; over a ``GreenSocket`` in a microthread,
``send`` switches to the hub (see ``GreenSocket.send``).

A memoryview slices without copying, so a 16 MiB message is not copied
once per partial write.

>>> import socket
>>> left, right = socket.socketpair()
>>> sendall(left, b"hello")
>>> right.recv(5)
b'hello'
>>> left.close(); right.close()
"""

__all__ = ["sendall"]


def sendall(sock, data):
    """把 data 全部发出去：线程和微线程共用这一份代码。"""
    view = memoryview(data).cast("B")   # 切片不复制
    while view:                         # 还有没发出去的
        count = sock.send(view)
        view = view[count:]
