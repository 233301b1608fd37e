"""Chinese that reads as a careful native author wrote it, checked before a build.

On a slide the audience reads each line in a few seconds, and what the eye
trips on is small: 每次sleep(0) with no space, a half-width colon after a
Chinese word, 登记 on one slide and 注册 on the next.  This lint holds the
deck's text -- titles, bullets, paragraphs, table cells, speaker notes -- and
the comments and strings of the code a slide shows to three rules:

* ``spacing``: a space between a CJK character and a Latin letter, a digit
  or an inline literal, both ways;
* ``punctuation``: full-width punctuation in Chinese sentences;
* ``glossary``: one term per concept, from ``docs/glossary.md``.

docs/glossary.md says each rule exactly, with its exceptions.  The lint
reads reStructuredText *source lines*, not doctrees, so each violation names
the very line it is on, in the included file where the writer will fix it;
the build and a writer's command line share that one scan.  In the build it
is off unless conf.py says ``deck_lint = True``; its warnings then fail a
``-W`` build.  Before building, ``python -m deckext.lint [files...]`` prints
``path:line: rule: message`` and exits 1 if anything is wrong.
"""

import argparse
import ast
import io
import re
import sys
import tokenize
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path

from sphinx.errors import ConfigError
from sphinx.util import logging

logger = logging.getLogger(__name__)

GLOSSARY = 'docs/glossary.md'   # relative to the project's root (conf.py's folder)
RULES = ('spacing', 'punctuation', 'glossary')
LITERAL = '\ue000'   # stands, in a checked line, for one inline literal, URL or value

# Han ideographs (with extensions and compatibility forms) and kana; not
# CJK punctuation, which sits next to Latin without a space (。Go, （TRAP）.
CJK = re.compile('[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff'
                 '\U00020000-\U0003ffff]')
NUMBER_SIGNS = '%°‰'   # written onto their number (15%), spaced from CJK after it
FULL_WIDTH = {',': '，', ':': '：', ';': '；', '!': '！', '?': '？', '.': '。',
              '(': '（', ')': '）'}


# -- what a checked line is ---------------------------------------------------

@dataclass(frozen=True)
class Piece:
    """One line of text to check, where it is, and what a marker allowed there."""
    path: str
    line: int
    text: str
    allow: frozenset = frozenset()


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    rule: str
    message: str

    def __str__(self):
        return f'{self.path}:{self.line}: {self.rule}: {self.message}'


def is_cjk(ch):
    return bool(ch) and bool(CJK.match(ch))


def is_western(ch):
    """A Latin (or Greek, Cyrillic) letter, a digit, or an inline literal."""
    return ch == LITERAL or (ch.isalnum() and unicodedata.east_asian_width(ch) not in 'WF')


# -- inline markup: what is text and what is not -------------------------------

INLINE = re.compile(r"""
    (?P<literal>``\S.*?``)                                    # ``code``
  | (?P<role>:[\w.+-]+(?::[\w.+-]+)*:`(?P<body>[^`]+)`)       # :role:`target or title <target>`
  | (?P<ref>`(?P<refbody>[^`]+)`__?)                          # `title <url>`_
  | (?P<interpreted>`[^`]+`(?::[\w.+-]+:)?)                   # `default role`
  | (?P<substitution>\|[^|\s](?:[^|]*[^|\s])?\|_{0,2})        # |name|
  | (?P<url>(?<!\w)(?:https?|ftp)://[!-~]*[\w/#=&%~-])        # a bare URL
  | (?P<field>\{[^{}]*\})                                     # {expr}: a claim's, an f-string's
  | (?P<escape>\\\ )                                          # "\ " joins markup to text
""", re.X | re.ASCII)
TITLED = re.compile(r'(?s)(?P<title>.*?\S)\s+<(?P<target>.*)>$')


def mask(text):
    """(view, origins): text with every non-text span one LITERAL character.

    Roles and references with a title (``:bench-claim:`是 {a} <a > 1>```,
    ```PEP 703 <url>`_``) keep their title as text; their markup and
    target vanish.  ``origins[i]`` is the source text that ``view[i]`` stands
    for, to quote a violation as the writer wrote it.
    """
    chars, origins = [], []
    _mask_into(text, chars, origins)
    return ''.join(chars), origins


