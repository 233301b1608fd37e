"""The deck's slide theme: hieroglyph's default look, offline, CJK, and fitting.

The theme itself is ``themes/deck`` beside this module (a stylesheet over
hieroglyph's ``slides`` theme, and a layout that gives the page a language,
a main landmark and a live region); this extension registers it under the
name ``deck`` so that ``slide_theme = 'deck'`` finds it, and gives the pages a
favicon, without which every browser's automatic ``/favicon.ico`` request
logs a 404 console error.

Code on the slides is coloured by :class:`DeckStyle`, Pygments' ``friendly``
palette with every colour that reads too faintly on the code block's grey
darkened until it passes WCAG AA (4.5:1): friendly's comments (#60a0b0) are
2.57:1 there, its numbers 2.84:1, a doctest's output 3.11:1.
"""

import colorsys
from pathlib import Path

from pygments.styles.friendly import FriendlyStyle

THEME_DIR = Path(__file__).parent / 'themes' / 'deck'

# WCAG 2.1 AA for text under 24 px (18 pt), which code on a slide can be.
AA_CONTRAST = 4.5


def _rgb(colour):
    """'#rgb' or '#rrggbb' -> (r, g, b) in 0..1."""
    digits = colour.lstrip('#')
    if len(digits) == 3:
        digits = ''.join(d * 2 for d in digits)
    return tuple(int(digits[i:i + 2], 16) / 255 for i in (0, 2, 4))


def _luminance(colour):
    def linear(c):
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = map(linear, _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(foreground, background):
    """The WCAG contrast ratio of two colours, 1 to 21."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def readable(colour, background, ratio=AA_CONTRAST):
    """colour itself if it has ``ratio`` against background, else the same
    hue and saturation made just dark enough (a step of 1% lightness)."""
    hue, lightness, saturation = colorsys.rgb_to_hls(*_rgb(colour))
    candidate = colour
    while contrast(candidate, background) < ratio and lightness > 0:
        lightness = max(0.0, lightness - 0.01)
        r, g, b = colorsys.hls_to_rgb(hue, lightness, saturation)
        candidate = '#%02x%02x%02x' % tuple(round(c * 255) for c in (r, g, b))
    return candidate


def _readable_definition(definition, background):
    """A Pygments style string with its text colour made readable on its own
    background (``bg:``) or else on the code block's."""
    words = definition.split()
    own = [w[3:] for w in words if w.startswith('bg:#')]
    on = own[0] if own else background
    return ' '.join(readable(w, on) if w.startswith('#') else w for w in words)


class DeckStyle(FriendlyStyle):
    """Pygments' friendly style, every text colour AA on its background."""

    styles = {token: _readable_definition(definition, FriendlyStyle.background_color)
              for token, definition in FriendlyStyle.styles.items()}


def _default_favicon(app, config):
    if not config.html_favicon:
        config.html_favicon = str(THEME_DIR / 'static' / 'favicon.svg')


def setup(app):
    app.add_html_theme('deck', THEME_DIR)
    app.connect('config-inited', _default_favicon)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
