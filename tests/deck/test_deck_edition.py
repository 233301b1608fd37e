"""The English edition: built from the Chinese sources and the translations
in locales/en/LC_MESSAGES, never drifting from them.

* Every message the Chinese text has today -- extracted afresh by Sphinx's
  gettext builder, not read from a catalogue that may be stale -- has an
  English translation that is neither empty nor fuzzy: a change to the
  Chinese text fails here until its translation comes in the same commit
  (``make gettext`` brings the message into the catalogue).
* A translation keeps what the data and the code say: every number (1 万
  may become 10,000), every ``:bench:`` role, every placeholder and
  condition of a ``:bench-claim:``, every ``literal``.
* The words the deck's extensions write (deckext.words: the agenda, the
  charts' and tables' labels, the timelines, the buttons, the console) are
  all translated in deck.po, each keeping its ``{fields}``; a drawing with
  words in it has its English file.
* Both editions have the same slides in the same order, with byte-identical
  code, and the English page says ``lang="en"``; outside code, no CJK
  character is left on an English page: not in its text, not in a title,
  an aria-label or an alt a screen reader says.
* hieroglyph's gettext weak spots (content inside ``ifslides``, ``..
  slide::`` content, a slide without a title, whose id comes from
  ``hash()``) are not used by this deck; a test fails if one appears.
"""

import re
import os
import subprocess
from html.parser import HTMLParser

import pytest

from deck_support import ROOT, STRICT, parse_deck, sphinx_build

CATALOGUE = ROOT / 'locales' / 'en' / 'LC_MESSAGES' / 'index.po'
WORDS = ROOT / 'locales' / 'en' / 'LC_MESSAGES' / 'deck.po'
CJK = re.compile(r'[\u3000-\u9fff\uff00-\uffef]')
FIELD = re.compile(r'\{(\w*)[^{}]*\}')
SOURCES = [ROOT / 'index.rst', *sorted((ROOT / 'slides').glob('*.rst'))]
BENCH_ROLE = re.compile(r':bench:`[^`]*`')
CLAIM = re.compile(r':bench-claim:`([^`]*)`')
PLACEHOLDER = re.compile(r'\{[^{}]*\}')
LITERAL = re.compile(r'``.+?``')
NUMBER = re.compile(r'\d[\d,]*(?:\.\d+)?')


def read_po(path):
    from babel.messages.pofile import read_po
    with open(path, 'rb') as po:
        return read_po(po)


@pytest.fixture(scope='module')
def catalogue():
    return read_po(CATALOGUE)


@pytest.fixture(scope='module')
def current_messages(tmp_path_factory):
    """The msgids of the Chinese text as it is now (Sphinx's gettext builder)."""
    out = tmp_path_factory.mktemp('gettext')
    done = sphinx_build(ROOT, out, 'gettext', '-q')
    assert done.returncode == 0, done.stderr
    return [message.id for message in read_po(out / 'index.pot') if message.id]


@pytest.fixture(scope='module')
def english_build(english_slides):
    """The English edition's slides, built strictly (conftest.py)."""
    return english_slides


def numbers(text):
    """The numbers a text says, as values: 1,000 and 1000 alike; N 万 as N*10,000."""
    text = re.sub(r'(\d+(?:\.\d+)?)\s*万', lambda m: repr(float(m.group(1)) * 10_000), text)
    return sorted(float(n.replace(',', '')) for n in NUMBER.findall(text)
                  if n.replace(',', '').replace('.', '').isdigit())


def kept(message):
    """What a translation must carry over unchanged, in order."""
    claims = CLAIM.findall(message)
    return {'bench': BENCH_ROLE.findall(message),
            'placeholders': [p for claim in claims for p in PLACEHOLDER.findall(claim)],
            'conditions': [claim.rsplit('<', 1)[-1] for claim in claims],
            'literals': sorted(LITERAL.findall(message)),
            'numbers': numbers(message)}


