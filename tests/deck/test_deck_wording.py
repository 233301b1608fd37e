"""A sentence that compares measurements is a claim the build checks.

On a slide -- title, bullet or note -- wording that compares measured
numbers (比…快/慢/贵/便宜, 倍, ×, %, 数量级, 一成) belongs inside
``:bench-claim:`…``` (deckext.numbers), which states the comparison over
bench.json's keys and fails the build when the data contradicts it.  This
scan finds such wording anywhere else in the slides' sources.  Code is not
wording: doctest and literalinclude blocks are skipped, and a live doctest
asserts its own relation at ``make test`` time.

ALLOWED is the reviewed list of what the scan flags but is no comparison
of measurements; each entry says why, and must still be on its slide.
"""

import re

import pytest

from deck_support import ROOT

SOURCES = sorted((ROOT / 'slides').glob('*.rst')) + [ROOT / 'index.rst']

COMPARATIVE = re.compile(
    r'比(?!如|较|方)[^，。；：、,.;:！？]{0,30}?'
    r'(?:快|慢|贵|便宜|省|多|少|高|低|大|小|长|短)'
    r'|倍|×|[%％]|数量级|量级|[一二两三四五六七八九十几]成'
    r'|最(?:快|慢|贵|便宜|省|多|少|高|低|大|小)')
CLAIM = re.compile(r':bench-claim:`[^`]*`')
CODE = re.compile(r'^(\s*)\.\. (?:doctest|testcode|testoutput|code-block|code|'
                  r'sourcecode|literalinclude)::')
OPTION = re.compile(r'^\s+:[\w-]+:')

# (file, phrase) -> why the scan may flag it.
ALLOWED = {}


def comparisons(name, text):
    """(file, line, phrase) for each comparative wording outside a claim."""
    found, code_indent = [], None
    for number, line in enumerate(text.splitlines(), 1):
        indent = len(line) - len(line.lstrip())
        if code_indent is not None:
            if not line.strip() or indent > code_indent:
                continue
            code_indent = None
        code = CODE.match(line)
        if code:
            code_indent = len(code.group(1))
            continue
        if line.lstrip().startswith(('..', '>>>')) or OPTION.match(line):
            continue
        wording = CLAIM.sub(' ', line)
        for hit in COMPARATIVE.finditer(wording):
            phrase = wording[max(0, hit.start() - 8):hit.end() + 2].strip()
            if not any(name == file and allowed in phrase
                       for file, allowed in ALLOWED):
                found.append((name, number, phrase))
    return found


def test_no_slide_compares_measurements_outside_a_bench_claim():
    found = [hit for path in SOURCES
             for hit in comparisons(str(path.relative_to(ROOT)),
                                    path.read_text(encoding='utf-8'))]
    assert not found, 'comparative wording outside :bench-claim: (or ALLOWED):\n' + \
        '\n'.join(f'  {name}:{line}: ...{phrase}...' for name, line, phrase in found)


@pytest.mark.parametrize('sentence', [
    'greenlet 切换比线程切换便宜一个数量级。',
    '微线程服务器是 gevent 的 1.3 倍。',
    '懒惰注销比每次 epoll_ctl 快 30%。',
    '回调风格的内存最省。',
    'C10K 回显要慢一成。',
])
def test_a_planted_comparison_is_caught_with_its_file_and_line(sentence):
    slide = f'标题\n====\n\n.. note::\n\n   前文。{sentence}\n'
    assert {(name, line) for name, line, _ in comparisons('x.rst', slide)} == \
        {('x.rst', 6)}


def test_the_same_comparison_inside_a_claim_a_doctest_or_code_is_not_wording():
    slide = '\n'.join([
        '.. note::',
        '',
        '   :bench-claim:`是 gevent 的 {echo.n100.green.vs_gevent}，快 '
        '<echo.n100.green.vs_gevent > 1>`。',
        '',
        '.. doctest::',
        '',
        '   >>> trap > 2 * call        # 比一次函数调用贵好几倍',
        '   True',
        '',
        '.. literalinclude:: /src/x.py',
        '   :pyobject: f',
        '',
        '* 好处：开销小',
    ])
    assert comparisons('x.rst', slide) == []


def test_every_allowed_phrase_is_still_on_its_slide():
    for (name, phrase), why in ALLOWED.items():
        assert phrase in (ROOT / name).read_text(encoding='utf-8'), \
            f'ALLOWED has {phrase!r} for {name} ({why}), which no longer says it'
