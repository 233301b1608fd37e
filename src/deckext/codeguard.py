"""Fail the build when a slide shows code that is not real, tested code.

The deck's promise is that every line of code on a slide runs in the test
suite.  Only two kinds of code block keep that promise:

* a ``literalinclude`` of a whole function or class from ``src/``, selected
  by ``:pyobject:`` -- never by ``:lines:`` or markers, which silently drift
  when the file changes;
* a ``sphinx.ext.doctest`` block, which the doctest builder runs.

Anything else (``code-block``, ``::``, a bare ``>>>`` paragraph, an include
of a file elsewhere) fails the build with its file and line.  So does code
too big for a slide: hieroglyph slides are a fixed 900x700 px and clip what
does not fit, so a block longer or wider than the limits below would be cut
off in front of the audience.
"""

import unicodedata
from pathlib import Path

from docutils import nodes
from sphinx.directives.code import LiteralInclude
from sphinx.util import logging

logger = logging.getLogger(__name__)

MAX_LINES = 16    # lines of code a slide shows without clipping
MAX_COLUMNS = 70  # columns, a CJK character counting as two

# literalinclude options that pick or add text by position or marker, so the
# slide would no longer show one whole object of the real source.
_SELECTORS = ('lines', 'start-after', 'end-before', 'start-at', 'end-at',
              'prepend', 'append', 'diff')


class GuardedLiteralInclude(LiteralInclude):
    """``literalinclude`` that records on its node how the code was selected."""

    def run(self):
        result = super().run()
        for node in result:
            for block in node.findall(nodes.literal_block):
                block['pyobject'] = self.options.get('pyobject')
                block['selectors'] = [opt for opt in _SELECTORS if opt in self.options]
        return result


def columns(line):
    """Display width of a line of code: wide (CJK) characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in 'WF' else 1
               for ch in line.expandtabs(8))


def problems(block, source_root):
    """Why this displayed code block breaks the deck's rules (empty if it doesn't)."""
    found = []
    if isinstance(block, nodes.doctest_block):
        found.append('a bare ">>>" block: write it as ".. doctest::" so that it runs')
    elif 'testnodetype' in block:
        pass
    elif 'pyobject' not in block:
        found.append('code that is not a literalinclude of src/ nor a doctest')
    else:
        included = Path(block['source']).resolve()
        if not included.is_relative_to(source_root):
            found.append(f'literalinclude of {included}, which is outside {source_root}')
        if block['selectors']:
            found.append('literalinclude selects by :%s: instead of :pyobject:'
                         % ':, :'.join(block['selectors']))
        if not block['pyobject']:
            found.append('literalinclude without :pyobject:')

    lines = block.astext().splitlines()
    if len(lines) > MAX_LINES:
        found.append(f'{len(lines)} lines, more than the {MAX_LINES} a slide shows')
    widest = max(lines, key=columns, default='')
    if columns(widest) > MAX_COLUMNS:
        found.append(f'{columns(widest)} columns wide, more than {MAX_COLUMNS}: {widest!r}')
    return found


def check_doctree(app, doctree):
    """Log an error, with file and line, for every offending block of a document.

    The document is also marked to be read again on the next build, so a
    cached environment cannot hide the error, and the build fails even
    without ``-W`` (see ``fail_build``).
    """
    env = app.env
    source_root = (Path(app.confdir) / app.config.codeguard_source_root).resolve()
    for block in doctree.findall(
            lambda n: isinstance(n, (nodes.literal_block, nodes.doctest_block))):
        for why in problems(block, source_root):
            logger.error('code guard: %s', why, location=block, type='codeguard')
            env.codeguard_failed.add(env.docname)
    if env.docname in env.codeguard_failed:
        env.note_reread()


def _init(app):
    if not hasattr(app.env, 'codeguard_failed'):  # a pickled env has it already
        app.env.codeguard_failed = set()


def _purge(app, env, docname):
    env.codeguard_failed.discard(docname)


def _merge(app, env, docnames, other):
    env.codeguard_failed |= other.codeguard_failed & set(docnames)


def fail_build(app, exception):
    """A guarded build fails (exit status 1), whether or not warnings do."""
    if exception is None and app.env.codeguard_failed:
        logger.error('code guard: slide code must come from src/ by :pyobject: '
                     'or from a doctest, and fit %d lines x %d columns (%s)',
                     MAX_LINES, MAX_COLUMNS, ', '.join(sorted(app.env.codeguard_failed)))
        app.statuscode = 1


def setup(app):
    app.add_config_value('codeguard_source_root', 'src', 'env', types=(str,))
    app.add_directive('literalinclude', GuardedLiteralInclude, override=True)
    app.connect('builder-inited', _init)
    app.connect('env-purge-doc', _purge)
    app.connect('env-merge-info', _merge)
    app.connect('doctree-read', check_doctree)
    app.connect('build-finished', fail_build)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
