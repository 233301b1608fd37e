"""Timelines of real runs on the slides: ``.. timeline:: sendall_styles``.

The directive runs a named scenario of ``deckext.scenarios`` while
the deck builds and embeds what it recorded as inline SVG drawn here (no
plotting library, nothing fetched, nothing committed as an image).  One
panel per Timeline: a lane per OS thread, microthread or callback, time
left to right, an arrow at every switch.

Time is drawn on a compressed scale: every recorded moment gets a step of
its own, and the rest of the width goes to durations in proportion, so a
2 µs switch stays visible next to a 1 ms computation.  Order is exact;
lengths show which span is long, not by how much.  Each panel says how
long the run really took.

Every text is drawn at 18 px or more (titles at 20) and the SVG at its
own width, so the room reads it at that size: a drawing fits the slide's
content box by having few, short labels, not by being scaled down.  A
slide can show some panels only (``:panels: 1``).

The SVG carries what it draws as data attributes (``data-lane``,
``data-origin``/``data-target`` of each switch, in order), so the tests
can check the drawing against the recorded trace.

For whoever cannot see it, the SVG is one image (``role="img"``) named by
its ``<title>`` (the panels' titles) and described by its ``<desc>``: what
a timeline shows, then each panel's lanes, and every span, mark and switch
in time order, with its time since the panel began.  The numbers the
drawing compresses are all there as text, spaced and punctuated as the
deck's Chinese is (``deckext.lint``).
"""

import html
import string

from deckext.lint import is_cjk, is_western
from deckext.words import N_, _
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

# Sizes as drawn: the SVG is WIDTH px wide and drawn at scale 1 inside the
# slide's 778 px content box, so a font-size here is the size the room
# sees.  18 px is the floor for any text on a slide; titles stand out at 20.
WIDTH = 770
TEXT = 18             # lane names, labels, totals, the legend
TITLE_TEXT = 20       # a panel's title, bold
GUTTER = 12           # between the lane names and the plot
RIGHT = 10
TITLE = 34            # a panel's title row
ROW = 26              # a lane's label row, over its bar (only if it has labels)
BAR = 16
PAD = 6               # under a bar; over it too when it has no label row
GAP = 10              # between panels
LEGEND = 34
LABEL_GAP = 10        # between two labels on one row
FIXED_SHARE = 0.5     # of the width, shared equally by the recorded moments
TIME_NOTE = N_('时间 →（先后准确，长短示意）')
LOOP_LANES, MAIN_LANE = ('hub', N_('主循环')), N_('主程序')   # lanes drawn in greys


def lane_colours(timelines):
    """A colour per lane name, the same in every panel of a drawing."""
    colours = {}
    for lane in (lane for t in timelines for lane in t.lanes):
        if lane.startswith(tuple(map(_, LOOP_LANES))):
            colours[lane] = LOOP_COLOUR
        elif lane.startswith(_(MAIN_LANE)):
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


def text_width(text, size, bold=False):
    """Width of text, a little generous: a CJK character or full-width
    punctuation is a square, anything else about 0.6 of one."""
    latin = 0.64 if bold else 0.6
    return sum(size if ord(ch) > 0x2e80 else size * latin for ch in text)


def duration(seconds):
    if seconds >= 0.01:
        return f'{seconds * 1000:.0f} ms'
    if seconds >= 0.001:
        return f'{seconds * 1000:.1f} ms'
    return f'{seconds * 1e6:.0f} µs'


def labelled(timeline, lane):
    """Whether a lane has anything to say over its bar: a mark, a span's label."""
    spans, marks = timeline.of(lane)
    return bool(marks) or any(span.label for span in spans)


def lane_height(timeline, lane):
    return (ROW if labelled(timeline, lane) else PAD) + BAR + PAD


def panel_height(timeline):
    return TITLE + sum(lane_height(timeline, lane) for lane in timeline.lanes)


def height(timelines):
    """Height of the drawing of these panels, in px."""
    return sum(panel_height(t) for t in timelines) + GAP * (
        len(timelines) - 1) + LEGEND