def test_every_message_of_the_chinese_text_has_an_english_translation(catalogue,
                                                                    current_messages):
    translated = {m.id: m for m in catalogue if m.id}
    missing = [message[:60] for message in current_messages
               if message not in translated or not translated[message].string]
    fuzzy = [message[:60] for message in current_messages
             if message in translated and translated[message].fuzzy]
    assert (missing, fuzzy) == ([], []), (
        'untranslated or fuzzy messages: run make gettext, translate them in '
        f'{CATALOGUE.relative_to(ROOT)}, and commit both')


def test_a_translation_keeps_every_number_role_and_literal(catalogue):
    changed = [(m.id[:50], kept(m.id), kept(m.string)) for m in catalogue
               if m.id and m.string and kept(m.id) != kept(m.string)]
    assert changed == []


def test_no_translation_is_left_in_chinese(catalogue):
    assert [m.id[:40] for m in catalogue
            if m.id and CJK.search(LITERAL.sub('', m.string))] == []


def test_every_word_the_extensions_write_has_an_english_translation():
    from deckext.words import extract
    words = {(m.context, m.id): m for m in read_po(WORDS) if m.id}
    missing = [f'{where}: {message}' for (context, message), where in extract(ROOT)
               if (context, message) not in words or not words[context, message].string
               or words[context, message].fuzzy]
    assert missing == [], (
        f'untranslated or fuzzy words: run make gettext, translate them in '
        f'{WORDS.relative_to(ROOT)}, and commit both')


def test_a_translated_word_keeps_its_fields_and_is_english():
    bad = [(m.id, m.string) for m in read_po(WORDS) if m.id and m.string
           and (sorted(FIELD.findall(m.id)) != sorted(FIELD.findall(m.string))
                or CJK.search(m.string))]
    assert bad == []


class Text(HTMLParser):
    """Each text a page shows or says outside code, with where it is; not
    what an element marked as Chinese says (lang="zh-CN": the switch's 中文,
    which names the other edition in its own language and voice)."""
    SAID = ('title', 'aria-label', 'alt', 'placeholder')
    CODE = ('pre', 'code', 'script', 'style')
    EMPTY = ('br', 'img', 'meta', 'link', 'input', 'hr', 'rect', 'line', 'circle',
             'path', 'polyline', 'source', 'col')

    def __init__(self):
        super().__init__()
        self.open, self.texts = [], []

    def handle_starttag(self, tag, attributes):
        attributes = dict(attributes)
        chinese = self.chinese() or (attributes.get('lang') or '').startswith('zh')
        if not chinese:
            self.texts += [(f'{tag}[{name}]', attributes[name]) for name in self.SAID
                           if attributes.get(name)]
        if tag not in self.EMPTY:
            self.open.append((tag, attributes.get('class') or '', chinese))

    def handle_endtag(self, tag):
        while self.open and self.open.pop()[0] != tag:
            pass

    def chinese(self):
        return any(chinese for _tag, _classes, chinese in self.open)

    def handle_data(self, data):
        if self.chinese():
            return
        if not any(tag in self.CODE or 'highlight' in classes for tag, classes, _ in self.open):
            self.texts.append(('/'.join(tag for tag, _c, _z in self.open[-3:]), data))


def test_no_chinese_is_left_outside_code_on_the_english_pages(english_build):
    left = []
    for page in ('index.html', 'console.html'):
        text = Text()
        text.feed((english_build / page).read_text(encoding='utf-8'))
        left += [(page, where, said.strip()[:70]) for where, said in text.texts
                 if CJK.search(said)]
    assert left == []


def test_both_editions_have_the_same_slides_and_the_same_code(deck, english_build):
    english = parse_deck(english_build / 'index.html')
    assert len(english) == len(deck)
    assert [slide.classes for slide in english] == [slide.classes for slide in deck]
    assert [slide.code for slide in english] == [slide.code for slide in deck]
    assert all(slide.title.strip() for slide in english)


def test_the_english_page_says_it_is_english(english_build):
    page = (english_build / 'index.html').read_text(encoding='utf-8')
    assert re.search(r'<html[^>]* lang="en"', page)


