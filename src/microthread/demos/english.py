"""The claims' verdict lines in English: ``run NAME --lang en``.

The slides have a Chinese and an English edition, and both show the line a
claim prints.  Each text is written once, in the code that says it, as a
Chinese ``str.format`` template; this module keeps all the English in one
table {Chinese template: English template}, with the same fields and
format specs (a number reads the same in both), and ``say`` picks the one
the run speaks.  A template the table lacks is an error, never Chinese in
an English line; tests/test_demos_english.py finds every template in the
package by its syntax tree and holds the table to them, both ways.

The Chinese line's punctuation becomes English in the templates too:
``（…）`` is `` (…)``, ``：`` is ``: ``, ``、`` and ``，`` are ``, ``.
``Skipped`` reasons and the words holds/refuted/skipped are English in
both languages already, and ``Claim.slide`` is an identifier: none of
them is translated.

The language is a module-level setting, set once by ``python -m
microthread.demos run`` from ``--lang`` through ``speaking``.  Why not a
parameter: the language is the reader's, one for the whole run, while the
words are made deep inside the checks and the demos they call
(``thread_models.compare``); handing it down would change the
``check(counterfactual)`` signature every claim, test and the deck rely
on, for nothing a process running one claim needs.  ``speaking`` puts the
old setting back afterwards, so a caller of ``main()`` in the same process
(the tests) is back to Chinese.
"""

import contextlib

__all__ = ["LANGUAGES", "ENGLISH", "say", "speaking"]

LANGUAGES = ("zh", "en")            # the first is the default
_language = LANGUAGES[0]

