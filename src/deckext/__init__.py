"""The deck's own Sphinx extensions.

``extensions = ['deckext']`` in conf.py loads all of them:

* :mod:`deckext.words` -- the words the extensions write, in the edition's
  language (``locales/<lang>/LC_MESSAGES/deck.po``);
* :mod:`deckext.compat` -- hieroglyph 2.1.0 on current Sphinx;
* :mod:`deckext.codeguard` -- every code block on a slide is real, tested
  code from ``src/`` and fits the slide;
* :mod:`deckext.theme` -- the offline, CJK-ready slide theme;
* :mod:`deckext.figures` -- a drawing inline, in the edition's language;
* :mod:`deckext.numbers` -- benchmark numbers from ``slides/data/bench.json``
  as inline values, tables and SVG charts;
* :mod:`deckext.lint` -- the slides' Chinese: spacing, full-width
  punctuation and the glossary's terms (off unless ``deck_lint = True``);
* :mod:`deckext.livedemo` and :mod:`deckext.livehub` -- a slide's claim run
  from the slide, and the live hub view, under ``make present``.
"""


def setup(app):
    for name in ('words', 'compat', 'codeguard', 'theme', 'figures', 'numbers'):
        app.setup_extension(f'deckext.{name}')
    app.setup_extension('deckext.timeline')
    app.setup_extension('deckext.lint')
    app.setup_extension('deckext.livedemo')
    app.setup_extension('deckext.livehub')
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
