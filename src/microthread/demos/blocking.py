"""用户级线程的坏处: one blocking call stalls every microthread of the hub.

A heartbeat microthread wants to tick every few milliseconds.  Another
microthread then "waits" for a while: with ``time.sleep`` (a blocking
system call) the whole hub stops and the heartbeat misses its ticks; with
the green ``sleep`` only that microthread waits.  The measure is the
heartbeat's longest gap.
"""

import time

from ..hub import sleep, spawn

__all__ = ["heartbeat_gap"]


def heartbeat_gap(blocking, pause=0.2, tick=0.005):
    """心跳的最长间隔：阻塞调用会卡住整个 hub。"""
    beats, done = [time.monotonic()], []
    def heartbeat():
        while not done:
            sleep(tick)
            beats.append(time.monotonic())     # 每跳一次记一笔
    def worker():
        sleep(tick * 2)
        (time.sleep if blocking else sleep)(pause)   # 阻塞 vs 绿色
        done.append(True)
    beat = spawn(heartbeat)
    spawn(worker).join()
    beat.join()
    return max(b - a for a, b in zip(beats, beats[1:]))


if __name__ == "__main__":
    for blocking in (True, False):
        name = "time.sleep（阻塞）" if blocking else "microthread.sleep"
        print(f"{name:20} 心跳最长间隔 {heartbeat_gap(blocking):.3f} 秒")
