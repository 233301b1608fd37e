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

  ``{expression}`` in the sentence renders the value; the notes are read
  aloud, so a ratio (a quotient, or a ``vs_*`` key) is said in words:
  "10 倍", "1.2 倍" (two significant digits), below 1 "约七成" (tenths).
  The condition is the trailing ``<...>``, opened by the first ``<``: a
  sentence has none.  Expressions are keys, numbers,
  ``+ - * /`` (a minus between spaces: keys may contain ``-``) and
  parentheses; conditions compare them with ``< <= > >=``, chained or joined
  with ``and``.  When the data contradicts the condition, the build fails
  naming the slide, the file and the line, and the values;
* ``.. bench-table:: micro|memory|echo|c10k`` -- a compact table (ratios as
  "9.96×");
* ``.. bench-chart:: micro|echo|c10k-memory`` -- a chart as inline SVG drawn
  here (no plotting library, nothing fetched), with named axes.  ``micro``
  and ``echo`` are bars; the micro chart's content may group its bars, a
  group a line: ``切换（同一 CPU）: key, key``; each bar shows its label, its
  value and what one step includes.  ``c10k-memory`` is the servers' resident
  memory against the connections they hold (``c10k.<kind>.rss_curve``), a
  line with a dot per measured count for each server of ``:keys:`` (default
  all), named at its end;
* ``.. bench-source:: [part ...]`` -- a short footnote naming the date, the
  machine, Python and greenlet, and the code the named parts (default: all)
  were measured on; the data file has the rest.  When that code differs
  from the working tree's, the line says so visibly (测于较早的运行时代码)
  and the build prints a note naming ``make bench``; it does not fail: a
  runtime change must not wait for a benchmark run.