ENGLISH = {
    # __main__: the verdict line around the claim
    "{world}（{without}）": "{world} ({without})",
    "{world}: {verdict} — {says}（{evidence}）":
        "{world}: {verdict} — {says} ({evidence})",

    # syscall-cost
    "进一次内核，比一次函数调用贵好几倍":
        "entering the kernel once costs several times as much as a "
        "function call",
    "换成不进内核的函数": "a function that does not enter the kernel instead",
    "10 万次：函数调用 {call_ms:.1f} 毫秒，{trap} {trap_ms:.1f} 毫秒":
        "100,000 calls: function call {call_ms:.1f} ms, "
        "{trap} {trap_ms:.1f} ms",
    "返回同一个数的函数": "a function returning the same number",

    # preemption
    "绑在同一个 CPU 上的两个计算进程同时在前进：内核按时间片抢占":
        "two CPU-bound processes pinned to one CPU advance side by side: "
        "the kernel preempts each when its time slice runs out",
    "SCHED_FIFO 同优先级，没有时间片": "SCHED_FIFO at equal priority, no time slices",
    "两个进程的运行区间重叠 {shared:.3f} 秒（较短的一个跑了 {shorter:.3f} 秒），"
    "进度领先换手 {changes} 次":
        "the two processes' run intervals overlap by {shared:.3f} s "
        "(the shorter one ran {shorter:.3f} s), "
        "changes of lead in progress: {changes}",

    # address-space, shared-memory
    "子进程写的变量，父进程看不到":
        "a variable the child process writes is not seen by the parent",
    "改由线程来写": "written by a thread instead",
    "线程写的变量，主线程马上看得到":
        "a variable a thread writes is seen by the main thread at once",
    "改由 fork 出的子进程来写": "written by a forked child process instead",
    "另一方写过之后，这边看到的是 {seen!r}":
        "after the other side wrote, this side sees {seen!r}",

    # thread-is-a-task
    "线程是内核的一个任务，有自己的任务号":
        "an OS thread is a kernel task, with a task ID of its own",
    "改由微线程来运行": "run in a microthread instead",
    "调用者的任务号 {caller}，它在任务号 {tid} 上运行":
        "the caller's task ID is {caller}, it runs on task ID {tid}",

    # blocked-reader
    "阻塞在 recv 上的线程几乎不用 CPU": "a thread blocked in recv uses almost no CPU",
    "改成反复问非阻塞的 recv": "busy-polling a non-blocking recv instead",
    "等了 {wall:.3f} 秒，用了 CPU {cpu:.3f} 秒，读到 {data!r}":
        "waited {wall:.3f} s, used {cpu:.3f} s of CPU, read {data!r}",

    # heartbeat
    "一个阻塞调用卡住整个 hub": "one blocking call stalls the whole hub",
    "改用微线程的 sleep": "microthread.sleep instead",
    "心跳最长间隔 {gap:.3f} 秒（等待 0.2 秒）":
        "longest gap between heartbeats {gap:.3f} s (a wait of 0.2 s)",

    # switch-interval
    "解释器按 switchinterval 让计算线程换手":
        "the interpreter hands the GIL from one CPU-bound thread to another "
        "every switchinterval",
    "切换间隔设成 10 秒": "switch interval set to 10 s",
    "间隔 {interval} 秒，两个计算线程换手 {changes} 次":
        "interval {interval} s, handoffs between the two CPU-bound threads: "
        "{changes}",

    # lost-update
    "读和写之间被切换，更新就会丢":
        "a switch between the read and the write loses updates",
    "用 Lock 包住读和写": "a Lock around the read and the write",
    "4 个线程各加一，结果 {total}": "4 threads each add one, result: {total}",

    # starvation
    "不让出的微线程跑完之前，别人一次也轮不到":
        "until a microthread that never yields is done, no other gets a "
        "single turn",
    "循环里加 sleep(0)": "sleep(0) added to the loop",
    "心跳第一次跑在第 {step} 步：{trace}":
        "the heartbeat first ran at step {step}: {trace}",

    # detector
    "阻塞检测器抓住霸占 hub 的微线程":
        "the blocking detector catches the microthread hogging the hub",
    "阈值高于霸占的时间": "a threshold above the time the hub is hogged",
    "检测器什么也没报告": "the detector reported nothing",
    "报告 {culprit} 霸占 hub {seconds:.2f} 秒，在 {where}":
        "reported {culprit} hogging the hub for {seconds:.2f} s, at {where}",

    # thread-models (the lines are thread_models.describe's)
    "三种线程模型都做完工作，微线程从不换线程":
        "all three thread models finish the work, and a microthread never "
        "changes OS thread",
    "{model}  任务做完 {done}/{total}，系统线程 {threads} 个，hub {hubs} 个，"
    "换过线程的 {moved} 个":
        "{model}  tasks done: {done}/{total}, OS threads: {threads}, "
        "hubs: {hubs}, tasks that changed thread: {moved}",
    "；": "; ",

    # switch-points
    "会等待的调用切换：execute_sql、send":
        "the calls that wait switch: execute_sql, send",
    "换成 async_ 版本": "their async_ versions instead",
    "{call} 切出去 {count} 次": "switches during {call}: {count}",
    "，": ", ",

    # awaits
    "await 一个不等待的协程，别的任务一轮也轮不到":
        "awaiting a coroutine that does not wait gives the other tasks not "
        "a single turn",
    "改成 await asyncio.sleep(0)": "await asyncio.sleep(0) instead",
    "{label} 期间，别的任务跑了 {turns} 轮":
        "rounds the other tasks ran during {label}: {turns}",

    # player-race
    "切换点上，别的微线程看到半成品 player":
        "at a switch point, another microthread sees a half-built player",
    "换成 login_safe": "login_safe instead",
    "{login} 的切换点上，别的微线程看到 {seen}":
        "at the switch point of {login}, another microthread sees {seen}",
}


def say(template, **fields):
    """``template`` (Chinese) filled with ``fields``, in the run's language.

    The fields are formatted by the template's own specs, which the English
    repeats, so a number reads the same in both languages."""
    if _language != "zh":
        try:
            template = ENGLISH[template]
        except KeyError:
            raise LookupError(f"no English for {template!r} in "
                              f"{__name__}.ENGLISH") from None
    return template.format(**fields)


@contextlib.contextmanager
def speaking(language):
    """Make ``say`` speak ``language`` (one of LANGUAGES) for a run, then
    put back the language spoken before."""
    global _language
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r} is not one of {LANGUAGES}")
    before, _language = _language, language
    try:
        yield
    finally:
        _language = before