def test_the_deck_uses_none_of_hieroglyphs_gettext_weak_spots():
    text = '\n'.join(path.read_text(encoding='utf-8') for path in SOURCES)
    assert re.findall(r'^\s*\.\. (ifslides|ifnotslides|slide)::', text, re.M) == []
    # Every slide is a titled section: a level-2 title has its underline.
    for path in SOURCES:
        lines = path.read_text(encoding='utf-8').splitlines()
        for above, line in zip(lines, lines[1:]):
            if re.fullmatch(r'=+', line) and not above.strip():
                pytest.fail(f'{path.name}: an underline with no title above it')


def test_a_make_variable_lang_is_not_the_locale():
    """make slides lang=en builds the English edition; LANG stays the locale's."""
    done = subprocess.run(['make', '-n', 'slides', 'lang=en'], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert '-D language=en . _build/slides-en' in done.stdout


def test_a_locale_the_machine_lacks_falls_back_with_one_line():
    env = {k: v for k, v in os.environ.items() if not k.startswith('LC_')}
    env['LANG'] = 'zz_ZZ.UTF-8'
    done = subprocess.run(['make', '-n', 'help'], cwd=ROOT, capture_output=True, text=True,
                          env=env, timeout=60)
    lines = [line for line in done.stdout.splitlines() if 'locale' in line]
    assert lines == ['make: locale zz_ZZ.UTF-8 is not installed here; using C.UTF-8'] or \
        lines == ['make: locale zz_ZZ.UTF-8 is not installed here; using en_US.UTF-8']


# --- the switch on stage -------------------------------------------------------

@pytest.fixture
def both_editions(built_slides, english_slides, tmp_path):
    """make present's layout: _build/slides at / and /slides/, _build/slides-en
    at /slides-en/, served by a Stage."""
    from stage_support import serving
    (tmp_path / 'slides').symlink_to(built_slides)
    (tmp_path / 'slides-en').symlink_to(english_slides)
    with serving(tmp_path / 'slides', editions=[tmp_path / 'slides-en']) as stage:
        yield stage


def test_l_switches_to_the_same_slide_in_the_other_edition_and_back(
        browser, both_editions):  # noqa: F811 (fixture)
    """Each edition links the other's page; the key l follows it."""
    from deckext.present import TYPE_FITTED
    from test_deck_browser import CURRENT_SLIDE_SETTLED, VIEWPORT
    stage = both_editions
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(stage.url + 'index.html#5', wait_until='load')
        page.wait_for_function(TYPE_FITTED)
        for lang, path in (('en', '/slides-en/index.html'), ('zh-CN', '/slides/index.html')):
            page.keyboard.press('l')
            page.wait_for_url(f'**{path}#5')
            page.wait_for_function(TYPE_FITTED)
            page.wait_for_function(CURRENT_SLIDE_SETTLED)
            assert page.evaluate('document.documentElement.lang') == lang
            assert page.evaluate('SlideDeck.curSlide()') == 4
    finally:
        page.close()


def test_the_consoles_button_switches_both_windows_and_keeps_the_clock(
        browser, both_editions):  # noqa: F811 (fixture)
    from test_deck_browser import CURRENT_SLIDE_SETTLED, VIEWPORT
    stage = both_editions
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(stage.url + 'index.html#3', wait_until='load')
        page.wait_for_function(CURRENT_SLIDE_SETTLED)
        with page.expect_popup() as opened:
            page.keyboard.press('c')
        console = opened.value
        console.wait_for_function('document.querySelector("#cur_slide_num")?.textContent === "3"')
        console.click('#timer_pause')          # a paused clock shows it was kept
        paused = console.inner_text('#elapsed')
        assert console.inner_text('#edition') == 'English'
        console.click('#edition')
        page.wait_for_url('**/slides-en/index.html#3')
        console.wait_for_url('**/slides-en/console.html')
        console.wait_for_function('document.querySelector("#cur_slide_num")?.textContent === "3"')
        assert console.evaluate('document.documentElement.lang') == 'en'
        assert console.inner_text('#timer_pause') == 'Resume'
        assert console.inner_text('#elapsed') == paused
        assert console.inner_text('#edition') == '中文'
    finally:
        context.close()
