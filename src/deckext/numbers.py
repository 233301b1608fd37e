"""Benchmark numbers on the slides, rendered from the data file at build time.

``make bench`` measures and writes ``slides/data/bench.json`` (with the
machine, versions and date); this extension only reads it, so building the
deck never times anything and every number on a slide has one source.  It
gives the slides:

* ``:bench:`micro.getppid_ns``` -- one number, formatted (ratios as "1.3×");
  ``:bench:`micro.getppid_ns / micro.function_call_ns``` -- a ratio of two;
* ``.. bench-table:: micro|memory|echo|c10k`` -- a compact table;
* ``.. bench-chart:: micro|echo`` -- a bar chart as inline SVG drawn here
  (no plotting library, nothing fetched);
* ``.. bench-source::`` -- one line naming the machine, versions and date.

A missing file or key fails the build with the slide's file and line.
"""

import html
import json
import math
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective, SphinxRole

logger = logging.getLogger(__name__)

BAR_COLOURS = ('#2a6fb0', '#e08a1e', '#5a9e3a', '#8a5bb0')


class BenchDataError(Exception):
    """The data file is missing, unreadable, or lacks a value a slide asks for."""


def load(env):
    """The data file as a dict, read once per build (and per process)."""
    path = (Path(env.app.confdir) / env.config.bench_data).resolve()
    cache = getattr(env.app, '_bench_data', None)
    if cache is None or cache[0] != path:
        try:
            data = json.loads(path.read_text(encoding='utf-8'))
        except (OSError, ValueError) as error:
            raise BenchDataError(f'cannot read {path}: {error}; run `make bench`')
        env.app._bench_data = cache = (path, data)
    return cache[1]


def lookup(data, dotted):
    """data['a']['b'] for 'a.b'; the error names the first missing part."""
    value = data
    for depth, part in enumerate(dotted.split('.')):
        if not isinstance(value, dict) or part not in value:
            known = ', '.join(sorted(value)) if isinstance(value, dict) else '-'
            done = '.'.join(dotted.split('.')[:depth]) or 'the data file'
            raise BenchDataError(f'no {part!r} in {done} (has: {known})')
        value = value[part]
    return value


def number(value, ratio=False):
    """A number as a slide shows it: 3 significant digits, thousands grouped."""
    if ratio:
        return f'{value:.2f}×' if value < 10 else f'{value:.0f}×'
    if abs(value) >= 100:
        return f'{round(value):,}'
    if abs(value) >= 10:
        return f'{value:.1f}'
    return f'{value:.2f}'


def render_expression(data, text):
    """'a.b' or 'a.b / c.d' -> its formatted text."""
    parts = [part.strip() for part in text.split('/')]
    if len(parts) == 2:
        return number(lookup(data, parts[0]) / lookup(data, parts[1]), ratio=True)
    if len(parts) != 1:
        raise BenchDataError(f'{text!r}: use "a.b" or "a.b / c.d"')
    key = parts[0].rsplit('.', 1)[-1]
    return number(lookup(data, parts[0]), ratio=key.startswith('vs_'))


class BenchRole(SphinxRole):
    """:bench:`micro.getppid_ns` -> 322 (as measured)."""

    def run(self):
        self.env.note_dependency(self.config.bench_data)
        try:
            text = render_expression(load(self.env), self.text)
        except (BenchDataError, ZeroDivisionError) as error:
            logger.error('bench: %s', error, location=self.get_location())
            text = '?'
        return [nodes.inline(self.rawtext, text, classes=['bench'])], []


class BenchDirective(SphinxDirective):
    """Shared part of the directives: data, errors with file and line."""

    def run(self):
        self.env.note_dependency(self.config.bench_data)
        try:
            markup = self.render(load(self.env))
        except BenchDataError as error:
            logger.error('bench: %s', error, location=self.get_location())
            return []
        return [nodes.raw('', markup, format='html')]

    def keys(self, default):
        given = self.options.get('keys')
        return [k.strip() for k in given.split(',')] if given else list(default)