def render(timelines, width=WIDTH, uid='tl'):
    """The panels as one SVG document (a string).

    ``uid`` prefixes the ids of its title, description, pattern and
    arrowhead: a deck is one HTML page, and a second drawing must not point
    at the first one's.
    """
    tall = height(timelines)
    left = GUTTER + max(text_width(lane, TEXT)
                        for t in timelines for lane in t.lanes)
    esc = html.escape
    out = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" '
           f'width="{width}" height="{tall}" viewBox="0 0 {width} {tall}" '
           f'style="display: block; max-width: 100%; height: auto" '
           f'font-family=\'{FONT}\' font-size="{TEXT}" role="img" '
           f'aria-labelledby="{uid}-title" aria-describedby="{uid}-desc">',
           f'<title id="{uid}-title">{esc(name(timelines))}</title>',
           f'<desc id="{uid}-desc">{esc(describe(timelines))}</desc>',
           _DEFS.replace('tl-', f'{uid}-')]
    y, colours = 0, lane_colours(timelines)
    for timeline in timelines:
        out.append(_panel(timeline, y, left, width, colours))
        y += panel_height(timeline) + GAP
    out.append(_legend(timelines, tall - LEGEND, width))
    out.append('</svg>')
    return ''.join(out).replace('url(#tl-', f'url(#{uid}-')


# What each kind of span is, in the description.
KIND_WORDS = {'run': N_('运行'), 'wait': N_('等待'), 'blocked': N_('阻塞在内核里')}


def spaced(*parts):
    """parts joined, with a space where CJK meets a Latin letter or digit:
    the deck's spacing rule, for text made from names and numbers."""
    text = ''
    for part in filter(None, parts):
        if text and (is_cjk(text[-1]) and is_western(part[0])
                     or is_western(text[-1]) and is_cjk(part[0])):
            text += ' '
        text += part
    return text


def said(template, **fields):
    """template (a word of deck.po) in the edition's language, its fields
    filled in and spaced() where a field meets the text around it."""
    parts = []
    for text, field, spec, _conversion in string.Formatter().parse(_(template)):
        parts.append(text)
        if field is not None:
            parts.append(format(fields[field], spec))
    return spaced(*parts)


def name(timelines):
    """The drawing's accessible name: its panels' titles."""
    return said(N_('时间线：{titles}'), titles=_('；').join(t.title for t in timelines))


def describe(timelines):
    """The drawing in words: what a timeline shows, then every panel."""
    return ''.join(
        [_('时间线：每条泳道是一个线程、微线程或回调，时间从左到右，箭头是切换。')]
        + [_described(number, timeline)
           for number, timeline in enumerate(timelines, 1)])


def _described(number, timeline):
    """One panel: its title, length and lanes, then each span, mark and
    switch in time order, at its time since the panel began."""
    times = timeline.times()
    begin = times[0] if times else 0.0

    def at(t):
        return duration(t - begin)

    def noted(label):
        return said(N_('（{label}）'), label=label) if label else ''

    # At one moment: the switch, then what the lane switched to does.
    events = [(span.start, 1, said(N_('{at}起，{lane}{kind} {took}{label}'), at=at(span.start),
                                   lane=span.lane, kind=_(KIND_WORDS[span.kind]),
                                   took=duration(span.end - span.start),
                                   label=noted(span.label)))
              for span in timeline.spans]
    events += [(mark.at, 2, said(N_('{at}，{lane}：{label}'), at=at(mark.at), lane=mark.lane,
                                 label=mark.label))
               for mark in timeline.marks]
    events += [(switch.at, 0, said(N_('{at}，{origin}切换到{target}{label}'), at=at(switch.at),
                                   origin=switch.origin, target=switch.target,
                                   label=noted(switch.label)))
               for switch in timeline.switches]
    took = duration(times[-1] - begin) if times else '0 µs'
    head = said(N_('第 {number} 幅“{title}”，共 {took}，泳道：{lanes}。'), number=number,
                title=timeline.title, took=took, lanes=_('、').join(timeline.lanes))
    return head + _('；').join(text for _at, _order, text in sorted(events)) + _('。')


_DEFS = (
    '<defs>'
    f'<pattern id="tl-blocked" width="6" height="6" '
    f'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    f'<rect width="6" height="6" fill="#f6d5d1"/>'
    f'<rect width="3" height="6" fill="{BLOCKED_COLOUR}"/></pattern>'
    f'<marker id="tl-arrow" viewBox="0 0 8 8" refX="7" refY="4" '
    f'markerWidth="6" markerHeight="6" orient="auto-start-reverse">'
    f'<path d="M0,0 L8,4 L0,8 z" fill="{INK}"/></marker>'
    '</defs>')