Every text drawn here is at least 18 px on a 900x700 slide, and a chart is
as wide as the slide's 778 px content box, drawn 1:1 (never scaled down);
``tests/deck/test_deck_charts.py`` measures that in Chromium.  A missing
file or key fails the build with the slide's file and line.
"""

import ast
import html
import json
import math
import operator
import re
import unicodedata
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective, SphinxRole

from . import benchlabels
from .fingerprint import SHORT, fingerprint, stale_message, stale_parts
from .words import _, is_source

logger = logging.getLogger(__name__)

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


TENTHS = '一二三四五六七八九'


# The same words in the English edition: "1.2 times", "about 70%".
RATIO_WORDS = {
    'zh': {'times': '{} 倍', 'none': '不到一成', 'nearly': '九成多',
           'half': '约一半', 'about': lambda tenths: f'约{TENTHS[tenths - 1]}成'},
    'en': {'times': '{} times', 'none': 'less than a tenth', 'nearly': 'over 90%',
           'half': 'about half', 'about': lambda tenths: f'about {tenths}0%'},
}


def spoken_ratio(value, language='zh_CN'):
    """A ratio as a sentence read aloud says it: "10 倍", "1.2 倍", "约七成"
    (in English: "10 times", "1.2 times", "about 70%").

    At least 1: two significant digits and 倍.  Below 1: rounded to tenths,
    in 成 (约一半 for one half); what rounds to 1 is 九成多, and what rounds
    to 0 is 不到一成, so the words never contradict the side of 1 it is on.
    """
    words = RATIO_WORDS['en' if (language or '').startswith('en') else 'zh']
    if value >= 1:
        digits = 1 - math.floor(math.log10(value))
        if round(value, digits) >= 10 ** (2 - digits):   # 9.96 -> 10, not 10.0
            digits -= 1
        return words['times'].format(f'{round(value, digits):.{max(digits, 0)}f}')
    tenths = math.floor(value * 10 + 0.5)
    if tenths == 0:
        return words['none']
    if tenths == 10:
        return words['nearly']
    return words['half'] if tenths == 5 else words['about'](tenths)


def render_value(data, text):
    """'a.b' -> its formatted value; a ratio is refused, a claim states it."""
    key = text.strip()
    if '/' in key or key.rsplit('.', 1)[-1].startswith('vs_'):
        raise BenchDataError(f'{key!r} is a ratio, a comparison of two '
                             'measurements: write its sentence with :bench-claim:')
    return number(lookup(data, key))


# -- comparisons: expressions over the data's keys -----------------------------

KEY = re.compile(r'[A-Za-z_][\w-]*(?:\.[\w-]+)+')   # at least one dot: micro.x
PLACEHOLDER = re.compile(r'( ?)\{([^{}]*)\}')
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

    def render(self, data, language='zh_CN'):
        """The value as a sentence says it: a ratio (a quotient, or a
        ``vs_*`` key) in words read aloud, "3.2 倍" or "约七成"."""
        value = self.value(data)
        if not (isinstance(self.tree, ast.BinOp) and isinstance(self.tree.op, ast.Div)
                or isinstance(self.tree, ast.Name)
                and self.keys[0].rsplit('.', 1)[-1].startswith('vs_')):
            return number(value)
        if value < 0:
            raise BenchDataError(f'{self.text!r} is {number(value)}: a ratio below '
                                 'zero cannot be said as a multiple')
        return spoken_ratio(value, language)

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


def render_claim(data, text, language='zh_CN'):
    """(the sentence with its values, None or why the data contradicts it)."""
    sentence, condition = parse_claim(text)

    def value(match):
        words = Expression(match.group(2)).render(data, language)
        # "的 {x}" is "的 1.2 倍" but "的约七成": no space before CJK
        return words if words[0] > '\u2e7f' else match.group(1) + words
    rendered = PLACEHOLDER.sub(value, sentence)
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
            text, false = render_claim(load(self.env), self.text, self.config.language)
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
                              f'{html.escape(_("（数据不支持这句话）"))}</strong>', format='html')
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
        rows = [(named('micro', k), number(lookup(data, f'micro.{k}')),
                 number(micro[k] / base, ratio=True))
                for k in self.keys(micro)]
        return ('', _('ns/次'), _('÷ 函数调用')), rows

    def _memory(self, data):
        rows = [(named('memory', k),
                 number(lookup(data, f'memory.{k}')))
                for k in self.keys(lookup(data, 'memory'))]
        return (_('挂起等待的一个'), 'KiB'), rows

    def _echo(self, data):
        counts = self.options.get('n', '100,1000').split(',')
        tables = [lookup(data, f'echo.n{n.strip()}') for n in counts]
        rows = []
        for k in self.keys(tables[0]):
            row = [named('servers', k)]
            for n, table in zip(counts, tables):
                entry = lookup(table, k)
                row += [number(entry['msgs']), number(entry['server_us']),
                        number(entry['vs_gevent'], ratio=True)
                        if 'vs_gevent' in entry else '-']
            rows.append(row)
        head = ['', *[_('消息/秒'), _('µs/条'), '÷gevent'] * len(counts)]
        groups = [('', 1)] + [(_('N = {n} 个连接').format(n=n.strip()), 3) for n in counts]
        return head, rows, groups

    def _c10k(self, data):
        c10k = lookup(data, 'c10k')
        rows = []
        for k in self.keys(c10k):
            held = 'stopped' not in lookup(c10k, k)     # it held them all
            rows.append([server_name(data, k)] + [
                number(lookup(c10k, f'{k}.{column}')) if held else '-'
                for column in ('rss_mib', 'kib_per_conn', 'echo_once_s')])
        return (_('1 万个空闲连接'), 'RSS MiB', _('KiB/连接'), _('全部回显一次 s')), rows


def server_name(data, kind):
    """A server's label; one that could not hold every connection says how
    far it went."""
    name = named('servers', kind)
    entry = lookup(data, f'c10k.{kind}')
    if 'stopped' in entry:
        reached = count_label(max(curve_points(data, kind))[0])
        name += _('（只到 {count}）').format(count=reached)
    return name


def named(part, key):
    """The deck's name of a measured key (deckext.benchlabels)."""
    try:
        return benchlabels.label(part, key)
    except LookupError as missing:
        raise BenchDataError(str(missing)) from None


def curve_points(data, kind):
    """[(connections, MiB)] of a server's c10k memory curve, in order."""
    curve = lookup(data, f'c10k.{kind}.rss_curve')
    try:
        return sorted((int(count), mib) for count, mib in curve.items())
    except (AttributeError, ValueError):
        raise BenchDataError(f'c10k.{kind}.rss_curve is not '
                             '{"connections": MiB, ...}') from None


