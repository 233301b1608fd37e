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
* Both editions have the same slides in the same order, with byte-identical
  code, and the English page says ``lang="en"``.
* hieroglyph's gettext weak spots (content inside ``ifslides``, ``..
  slide::`` content, a slide without a title, whose id comes from
  ``hash()``) are not used by this deck; a test fails if one appears.
"""

import re
import os
import subprocess

import pytest

from deck_support import ROOT, STRICT, parse_deck, sphinx_build

CATALOGUE = ROOT / 'locales' / 'en' / 'LC_MESSAGES' / 'index.po'
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
def english_build(tmp_path_factory):
    """The English edition's slides, built strictly."""
    out = tmp_path_factory.mktemp('slides-en')
    done = sphinx_build(ROOT, out, 'slides', *STRICT, '-D', 'language=en',
                        '-d', str(tmp_path_factory.mktemp('doctrees-en')))
    assert done.returncode == 0, done.stderr
    return out


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
    cjk = re.compile(r'[\u3000-\u9fff\uff00-\uffef]')
    assert [m.id[:40] for m in catalogue
            if m.id and cjk.search(LITERAL.sub('', m.string))] == []


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
