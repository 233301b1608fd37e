"""Timelines of real runs on the slides: ``.. timeline:: sendall_styles``.

The directive runs a named scenario of ``microthread.demos.timelines`` while
the deck builds and embeds what it recorded as inline SVG drawn here (no
plotting library, nothing fetched, nothing committed as an image).  One
panel per Timeline: a lane per OS thread, microthread or callback, time
left to right, an arrow at every switch.

Time is drawn on a compressed scale: every recorded moment gets a step of
its own, and the rest of the width goes to durations in proportion, so a
2 µs switch stays visible next to a 1 ms computation.  Order is exact;
lengths show which span is long, not by how much.  Each panel says how
long the run really took.

The SVG carries what it draws as data attributes (``data-lane``,
``data-origin``/``data-target`` of each switch, in order), so the tests
can check the drawing against the recorded trace.
"""

import html

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

FONT = ('"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", '
        '"Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif')

# Saturated colours that stay apart on a washed-out projector; the loop and
# the main program in greys, so the eye goes to the workers.
WORKER_COLOURS = ('#1f63b5', '#d9730d', '#2e8b3a', '#8e44ad', '#c0392b')
LOOP_COLOUR = '#6b6b6b'
MAIN_COLOUR = '#34495e'
BLOCKED_COLOUR = '#c0392b'
INK = '#1a1a1a'

LABEL_WIDTH = 150     # lane names
RIGHT = 14
TITLE = 26            # a panel's title row
LANE = 36             # one lane: a label row, then the bar
BAR = 14
GAP = 12              # between panels
FOOTER = 26
FIXED_SHARE = 0.5     # of the width, shared equally by the recorded moments


def lane_colours(timelines):
    """A colour per lane name, the same in every panel of a drawing."""
    colours = {}
    for lane in (lane for t in timelines for lane in t.lanes):
        if lane.startswith(('hub', '主循环')):
            colours[lane] = LOOP_COLOUR
        elif lane.startswith('主程序'):
            colours[lane] = MAIN_COLOUR
        elif lane not in colours:
            workers = sum(c in WORKER_COLOURS for c in colours.values())
            colours[lane] = WORKER_COLOURS[workers % len(WORKER_COLOURS)]
    return colours


def positions(times, width):
    """x of each recorded moment: a fixed step each, plus time in ratio."""
    if len(times) < 2:
        return {t: 0.0 for t in times}
    steps = len(times) - 1
    total = times[-1] - times[0]
    x, placed = 0.0, {times[0]: 0.0}
    for before, t in zip(times, times[1:]):
        share = (t - before) / total if total else 1 / steps
        x += width * (FIXED_SHARE / steps + (1 - FIXED_SHARE) * share)
        placed[t] = x
    return placed


def text_width(text, size):
    """Rough width of text: a CJK character is a square, Latin half one."""
    return sum(size if ord(ch) > 0x2e80 else size * 0.55 for ch in text)


def duration(seconds):
    if seconds >= 0.01:
        return f'{seconds * 1000:.0f} ms'
    if seconds >= 0.001:
        return f'{seconds * 1000:.1f} ms'
    return f'{seconds * 1e6:.0f} µs'


def render(timelines, width=780, uid='tl'):
    """The panels as one SVG document (a string).

    ``uid`` prefixes the ids of its pattern and arrowhead: a deck is one
    HTML page, and a second drawing must not point at the first one's.
    """
    height = (sum(TITLE + LANE * len(t.lanes) + GAP for t in timelines)
              + FOOTER)
    out = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'style="display: block; max-width: 100%; height: auto" '
           f'font-family=\'{FONT}\' role="img">',
           _DEFS.replace('tl-', f'{uid}-')]
    y, colours = 0, lane_colours(timelines)
    for timeline in timelines:
        out.append(_panel(timeline, y, width, colours))
        y += TITLE + LANE * len(timeline.lanes) + GAP
    out.append(_legend(y, width))
    out.append('</svg>')
    return ''.join(out).replace('url(#tl-', f'url(#{uid}-')


_DEFS = (
    '<defs>'
    f'<pattern id="tl-blocked" width="6" height="6" '
    f'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    f'<rect width="6" height="6" fill="#f6d5d1"/>'
    f'<rect width="3" height="6" fill="{BLOCKED_COLOUR}"/></pattern>'
    f'<marker id="tl-arrow" viewBox="0 0 8 8" refX="7" refY="4" '
    f'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
    f'<path d="M0,0 L8,4 L0,8 z" fill="{INK}"/></marker>'
    '</defs>')