class BenchChart(BenchDirective):
    """.. bench-chart:: micro|echo|c10k-memory -- a chart, as inline SVG.

    ``micro`` and ``echo`` are horizontal bars; the micro chart's content,
    if any, groups its bars, one group a line::

        切换（同一 CPU）: greenlet_switch_ns, thread_hop_pinned_ns

    ``c10k-memory`` is a line a server (``:keys:``, default all) of its
    resident memory against the connections it holds.
    """

    required_arguments = 1
    has_content = True
    option_spec = {'keys': directives.unchanged, 'n': directives.unchanged,
                   'width': directives.positive_int}

    def render(self, data):
        kind = self.arguments[0]
        width = self.options.get('width', CHART_WIDTH)
        uid = f'bench-{kind}-{self.env.new_serialno("bench-chart")}'
        if kind == 'micro':
            micro = lookup(data, 'micro')
            groups = [(_(heading) if heading else '',
                       [(named('micro', k), benchlabels.includes(k), [lookup(micro, k)]) for k in keys])
                      for heading, keys in self.groups(micro)]
            return svg_bars(groups, [], _('纳秒/次，对数刻度'), log=True, width=width, uid=uid)
        if kind == 'echo':
            counts = [n.strip() for n in self.options.get('n', '100,1000').split(',')]
            tables = [lookup(data, f'echo.n{n}') for n in counts]
            bars = [(named('servers', k), '',
                     [lookup(table, f'{k}.msgs') for table in tables])
                    for k in self.keys(tables[0])]
            return svg_bars([('', bars)], [f'N = {n}' for n in counts],
                            _('消息/秒'), width=width, uid=uid)
        if kind == 'c10k-memory':
            lines = [(server_name(data, k), curve_points(data, k))
                     for k in self.keys(lookup(data, 'c10k'))]
            return svg_lines(lines, _('连接数'), _('常驻内存 MiB'), width=width, uid=uid)
        raise BenchDataError(f'no chart {kind!r}: micro, echo or c10k-memory')

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
        used = _('，').join(f'{name.capitalize() if name == "python" else name} '
                        f'{versions[name]}' for name in SOURCE_VERSIONS
                        if versions.get(name))
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
            code = measured.pop()[:SHORT]
        else:
            code = _('，').join(f'{part} {(recorded.get(part) or _("未记录"))[:SHORT]}'
                               for part in self.arguments or recorded)
        text = html.escape(_('make bench {date}，{cpu}，{cpus} 核，{versions}，代码 {code}').format(
            date=meta['date'][:10], cpu=cpu_name(machine['cpu']), cpus=machine['cpus'],
            versions=used, code=code))
        if stale:
            text += html.escape(_('；')) + (
                f'<strong class="bench-stale" style="{STALE_STYLE}">'
                f'{html.escape(_("测于较早的运行时代码"))}</strong>'
                + html.escape(_('（现在 {code}）').format(code=now[:SHORT])))
        return f'<p class="bench-source" style="{SOURCE_STYLE}">{text}</p>'


def cpu_name(model):
    """A CPU's model name without its trademarks and clock: "Intel Xeon"."""
    short = re.sub(r'\((?:R|TM)\)|\b(?:CPU|Processor)\b|@.*', ' ', model)
    return ' '.join(short.split()) or model


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


# A slide is 900x700 px at design size and its content box 778 px wide:
# every text here is drawn at 18 px or more there, a chart 1:1 (as wide as
# the box, never scaled down), and the source line is a short footnote that
# wraps to two lines at most.
TEXT_PX = 18            # the smallest text on a slide, at design size
ROW_PX = 26             # one line of it: a CJK font's ascent and descent
BASELINE = 21           # where a line's text sits in its row
GAP = 8                 # between a text and what it labels
CHART_WIDTH = 778       # the slide's content box: 900 less 2 x 60 padding, 2 x 1 border
COLOURS = ('#2a6fb0', '#e08a1e', '#5a9e3a', '#8a5bb0', '#c0392b', '#1b8a99',
           '#777777')
AXIS_FILL = '#555'
SOURCE_VERSIONS = ('python', 'greenlet')    # the rest are in the data file
FALSE_STYLE = 'color: #b00020; font-weight: bold'
SOURCE_STYLE = (f'font-size: {TEXT_PX}px; color: #777; margin: 6px 0 0 0; '
                'line-height: 1.3')
STALE_STYLE = 'color: #b3261e; font-weight: bold'
TABLE_STYLE = (f'border-collapse: collapse; font-size: {TEXT_PX}px; '
               'line-height: 1.25; margin: 10px 0')
CELL_STYLE = ('padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: right; '
              'white-space: nowrap')


