"""Benchmark numbers on the slides, rendered from the data file at build time.

``make bench`` measures and writes ``slides/data/bench.json`` (with the
machine, versions, date and the fingerprint of the code it measured); this
extension only reads it, so building the deck never times anything and every
number on a slide has one source.  It gives the slides:

* ``:bench:`micro.getppid_ns``` -- one measured value, formatted.  A ratio
  (``a / b``, or a ``vs_*`` key) compares two measurements, so it is refused
  here: a comparison is a claim and goes through ``:bench-claim:``;
* ``:bench-claim:`sentence <condition>``` -- a sentence that compares
  measurements, with the comparison it makes stated over the data's keys::

      :bench-claim:`是它的 {micro.thread_hop_pinned_ns / micro.greenlet_switch_ns}
      <micro.thread_hop_pinned_ns > 3 * micro.greenlet_switch_ns>`

  ``{expression}`` in the sentence renders the value (a quotient as a ratio,
  "11.5×").  The condition is the trailing ``<...>``, opened by the first
  ``<``: a sentence has none.  Expressions are keys, numbers,
  ``+ - * /`` (a minus between spaces: keys may contain ``-``) and
  parentheses; conditions compare them with ``< <= > >=``, chained or joined
  with ``and``.  When the data contradicts the condition, the build fails
  naming the slide, the file and the line, and the values;
* ``.. bench-table:: micro|memory|echo|c10k`` -- a compact table;
* ``.. bench-chart:: micro|echo`` -- a bar chart as inline SVG drawn here (no
  plotting library, nothing fetched), with a named axis.  The micro chart's
  content may group its bars, a group a line: ``切换（同一 CPU）: key, key``;
  each bar shows its label and what one step includes;
* ``.. bench-source:: [part ...]`` -- one line naming the machine, versions,
  date and the code the named parts (default: all) were measured on.  When
  that code differs from the working tree's, the line says so visibly
  (测于较早的运行时代码) and the build prints a note naming ``make bench``;
  it does not fail: a runtime change must not wait for a benchmark run.

A missing file or key fails the build with the slide's file and line.
"""

import ast
import html
import json
import math
import operator
import re
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective, SphinxRole

from .fingerprint import SHORT, fingerprint, stale_message, stale_parts

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


def render_value(data, text):
    """'a.b' -> its formatted value; a ratio is refused, a claim states it."""
    key = text.strip()
    if '/' in key or key.rsplit('.', 1)[-1].startswith('vs_'):
        raise BenchDataError(f'{key!r} is a ratio, a comparison of two '
                             'measurements: write its sentence with :bench-claim:')
    return number(lookup(data, key))


# -- comparisons: expressions over the data's keys -----------------------------

KEY = re.compile(r'[A-Za-z_][\w-]*(?:\.[\w-]+)+')   # at least one dot: micro.x
PLACEHOLDER = re.compile(r'\{([^{}]*)\}')
OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub,
             ast.Mult: operator.mul, ast.Div: operator.truediv,
             ast.Lt: operator.lt, ast.LtE: operator.le,
             ast.Gt: operator.gt, ast.GtE: operator.ge}
SYMBOLS = {ast.Lt: '<', ast.LtE: '≤', ast.Gt: '>', ast.GtE: '≥'}


