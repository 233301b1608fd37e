"""The deck's own words, in the edition's language.

The slides' text is translated by Sphinx's gettext machinery: its messages
are extracted from the ``.rst`` into ``index.pot`` and translated in
``locales/<lang>/LC_MESSAGES/index.po``.  But much of what a slide shows is
written by the deck's extensions, not by the ``.rst``: the agenda, the
charts' and tables' labels, the timelines, the buttons and marks of a live
demo, the presenter console's labels, what stage.js writes.  Those are the
messages of a second catalogue, ``deck.pot``, translated beside the first in
``deck.po``.

A word is written once, in Chinese, in the module that uses it: ``_('运行')``
where it is put on the page, ``N_('运行')`` where it is only named (a
module-level table), to be translated by ``_()`` when it is used.
:func:`extract` finds both by reading the modules' syntax trees, so
``make gettext`` brings a new word into ``deck.po`` as it brings a new
sentence of the ``.rst`` into ``index.po``, and the edition test fails on a
word nobody translated.  A word with fields is a ``str.format`` template
(``_('第 {number} 张，共 {total} 张')``): the translation keeps the fields
and may reorder them.

Why not ``sphinx.locale.get_translation``: its translators live in one
process-wide table and *merge* on every initialisation, so a second build
in the same process (the tests build both editions) would keep the first
one's words.  Here the edition's words are one table, replaced whenever a
build starts (``config-inited``, when the language is known for good), read from the ``.po`` with Babel (which
Sphinx itself depends on), so no compiled ``.mo`` has to be kept fresh.
"""

import ast
import hashlib
import re
import sys
from pathlib import Path

CATALOGUE = 'deck'                      # deck.pot, deck.po
SOURCE_LANGUAGE = 'zh_CN'
MARKERS = ('_', 'N_', 'P_')             # the calls extract() collects
SOURCES = ('src/deckext', 'conf.py')    # where the deck's words are written
SLIDES = 'slides'                       # and, in a chart's group headings, here
# A group heading of ``.. bench-chart::``'s content, "heading: key, key":
# written in the .rst, but directive content is no message of Sphinx's.
CHART = re.compile(r'^\.\. bench-chart::.*\n((?:(?:   .*)?\n)*)', re.MULTILINE)
GROUP = re.compile(r'^   ([^:\s][^:]*?)\s*:\s*[\w, ]+$', re.MULTILINE)

_words = {}                             # (msgctxt, msgid) -> msgstr, this edition's
_language = SOURCE_LANGUAGE


def N_(message):
    """Name a word to be translated later, where it is used (``_(word)``)."""
    return message


def _(message):
    """message in the edition's language; itself in the source language."""
    return _words.get((None, message), message)


def P_(context, message):
    """message said in a context ('button'), where the same Chinese word
    needs another translation than it has elsewhere (运行: Run, runs)."""
    return _words.get((context, message), message)


def language():
    """The language of the edition being built: 'zh_CN' or e.g. 'en'."""
    return _language


def is_source():
    return _language == SOURCE_LANGUAGE


def catalogue_path(root, language):
    return Path(root) / 'locales' / language / 'LC_MESSAGES' / f'{CATALOGUE}.po'


def read_catalogue(path):
    """{(msgctxt, msgid): msgstr} of the translated, not fuzzy, messages of a .po file."""
    from babel.messages.pofile import read_po
    with open(path, 'rb') as po:
        catalogue = read_po(po)
    return {(message.context, message.id): message.string for message in catalogue
            if message.id and message.string and not message.fuzzy}


def use(language, root):
    """Make language's words (from root's locales/) the ones _() gives."""
    global _language, _words
    _language = language or SOURCE_LANGUAGE
    path = catalogue_path(root, _language)
    _words = {} if is_source() or not path.exists() else read_catalogue(path)


def _use_for_build(app, config):
    """The edition's words, and its title: conf.py's ``project`` is a word
    too.  The words' digest is a config value that rebuilds the environment:
    a changed translation reaches every slide, not only those edited since."""
    use(config.language, app.srcdir)
    config.deck_words_digest = hashlib.sha256(
        repr(sorted(_words.items(), key=repr)).encode()).hexdigest()
    config.html_title = _(config.html_title)
    config.project = _(config.project)


# -- extraction ---------------------------------------------------------------

def extract(root):
    """[((context, message), 'path:line')] of every word marked in the
    deck's sources, in order, each once (its first place)."""
    found = {}
    for path in source_files(root):
        tree = ast.parse(path.read_text(encoding='utf-8'), str(path))
        for node in ast.walk(tree):
            message = marked(node)
            if message and message not in found:
                found[message] = f'{path.relative_to(root)}:{node.lineno}'
    for path in sorted((Path(root) / SLIDES).glob('*.rst')):
        text = path.read_text(encoding='utf-8')
        for chart in CHART.finditer(text):
            for group in GROUP.finditer(chart.group(1)):
                line = text.count('\n', 0, chart.start(1) + group.start()) + 1
                found.setdefault((None, group.group(1)), f'{path.relative_to(root)}:{line}')
    return list(found.items())


def source_files(root):
    root = Path(root)
    for name in SOURCES:
        path = root / name
        yield from sorted(path.rglob('*.py')) if path.is_dir() else [path]


def marked(node):
    """(context, message) of ``_('...')``, ``N_('...')`` (context None)
    or ``P_('context', '...')``, else None."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in MARKERS):
        return None
    strings = [arg.value for arg in node.args
               if isinstance(arg, ast.Constant) and isinstance(arg.value, str)]
    wanted = 2 if node.func.id == 'P_' else 1
    if len(node.args) != wanted or len(strings) != wanted:
        return None
    return tuple(strings) if wanted == 2 else (None, strings[0])


def write_template(root, out):
    """Write deck.pot of root's sources into the directory out."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po
    catalogue = Catalog(project='deck', fuzzy=False, last_translator='the deck',
                        language_team='the deck')
    for (context, message), where in extract(root):
        path, line = where.rsplit(':', 1)
        catalogue.add(message, locations=[(path, int(line))], context=context)
    Path(out).mkdir(parents=True, exist_ok=True)
    with open(Path(out) / f'{CATALOGUE}.pot', 'wb') as pot:
        write_po(pot, catalogue, width=76, omit_header=False)


def setup(app):
    app.add_config_value('deck_words_digest', '', 'env')
    app.connect('config-inited', _use_for_build, priority=100)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}


if __name__ == '__main__':
    # python -m deckext.words OUT_DIR  (make gettext): deck.pot of this tree.
    write_template(Path.cwd(), sys.argv[1])
