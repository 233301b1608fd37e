"""deckext.lint holds the slides' Chinese to three rules, naming file and line.

Each rule is planted in a slide (or in code a slide shows) and must be
reported at that line, by a direct call, by a build of a throwaway Sphinx
project with the deck's extensions, and by ``python -m deckext.lint``; the
right form of the same sentence must pass, and code and literals are never
text.
"""

import re
import subprocess
import sys

import pytest

from deckext.lint import (GlossaryError, Piece, RULES, check, lint_file, lint_rst,
                          load_glossary, main)
from deck_support import ROOT, STRICT, sphinx_build

GLOSSARY = ROOT / 'docs' / 'glossary.md'
TERMS = load_glossary(GLOSSARY)
FIRST_NOTE_LINE = 6   # of the slide() below


def slide(*note):
    """A slide whose speaker note has the given lines, from FIRST_NOTE_LINE on."""
    return '标题\n====\n\n.. note::\n\n' + ''.join(f'   {line}\n' for line in note)


def found(text, root=ROOT):
    """{(line, rule)} of the violations of an rst text."""
    return {(v.line, v.rule) for v in lint_rst('x.rst', text, TERMS, root)}


def rules(sentence):
    return {v.rule for v in check(Piece('x.rst', 1, sentence), TERMS)}


# -- spacing ---------------------------------------------------------------------

@pytest.mark.parametrize('wrong', [
    '每次sleep(0) 都是一个切换点',
    '打开 microthread库的测试',
    'M:N 是Go 和 Haskell 的做法',
    '通过system call 调用内核',
    '通过 system call调用内核',
    '心跳每 5毫秒跳一次',
    '在``wait_fd``里等',
    '一次 :bench:`micro.function_call_ns`纳秒',
    '性能提升 15%的部分',
])
def test_spacing_flags_cjk_touching_latin_a_digit_or_a_literal(wrong):
    assert (FIRST_NOTE_LINE, 'spacing') in found(slide(wrong))


@pytest.mark.parametrize('right', [
    '每次 sleep(0) 都是一个切换点',
    '通过 system call 调用内核（TRAP 指令）。Go 的做法',
    '心跳每 5 毫秒跳一次，提升 15% 的部分，233° 的高温',
    '在 ``wait_fd`` 里等，一次 :bench:`micro.function_call_ns` 纳秒',
    '1:1 和 M:N，按 (fd, event) 找到回调，0.15 秒',
    '抢占式调度容易出现：关键区域（Critical Section）的同步',
    ':bench-claim:`却要 {micro.getppid_ns} 纳秒 <micro.getppid_ns > 2>`，见 '
    '`PEP 703 <https://peps.python.org/pep-0703/>`_。',
])
def test_the_right_form_passes_every_rule(right):
    assert found(slide(right)) == set()


# -- punctuation -----------------------------------------------------------------

@pytest.mark.parametrize('wrong', [
    '抢占式调度容易出现: 关键区域',
    '线程数量:内核调度单元',
    'executeSQL 切换, async_executeSQL 不切换',
    '真的吗?',
    '一个也不丢;下一页',
    '到此结束.',
    '通过系统调用 (TRAP 指令)',
    '关键区域(Critical Section)的同步',
])
def test_punctuation_flags_half_width_marks_in_a_chinese_sentence(wrong):
    assert (FIRST_NOTE_LINE, 'punctuation') in found(slide(wrong))


@pytest.mark.parametrize('right', [
    '1:1 系统线程，M:N golang 换成 Go 的线程',
    '按 (fd, event) 找到登记的回调，改为 epoll_ctl(ADD)，',
    '关键区域 (Critical Section) 的同步，陷入（TRAP）指令',
    'Python 3.11 上，bench/README.md 里有分析',
])
def test_punctuation_leaves_ratios_code_and_latin_parentheses_alone(right):
    assert (FIRST_NOTE_LINE, 'punctuation') not in found(slide(right))


# -- glossary --------------------------------------------------------------------

@pytest.mark.parametrize('term, variant', [
    (term, variant) for term in TERMS for variant in term.variants])