def html_table(head, rows, groups=()):
    """A small table with inline styles, so it looks alike on every builder;
    ``groups`` is an optional first header row of (text, columns spanned).
    A header cell with no text (the corner over the row labels) is a plain
    <td>: a <th> that names nothing is an empty header to a screen reader."""
    def cells(tag, values):
        out = []
        for i, value in enumerate(values):
            align = 'text-align: left' if i == 0 else ''
            out.append(cell(tag, f'style="{CELL_STYLE}; {align}"', value))
        return ''.join(out)
    top = ''.join(cell('th', f'colspan="{span}" style="{CELL_STYLE}; text-align: center"', text)
                  for text, span in groups)
    top = f'<tr>{top}</tr>' if groups else ''
    body = ''.join(f'<tr>{cells("td", row)}</tr>' for row in rows)
    return (f'<table class="bench" style="{TABLE_STYLE}">'
            f'<thead>{top}<tr>{cells("th", head)}</tr></thead>'
            f'<tbody>{body}</tbody></table>')


def cell(tag, attributes, value):
    """One cell of html_table; a header cell with no text is a <td>."""
    tag = 'td' if tag == 'th' and str(value) == '' else tag
    return f'<{tag} {attributes}>{html.escape(str(value))}</{tag}>'


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


def count_label(count):
    """A count of connections on an axis: "5 千", "1 万", "300"."""
    for unit, name in ((10000, _('{count} 万')), (1000, _('{count} 千'))):
        if count and count % unit == 0 and (unit == 1000 or is_source()):
            return name.format(count=count // unit)
    return f'{count:,}'


def mark_label(mark):
    return f'{mark:,.0f}'


def text_width(text):
    """About how wide text is drawn at TEXT_PX: a CJK character is a square,
    anything else counts as 0.6 of one, wider than most Latin glyphs."""
    return sum(TEXT_PX if unicodedata.east_asian_width(c) in 'WF' else 0.6 * TEXT_PX
               for c in text)


def spaced(marks, position, label):
    """Every mark, or every second, third...: the most whose labels, centred
    on them, keep clear of each other."""
    for stride in range(1, len(marks) + 1):
        kept = marks[::stride]
        if all(position(b) - position(a)
               >= (text_width(label(a)) + text_width(label(b))) / 2 + GAP
               for a, b in zip(kept, kept[1:])):
            return kept
    return marks[:1]


def svg_text(x, y, text, anchor='start', fill='#333', bold=False):
    weight = ' font-weight="bold"' if bold else ''
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{TEXT_PX}" fill="{fill}" '
            f'text-anchor="{anchor}"{weight}>{html.escape(text)}</text>')


def svg_line(x1, y1, x2, y2, stroke='#999', width=1):
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{stroke}" stroke-width="{width}"/>')


def axis_name(name, start, end, baseline, centre, anchor='end'):
    """(svg, height it adds): the axis's name on the tick labels' line,
    against the end (or the start) of the free span [start, end], or on a
    line of its own under them when it does not fit there."""
    if text_width(name) <= end - start:
        x = end if anchor == 'end' else start
        return svg_text(x, baseline, name, anchor, AXIS_FILL), 0
    return svg_text(centre, baseline + ROW_PX, name, 'middle', AXIS_FILL), ROW_PX


def svg_document(width, height, parts, title, desc, uid):
    """The chart: drawn as wide as its viewBox, so 18 px in it is 18 px on
    the slide.  For whoever cannot see it, one image named by its <title>
    and described by its <desc>, which says every number it draws; ``uid``
    keeps their ids apart from another chart's on the same page."""
    return (f'<svg class="bench-chart" xmlns="http://www.w3.org/2000/svg" '
            f'width="{width}" height="{height:.0f}" viewBox="0 0 {width} {height:.0f}" '
            f'role="img" aria-labelledby="{uid}-title" aria-describedby="{uid}-desc" '
            f'style="display: block"><title id="{uid}-title">{html.escape(title)}</title>'
            f'<desc id="{uid}-desc">{html.escape(desc)}</desc>{"".join(parts)}</svg>')


def described_bars(groups, series, axis, marks):
    """A bar chart in words: its scale, each group's bars with their values
    (one per series), and the axis's marks."""
    def bar(label, includes, values):
        called = _('{label}（{includes}）').format(label=label, includes=includes) \
            if includes else label
        if len(series) > 1:
            return called + _('：') + _('，').join(
                _('{series} 时 {value}').format(series=name, value=number(value))
                for name, value in zip(series, values))
        return f'{called} {number(values[0])}'
    parts = [(heading + _('：')) * bool(heading) + _('；').join(bar(*row) for row in bars)
             + _('。') for heading, bars in groups]
    return (_('条形图，{axis}。').format(axis=axis) + ''.join(parts)
            + _('刻度：{marks}。').format(marks=_('、').join(map(mark_label, marks))))


