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
import json
from pathlib import Path

from pygments.styles.friendly import FriendlyStyle

from .words import N_, SOURCE_LANGUAGE, _

THEME_DIR = Path(__file__).parent / 'themes' / 'deck'

# The words the theme's scripts write (static/words.js reads them from the
# page as JSON, static/*.js name them by key): a template's {fields} are
# filled in by the script.
SCRIPT_WORDS = {
    'status': N_('第 {n} 张，共 {total} 张：{title}'),   # present.js, the live region
    'overview_slide': N_('第 {n} 张：{title}'),          # a thumbnail in the overview
    'pause': N_('暂停'), 'resume': N_('继续'),           # presenter.js, the clock
    'demo_running': N_('运行中'), 'demo_live': N_('现场'), 'demo_stopped': N_('已停止'),
    'demo_refused': N_('被拒绝'), 'demo_failed': N_('出错'), 'demo_stop': N_('停止'),
    'live_starting': N_('启动中…'), 'live_running': N_('现场运行中'),
    'live_blocking': N_('已阻塞：每个请求 time.sleep(0.5)'),
    'live_ended': N_('已结束'), 'live_failed': N_('出错：'),
    'live_report': N_('阻塞检测器：{culprit} 占住 hub 超过 {threshold} 秒，卡在 {where}'),
    'live_lane': N_('微线程'),
    'seconds': N_('{value} 秒'), 'milliseconds': N_('{value} 毫秒'),
    'live_recent': N_('最近 {ticks} 轮，共 {total}'),
}

# Each edition named in its own language, for the switch between them
# (the key l in the deck, a button in the console); its build directory is
# _build/slides for the source, _build/slides-<lang> for another (Makefile).
EDITION_NAMES = {SOURCE_LANGUAGE: '中文', 'en': 'English'}

# The words of the theme's templates (console.html), by key.
TEMPLATE_WORDS = {
    'console': N_('演讲者视图'),
    'counter': N_('当前 / 总数'),
    'previous': N_('上一张'), 'previous_key': N_('上一张（←）'),
    'next': N_('下一张'), 'next_key': N_('下一张（→）'),
    'elapsed': N_('已用时间'),
    'pause': N_('暂停'), 'pause_key': N_('暂停 / 继续（p）'),
    'reset': N_('归零'), 'reset_key': N_('归零（r）'),
    'current_pane': N_('当前'), 'next_pane': N_('下一张'), 'notes': N_('备注'),
    'no_deck': N_('请在幻灯片窗口按 c 打开演讲者视图。'),
    'edition_key': N_('同一张幻灯片，换一种语言（l）'),
}

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


def _add_words(app, pagename, templatename, context, doctree):
    """The page's words: ``words`` for its templates, ``script_words`` (JSON,
    safe inside <script>) for its scripts."""
    context['words'] = {key: _(word) for key, word in TEMPLATE_WORDS.items()}
    script = json.dumps({key: _(word) for key, word in SCRIPT_WORDS.items()},
                        ensure_ascii=False)
    context['script_words'] = script.replace('<', '\\u003c')
    context['deck_editions'] = other_editions(app, pagename)


def editions(app):
    """The languages the deck is built in: the source's and each of locales/."""
    translated = sorted(path.name for path in (Path(app.srcdir) / 'locales').glob('*')
                        if (path / 'LC_MESSAGES').is_dir())
    return [SOURCE_LANGUAGE] + [language for language in translated if language != SOURCE_LANGUAGE]


def build_dir(language):
    return 'slides' if language == SOURCE_LANGUAGE else f'slides-{language}'


def other_editions(app, pagename):
    """[{lang, name, href}] of the editions this page is not in, each the
    same page of the sibling build directory."""
    here = app.config.language or SOURCE_LANGUAGE
    return [{'lang': language.replace('_', '-'), 'name': EDITION_NAMES.get(language, language),
             'href': f'../{build_dir(language)}/{pagename}.html'}
            for language in editions(app) if language != here]


def _add_words_script(app):
    from hieroglyph.builder import AbstractSlideBuilder
    if isinstance(app.builder, AbstractSlideBuilder):   # the theme's pages only
        app.add_js_file('words.js', priority=100)


def setup(app):
    app.add_html_theme('deck', THEME_DIR)
    app.connect('config-inited', _default_favicon)
    app.connect('builder-inited', _add_words_script)
    app.connect('html-page-context', _add_words)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