def _mask_into(text, chars, origins):
    position = 0
    for markup in INLINE.finditer(text):
        chars.extend(text[position:markup.start()])
        origins.extend(text[position:markup.start()])
        position = markup.end()
        shown = _shown_title(markup)
        if shown is not None:
            _mask_into(shown, chars, origins)
        elif not markup['escape']:
            chars.append(LITERAL)
            origins.append(markup[0])
    chars.extend(text[position:])
    origins.extend(text[position:])


def _shown_title(markup):
    """The text a role or reference shows, or None when it shows a literal."""
    body = markup['body'] or markup['refbody']
    if body is None:
        return None
    titled = TITLED.match(body)
    if titled:
        return titled['title']
    return body if markup['ref'] else None


# -- the rules, each over one masked line: (index, message) per violation -------

def spacing(view, origins=None):
    """A space between CJK and Latin letters, digits or literals, both ways."""
    origins = origins or view
    for index, (left, right) in enumerate(zip(view, view[1:])):
        if (is_cjk(left) and is_western(right)
                or (is_western(left) or left in NUMBER_SIGNS) and is_cjk(right)):
            yield index, (f'a space between “{_cut(origins[index])}” '
                          f'and “{_cut(origins[index + 1])}”')


def punctuation(view):
    """Full-width marks and parentheses in Chinese sentences."""
    yield from _marks(view)
    yield from _parentheses(view)


def _marks(view):
    for index, mark in enumerate(view):
        if mark == '.':
            chinese = is_cjk(_neighbour(view, index, -1, skip=''))
        elif mark in ',:;!?':
            chinese = is_cjk(_neighbour(view, index, -1)) or is_cjk(_neighbour(view, index, 1))
        else:
            continue
        if chinese:
            yield index, (f'“{mark}” in a Chinese sentence is full-width '
                          f'“{FULL_WIDTH[mark]}”')


def _neighbour(view, index, step, skip=' '):
    """The nearest character from index in direction step, past any in skip."""
    index += step
    while 0 <= index < len(view) and view[index] in skip:
        index += step
    return view[index] if 0 <= index < len(view) else ''


def _parentheses(view):
    for start, end in _pairs(view):
        inside = view[start + 1:end]
        if CJK.search(inside):
            yield start, 'parentheses around Chinese are full-width “（…）”'
        elif (is_cjk(_neighbour(view, start, -1, skip=''))
              or is_cjk(_neighbour(view, end, 1, skip=''))):
            yield start, ('“(…)” touching Chinese: full-width “（…）” for a gloss, '
                          'or a space on each side of “(…)” for code')


def _pairs(view):
    """(open, close) of each ASCII parenthesis pair; a missing end is the line's end."""
    opened, pairs = [], []
    for index, ch in enumerate(view):
        if ch == '(':
            opened.append(index)
        elif ch == ')':
            pairs.append((opened.pop() if opened else -1, index))
    pairs.extend((start, len(view)) for start in opened)
    return sorted(pairs)


def glossary(view, terms, allow=frozenset()):
    """Each forbidden variant, unless allowed, quoted as a word or glossed."""
    seen = []
    for start, end, term, variant in _variant_hits(view, terms):
        if any(start < done_end and done_start < end for done_start, done_end in seen):
            continue
        seen.append((start, end))
        if variant in allow or _quoted(view, start, end) or _glossed(view, end, term):
            continue
        yield start, f'“{variant}” → “{term.term}”: {term.note}'


def _variant_hits(view, terms):
    """(start, end, term, variant) of every variant found, longest first at a place."""
    hits = [(hit.start(), -len(hit[0]), index, variant)
            for index, term in enumerate(terms) for variant in term.variants
            for hit in _variant_pattern(variant).finditer(view)]
    for start, minus_length, index, variant in sorted(hits):
        yield start, start - minus_length, terms[index], variant


def _variant_pattern(variant):
    """A variant as a regex: Latin only as whole words, any spacing between CJK and Latin."""
    pattern = ''
    for index, ch in enumerate(variant):
        before = variant[index - 1] if index else ' '
        if ch != ' ' and before != ' ' and is_cjk(ch) != is_cjk(before):
            pattern += ' ?'
        pattern += ' ?' if ch == ' ' else re.escape(ch)
    if is_western(variant[0]):
        pattern = '(?<![A-Za-z0-9_])' + pattern
    if is_western(variant[-1]):
        pattern += '(?![A-Za-z0-9_])'
    return re.compile(pattern)


