"""协作式调度的饥饿: a microthread that never yields starves the others.

A hog computes for a while without any switch point; a heartbeat wants to
tick every round.  The trace shows that nothing else ran during the hog.
With ``sleep(0)`` inside the hog's loop, the two alternate.

>>> starve(rounds=3, yielding=False)
['hog 0', 'hog 1', 'hog 2', 'beat 0', 'beat 1', 'beat 2']
>>> starve(rounds=3, yielding=True)
['hog 0', 'beat 0', 'hog 1', 'beat 1', 'hog 2', 'beat 2']
"""

from ..hub import sleep, spawn

__all__ = ["starve"]


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
