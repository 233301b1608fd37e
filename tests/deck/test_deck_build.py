"""The slides build cleanly and carry the whole talk, in order, with notes."""

import re

from deck_support import ROOT, SEED, STRICT, seed_form, sphinx_build

CJK = re.compile('[\u4e00-\u9fff]')


def test_slides_build_with_no_warning(slides_build):
    assert slides_build.returncode == 0, slides_build.stderr
    assert 'WARNING' not in slides_build.stderr
    assert 'ERROR' not in slides_build.stderr


def test_every_section_of_the_talk_is_a_slide_in_order(deck):
    """The seed's slides, in its order (spacing and punctuation aside);
    slides of our own may sit between them."""
    titles = [seed_form(slide.title) for slide in deck]
    seed = [seed_form(title) for title, _ in SEED]
    assert titles[0] == seed[0]
    missing = [title for title in seed if title not in titles]
    assert not missing, f'missing: {missing}'
    positions = [titles.index(title) for title in seed]
    assert positions == sorted(positions), 'the talk\'s order changed'
    assert len(set(titles)) == len(titles), 'a title appears twice'


def test_every_seed_bullet_is_on_its_slide(deck):
    """Each of the seed's bullets, on the slide of its title: changed only in
    spacing, punctuation and the listed corrections."""
    slides = {seed_form(slide.title): slide for slide in deck}
    lost = []
    for title, bullets in SEED:
        shown = {seed_form(item) for item in slides[seed_form(title)].items}
        lost += [(title, bullet) for bullet in bullets
                 if seed_form(bullet, corrected=True) not in shown]
    assert not lost, f'seed bullets missing from their slides: {lost}'


def test_title_slide_comes_first_and_the_rest_are_content_slides(deck):
    assert 'level-1' in deck[0].classes
    assert all('level-2' in slide.classes for slide in deck[1:])


def test_every_slide_has_chinese_speaker_notes(deck):
    missing = [slide.title for slide in deck
               if len(CJK.findall(slide.notes)) < 20]
    assert not missing, f'slides without speaker notes: {missing}'


def test_handout_builds_from_the_same_sources(tmp_path):
    done = sphinx_build(ROOT, tmp_path / 'html', 'html', *STRICT,
                        '-d', str(tmp_path / 'doctrees'))
    assert done.returncode == 0, done.stderr
    handout = (tmp_path / 'html' / 'index.html').read_text(encoding='utf-8')
    handout = seed_form(handout)
    assert all(seed_form(title) in handout for title, _ in SEED)


def test_readme_opens_with_the_two_commands():
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    first_block = readme.split('```')[1].splitlines()
    commands = [line.strip() for line in first_block[1:] if line.strip()]
    assert commands == ['make slides', 'make test']