def _quoted(view, start, end):
    """Inside “…”: the word is mentioned (原稿的“多播 IO”), not used."""
    before = view[:start]
    return before.rfind('“') > before.rfind('”') and '”' in view[end:]


def _glossed(view, end, term):
    """Followed at once by a parenthesis holding one of the term's glosses."""
    after = view[end:].lstrip(' ')
    if after[:1] not in ('(', '（'):
        return False
    inside = re.split('[)）]', after[1:], maxsplit=1)[0]
    return any(gloss in inside for gloss in term.glosses)


def check(piece, terms):
    """The Violations of one line."""
    view, origins = mask(piece.text)
    rules = {'spacing': spacing(view, origins), 'punctuation': punctuation(view),
             'glossary': glossary(view, terms, piece.allow)}
    return [Violation(piece.path, piece.line, rule, f'{message}: {_context(origins, index)}')
            for rule, hits in rules.items() if rule not in piece.allow
            for index, message in hits]


def _context(origins, index, width=10):
    """The line around index, as written, to quote with a violation."""
    start, end = max(0, index - width), min(len(origins), index + width + 2)
    return ('…' if start else '') + ''.join(map(_cut, origins[start:end])).strip() + \
        ('…' if end < len(origins) else '')


def _cut(origin, width=24):
    """A long literal or URL, shortened to quote it."""
    return origin if len(origin) <= width else origin[:width - 1] + '…'


# -- the glossary file -----------------------------------------------------------

@dataclass(frozen=True)
class Term:
    """One row of docs/glossary.md."""
    term: str
    variants: tuple
    glosses: tuple
    note: str
    line: int


class GlossaryError(ValueError):
    """The glossary file cannot be read as the lint needs it, with where."""


HEADER = ('term', 'instead of', 'glossed by', 'note')
ITEM = re.compile(r'`([^`]+)`')


def load_glossary(path):
    """The Terms of the first table of a Markdown glossary file."""
    path = Path(path)
    if not path.is_file():
        raise GlossaryError(f'{path}: no glossary file')
    rows = _first_table(path.read_text(encoding='utf-8').splitlines())
    if len(rows) < 2 or tuple(cell.lower() for cell in rows[0][1]) != HEADER:
        raise GlossaryError(f'{path}: its first table must have the columns '
                            + ' | '.join(HEADER))
    terms = [_term(path, number, cells) for number, cells in rows[2:]]
    _check_terms(path, terms)
    return terms


def _first_table(lines):
    """[(line number, cells)] of the first run of Markdown table lines."""
    rows = []
    for number, line in enumerate(lines, 1):
        if line.lstrip().startswith('|'):
            rows.append((number, [cell.strip() for cell in line.strip().strip('|').split('|')]))
        elif rows:
            break
    return rows


def _term(path, number, cells):
    if len(cells) != len(HEADER):
        raise GlossaryError(f'{path}:{number}: {len(cells)} cells, not {len(HEADER)}')
    term, variants, glosses, note = cells
    if not term.strip('` ') or not ITEM.findall(variants):
        raise GlossaryError(f'{path}:{number}: a row needs a term and `variants` to flag')
    return Term(term.strip('` '), tuple(ITEM.findall(variants)), tuple(ITEM.findall(glosses)),
                note, number)


def _check_terms(path, terms):
    """No variant is flagged twice, and no preferred term is itself flagged."""
    owner = {}
    for term in terms:
        for variant in term.variants:
            if variant in owner:
                raise GlossaryError(f'{path}:{term.line}: “{variant}” is already a variant '
                                    f'of “{owner[variant].term}” (line {owner[variant].line})')
            owner[variant] = term
    for term in terms:
        for variant, other in owner.items():
            if _variant_pattern(variant).search(term.term):
                raise GlossaryError(f'{path}:{other.line}: “{variant}” would flag the term '
                                    f'“{term.term}” of line {term.line}')


# -- Python: comments and strings, never the code --------------------------------

