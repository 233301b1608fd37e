"""The deck is a talk that fits its slot: a main path with a map, an ending
and notes a speaker can say, then an appendix of backup slides.

The main path is every slide before 附录.  Its notes are the speaker's
script, so they are timed in both editions (deckext.talk: a unit is a CJK
character or a Latin word or number; 250 units a minute in Chinese, 150
words in English) and kept free of what means nothing read aloud: build
commands and the history of the deck.
"""

import re

import pytest

from deck_support import ROOT
from deckext.talk import UNITS_PER_MINUTE, minutes, part_title, spoken_units
from deckext.words import SOURCE_LANGUAGE
from microthread.demos.claims import CLAIMS

MAX_MAIN_SLIDES = 36
MAX_MAIN_MINUTES = 22
MAX_NOTE_MINUTES = 1.4       # 350 units of Chinese, 210 English words
APPENDIX = '附录'
AGENDA = '提纲'
CLOSING = '何时用哪个'

# Read aloud, these say nothing to a room: how the deck is built and
# checked, and how it differs from its first draft (that list is on
# 与原稿的不同, in the appendix).
OFF_SCRIPT = re.compile(r'\bmake\b|bench\.json|doctest|pytest|构建|原稿|手填'
                        r'|这一页证明|与原稿不同')


def deck_parts():
    """deck_parts as conf.py sets it, read without importing conf.py."""
    namespace = {}
    exec((ROOT / 'conf.py').read_text(encoding='utf-8'), namespace)
    return namespace['deck_parts']


@pytest.fixture(scope='module')
def titles(deck):
    return [slide.title.strip() for slide in deck]


@pytest.fixture(scope='module')
def main_path(deck, titles):
    assert APPENDIX in titles, f'no slide titled {APPENDIX}'
    return deck[:titles.index(APPENDIX)]


def test_the_main_path_fits_the_slot_and_the_appendix_follows(deck, main_path):
    assert len(main_path) <= MAX_MAIN_SLIDES, (
        f'{len(main_path)} slides before {APPENDIX}; at most {MAX_MAIN_SLIDES}')
    assert len(deck) > len(main_path) + 1, f'{APPENDIX} has no slides after it'


@pytest.fixture(scope='module')
def spoken(edition, main_path):
    """(title, units) of each main-path slide's notes in edition's language;
    the editions have the same slides in the same order."""
    return [(slide.title.strip(), spoken_units(slide.notes))
            for slide in edition.deck[:len(main_path)]]


def test_every_edition_has_a_speaking_pace():
    editions = {SOURCE_LANGUAGE} | {path.name for path in (ROOT / 'locales').iterdir()}
    assert editions <= UNITS_PER_MINUTE.keys()


def test_the_main_paths_notes_take_at_most_22_minutes(edition, spoken):
    units = sum(count for _, count in spoken)
    assert minutes(units, edition.language) <= MAX_MAIN_MINUTES, (
        f'{units} units = {minutes(units, edition.language):.1f} minutes of notes '
        f'on the main path of the {edition.language} edition')


def test_no_main_path_note_takes_over_1_4_minutes(edition, spoken):
    long = {title: f'{minutes(count, edition.language):.2f} min' for title, count in spoken
            if minutes(count, edition.language) > MAX_NOTE_MINUTES}
    assert not long, f'{edition.language} notes over {MAX_NOTE_MINUTES} minutes: {long}'


def test_the_readme_says_how_long_the_notes_take(edition, spoken):
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    said = re.search(r'speaker notes take\s+about (\d+) minutes', readme)
    assert said, 'README.md no longer says how long the notes take'
    taken = minutes(sum(count for _, count in spoken), edition.language)
    assert abs(taken - int(said.group(1))) <= 1, (
        f'README.md says about {said.group(1)} minutes; the {edition.language} '
        f'notes take {taken:.1f}')


def test_main_path_notes_say_nothing_about_the_build_or_the_draft(main_path):
    found = [(slide.title, hit.group()) for slide in main_path
             for hit in OFF_SCRIPT.finditer(slide.notes)]
    assert not found, f'build or draft talk in the speaker notes: {found}'


def test_the_agenda_comes_after_the_title_and_lists_every_part(deck):
    assert deck[1].title.strip() == AGENDA
    parts = deck_parts()
    assert len(parts) == 5
    assert [item.partition('、')[2] for item in deck[1].items] == parts


def test_each_part_opens_with_its_divider_in_order_and_marks_itself(
        main_path, titles):
    parts = deck_parts()
    dividers = [part_title(number, part) for number, part in enumerate(parts, 1)]
    missing = [title for title in dividers if title not in titles]
    assert not missing, f'no divider slide: {missing}'
    positions = [titles.index(title) for title in dividers]
    assert positions == sorted(positions)
    assert positions[-1] < len(main_path)
    for number, position in enumerate(positions, 1):
        assert main_path[position].items == main_path[1].items, (
            f'divider {number} does not show the agenda')


def test_the_main_path_ends_on_the_closing_slide(main_path):
    closing = main_path[-1]
    assert closing.title.strip() == CLOSING, (
        f'the main path ends on {closing.title!r}, not on {CLOSING}')
    assert '切换' in closing.notes


def test_hub_is_pictured_before_any_slide_names_it(deck):
    first = next(slide for slide in deck
                 if 'hub' in slide.title + ''.join(slide.items) + slide.notes
                 + ''.join(slide.code))
    assert '图解' in first.title, f'"hub" is first named on {first.title!r}'


def test_every_claim_names_a_slide_of_the_deck(titles):
    """`python -m microthread.demos run NAME` is run from the slide that
    makes the claim: the registry must name slides that exist."""
    lost = {name: claim.slide for name, claim in CLAIMS.items()
            if claim.slide not in titles}
    assert not lost, f'claims naming no slide: {lost}'


@pytest.mark.parametrize('text, units', [
    ('进程和线程', 5),
    ('CPython 3.11 有 GIL', 4),
    ('epoll_wait 问内核 I/O', 5),
    ('一跳 3,014 纳秒', 5),
])
def test_a_unit_is_a_cjk_character_or_a_latin_word_or_number(text, units):
    assert spoken_units(text) == units