def _panel(timeline, top, left, width, colours):
    esc = html.escape
    times = timeline.times()
    x_of = positions(times, width - RIGHT - left)

    def x(t):
        return left + x_of[t]

    bars, y = {}, top + TITLE
    for lane in timeline.lanes:
        bars[lane] = y + (ROW if labelled(timeline, lane) else PAD)
        y += lane_height(timeline, lane)

    took = duration(times[-1] - times[0]) if times else '0'
    out = [f'<g class="timeline-panel" data-title="{esc(timeline.title)}">',
           f'<text x="0" y="{top + 24}" font-size="{TITLE_TEXT}" '
           f'font-weight="bold" fill="{INK}">{esc(timeline.title)}</text>',
           f'<text x="{width - RIGHT}" y="{top + 24}" text-anchor="end" '
           f'fill="#444">{esc(said(N_("共 {took}"), took=took))}</text>']
    # Switches first: a bar covers the start of its arrow, a label's halo
    # the stretch of one that crosses it.
    for switch in timeline.switches:
        at = x(switch.at)
        y1 = bars[switch.origin] + BAR / 2
        y2 = bars[switch.target] + BAR / 2
        y2 += -BAR / 2 if y2 > y1 else BAR / 2
        title = f'<title>{esc(switch.label)}</title>' if switch.label else ''
        out.append(f'<line class="switch" data-origin="{esc(switch.origin)}" '
                   f'data-target="{esc(switch.target)}" x1="{at:.1f}" '
                   f'x2="{at:.1f}" y1="{y1:.1f}" y2="{y2:.1f}" stroke="{INK}" '
                   f'stroke-width="2" marker-end="url(#tl-arrow)">'
                   f'{title}</line>')
    for lane in timeline.lanes:
        colour, y = colours[lane], bars[lane]
        spans, marks = timeline.of(lane)
        out.append(f'<g class="lane" data-lane="{esc(lane)}">'
                   f'<text x="{left - GUTTER}" y="{y + BAR / 2 + 6.5}" '
                   f'text-anchor="end" fill="{INK}">{esc(lane)}</text>'
                   f'<line x1="{left}" x2="{width - RIGHT}" '
                   f'y1="{y + BAR / 2}" y2="{y + BAR / 2}" stroke="#d0d0d0"/>')
        labels = []
        for span in spans:
            start, end = x(span.start), x(span.end)
            out.append(_span(span, start, max(end - start, 2.0), y, colour))
            if span.label:
                labels.append((start, end, span.label))
        for mark in marks:
            at = x(mark.at)
            out.append(f'<path class="mark" d="M{at - 6:.1f},{y - 8} '
                       f'L{at + 6:.1f},{y - 8} L{at:.1f},{y} z" '
                       f'fill="{INK}"/>')
            labels.append((at, at, mark.label))
        out.append(_labels(labels, y - 8, left, width - RIGHT))
        out.append('</g>')
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
            f'stroke="{colour}" stroke-dasharray="4 3"/>')


def place_labels(labels, leftmost, rightmost, size=TEXT):
    """Where a lane's labels go: [(x, width, text)], none on another.

    Each goes over its span or just right of its mark (left of it near
    the right edge), pushed right past the one before (a span's label that
    would stray far is left out; a mark's never is), then pulled back
    inside the right edge.
    """
    placed = []
    for left, right, text in sorted(labels):
        wide = text_width(text, size)
        if left == right:             # a mark's: clear of its triangle
            start = left + 8
            if start + wide > rightmost:
                start = left - 8 - wide
        elif right - left > wide:
            start = (left + right - wide) / 2
        else:
            start = left - 4
        if placed:
            pushed = max(start, placed[-1][0] + placed[-1][1] + LABEL_GAP)
            if pushed - start > 30 and left != right:
                continue          # a span's label that would stray: drop it
            start = pushed
        placed.append([max(start, leftmost), wide, text])
    limit = rightmost
    for label in reversed(placed):
        label[0] = min(label[0], limit - label[1])
        limit = label[0] - LABEL_GAP
    return [tuple(label) for label in placed]


