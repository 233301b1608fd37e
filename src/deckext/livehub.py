"""``.. live-hub::``: a slide that watches a hub at work, and stalls it.

Served by ``make present`` (deckext.stage), the slide starts ``python -m
microthread.demos.live`` as it is shown -- an echo server of microthreads
on 127.0.0.1 under a load generator -- and static/stage.js draws what its
JSON lines say, four times a second: messages and switches per second,
open connections, what each poll found ready, a strip of the hub's latest
ticks, and the blocking detector's report.  阻塞 makes every request's
handler call ``time.sleep(0.5)``; 解除阻塞 takes it out again.  Leaving the
slide ends the program.

Everywhere else -- the PDF, the PNGs, the static slides -- the slide shows
the same frame with dashes for numbers and says where it runs: a live view
has no recording worth freezing.
"""

import html

from docutils import nodes
from docutils.parsers.rst import Directive
from hieroglyph.builder import AbstractSlideBuilder

from .timeline import FONT
from .words import N_, _

METRICS = (                                   # (data-metric, label)
    ('msgs_per_s', N_('消息/秒')),
    ('connections', N_('连接')),
    ('ready', N_('每轮就绪')),
    ('switches_per_s', N_('切换/秒')),
)
OFFLINE = N_('现场幻灯片：make present 时在这台机器上运行')
STRIP_WIDTH, STRIP_HEIGHT = 770, 92
STRIP_DESCRIPTION = N_('hub 和微线程轮流占用这个系统线程的时间条；现场运行时画出最近 100 轮：'
                       '灰色是 hub 在 epoll_wait 里等，彩色是它唤醒的微线程在跑。')


class live_hub(nodes.General, nodes.Element):
    """The live hub view's frame; stage.js fills it in."""


class LiveHub(Directive):
    """``.. live-hub::``: the live hub view (no arguments, no content)."""

    def run(self):
        node = live_hub()
        node.source, node.line = self.state_machine.get_source_and_line(self.lineno)
        return [node]


def slide_html():
    e = html.escape
    metrics = ''.join(
        f'<div class="live-hub-metric"><span class="live-hub-value" data-metric="{e(key)}">'
        f'—</span><span class="live-hub-label">{e(_(label))}</span></div>'
        for key, label in METRICS)
    buttons = ('<button type="button" data-live="block" '
               f'title="{e(_("每个请求的处理函数都调用 time.sleep(0.5)"))}">{e(_("阻塞"))}</button>'
               '<button type="button" data-live="unblock" '
               f'title="{e(_("去掉 time.sleep(0.5)"))}">{e(_("解除阻塞"))}</button>')
    strip = (f'<svg class="live-hub-strip" data-live-strip role="img" '
             f'width="{STRIP_WIDTH}" height="{STRIP_HEIGHT}" '
             f'viewBox="0 0 {STRIP_WIDTH} {STRIP_HEIGHT}" font-family="{e(FONT)}" '
             f'aria-labelledby="live-hub-strip-title" aria-describedby="live-hub-strip-desc">'
             f'<title id="live-hub-strip-title">{e(_("hub 最近的 100 轮"))}</title>'
             f'<desc id="live-hub-strip-desc">{e(_(STRIP_DESCRIPTION))}</desc></svg>')
    return (f'<div class="live-hub" data-live-hub data-live-state="offline">'
            f'<div class="live-hub-metrics">{metrics}</div>'
            f'<div class="live-hub-controls">{buttons}'
            f'<span class="live-hub-state" data-live-state-text>{e(_(OFFLINE))}</span></div>'
            f'{strip}'
            f'<div class="live-hub-report" data-detector-report aria-live="polite"></div></div>')


def handout_html():
    text = _('{offline}：python -m microthread.demos.live 在终端里也能运行，'
             '每 0.25 秒打印一行 JSON。').format(offline=_(OFFLINE))
    return f'<div class="live-hub" data-live-hub><p>{html.escape(text)}</p></div>\n'


def visit_live_hub(self, node):
    if isinstance(self.builder, AbstractSlideBuilder):
        self.body.append(slide_html())
    else:
        self.body.append(handout_html())
    raise nodes.SkipNode


def setup(app):
    app.add_node(live_hub, html=(visit_live_hub, None))
    app.add_directive('live-hub', LiveHub)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