def _panel(timeline, top, width, colours):
    esc = html.escape
    plot = width - LABEL_WIDTH - RIGHT
    times = timeline.times()
    x_of = positions(times, plot)

    def x(t):
        return LABEL_WIDTH + x_of[t]

    def bar_y(lane):
        return top + TITLE + LANE * timeline.lanes.index(lane) + LANE - BAR - 4

    took = duration(times[-1] - times[0]) if times else '0'
    out = [f'<g class="timeline-panel" data-title="{esc(timeline.title)}">',
           f'<text x="0" y="{top + 18}" font-size="16" font-weight="bold" '
           f'fill="{INK}">{esc(timeline.title)}</text>',
           f'<text x="{width - RIGHT}" y="{top + 18}" font-size="13" '
           f'text-anchor="end" fill="#555">共 {took}</text>']
    for lane in timeline.lanes:
        colour = colours[lane]
        y = bar_y(lane)
        spans, marks = timeline.of(lane)
        out.append(f'<g class="lane" data-lane="{esc(lane)}">'
                   f'<text x="{LABEL_WIDTH - 10}" y="{y + BAR - 2}" '
                   f'font-size="15" text-anchor="end" fill="{INK}">'
                   f'{esc(lane)}</text>'
                   f'<line x1="{LABEL_WIDTH}" x2="{width - RIGHT}" '
                   f'y1="{y + BAR / 2}" y2="{y + BAR / 2}" stroke="#d0d0d0"/>')
        labels = []
        for span in spans:
            left, right = x(span.start), x(span.end)
            out.append(_span(span, left, max(right - left, 2.0), y, colour))
            if span.label:
                labels.append((left, right, span.label))
        for mark in marks:
            at = x(mark.at)
            out.append(f'<path class="mark" d="M{at - 5:.1f},{y - 6} '
                       f'L{at + 5:.1f},{y - 6} L{at:.1f},{y + 1} z" '
                       f'fill="{INK}"/>')
            labels.append((at, at, mark.label))
        out.append(_labels(labels, y - 8, LABEL_WIDTH, width - RIGHT))
        out.append('</g>')
    for switch in timeline.switches:
        at = x(switch.at)
        y1 = bar_y(switch.origin) + BAR / 2
        y2 = bar_y(switch.target) + BAR / 2
        y2 += -BAR / 2 if y2 > y1 else BAR / 2
        title = f'<title>{esc(switch.label)}</title>' if switch.label else ''
        out.append(f'<line class="switch" data-origin="{esc(switch.origin)}" '
                   f'data-target="{esc(switch.target)}" x1="{at:.1f}" '
                   f'x2="{at:.1f}" y1="{y1:.1f}" y2="{y2:.1f}" stroke="{INK}" '
                   f'stroke-width="1.5" marker-end="url(#tl-arrow)">'
                   f'{title}</line>')
    out.append('</g>')
    return ''.join(out)


def _span(span, left, length, y, colour):
    esc = html.escape
    head = (f'<rect class="span" data-kind="{span.kind}" '
            f'data-label="{esc(span.label)}" x="{left:.1f}" '
            f'width="{length:.1f}" ')
    if span.kind == 'run':
        return head + f'y="{y}" height="{BAR}" fill="{colour}"/>'
    if span.kind == 'blocked':
        return (head + f'y="{y}" height="{BAR}" fill="url(#tl-blocked)" '
                f'stroke="{BLOCKED_COLOUR}"/>')
    return (head + f'y="{y + 4}" height="{BAR - 8}" fill="#ffffff" '
            f'stroke="{colour}" stroke-dasharray="3 2"/>')


def _labels(labels, baseline, leftmost, rightmost, size=13):
    """A lane's labels over their spans or marks, none on top of another:
    pushed right past each other (a span's label that would stray far is
    left out; a mark's never is), then pulled back inside the edge."""
    placed = []
    for left, right, text in sorted(labels):
        wide = text_width(text, size)
        if left == right:
            start = left + 7          # a mark's: clear of a switch arrow there
        elif right - left > wide:
            start = (left + right - wide) / 2
        else:
            start = left - 4
        if placed:
            pushed = max(start, placed[-1][0] + placed[-1][1] + 8)
            if pushed - start > 24 and left != right:
                continue          # a span's label that would stray: drop it
            start = pushed
        placed.append([max(start, leftmost), wide, text])
    limit = rightmost
    for label in reversed(placed):
        label[0] = min(label[0], limit - label[1])
        limit = label[0] - 8
    return ''.join(
        f'<text x="{start:.1f}" y="{baseline}" font-size="{size}" '
        f'fill="{INK}">{html.escape(text)}</text>'
        for start, wide, text in placed)


def _legend(top, width):
    y = top + 16
    items = [
        f'<rect x="0" y="{y - 11}" width="22" height="{BAR - 2}" '
        f'fill="{WORKER_COLOURS[0]}"/><text x="28" y="{y}">运行</text>',
        f'<rect x="80" y="{y - 8}" width="22" height="6" fill="#fff" '
        f'stroke="{LOOP_COLOUR}" stroke-dasharray="3 2"/>'
        f'<text x="108" y="{y}">等待</text>',
        f'<rect x="160" y="{y - 11}" width="22" height="{BAR - 2}" '
        f'fill="url(#tl-blocked)" stroke="{BLOCKED_COLOUR}"/>'
        f'<text x="188" y="{y}">阻塞在内核里</text>',
        f'<line x1="296" x2="296" y1="{y - 13}" y2="{y}" stroke="{INK}" '
        f'stroke-width="1.5" marker-end="url(#tl-arrow)"/>'
        f'<text x="306" y="{y}">切换</text>',
        f'<text x="{width - RIGHT}" y="{y}" text-anchor="end">'
        f'时间 →（真实运行；刻度压缩：先后准确，长短示意）</text>']
    return (f'<g class="legend" font-size="13" fill="{INK}">'
            + ''.join(items) + '</g>')


class TimelineDirective(SphinxDirective):
    """.. timeline:: <scenario> -- run it now, draw what it recorded."""

    required_arguments = 1
    option_spec = {'width': directives.positive_int}

    def run(self):
        from microthread import trace
        from microthread.demos import timelines
        for module in (trace, timelines):
            self.env.note_dependency(module.__file__)
        name = self.arguments[0]
        scenario = timelines.SCENARIOS.get(name)
        if scenario is None:
            logger.error('timeline: no scenario %r (known: %s)', name,
                         ', '.join(timelines.SCENARIOS),
                         location=self.get_location())
            return []
        try:
            svg = render(scenario(), self.options.get('width', 780),
                         uid=f'tl-{name}')
        except Exception as error:
            logger.error('timeline: scenario %r failed: %r', name, error,
                         location=self.get_location())
            return []
        markup = f'<div class="timeline" data-scenario="{name}">{svg}</div>'
        return [nodes.raw('', markup, format='html')]


def setup(app):
    app.add_directive('timeline', TimelineDirective)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