class BenchTable(BenchDirective):
    """.. bench-table:: micro|memory|echo|c10k (options :keys:, :n:)."""

    required_arguments = 1
    option_spec = {'keys': directives.unchanged, 'n': directives.unchanged}

    def render(self, data):
        kind = self.arguments[0]
        table = getattr(self, f'_{kind}', None)
        if table is None:
            raise BenchDataError(f'no table {kind!r}: micro, memory, echo or c10k')
        return html_table(*table(data))

    def _micro(self, data):
        micro = lookup(data, 'micro')
        base = lookup(data, 'micro.function_call_ns')
        rows = [(lookup(data, f'labels.micro.{k}'), number(lookup(data, f'micro.{k}')),
                 number(micro[k] / base, ratio=True))
                for k in self.keys(micro)]
        return ('', 'ns/次', '÷ 函数调用'), rows

    def _memory(self, data):
        rows = [(lookup(data, f'labels.memory.{k}'),
                 number(lookup(data, f'memory.{k}')))
                for k in self.keys(lookup(data, 'memory'))]
        return ('挂起等待的一个', 'KiB'), rows

    def _echo(self, data):
        counts = self.options.get('n', '100,1000').split(',')
        tables = [lookup(data, f'echo.n{n.strip()}') for n in counts]
        rows = []
        for k in self.keys(tables[0]):
            row = [lookup(data, f'labels.servers.{k}')]
            for n, table in zip(counts, tables):
                entry = lookup(table, k)
                row += [number(entry['msgs']), number(entry['server_us']),
                        number(entry['vs_gevent'], ratio=True)
                        if 'vs_gevent' in entry else '-']
            rows.append(row)
        head = ['', *['消息/秒', 'µs/条', '÷gevent'] * len(counts)]
        groups = [('', 1)] + [(f'N = {n.strip()} 个连接', 3) for n in counts]
        return head, rows, groups

    def _c10k(self, data):
        c10k = lookup(data, 'c10k')
        rows = [(lookup(data, f'labels.servers.{k}'),
                 number(lookup(c10k, f'{k}.rss_mib')),
                 number(lookup(c10k, f'{k}.kib_per_conn')),
                 number(lookup(c10k, f'{k}.echo_once_s')))
                for k in self.keys(c10k)]
        return ('1 万个空闲连接', 'RSS MiB', 'KiB/连接', '全部回显一次 s'), rows


class BenchChart(BenchDirective):
    """.. bench-chart:: micro|echo -- horizontal bars, as inline SVG."""

    required_arguments = 1
    option_spec = {'keys': directives.unchanged, 'n': directives.unchanged,
                   'width': directives.positive_int}

    def render(self, data):
        kind = self.arguments[0]
        if kind == 'micro':
            micro = lookup(data, 'micro')
            keys = self.keys(micro)
            bars = [(lookup(data, f'labels.micro.{k}'), [lookup(micro, k)]) for k in keys]
            return svg_bars(bars, ['ns/次 (对数刻度)'], log=True,
                            width=self.options.get('width', 760))
        if kind == 'echo':
            counts = [n.strip() for n in self.options.get('n', '100,1000').split(',')]
            tables = [lookup(data, f'echo.n{n}') for n in counts]
            bars = [(lookup(data, f'labels.servers.{k}'),
                     [lookup(table, f'{k}.msgs') for table in tables])
                    for k in self.keys(tables[0])]
            return svg_bars(bars, [f'N = {n} 消息/秒' for n in counts],
                            width=self.options.get('width', 760))
        raise BenchDataError(f'no chart {kind!r}: micro or echo')