class Expression:
    """Arithmetic over the data's keys, and comparisons of it; nothing else."""

    def __init__(self, text):
        self.text = text.strip()
        self.keys = []

        def name(match):
            self.keys.append(match.group())
            return f'_{len(self.keys) - 1}'
        try:
            self.tree = ast.parse(KEY.sub(name, self.text), mode='eval').body
        except SyntaxError:
            raise BenchDataError(f'{self.text!r} is not an expression over '
                                 'the data\'s keys') from None

    def value(self, data):
        values = [lookup(data, key) for key in self.keys]
        try:
            return self._evaluate(self.tree, values)
        except ZeroDivisionError:
            raise BenchDataError(f'{self.text!r} divides by zero') from None

    def render(self, data):
        """The value as a slide shows it: a quotient as a ratio, "3.2×"."""
        value = self.value(data)
        if isinstance(self.tree, ast.BinOp) and isinstance(self.tree.op, ast.Div):
            return number(value, ratio=True)
        if isinstance(self.tree, ast.Name):
            return number(value, self.keys[0].rsplit('.', 1)[-1].startswith('vs_'))
        return number(value)

    def compares(self):
        return all(isinstance(part, ast.Compare) for part in self._parts())

    def _parts(self):
        """The conditions joined by "and" (one if none are)."""
        return (self.tree.values if isinstance(self.tree, ast.BoolOp)
                else [self.tree])

    def _evaluate(self, node, values):
        def evaluate(child):
            return self._evaluate(child, values)
        if isinstance(node, ast.Name) and re.fullmatch(r'_\d+', node.id):
            return values[int(node.id[1:])]
        if (isinstance(node, ast.Constant) and type(node.value) in (int, float)):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -evaluate(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
            return OPERATORS[type(node.op)](evaluate(node.left), evaluate(node.right))
        if isinstance(node, ast.Compare) and all(type(op) in SYMBOLS
                                                 for op in node.ops):
            sides = [evaluate(node.left)] + [evaluate(c) for c in node.comparators]
            return all(OPERATORS[type(op)](a, b)
                       for op, a, b in zip(node.ops, sides, sides[1:]))
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
            return all(evaluate(value) for value in node.values)
        raise BenchDataError(f'{self.text!r}: only keys, numbers, + - * / ( ), '
                             '< <= > >= and "and"')

    def explain(self, data):
        """Each side of each comparison with its value, for an error."""
        shown = []
        for part in self._parts():
            sides = [part.left, *part.comparators]
            text = f' {SYMBOLS[type(part.ops[0])]} '.join(
                self._show(side, data) for side in sides[:2])
            for op, side in zip(part.ops[1:], sides[2:]):
                text += f' {SYMBOLS[type(op)]} {self._show(side, data)}'
            shown.append(text)
        return '; '.join(shown)

    def _show(self, node, data):
        source = re.sub(r'_(\d+)', lambda m: self.keys[int(m.group(1))],
                        ast.unparse(node))
        if isinstance(node, ast.Constant):
            return source
        values = [lookup(data, key) for key in self.keys]
        value = number(self._evaluate(node, values))
        return value if source == value else f'{source} = {value}'


def parse_claim(text):
    """'sentence <condition>' -> (sentence, condition).

    The condition opens at the first '<': a sentence has none.  A backtick
    inside means docutils ran this role on into the next one, which it does
    when the closing backtick is followed by an opening bracket such as "（".
    """
    text = text.strip()
    if '`' in text:
        raise BenchDataError(f'{text!r} runs on into the next role: follow the '
                             'closing backtick with a space or "，。；：" ')
    opening = text.find('<')
    if opening < 0 or not text.endswith('>'):
        raise BenchDataError(f'{text!r}: a claim is "sentence <condition>", '
                             'and this has no trailing <condition>')
    return text[:opening].rstrip(), text[opening + 1:-1].strip()


def render_claim(data, text):
    """(the sentence with its values, None or why the data contradicts it)."""
    sentence, condition = parse_claim(text)
    rendered = PLACEHOLDER.sub(lambda m: Expression(m.group(1)).render(data),
                               sentence)
    check = Expression(condition)
    if not check.compares():
        raise BenchDataError(f'{condition!r} does not compare: a claim\'s '
                             'condition is a comparison, like a > 2 * b')
    if check.value(data):
        return rendered, None
    return rendered, f'{condition} is false: {check.explain(data)}'


class BenchRole(SphinxRole):
    """:bench:`micro.getppid_ns` -> 322 (as measured)."""

    def run(self):
        self.env.note_dependency(self.config.bench_data)
        try:
            text = render_value(load(self.env), self.text)
        except BenchDataError as error:
            logger.error('bench: %s', error, location=self.get_location())
            text = '?'
        return [nodes.inline(self.rawtext, text, classes=['bench'])], []


class BenchClaimRole(SphinxRole):
    """:bench-claim:`sentence {a / b} <a > 2 * b>` -> the sentence, checked.

    A contradicted claim is reported once the slide's tree is whole
    (report_false_claims), so that the error can name the slide.
    """

    def run(self):
        self.env.note_dependency(self.config.bench_data)
        try:
            text, false = render_claim(load(self.env), self.text)
        except BenchDataError as error:
            logger.error('bench-claim: %s', error, location=self.get_location())
            return [nodes.inline(self.rawtext, '?', classes=['bench'])], []
        node = nodes.inline(self.rawtext, text, classes=['bench', 'bench-claim'])
        node.source, node.line = self.get_source_info()
        if false:
            node['bench_false'] = false
        return [node], []


def report_false_claims(app, doctree):
    """Fail the build on each claim the data contradicts, naming its slide."""
    for node in doctree.findall(nodes.inline):
        false = node.attributes.pop('bench_false', None)
        if false is None:
            continue
        section = node.parent
        while section is not None and not isinstance(section, nodes.section):
            section = section.parent
        slide = section[0].astext() if section is not None else '?'
        logger.error('bench-claim: the data contradicts a claim on slide %r: %s',
                     slide, false, location=node)
        node += nodes.raw('', f'<strong class="bench-false" style="{FALSE_STYLE}">'
                              '（数据不支持这句话）</strong>', format='html')
        app._bench_false_claims = getattr(app, '_bench_false_claims', 0) + 1


def fail_on_false_claims(app, error):
    """A false claim fails every build, not only the strict one (-W)."""
    if error is None and getattr(app, '_bench_false_claims', 0):
        app.statuscode = 1


# -- tables, charts and the source line ----------------------------------------

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
    """.. bench-chart:: micro|echo -- horizontal bars, as inline SVG.

    The micro chart's content, if any, groups its bars, one group a line::

        切换（同一 CPU）: greenlet_switch_ns, thread_hop_pinned_ns
    """

    required_arguments = 1
    has_content = True
    option_spec = {'keys': directives.unchanged, 'n': directives.unchanged,
                   'width': directives.positive_int}

    def render(self, data):
        kind = self.arguments[0]
        width = self.options.get('width', 760)
        if kind == 'micro':
            micro = lookup(data, 'micro')
            includes = data.get('labels', {}).get('micro_includes', {})
            groups = [(heading, [(lookup(data, f'labels.micro.{k}'),
                                  includes.get(k, ''), [lookup(micro, k)])
                                 for k in keys])
                      for heading, keys in self.groups(micro)]
            return svg_bars(groups, [], '纳秒/次，对数刻度：每格 ×10', log=True,
                            width=width)
        if kind == 'echo':
            counts = [n.strip() for n in self.options.get('n', '100,1000').split(',')]
            tables = [lookup(data, f'echo.n{n}') for n in counts]
            bars = [(lookup(data, f'labels.servers.{k}'), '',
                     [lookup(table, f'{k}.msgs') for table in tables])
                    for k in self.keys(tables[0])]
            return svg_bars([('', bars)], [f'N = {n}' for n in counts],
                            '消息/秒', width=width)
        raise BenchDataError(f'no chart {kind!r}: micro or echo')

    def groups(self, micro):
        """[(heading, keys)] from the content, else one group from :keys:."""
        if not self.content:
            return [('', self.keys(micro))]
        groups = []
        for line in self.content:
            heading, colon, keys = line.rpartition(':')
            if not colon or not keys.strip():
                raise BenchDataError(f'{line!r}: a group is "heading: key, key"')
            groups.append((heading.strip(), [k.strip() for k in keys.split(',')]))
        return groups


class BenchSource(BenchDirective):
    """.. bench-source:: [part ...] -- where, when and on which code.

    The parts (micro, memory, echo, c10k) are those the slide quotes; by
    default every part the data file has.
    """

    optional_arguments = 4

    def render(self, data):
        meta = lookup(data, 'meta')
        machine, versions = meta['machine'], meta['versions']
        used = ', '.join(f'{name} {version}' for name, version in versions.items()
                         if version and name != 'cc')
        for part in self.arguments:
            lookup(data, part)              # a misspelt part is an error
        root = code_root(self.env)
        current = code_fingerprint(self.env)
        for path in current['files']:
            self.env.note_dependency(str(root / path))
        stale, now = stale_parts(data, root, self.arguments or None, current)
        recorded = meta.get('code', {}).get('parts', {})
        measured = {recorded.get(part) for part in self.arguments or recorded}
        if len(measured) == 1 and None not in measured:
            code = f'代码 {measured.pop()[:SHORT]}'
        else:
            code = '代码 ' + '，'.join(
                f'{part} {(recorded.get(part) or "未记录")[:SHORT]}'
                for part in self.arguments or recorded)
        text = html.escape(f'make bench，{meta["date"]}：{machine["cpu"]}，'
                           f'{machine["cpus"]} 核；{used}；{code}')
        if stale:
            text += (f'；<strong class="bench-stale" style="{STALE_STYLE}">'
                     f'测于较早的运行时代码</strong>（现在 {now[:SHORT]}）')
        return f'<p class="bench-source" style="{SOURCE_STYLE}">{text}</p>'


def code_root(env):
    """The tree whose code the numbers should have been measured on."""
    return (Path(env.app.confdir) / env.config.bench_code_root).resolve()


def code_fingerprint(env):
    """The working tree's fingerprint, computed once per build."""
    root = code_root(env)
    cache = getattr(env.app, '_bench_code', None)
    if cache is None or cache[0] != root:
        env.app._bench_code = cache = (root, fingerprint(root))
    return cache[1]


def note_stale_code(app):
    """Say once a build which numbers were measured on other code.

    A note, not a warning: the strict build turns warnings into errors, and
    a runtime change must not need a benchmark run to land.  The slides say
    it too, on the bench-source line.
    """
    try:
        data = load(app.env)
    except BenchDataError:
        return          # the directives report it, with file and line
    stale, now = stale_parts(data, code_root(app.env),
                             current=code_fingerprint(app.env))
    if stale:
        logger.info(stale_message(stale, now, app.env.config.bench_data),
                    color='darkred')


FALSE_STYLE = 'color: #b00020; font-weight: bold'
SOURCE_STYLE = 'font-size: 14px; color: #777; margin: 6px 0 0 0; line-height: 1.3'
STALE_STYLE = 'color: #b3261e; font-weight: bold'
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


def ticks(low, top, log):
    """Where the axis is marked: every power of ten, or 3 to 6 round steps."""
    if log:
        first, last = math.ceil(math.log10(low)), math.floor(math.log10(top))
        return [10.0 ** k for k in range(first, last + 1)]
    step = 10 ** math.floor(math.log10(top))
    for factor in (1, 0.5, 0.2):
        if top / (step * factor) >= 3:
            step *= factor
            break
    return [step * i for i in range(int(top / step) + 1)]


def svg_bars(groups, series, axis, log=False, width=760, bar=16, label_width=300):
    """Horizontal bars over an axis that names its scale.

    ``groups`` is [(heading, [(label, includes, [value per series])])]: a
    heading ('' for none) over its bars; under each bar's label a smaller
    line says what one step includes.  A log scale shows a ladder of costs
    spanning three orders of magnitude.
    """
    values = [v for _, bars in groups for _, _, vs in bars for v in vs]
    top = max(values) * 1.05
    low = 10 ** math.floor(math.log10(min(values))) if log else 0
    room = width - label_width - 70

    def length(value):
        if log:
            return room * math.log(value / low) / math.log(top / low)
        return room * value / top

    detailed = any(what for _, bars in groups for _, what, _ in bars)
    row = max(bar * max(len(series), 1) + 6, 32 if detailed else 0)
    y = 22 if len(series) > 1 else 0
    out = []
    for i, name in enumerate(series if len(series) > 1 else []):
        x = label_width + 90 * i
        out.append(f'<rect x="{x}" y="4" width="12" height="12" '
                   f'fill="{BAR_COLOURS[i % len(BAR_COLOURS)]}"/>'
                   f'<text x="{x + 16}" y="15" font-size="15">{html.escape(name)}</text>')
    for heading, bars in groups:
        if heading:
            out.append(f'<text x="0" y="{y + 16}" font-size="16" font-weight="bold">'
                       f'{html.escape(heading)}</text>')
            y += 21
        for label, includes, vs in bars:
            first = y + (13 if includes else row / 2 + 5)
            out.append(f'<text x="{label_width - 8}" y="{first:.0f}" font-size="16" '
                       f'text-anchor="end">{html.escape(label)}</text>')
            if includes:
                out.append(f'<text x="{label_width - 8}" y="{first + 15:.0f}" '
                           f'font-size="12" fill="#666" text-anchor="end">'
                           f'{html.escape(includes)}</text>')
            for i, value in enumerate(vs):
                w = max(1.0, length(value))
                bar_y = y + (row - bar * len(vs)) / 2 + i * bar
                out.append(f'<rect x="{label_width}" y="{bar_y:.0f}" width="{w:.1f}" '
                           f'height="{bar - 2}" fill="{BAR_COLOURS[i % len(BAR_COLOURS)]}"/>'
                           f'<text x="{label_width + w + 4:.1f}" y="{bar_y + bar - 4:.0f}" '
                           f'font-size="14" fill="#333">{html.escape(number(value))}</text>')
            y += row
    y += 4
    out.append(f'<line x1="{label_width}" y1="{y}" x2="{label_width + room}" y2="{y}" '
               f'stroke="#999"/>')
    for mark in ticks(low or 1, top, log):
        x = label_width + (length(mark) if mark > low else 0)
        out.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 4}" stroke="#999"/>'
                   f'<text x="{x:.1f}" y="{y + 16}" font-size="12" fill="#666" '
                   f'text-anchor="middle">{mark:,.0f}</text>')
    out.append(f'<text x="{label_width + room / 2:.0f}" y="{y + 32}" font-size="13" '
               f'fill="#444" text-anchor="middle">{html.escape(axis)}</text>')
    height = y + 36
    return (f'<svg class="bench-chart" xmlns="http://www.w3.org/2000/svg" '
            f'width="{width}" height="{height:.0f}" viewBox="0 0 {width} {height:.0f}" '
            f'role="img">{"".join(out)}</svg>')


def setup(app):
    app.add_config_value('bench_data', 'slides/data/bench.json', 'env', types=(str,))
    app.add_config_value('bench_code_root', '.', 'env', types=(str,))
    app.add_role('bench', BenchRole())
    app.add_role('bench-claim', BenchClaimRole())
    app.add_directive('bench-table', BenchTable)
    app.add_directive('bench-chart', BenchChart)
    app.add_directive('bench-source', BenchSource)
    app.connect('doctree-read', report_false_claims)
    app.connect('build-finished', fail_on_false_claims)
    app.connect('builder-inited', note_stale_code)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
