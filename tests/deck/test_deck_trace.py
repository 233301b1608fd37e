"""Every code block on the built slides is traced to src/ or to a doctest.

This reads the finished ``index.html``, not Sphinx's doctree, so it checks
what the audience sees: each ``<pre>`` must be, character for character, the
source of a function or class under ``src/`` or the body of a
``.. doctest::`` directive in the slides' sources (which `make test` runs).
"""

import ast
import re
import textwrap

from deck_support import ROOT

DOCTEST_FLAGS = re.compile(r'\s*# doctest:.*$')


def normalize(code):
    lines = [line.rstrip() for line in code.splitlines()]
    return '\n'.join(lines).strip('\n')


def source_objects():
    """Text of every function and class under src/, as :pyobject: shows it."""
    found = {}
    for path in (ROOT / 'src').rglob('*.py'):
        text = path.read_text(encoding='utf-8')
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                starts = {node.lineno} | {d.lineno for d in node.decorator_list[:1]}
                for start in starts:
                    code = textwrap.dedent('\n'.join(lines[start - 1:node.end_lineno]))
                    found[normalize(code)] = f'{path.relative_to(ROOT)}:{node.name}'
    return found


def slide_doctests():
    """Body of every ``.. doctest::`` directive in the slides' sources."""
    found = {}
    for path in [ROOT / 'index.rst', *sorted((ROOT / 'slides').glob('*.rst'))]:
        lines = path.read_text(encoding='utf-8').splitlines()
        for number, line in enumerate(lines):
            directive = re.match(r'(\s*)\.\. doctest::', line)
            if not directive:
                continue
            indent = len(directive[1])
            body = []
            for following in lines[number + 1:]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                body.append(following)
            body = textwrap.dedent('\n'.join(body)).splitlines()
            while body and (not body[0].strip() or body[0].startswith(':')):
                body.pop(0)  # options and the blank line after the directive
            shown = [DOCTEST_FLAGS.sub('', b).replace('<BLANKLINE>', '') for b in body]
            found[normalize('\n'.join(shown))] = f'{path.relative_to(ROOT)}:{number + 1}'
    return found


def test_every_code_block_on_the_slides_comes_from_src_or_a_doctest(deck):
    known = source_objects() | slide_doctests()
    untraced = [(slide.title, code) for slide in deck for code in slide.code
                if normalize(code) not in known]
    assert not untraced, f'code on slides not found in src/ nor a doctest: {untraced}'


def test_the_deck_shows_code_at_all(deck):
    # Guards the test above against passing on a deck whose <pre> we fail to read.
    assert sum(len(slide.code) for slide in deck) >= 10
