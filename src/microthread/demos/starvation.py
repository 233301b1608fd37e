"""协作式调度的饥饿: a microthread that never yields starves the others.

A hog computes for a while without any switch point; a heartbeat wants to
tick every round.  The trace shows that nothing else ran during the hog.
With ``sleep(0)`` inside the hog's loop, the two alternate.

>>> starve(rounds=3, yielding=False)
['hog 0', 'hog 1', 'hog 2', 'beat 0', 'beat 1', 'beat 2']
>>> starve(rounds=3, yielding=True)
['hog 0', 'beat 0', 'hog 1', 'beat 1', 'hog 2', 'beat 2']
"""

import time

from .. import detector
from ..hub import get_hub, sleep, spawn

__all__ = ["starve", "catch_the_hog"]


def starve(rounds=3, yielding=False):
    """Run a hog and a heartbeat; return who ran in which order."""
    trace = []

    def hog():
        for step in range(rounds):
            trace.append(f"hog {step}")
            sum(range(10_000))            # 计算，不让出
            if yielding:
                sleep(0)                  # 修正：主动让出

    def heartbeat():
        for step in range(rounds):
            trace.append(f"beat {step}")
            sleep(0)

    workers = [spawn(hog), spawn(heartbeat)]
    for worker in workers:
        worker.join()
    return trace


def catch_the_hog(threshold=0.05, hog_seconds=5):
    """开着阻塞检测器，跑一个不让出的微线程：当场抓住它。"""
    reports = []
    def hog():
        deadline = time.monotonic() + hog_seconds   # 最多霸占这么久
        while not reports and time.monotonic() < deadline:
            pass                               # 只算，不让出
    detector.enable(threshold, reports.append)
    try:
        detector.attach(get_hub().loop)
        spawn(hog).join()
    finally:
        detector.disable()
    return reports[0] if reports else None     # None：没抓到


if __name__ == "__main__":
    print("不让出:", starve(yielding=False))
    print("让出:  ", starve(yielding=True))
    found = catch_the_hog()
    print(f"阻塞检测器: {found.culprit} 霸占 hub {found.seconds:.2f} 秒，"
          f"在 {found.where}")
