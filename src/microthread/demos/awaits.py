"""async/await: every switch point is an ``await``, not every ``await`` switches.

A coroutine gives the event loop back only where it ``await``s, so the
switch points are written into the code; but ``await`` on a coroutine that
finishes without waiting runs it inline, like a call, and no other task
gets a turn.  ``turns_of_others`` proves which is which the way
switch_points does for microthreads -- by a record, not a timing: a
second task counts its own turns, and the count is read around one
``await``.

Run ``python -m microthread.demos.awaits`` to see both counts.
"""

import asyncio

__all__ = ["ready", "turns_of_others", "which_await_switches"]


async def ready():
    """不等任何东西的协程：await 它就像调用一个函数。"""
    return "不用等"


async def turns_of_others(awaitable):
    """await 期间，别的任务跑了几轮。"""
    turns = 0
    async def other():
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)    # 每轮都让出一次
    task = asyncio.create_task(other())
    await asyncio.sleep(0)            # 让它先跑起来
    before = turns
    await awaitable
    task.cancel()
    return turns - before


def which_await_switches(awaitables=None):
    """The turns another task got during each await the slide names.

    ``awaitables`` maps a label to a function that makes the awaitable
    (a fresh one per run: a coroutine can be awaited only once).
    """
    awaitables = awaitables or {"await ready()": ready,
                                "await asyncio.sleep(0)": lambda: asyncio.sleep(0)}

    async def each():
        return {label: await turns_of_others(make())
                for label, make in awaitables.items()}
    return asyncio.run(each())


if __name__ == "__main__":
    for label, turns in which_await_switches().items():
        print(f"{label:<24} 期间，别的任务跑了 {turns} 轮")