FSTRING_START = getattr(tokenize, 'FSTRING_START', None)   # Python 3.12+
FSTRING_END = getattr(tokenize, 'FSTRING_END', None)


def code_texts(source):
    """(row, text) of each line of each comment and string literal of Python source.

    Source that does not tokenize yields what came before the error: the
    build reports broken code on its own.
    """
    lines = source.splitlines(keepends=True)
    try:
        for row, kind, literal in _literals(tokenize.generate_tokens(io.StringIO(source).readline),
                                            lines):
            if kind == tokenize.COMMENT:
                yield row, literal.lstrip('#')
            else:
                yield from _string_lines(row, literal)
    except (tokenize.TokenError, SyntaxError):
        return


def _literals(tokens, lines):
    """(row, COMMENT or STRING, text) of comment and string tokens; an f-string whole."""
    depth, start = 0, None
    for token in tokens:
        if token.type == FSTRING_START:
            depth, start = depth + 1, start if depth else token.start
        elif token.type == FSTRING_END:
            depth -= 1
            if not depth:
                yield start[0], tokenize.STRING, _slice(lines, start, token.end)
        elif token.type in (tokenize.COMMENT, tokenize.STRING) and not depth:
            yield token.start[0], token.type, token.string


def _slice(lines, start, end):
    text = ''.join(lines[start[0] - 1:end[0]])
    return text[start[1]:len(text) - len(lines[end[0] - 1]) + end[1]]


def _string_lines(row, literal):
    prefix = len(literal) - len(literal.lstrip('rRbBuUfF'))
    quote = 3 if literal[prefix:prefix + 3] in ('"""', "'''") else 1
    for offset, text in enumerate(literal[prefix + quote:len(literal) - quote].split('\n')):
        yield row + offset, text


