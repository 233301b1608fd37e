"""The slides build cleanly and carry the whole talk, in order, with notes."""

import re

from deck_support import ROOT, STRICT, sphinx_build

# The talk's titles, in the talk's order: the title slide, then its 19 sections.
SEED_TITLES = [
    '进程、线程、微线程和事件驱动',
    '内核级 VS 用户级',
    '进程 - 一段程序的顺序执行',
    '线程',
    '内核调度时机 - 事件驱动',
    '用户级线程 - 微线程/绿线程/协程',
    '用户级调度器的调度时机',
    '抢占式调度 VS 协作式调度',
    '线程模型',
    '事件驱动编程',
    '事件驱动主循环',
    '注册事件接口',
    '使用',
    '对比系统线程+阻塞接口',
    '微线程+事件驱动+非阻塞接口',
    '区别在send的实现',
    '线程安全 - 识别何时会切换',
    '线程安全 - 识别何时会切换 - 例子',
    '线程安全 - 示例',
    '线程安全 - 示例 - 事件驱动',
]

CJK = re.compile('[\u4e00-\u9fff]')


def test_slides_build_with_no_warning(slides_build):
    assert slides_build.returncode == 0, slides_build.stderr
    assert 'WARNING' not in slides_build.stderr
    assert 'ERROR' not in slides_build.stderr


def test_every_section_of_the_talk_is_a_slide_in_order(deck):
    """The seed's slides, in its order; slides that prove a claim may sit
    between them (each right after the claim it proves)."""
    titles = [slide.title.strip() for slide in deck]
    assert titles[0] == SEED_TITLES[0]
    positions = [titles.index(title) for title in SEED_TITLES
                 if title in titles]
    assert len(positions) == len(SEED_TITLES), (
        f'missing: {[t for t in SEED_TITLES if t not in titles]}')
    assert positions == sorted(positions), 'the talk\'s order changed'
    assert len(set(titles)) == len(titles), 'a title appears twice'


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
    assert all(title in handout for title in SEED_TITLES)


def test_readme_opens_with_the_two_commands():
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    first_block = readme.split('```')[1].splitlines()
    commands = [line.strip() for line in first_block[1:] if line.strip()]
    assert commands == ['make slides', 'make test']
