"""What the deck calls each thing the benchmark measured, by its key in
slides/data/bench.json: the micro-costs, the memory of one waiting task,
the echo servers.  The data file holds numbers only, one file for both
editions; these names are the deck's words (deckext.words), translated in
deck.po like any other, and looked up with :func:`label`.
"""

from .words import N_, _

LABELS = {
    'micro': {
        'function_call_ns': N_('Python 函数调用'),
        'generator_send_ns': N_('生成器 send'),
        'greenlet_switch_ns': N_('greenlet 切换'),
        'getppid_ns': N_('系统调用 os.getppid'),
        'epoll_poll0_ns': N_('空 epoll.poll(0)'),
        'wait_fd_ns': N_('wait_fd 经 hub 一个来回'),
        'wait_fd_eager_ns': N_('wait_fd, 每次 epoll_ctl'),
        'socketpair_ns': N_('socketpair send+recv'),
        'thread_hop_pinned_ns': N_('线程切换 (同一 CPU)'),
        'thread_hop_ns': N_('线程切换 (不绑 CPU)'),
        'process_hop_pinned_ns': N_('进程切换 (同一 CPU)'),
        'process_hop_ns': N_('进程切换 (不绑 CPU)'),
        'thread_wakeup_ns': N_('线程在 recv 里被唤醒'),
        'wait_fd_wakeup_ns': N_('微线程在 wait_fd 里被唤醒'),
    },
    'micro_includes': {
        'greenlet_switch_ns': N_('同一线程里换栈，不进内核'),
        'getppid_ns': N_('进一次内核再出来'),
        'wait_fd_ns': N_('fd 已就绪：登记、epoll_wait、切换两次'),
        'wait_fd_eager_ns': N_('同上，另加两次 epoll_ctl'),
        'thread_hop_pinned_ns': N_('经管道，内核换线程，交接 GIL'),
        'thread_hop_ns': N_('同上，跨 CPU 唤醒'),
        'process_hop_pinned_ns': N_('经管道，内核换进程'),
        'process_hop_ns': N_('同上，跨 CPU 唤醒'),
        'thread_wakeup_ns': N_('内核换线程，交接 GIL'),
        'wait_fd_wakeup_ns': N_('epoll_wait，切换两次'),
    },
    'memory': {
        'microthread': N_('微线程'),
        'asyncio_task': N_('asyncio task'),
        'gevent_greenlet': N_('gevent greenlet'),
        'thread': N_('系统线程'),
    },
    'servers': {
        'green': N_('微线程'),
        'green-timeout': N_('微线程+空闲超时'),
        'callback': N_('回调'),
        'threads': N_('系统线程'),
        'asyncio-streams': N_('asyncio streams'),
        'asyncio-protocol': N_('asyncio Protocol'),
        'uvloop': N_('uvloop Protocol'),
        'gevent': N_('gevent StreamServer'),
        'green-eager': N_('微线程, 每次 epoll_ctl'),
        'green-observed': N_('微线程, 现场观察中'),
        'greenlet-bare': N_('裸 greenlet hub（无功能，下限）'),
        'greenlet-layered': N_('分层的 greenlet hub（只有分层，下限）'),
    },
}


def label(part, key):
    """The name of key (a bench.json key of part), in the edition's language."""
    try:
        return _(LABELS[part][key])
    except KeyError:
        raise LookupError(f'no label for {part}.{key} in deckext/benchlabels.py') from None


def includes(key):
    """What a micro-cost's number includes, in the edition's language; '' if nothing said."""
    word = LABELS['micro_includes'].get(key)
    return _(word) if word else ''
