"""Sphinx configuration of the deck 进程、线程、微线程和事件驱动.

One source, two outputs: ``make slides`` (hieroglyph's ``slides`` builder)
and ``make html`` (a handout, speaker notes shown as notes).  index.rst is the
title slide and includes the parts of the talk from slides/, so the whole
deck is one page that the arrow keys walk through.
"""

from deckext.words import N_

project = N_('进程、线程、微线程和事件驱动')   # a word of deck.po too
html_title = project
language = 'zh_CN'
# The English edition: the Chinese .rst stays the source; its translations
# are gettext catalogues in locales/en/LC_MESSAGES (make slides lang=en).
locale_dirs = ['locales/']
gettext_compact = False
gettext_uuid = False
gettext_last_translator = 'the deck'
gettext_language_team = 'the deck'

extensions = [
    'deckext',            # hieroglyph on current Sphinx, code guard, theme
    'deckext.talk',       # the agenda and the part dividers
    'sphinx.ext.doctest',  # runs the slides' doctests (make test)
]

# slides/ is included into index.rst, not built as documents of its own.
exclude_patterns = ['_build', '.venv', 'slides', 'src', 'tests', '.ci',
                    '.pytest_cache', 'README.md']

# hieroglyph: the title is level 1, every slide of the talk a level-2 section.
slide_theme = 'deck'
slide_levels = 2
slide_numbers = True

# deckext.codeguard: slide code comes from here (or from a doctest).
codeguard_source_root = 'src'

highlight_language = 'python3'

# deckext.lint: Chinese spacing, punctuation and the glossary (docs/glossary.md)
# in the slides and in the comments and docstrings of the code they show.
deck_lint = True

# deckext.talk: the parts of the talk, listed on 提纲 and on each divider;
# N_ marks them for the English edition's deck.po (deckext.words).
deck_parts = [
    N_('内核怎样调度进程和线程'),
    N_('用户级线程和它的调度'),
    N_('用户级的事件驱动'),
    N_('同一个 sendall 的三种写法'),
    N_('线程安全与切换点'),
]

# The talk's own styles (agenda, dividers, the closing table), on top of the theme.
html_static_path = ['slides/static']
html_css_files = ['talk.css']