def object_rows(source, dotted):
    """(first, last) rows of a function or class, by a dotted name as :pyobject: takes it."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return None
    found = None
    for name in dotted.split('.'):
        found = next((node for node in body if getattr(node, 'name', None) == name), None)
        if found is None:
            return None
        body = getattr(found, 'body', [])
    first = min([found.lineno] + [d.lineno for d in getattr(found, 'decorator_list', [])])
    return first, found.end_lineno


def python_pieces(path, dotted=None, allow=frozenset()):
    """Pieces of a .py file's comments and strings: all, or one object's."""
    path = Path(path)
    try:
        source = path.read_text(encoding='utf-8')
    except OSError:
        return []
    rows = object_rows(source, dotted) if dotted else (1, float('inf'))
    if rows is None:
        return []
    return [Piece(str(path), row, text, allow)
            for row, text in code_texts(source) if rows[0] <= row <= rows[1]]


PROMPT = re.compile(r'^\s*(>>>|\.\.\.)(?: |$)')


def doctest_pieces(path, numbered, allow=frozenset()):
    """Pieces of the comments and strings of a doctest's examples, never its output.

    numbered is [(line, text)] of the block's lines; each example (``>>>``
    and its ``...`` lines) is tokenized on its own.
    """
    pieces = []
    for example in _examples(numbered):
        source = ''.join(code + '\n' for _, code in example)
        pieces += [Piece(path, example[row - 1][0], text, allow)
                   for row, text in code_texts(source)]
    return pieces


def _examples(numbered):
    examples = []
    for number, text in numbered:
        prompt = PROMPT.match(text)
        if prompt and (prompt[1] == '>>>' or examples):
            code = (number, text[prompt.end():])
            if prompt[1] == '>>>':
                examples.append([code])
            else:
                examples[-1].append(code)
    return examples


# -- reStructuredText: which lines are text, which are code -----------------------

EXPLICIT = re.compile(r'^(\s*)\.\.(?:\s|$)')
DIRECTIVE = re.compile(r'^\s*\.\.\s+(\w[\w:.+-]*)::(?:\s+(.*))?$')
ALLOW = re.compile(r'^\s*\.\.\s+lint:\s*allow\s+(.+)$')
OPTION = re.compile(r'^\s+:([^:\s][^:]*):(?:\s+(.*))?$')
RULE_LINE = re.compile(r'^\s*(?:([=\-~^"\'`#*+<>:._])\1+|=+(?: +=+)+|\+[-=+]+\+)\s*$')

# Directives whose content is more reStructuredText, scanned like any text.
TEXT_DIRECTIVES = {'note', 'admonition', 'attention', 'caution', 'danger', 'error', 'hint',
                   'important', 'tip', 'warning', 'seealso', 'topic', 'sidebar', 'rubric',
                   'container', 'only', 'list-table', 'table', 'epigraph', 'highlights',
                   'pull-quote', 'compound', 'centered', 'hlist', 'slide', 'nextslide',
                   'slides', 'notslides', 'ifslides', 'ifnotslides', 'interslide'}
# ... of which these show their argument as a title.
TITLED_DIRECTIVES = {'admonition', 'topic', 'sidebar', 'rubric', 'table', 'list-table',
                     'centered', 'slide', 'nextslide'}
DOCTEST_DIRECTIVES = {'doctest', 'testcode'}
# deckext.numbers' chart: each content line is "heading: key, key"; the heading is shown.
LABELLED_DIRECTIVES = {'bench-chart'}


def indent(line):
    return len(line) - len(line.lstrip())


class RstScan:
    """The Pieces of one reStructuredText source, each at its own line.

    Every other directive (bench-table, timeline, include, code-block, ...)
    and every comment, target and literal block is skipped whole.
    """

    def __init__(self, path, text, root):
        self.path, self.root = str(path), Path(root)
        self.lines = text.splitlines()
        self.pieces = []
        self.allow = frozenset()   # from a ``.. lint: allow`` marker, for the next block
        self.in_block = False      # inside the block a marker covers

    def scan(self):
        index = 0
        while index < len(self.lines):
            index = self._step(index)
        return self.pieces

    def _step(self, index):
        line = self.lines[index]
        if not line.strip():
            if self.in_block:            # a blank line ends the marked block
                self.allow = frozenset()
            return index + 1
        allow, self.in_block = self.allow, True
        if EXPLICIT.match(line):
            self.allow = frozenset()
            return self._explicit(index, allow)
        if line.lstrip().startswith('>>>'):
            end = next((i for i in range(index, len(self.lines)) if not self.lines[i].strip()),
                       len(self.lines))
            return self._doctest(index, end, allow)
        if not RULE_LINE.match(line):
            self._text(index, line, allow)
        if line.rstrip().endswith('::'):
            return self._block_end(index, indent(line))
        return index + 1

    def _text(self, index, text, allow):
        self.pieces.append(Piece(self.path, index + 1, text, allow))

    def _block_end(self, index, level=None):
        """The index after the lines indented deeper than level (that of line index)."""
        level = indent(self.lines[index]) if level is None else level
        index += 1
        while index < len(self.lines) and (not self.lines[index].strip()
                                           or indent(self.lines[index]) > level):
            index += 1
        return index

    def _explicit(self, index, allow):
        end = self._block_end(index)
        marker = ALLOW.match(self.lines[index])
        directive = DIRECTIVE.match(self.lines[index])
        if marker:
            self.allow = frozenset(re.split(r'[\s,、]+', marker[1].strip()))
            self.in_block = False
        if not directive:
            return end
        name, argument = directive[1], directive[2] or ''
        options, body = self._options(index + 1, end)
        if name in TITLED_DIRECTIVES:
            self._text(index, argument, allow)
        if name in TEXT_DIRECTIVES:
            return body
        if name in DOCTEST_DIRECTIVES:
            self._doctest(body, end, allow)
        elif name == 'literalinclude':
            self._include(argument.strip(), options.get('pyobject'), allow)
        elif name in LABELLED_DIRECTIVES:
            for line in range(body, end):
                self._text(line, self.lines[line].rpartition(':')[0], allow)
        return end

    def _options(self, index, end):
        options = {}
        while index < end and OPTION.match(self.lines[index]):
            option = OPTION.match(self.lines[index])
            options[option[1]] = (option[2] or '').strip()
            index += 1
        return options, index

    def _doctest(self, index, end, allow):
        numbered = [(line + 1, self.lines[line]) for line in range(index, end)]
        self.pieces += doctest_pieces(self.path, numbered, allow)
        return end

    def _include(self, argument, dotted, allow):
        if argument.startswith('/'):
            path = self.root / argument.lstrip('/')
        else:
            path = Path(self.path).parent / argument
        self.pieces += python_pieces(path, dotted=dotted, allow=allow)


# -- linting files ---------------------------------------------------------------

def lint_pieces(pieces, terms):
    """The Violations of all pieces, in order."""
    return [violation for piece in pieces for violation in check(piece, terms)]


def lint_rst(path, text, terms, root):
    """Violations of a reStructuredText source; root resolves ``/src/...`` includes."""
    return lint_pieces(RstScan(path, text, root).scan(), terms)


def lint_file(path, terms, root=None):
    """Violations of a .rst file, or of every comment and string of a .py file."""
    path = Path(path)
    if path.suffix == '.py':
        return lint_pieces(python_pieces(path), terms)
    return lint_rst(path, path.read_text(encoding='utf-8'), terms, root or project_root(path))


def project_root(path):
    """The nearest folder holding conf.py, from path up; else the working directory."""
    for folder in Path(path).resolve().parents:
        if (folder / 'conf.py').is_file():
            return folder
    return Path.cwd()


def summary(violations):
    """One line: how many violations, and how many of each rule."""
    counts = {rule: sum(v.rule == rule for v in violations) for rule in RULES}
    return f'{len(violations)} violations: ' + ', '.join(
        f'{rule} {count}' for rule, count in counts.items())


def _shown(path):
    """path as a writer would type it: relative to the working directory if under it."""
    try:
        return Path(path).resolve().relative_to(Path.cwd())
    except ValueError:
        return Path(path)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='python -m deckext.lint',
        description='Check the deck\'s Chinese: spacing, punctuation, glossary terms. '
                    'Prints path:line: rule: message; exits 1 if anything is wrong.')
    parser.add_argument('files', nargs='*', type=Path,
                        help='.rst or .py files (default: index.rst and slides/*.rst)')
    parser.add_argument('--glossary', type=Path,
                        help=f'the glossary table (default: {GLOSSARY} of the project)')
    args = parser.parse_args(argv)
    files = args.files or [Path('index.rst'), *sorted(Path('slides').glob('*.rst'))]
    missing = [str(file) for file in files if not file.is_file()]
    if missing:
        parser.error('no such file: ' + ', '.join(missing))
    try:
        terms = load_glossary(args.glossary or project_root(files[0]) / GLOSSARY)
    except GlossaryError as error:
        parser.error(str(error))
    found = [violation for file in files for violation in lint_file(file, terms)]
    for violation in found:
        print(replace(violation, path=_shown(violation.path)))
    if found:
        print(summary(found), file=sys.stderr)
    return 1 if found else 0


# -- the Sphinx extension --------------------------------------------------------

def _glossary_path(app):
    return Path(app.confdir) / app.config.deck_lint_glossary


def _lint_source(app, path, text):
    app.env.note_dependency(str(_glossary_path(app)))   # an edited glossary re-reads the deck
    terms = load_glossary(_glossary_path(app))
    found = lint_rst(path, text, terms, Path(app.srcdir))
    for violation in found:
        logger.warning('%s: %s', violation.rule, violation.message,
                       location=f'{violation.path}:{violation.line}',
                       type='deck-lint', subtype=violation.rule)
    if found:
        app.env.note_reread()   # so that the next build, cached or not, warns again


def _on_source_read(app, docname, source):
    _lint_source(app, app.env.doc2path(docname), source[0])


def _on_include_read(app, relative_path, parent_docname, content):
    _lint_source(app, Path(app.srcdir) / relative_path, content[0])


def _switch_on(app, config):
    """Connect the scan only when deck_lint is on: off, the build is untouched."""
    if not config.deck_lint:
        return
    try:
        load_glossary(_glossary_path(app))
    except GlossaryError as error:
        raise ConfigError(f'deck_lint: {error}') from None
    app.connect('source-read', _on_source_read)
    app.connect('include-read', _on_include_read)


def setup(app):
    app.add_config_value('deck_lint', False, 'env', types=(bool,))
    app.add_config_value('deck_lint_glossary', GLOSSARY, 'env', types=(str,))
    app.connect('config-inited', _switch_on)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}


if __name__ == '__main__':
    sys.exit(main())