def test_glossary_flags_each_variant_naming_its_term(term, variant):
    hits = check(Piece('x.rst', 1, f'这一页讲 {variant} 的用法'), TERMS)
    assert [v.rule for v in hits] == ['glossary']
    assert f'→ “{term.term}”' in hits[0].message


def test_the_glossary_holds_one_term_per_concept_as_agreed():
    preferred = {variant: term.term for term in TERMS for variant in term.variants}
    agreed = {'登记': '注册', '多播': '多路复用', '关键区域': '临界区',
              '懒惰注销': '惰性注销', '懒惰': '惰性', '内核线程': '系统线程'}
    assert agreed.items() <= preferred.items()


def test_a_variant_glossed_quoted_or_marked_is_allowed():
    text = slide('关键区域（临界区，Critical Section）的同步',
                 '原稿的“多播 IO”指的是 select 这一类',
                 '',
                 '.. lint: allow 内核线程',
                 '',
                 '内核线程只在内核里运行',
                 '内核线程（kthread）也在这一段里',
                 '',
                 '内核线程又出现了')
    assert found(text) == {(FIRST_NOTE_LINE + 8, 'glossary')}


def test_a_latin_variant_matches_whole_words_only():
    assert rules('asyncio 和 IOCP 都不是 IO 的别写') == {'glossary'}
    assert rules('asyncio 和 IOCP，io_uring') == set()


def test_the_glossary_file_parses():
    assert len(TERMS) >= 6
    assert all(term.term and term.variants and term.note for term in TERMS)
    critical = next(term for term in TERMS if term.term == '临界区')
    assert 'Critical Section' in critical.glosses


@pytest.mark.parametrize('table, why', [
    ('| a | b |\n|---|---|\n| 注册 | `登记` |\n', 'columns'),
    ('| term | instead of | glossed by | note |\n|-|-|-|-|\n'
     '| 注册 | `登记` | | x |\n| 登录 | `登记` | | y |\n', ':4: “登记” is already'),
    ('| term | instead of | glossed by | note |\n|-|-|-|-|\n'
     '| 惰性注销 | `注销` | | x |\n', 'would flag the term'),
])
def test_a_broken_glossary_is_refused_saying_where(tmp_path, table, why):
    (tmp_path / 'g.md').write_text(table, encoding='utf-8')
    with pytest.raises(GlossaryError, match=re.escape(why)):
        load_glossary(tmp_path / 'g.md')


# -- where: titles, bullets, notes, code -----------------------------------------

def test_each_violation_names_its_own_line_title_bullet_and_note():
    text = 'ABC标题\n=======\n\n* 要点sleep\n\n.. note::\n\n   第一行\n   备注:好\n'
    assert found(text) == {(1, 'spacing'), (4, 'spacing'), (9, 'punctuation')}


MODULE = '''\
def shown(n):
    """原稿: 发送的是已经发过的部分。"""
    切换a = n
    # 每次sleep(0) 切换
    return f"第{n}步" + 切换a


def not_shown():
    return "不在幻灯片上:好"  # 也不在幻灯片上sleep
'''


@pytest.fixture
def project(tmp_path):
    """A project root with src/pkg/mod.py, whose shown() a slide includes."""
    (tmp_path / 'src' / 'pkg').mkdir(parents=True)
    (tmp_path / 'src' / 'pkg' / '__init__.py').write_text('')
    (tmp_path / 'src' / 'pkg' / 'mod.py').write_text(MODULE, encoding='utf-8')
    return tmp_path


INCLUDE = '''\
.. literalinclude:: /src/pkg/mod.py
   :pyobject: shown
   :language: python
'''


def test_code_comments_and_strings_are_checked_at_the_py_file_and_line(project):
    violations = lint_rst('x.rst', INCLUDE, TERMS, project)
    assert {(v.path.endswith('mod.py'), v.line, v.rule) for v in violations} == {
        (True, 2, 'punctuation'), (True, 4, 'spacing'), (True, 5, 'spacing')}


DOCTEST = '''\
.. doctest::

   >>> x = "好:的"   # 切换到hub
   >>> print("第0步")  # 主动切换
   第0步:好
   >>> 变量a = 1
'''