class BenchSource(BenchDirective):
    """.. bench-source:: -- where and when the numbers were measured."""

    def render(self, data):
        meta = lookup(data, 'meta')
        machine, versions = meta['machine'], meta['versions']
        used = ', '.join(f'{name} {version}' for name, version in versions.items()
                         if version and name != 'cc')
        text = (f'make bench，{meta["date"]}：{machine["cpu"]}，'
                f'{machine["cpus"]} 核；{used}')
        return f'<p class="bench-source" style="{SOURCE_STYLE}">{html.escape(text)}</p>'


SOURCE_STYLE = 'font-size: 14px; color: #777; margin: 6px 0 0 0; line-height: 1.3'
TABLE_STYLE = ('border-collapse: collapse; font-size: 18px; line-height: 1.25; '
               'margin: 10px 0')
CELL_STYLE = ('padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: right; '
              'white-space: nowrap')


def html_table(head, rows, groups=()):
    """A small table with inline styles, so it looks alike on every builder;
    ``groups`` is an optional first header row of (text, columns spanned)."""
    def cells(tag, values):
        out = []
        for i, value in enumerate(values):
            align = 'text-align: left' if i == 0 else ''
            out.append(f'<{tag} style="{CELL_STYLE}; {align}">'
                       f'{html.escape(str(value))}</{tag}>')
        return ''.join(out)
    top = ''.join(f'<th colspan="{span}" style="{CELL_STYLE}; text-align: center">'
                  f'{html.escape(text)}</th>' for text, span in groups)
    top = f'<tr>{top}</tr>' if groups else ''
    body = ''.join(f'<tr>{cells("td", row)}</tr>' for row in rows)
    return (f'<table class="bench" style="{TABLE_STYLE}">'
            f'<thead>{top}<tr>{cells("th", head)}</tr></thead>'
            f'<tbody>{body}</tbody></table>')


def svg_bars(bars, series, log=False, width=760, bar=20, gap=6, label_width=280):
    """Horizontal bars: one group per (label, values), one colour per series.

    A log scale shows a ladder of costs spanning three orders of magnitude;
    each bar carries its value so the chart reads without an axis.
    """
    values = [v for _, vs in bars for v in vs]
    top = max(values)
    low = min(values) / 2 if log else 0

    def length(value):
        room = width - label_width - 90
        if log:
            return room * math.log(value / low) / math.log(top / low)
        return room * value / top

    group = bar * len(series) + gap
    legend = 22 if len(series) > 1 or log else 0
    height = legend + group * len(bars)
    out = [f'<svg class="bench-chart" xmlns="http://www.w3.org/2000/svg" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'font-size="{bar + 1}" role="img">']
    x = label_width
    for i, name in enumerate(series):
        colour = BAR_COLOURS[i % len(BAR_COLOURS)]
        out.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{colour}"/>'
                   f'<text x="{x + 16}" y="15">{html.escape(name)}</text>')
        x += 40 + 12 * len(name)
    for row, (label, vs) in enumerate(bars):
        y = legend + row * group
        middle = y + bar * len(vs) / 2 + 5
        out.append(f'<text x="{label_width - 8}" y="{middle:.0f}" '
                   f'text-anchor="end">{html.escape(label)}</text>')
        for i, value in enumerate(vs):
            w = max(1.0, length(value))
            colour = BAR_COLOURS[i % len(BAR_COLOURS)]
            out.append(f'<rect x="{label_width}" y="{y + i * bar}" width="{w:.1f}" '
                       f'height="{bar - 2}" fill="{colour}"/>'
                       f'<text x="{label_width + w + 4:.1f}" y="{y + i * bar + bar - 3}" '
                       f'fill="#333">{html.escape(number(value))}</text>')
    out.append('</svg>')
    return ''.join(out)


def setup(app):
    app.add_config_value('bench_data', 'slides/data/bench.json', 'env', types=(str,))
    app.add_role('bench', BenchRole())
    app.add_directive('bench-table', BenchTable)
    app.add_directive('bench-chart', BenchChart)
    app.add_directive('bench-source', BenchSource)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