def described_lines(lines, x_axis, y_axis, x_marks, y_marks):
    """A line chart in words: each line's points, and both axes' marks."""
    parts = [name + _('：') + _('；').join(
                 _('{x_axis} {x} 时 {y}').format(x_axis=x_axis, x=f'{x:,}', y=number(y))
                 for x, y in line) + _('。')
             for name, line in lines]
    return (_('折线图，横轴{x_axis}，纵轴{y_axis}。').format(x_axis=x_axis, y_axis=y_axis)
            + ''.join(parts)
            + _('横轴刻度：{x_marks}；纵轴刻度：{y_marks}。').format(
                x_marks=_('、').join(map(count_label, x_marks)),
                y_marks=_('、').join(map(mark_label, y_marks))))


def svg_bars(groups, series, axis, log=False, width=CHART_WIDTH, uid='bench-chart'):
    """Horizontal bars, a line of text each, over an axis that names its scale.

    ``groups`` is [(heading, [(label, includes, [value per series])])]: a
    heading ('' for none) over its bars.  A bar's line reads its label, the
    bar with what one step includes written on it in white (after the value,
    in grey, where the bar is too short), and its value.  The bars are as
    long as lets every line end inside the width.  A log scale shows a
    ladder of costs spanning three orders of magnitude.
    """
    rows = [row for _, bars in groups for row in bars]
    values = [v for _, _, vs in rows for v in vs]
    top = max(values) * 1.05
    low = 10 ** math.floor(math.log10(min(values))) if log else 0
    label_width = max(text_width(label) for label, _, _ in rows) + GAP
    room = width - label_width - GAP

    def share(value):
        """The part of the bars' room a value's bar takes."""
        if log:
            return math.log(value / low) / math.log(top / low)
        return value / top

    def inside(includes, value):
        return text_width(includes) + 2 * GAP <= room * share(value)

    def tail(value, includes):
        """What follows a bar: its value, and what one step includes when
        that does not fit on the bar."""
        after = [(number(value), '#333')]
        if includes and not inside(includes, value):
            after.append((includes, '#777'))
        return after

    def fit(label, value, includes):
        """The room for bars that ends this bar's line at the width."""
        after = sum(GAP + text_width(text) for text, _ in tail(value, includes))
        return (width - label_width - after) / share(value), label

    while True:             # shorter bars may push what they include out
        bars = [fit(label, v, includes if i == 0 else '')
                for label, includes, vs in rows for i, v in enumerate(vs)
                if share(v) > 0]
        settled, tightest = min(bars + [(room, None)], key=lambda bar: bar[0])
        if settled >= room - 0.5:
            break
        room = settled
    if room < 4 * TEXT_PX:
        raise BenchDataError(f'no room for the bars in {width} px: the line of '
                             f'{tightest!r} is too long; shorten its label or '
                             'what it includes')

    pitch = TEXT_PX + 6                         # a bar, with text on it
    row = pitch * max(len(vs) for _, _, vs in rows) + 4
    out, y = [], 0
    if len(series) > 1:
        x = label_width
        for i, name in enumerate(series):
            out.append(f'<rect x="{x:.1f}" y="7" width="14" height="14" '
                       f'fill="{COLOURS[i % len(COLOURS)]}"/>'
                       + svg_text(x + 20, BASELINE, name))
            x += 20 + text_width(name) + 2 * GAP
        y = ROW_PX
    for heading, bars in groups:
        if heading:
            out.append(svg_text(0, y + BASELINE, heading, bold=True))
            y += ROW_PX
        for label, includes, vs in bars:
            out.append(svg_text(label_width - GAP, y + row / 2 + 6, label, 'end'))
            for i, value in enumerate(vs):
                middle = y + 2 + pitch * i + pitch / 2
                x = label_width + max(1.0, room * share(value))
                out.append(f'<rect x="{label_width}" y="{middle - pitch / 2 + 1:.1f}" '
                           f'width="{x - label_width:.1f}" height="{pitch - 2}" '
                           f'fill="{COLOURS[i % len(COLOURS)]}"/>')
                if i == 0 and includes and inside(includes, value):
                    out.append(svg_text(label_width + GAP, middle + 6, includes,
                                        fill='#fff'))
                for text, fill in tail(value, includes if i == 0 else ''):
                    out.append(svg_text(x + GAP, middle + 6, text, fill=fill))
                    x += GAP + text_width(text)
            y += row
    y += 2
    out.append(svg_line(label_width, y, label_width + room, y))

    def position(mark):
        return label_width + (room * share(mark) if mark > low else 0)
    marks = spaced(ticks(low or 1, top, log), position, mark_label)
    for mark in marks:
        out += [svg_line(position(mark), y, position(mark), y + 5),
                svg_text(position(mark), y + 24, mark_label(mark), 'middle', AXIS_FILL)]
    name, extra = axis_name(axis, 0, position(marks[0]) - text_width(
        mark_label(marks[0])) / 2 - 2 * GAP, y + 24, label_width + room / 2)
    return svg_document(width, y + 30 + extra, out + [name], _('条形图：{axis}').format(axis=axis),
                        described_bars(groups, series, axis, marks), uid)