def _labels(labels, baseline, leftmost, rightmost):
    return ''.join(
        f'<text class="label" x="{start:.1f}" y="{baseline}" fill="{INK}" '
        f'stroke="#fff" stroke-width="5" stroke-linejoin="round" '
        f'paint-order="stroke">{html.escape(text)}</text>'
        for start, _, text in place_labels(labels, leftmost, rightmost))


def _legend(timelines, top, width):
    """One row: a key for each kind of thing drawn, and how time runs."""
    kinds = {span.kind for t in timelines for span in t.spans}
    y = top + 26
    mid = y - 6                     # the middle of a CJK character
    keys = {
        'run': (_('运行'), lambda x: f'<rect x="{x}" y="{mid - BAR / 2}" '
                f'width="24" height="{BAR}" fill="{WORKER_COLOURS[0]}"/>'),
        'wait': (_('等待'), lambda x: f'<rect x="{x}" y="{mid - 4}" width="24" '
                 f'height="8" fill="#fff" stroke="{LOOP_COLOUR}" '
                 f'stroke-dasharray="4 3"/>'),
        'blocked': (_('阻塞在内核里'), lambda x: f'<rect x="{x}" '
                    f'y="{mid - BAR / 2}" width="24" height="{BAR}" '
                    f'fill="url(#tl-blocked)" stroke="{BLOCKED_COLOUR}"/>'),
        'switch': (_('切换'), lambda x: f'<line x1="{x + 12}" x2="{x + 12}" '
                   f'y1="{mid - 10}" y2="{mid + 9}" stroke="{INK}" '
                   f'stroke-width="2" marker-end="url(#tl-arrow)"/>'),
    }
    if any(t.switches for t in timelines):
        kinds.add('switch')
    out, x = [], 0
    for kind in ('run', 'wait', 'blocked', 'switch'):
        if kind in kinds:
            text, key = keys[kind]
            out.append(f'{key(x)}<text x="{x + 30}" y="{y}">{text}</text>')
            x += 30 + text_width(text, TEXT) + 24
    out.append(f'<text x="{width - RIGHT}" y="{y}" text-anchor="end">'
               f'{html.escape(_(TIME_NOTE))}</text>')
    return f'<g class="legend" fill="{INK}">' + ''.join(out) + '</g>'


def chosen(panels, numbers):
    """The panels numbered (from 1) in ``numbers``, in that order; all of
    them without numbers.  A number out of range is a ValueError."""
    if not numbers:
        return panels
    wrong = [n for n in numbers if not 1 <= n <= len(panels)]
    if wrong:
        raise ValueError(f'no panel {", ".join(map(str, wrong))}: it has '
                         f'{len(panels)} (1 to {len(panels)})')
    return [panels[n - 1] for n in numbers]


class TimelineDirective(SphinxDirective):
    """.. timeline:: <scenario> -- run it now, draw what it recorded.

    ``:panels: 2`` (or ``1, 3``) draws only those panels of the run.
    """

    required_arguments = 1
    option_spec = {'panels': directives.positive_int_list}

    def run(self):
        from deckext import scenarios
        from microthread import timeline, trace
        from microthread.demos import race, scheduling
        for module in (trace, timeline, scenarios, scheduling, race):
            self.env.note_dependency(module.__file__)
        name = self.arguments[0]
        scenario = scenarios.SCENARIOS.get(name)
        if scenario is None:
            logger.error('timeline: no scenario %r (known: %s)', name,
                         ', '.join(scenarios.SCENARIOS),
                         location=self.get_location())
            return []
        numbers = self.options.get('panels', [])
        uid = '-'.join(['tl', name, *map(str, numbers)])
        try:
            panels = scenario()
        except Exception as error:
            logger.error('timeline: scenario %r failed: %r', name, error,
                         location=self.get_location())
            return []
        try:
            panels = chosen(panels, numbers)
        except ValueError as error:
            logger.error('timeline %s: %s', name, error,
                         location=self.get_location())
            return []
        svg = render(panels, uid=uid)
        shown = ' '.join(map(str, numbers))
        markup = (f'<div class="timeline" data-scenario="{name}" '
                  f'data-panels="{shown}">{svg}</div>')
        return [nodes.raw('', markup, format='html')]


def setup(app):
    app.add_directive('timeline', TimelineDirective)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
