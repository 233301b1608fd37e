"""进程 vs 线程: who sees whose memory.

A forked child has its own copy of the address space: what it writes, the
parent never sees.  A thread shares the address space: what it writes, the
main thread reads at once.  And to the kernel a thread is a task like a
process: its native id is listed under /proc/self/task.

>>> child_write_is_invisible_to_parent()
{'parent sees': 'parent', 'child saw': 'child'}
>>> thread_write_is_visible()
{'main thread sees': 'thread'}
"""

import os
import threading

__all__ = ["child_write_is_invisible_to_parent", "thread_write_is_visible",
           "thread_is_a_kernel_task"]


def child_write_is_invisible_to_parent():
    """进程：子进程改了变量，父进程那份不变。"""
    box = {"value": "parent"}
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:                           # 子进程：改自己的那份
        box["value"] = "child"
        os.write(writer, box["value"].encode())
        os._exit(0)
    os.close(writer)
    child_saw = os.read(reader, 100).decode()
    os.close(reader)
    os.waitpid(pid, 0)
    return {"parent sees": box["value"], "child saw": child_saw}


def thread_write_is_visible():
    """线程：共享地址空间，线程写的主线程马上看得到。"""
    box = {"value": "main"}
    def write():
        box["value"] = "thread"           # 线程写
    thread = threading.Thread(target=write)
    thread.start()
    thread.join()
    return {"main thread sees": box["value"]}


def thread_is_a_kernel_task():
    """A running thread's native id, and whether the kernel lists it."""
    seen, stop = {}, threading.Event()

    def look():
        seen["tid"] = threading.get_native_id()
        seen["listed"] = str(seen["tid"]) in os.listdir("/proc/self/task")
        stop.set()

    thread = threading.Thread(target=look)
    thread.start()
    stop.wait(5)
    thread.join()
    seen["pid"] = os.getpid()
    return seen


if __name__ == "__main__":
    print("进程:", child_write_is_invisible_to_parent())
    print("线程:", thread_write_is_visible())
    task = thread_is_a_kernel_task()
    print(f"线程 {task['tid']} 列在 /proc/self/task 下: {task['listed']}"
          f"（进程 {task['pid']}）")