def test_doctest_comments_and_strings_are_checked_its_output_is_not(project):
    assert found(DOCTEST, project) == {(3, 'punctuation'), (3, 'spacing'), (4, 'spacing')}


def test_literals_roles_urls_and_literal_blocks_are_not_text():
    text = slide('读 ``x:y(中文)好,的`` 和 :func:`切换,好` 与 https://x.org/a,b 里',
                 '例子如下：',
                 '',
                 '   >>> code',
                 '',
                 '代码::',
                 '',
                 '      a:中文(好)sleep',
                 '')
    assert found(text) == {(FIRST_NOTE_LINE + 5, 'punctuation')}


def test_a_marker_can_name_a_rule_for_the_next_block_only():
    text = slide('.. lint: allow spacing', '', '* 每次sleep(0)', '* 每次sleep(0)',
                 '', '每次sleep(0)')
    assert found(text) == {(FIRST_NOTE_LINE + 5, 'spacing')}


def test_the_current_deck_scans_to_lines_that_exist():
    for path in [ROOT / 'index.rst', *sorted((ROOT / 'slides').glob('*.rst'))]:
        for violation in lint_file(path, TERMS, ROOT):
            assert violation.rule in RULES and violation.line >= 1


# -- the build and the command line ----------------------------------------------

CONF = f"""\
extensions = ['deckext', 'sphinx.ext.doctest']
slide_theme = 'deck'
exclude_patterns = ['_build', 'slides', 'src']
deck_lint_glossary = {str(GLOSSARY)!r}
"""

INDEX = '''\
标题
====

.. note::

   这是备注sleep(0)

.. include:: slides/part.rst
'''

PART = '''\
一页
====

* 抢占式调度容易出现: 关键区域

''' + INCLUDE


def write_deck(project, conf):
    (project / 'conf.py').write_text(conf, encoding='utf-8')
    (project / 'index.rst').write_text(INDEX, encoding='utf-8')
    (project / 'slides').mkdir()
    (project / 'slides' / 'part.rst').write_text(PART, encoding='utf-8')
    return project


def test_the_build_warns_at_file_and_line_and_fails_under_W(project, tmp_path_factory):
    deck = write_deck(project, CONF + 'deck_lint = True\n')
    done = sphinx_build(deck, tmp_path_factory.mktemp('out'), 'slides', *STRICT)
    assert done.returncode != 0
    expected = [r'index\.rst:6: WARNING: spacing', r'slides/part\.rst:4: WARNING: punctuation',
                r'slides/part\.rst:4: WARNING: glossary: “关键区域” → “临界区”',
                r'src/pkg/mod\.py:4: WARNING: spacing']
    for warning in expected:
        assert re.search(warning, done.stderr), done.stderr


def test_the_build_is_untouched_while_deck_lint_is_off(project, tmp_path_factory):
    deck = write_deck(project, CONF)
    done = sphinx_build(deck, tmp_path_factory.mktemp('out'), 'slides', *STRICT)
    assert done.returncode == 0, done.stderr
    assert 'deck-lint' not in done.stderr


def test_the_command_line_prints_path_line_rule_and_exits_1(project):
    deck = write_deck(project, CONF)
    done = subprocess.run(
        [sys.executable, '-m', 'deckext.lint', '--glossary', str(GLOSSARY),
         'index.rst', 'slides/part.rst'], cwd=deck, capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith('index.rst:6: spacing: ')
    assert any(line.startswith('slides/part.rst:4: punctuation: ') for line in lines)
    assert any(line.startswith('src/pkg/mod.py:2: punctuation: ') for line in lines)
    assert 'spacing' in done.stderr and 'glossary 1' in done.stderr


def test_the_command_line_exits_0_on_clean_text(tmp_path, capsys):
    (tmp_path / 'ok.rst').write_text(slide('每次 sleep(0) 都是切换点。'), encoding='utf-8')
    assert main(['--glossary', str(GLOSSARY), str(tmp_path / 'ok.rst')]) == 0
    assert capsys.readouterr().out == ''
