"""The deck's slide theme: hieroglyph's default look, offline, CJK, and fitting.

The theme itself is ``themes/deck`` beside this module (a stylesheet over
hieroglyph's ``slides`` theme); this extension registers it under the name
``deck`` so that ``slide_theme = 'deck'`` finds it, and gives the pages a
favicon, without which every browser's automatic ``/favicon.ico`` request
logs a 404 console error.
"""

from pathlib import Path

THEME_DIR = Path(__file__).parent / 'themes' / 'deck'


def _default_favicon(app, config):
    if not config.html_favicon:
        config.html_favicon = str(THEME_DIR / 'static' / 'favicon.svg')


def setup(app):
    app.add_html_theme('deck', THEME_DIR)
    app.connect('config-inited', _default_favicon)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