def svg_lines(lines, x_axis, y_axis, width=CHART_WIDTH, plot_height=250,
              uid='bench-chart'):
    """Lines over two named axes, a dot on each point, each named at its end.

    ``lines`` is [(name, [(x, y), ...])], x ascending and from 0 up.  The x
    axis is marked at the x values measured, the y axis at round steps from
    0; each name sits right of the plot beside its line's last point,
    moved apart from the others where two would touch.
    """
    points = [point for _, line in lines for point in line]
    xs = sorted({x for x, _ in points})
    if xs[-1] <= 0:
        raise BenchDataError(f'no line goes past {x_axis} 0: nothing to draw')
    top = max(y for _, y in points) * 1.05
    y_marks = ticks(0, top, False)
    left = max(text_width(mark_label(mark)) for mark in y_marks) + GAP
    right = max(text_width(name) for name, _ in lines) + 2 * GAP
    plot_top, plot_width = ROW_PX + GAP, width - left - right

    def at(x, y):
        return (left + plot_width * x / xs[-1],
                plot_top + plot_height * (1 - y / top))
    base = at(0, 0)[1]
    out = [svg_text(0, BASELINE, y_axis, fill=AXIS_FILL)]
    for mark in y_marks:
        height = at(0, mark)[1]
        out += [svg_line(left, height, left + plot_width, height,
                         '#999' if mark == 0 else '#e4e4e4'),
                svg_text(left - GAP, height + 6, mark_label(mark), 'end', AXIS_FILL)]
    marks = spaced(xs, lambda x: at(x, 0)[0], count_label)
    for x in marks:
        out += [svg_line(at(x, 0)[0], base, at(x, 0)[0], base + 5),
                svg_text(at(x, 0)[0], base + 24, count_label(x), 'middle', AXIS_FILL)]
    ends = []
    for i, (name, line) in enumerate(lines):
        colour = COLOURS[i % len(COLOURS)]
        drawn = [at(x, y) for x, y in line]
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2.5" '
                   'points="' + ' '.join(f'{x:.1f},{y:.1f}' for x, y in drawn) + '"/>')
        out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{colour}" '
                'stroke="#fff"/>' for x, y in drawn]
        ends.append((drawn[-1][1] + 6, drawn[-1][0] + GAP, name, colour))
    out += [svg_text(x, baseline, name, fill=colour)
            for baseline, x, name, colour in apart(ends, base + 6)]
    last = at(xs[-1], 0)[0] + text_width(count_label(xs[-1])) / 2 + GAP
    name, extra = axis_name(x_axis, last, width, base + 24, left + plot_width / 2,
                            'start')
    return svg_document(width, base + 30 + extra, out + [name],
                        _('折线图：{y_axis}，随{x_axis}变化').format(y_axis=y_axis, x_axis=x_axis),
                        described_lines(lines, x_axis, y_axis, marks, y_marks), uid)


def apart(labels, lowest):
    """Labels (baseline first) moved apart so that no two lines of text
    overlap, none below the lowest baseline."""
    labels = sorted(labels)
    step = TEXT_PX + 4
    for i in range(1, len(labels)):
        if labels[i][0] < labels[i - 1][0] + step:
            labels[i] = (labels[i - 1][0] + step, *labels[i][1:])
    for i in reversed(range(len(labels))):
        limit = lowest if i == len(labels) - 1 else labels[i + 1][0] - step
        if labels[i][0] > limit:
            labels[i] = (limit, *labels[i][1:])
    return labels


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
