"""The code guard fails a build on any slide code that is not real, tested code.

Each case is a throwaway Sphinx project: one slide with the block under test
and a ``src/`` package to include from.  A bad block must fail the build and
name its .rst file and line; a good one must build.
"""

import re
import textwrap

import pytest

from deckext.codeguard import MAX_COLUMNS, MAX_LINES, columns
from deck_support import STRICT, sphinx_build

CONF = """\
extensions = ['deckext', 'sphinx.ext.doctest']
slide_theme = 'deck'
exclude_patterns = ['_build']
"""

MODULE = '''\
def short():
    """短小的函数。"""
    return 42


class Box:
    def get(self):
        """取值。"""
        return 1


def long_one():
{body}
'''.format(body='\n'.join(f'    x{i} = {i}' for i in range(MAX_LINES + 1)))

GOOD = {
    'a literalinclude of a function by :pyobject:': """
        .. literalinclude:: /src/pkg/mod.py
           :pyobject: short
           :language: python
        """,
    'a literalinclude of a method, dedented': """
        .. literalinclude:: /src/pkg/mod.py
           :pyobject: Box.get
           :language: python
           :dedent:
        """,
    'a doctest': """
        .. doctest::

           >>> print('切换')
           切换
        """,
}

BAD = {
    'a code-block': ("""
        .. code-block:: python

           print('not tested')
        """, 'not a literalinclude of src/ nor a doctest'),
    'a literal block': ("""
        Code::

           print('not tested')
        """, 'not a literalinclude of src/ nor a doctest'),
    'a bare >>> block': ("""
        >>> print('not run as a doctest directive')
        not run as a doctest directive
        """, 'bare ">>>" block'),
    'a literalinclude by :lines:': ("""
        .. literalinclude:: /src/pkg/mod.py
           :lines: 1-3
        """, 'selects by :lines:'),
    'a literalinclude of a file outside src/': ("""
        .. literalinclude:: /conf.py
           :pyobject: setup
        """, 'outside'),
    'a literalinclude without :pyobject:': ("""
        .. literalinclude:: /src/pkg/mod.py
        """, 'without :pyobject:'),
    'a block longer than a slide': ("""
        .. literalinclude:: /src/pkg/mod.py
           :pyobject: long_one
        """, f'more than the {MAX_LINES} a slide shows'),
    'a block wider than a slide': ("""
        .. doctest::

           >>> print('{wide}')
           {wide}
        """.replace('{wide}', '宽' * (MAX_COLUMNS // 2)), f'more than {MAX_COLUMNS}'),
}


def make_project(root, block):
    (root / 'src' / 'pkg').mkdir(parents=True)
    (root / 'src' / 'pkg' / 'mod.py').write_text(MODULE, encoding='utf-8')
    (root / 'conf.py').write_text(CONF + '\n\ndef setup(app):\n    pass\n')
    (root / 'index.rst').write_text(
        '=====\n标题\n=====\n\n第一页\n======\n\n要点\n'
        + textwrap.dedent(block), encoding='utf-8')
    # The block takes these lines of index.rst, after the 8 lines above.
    return range(9, 9 + len(textwrap.dedent(block).splitlines()))


@pytest.mark.parametrize('block', GOOD.values(), ids=GOOD.keys())
def test_real_tested_code_builds(tmp_path, block):
    make_project(tmp_path, block)
    done = sphinx_build(tmp_path, tmp_path / '_build', 'slides')
    assert done.returncode == 0, done.stderr
    assert 'code guard' not in done.stderr


@pytest.mark.parametrize('block, why', BAD.values(), ids=BAD.keys())
def test_other_code_fails_the_build_naming_file_and_line(tmp_path, block, why):
    lines = make_project(tmp_path, block)
    done = sphinx_build(tmp_path, tmp_path / '_build', 'slides')
    assert done.returncode != 0
    error = next(err for err in done.stderr.splitlines() if 'code guard:' in err)
    location = re.match(r'(\S+):(\d+): ERROR: ', error)
    assert location, error
    assert location[1] == str(tmp_path / 'index.rst')
    assert int(location[2]) in lines, error
    assert why in error


def test_a_failing_document_is_checked_again_on_the_next_build(tmp_path):
    make_project(tmp_path, BAD['a code-block'][0])
    first = sphinx_build(tmp_path, tmp_path / '_build', 'slides')
    again = sphinx_build(tmp_path, tmp_path / '_build', 'slides')
    assert first.returncode != 0 and again.returncode != 0
    assert 'code guard:' in again.stderr


def test_a_cjk_character_takes_two_columns():
    assert columns('ab') == 2
    assert columns('中文') == 4
    assert columns('\tx') == 9


def test_a_missing_object_fails_the_strict_build_naming_file_and_line(tmp_path):
    make_project(tmp_path, """
        .. literalinclude:: /src/pkg/mod.py
           :pyobject: no_such_function
        """)
    done = sphinx_build(tmp_path, tmp_path / '_build', 'slides', *STRICT)
    assert done.returncode != 0
    assert re.search(r'index\.rst:\d+: (WARNING|ERROR): .*no_such_function', done.stderr)


def test_a_broken_doctest_fails_the_doctest_build_naming_file_and_line(tmp_path):
    make_project(tmp_path, """
        .. doctest::

           >>> 1 + 1
           3
        """)
    done = sphinx_build(tmp_path, tmp_path / '_build', 'doctest', *STRICT)
    assert done.returncode != 0
    assert re.search(r'File "\S*index\.rst", line \d+', done.stdout + done.stderr)
