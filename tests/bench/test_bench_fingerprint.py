"""The data file says which code its numbers were measured on.

The fingerprint hashes the benchmark and the runtime modules it imports as
code: a reworded docstring or comment leaves it alone, a changed statement
changes it, and a module the benchmark never imports is not part of it.
Each test works on a copy of the tree, so it can change the code freely.
"""

import json
import shutil
import sys
from pathlib import Path

import pytest

from deckext.fingerprint import fingerprint, stale_parts, stale_warning

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))   # `bench` is the project's top-level package

from bench import __main__ as bench_main  # noqa: E402


@pytest.fixture
def tree(tmp_path):
    """A copy of bench/ and src/microthread/."""
    for part in ('bench', 'src/microthread'):
        shutil.copytree(ROOT / part, tmp_path / part,
                        ignore=shutil.ignore_patterns('__pycache__'))
    return tmp_path


def edit(tree, path, old, new):
    file = tree / path
    text = file.read_text(encoding='utf-8')
    assert text.count(old) == 1, f'{old!r} is not once in {path}'
    file.write_text(text.replace(old, new), encoding='utf-8')


def test_it_covers_the_benchmark_and_the_runtime_modules_it_imports():
    files = fingerprint(ROOT)['files']
    assert {'bench/micro.py', 'bench/echo.py', 'bench/client.c'} <= set(files)
    runtime = {f'src/microthread/{name}.py' for name in
               ('__init__', 'loop', 'hub', 'green', 'pollers', 'sendall', 'sync',
                'offload', 'echo', 'detector')}
    assert runtime <= set(files)
    # Of the demos, only the live view's observer, which green-observed runs.
    assert [f for f in files if '/demos/' in f or f.endswith('trace.py')] == [
        'src/microthread/demos/__init__.py', 'src/microthread/demos/live.py']


def test_a_reworded_docstring_or_comment_leaves_it_unchanged(tree):
    before = fingerprint(tree)['fingerprint']
    edit(tree, 'src/microthread/hub.py', '"""挂起当前微线程，直到 fd 上发生 event。"""',
              '"""Suspend this microthread until event happens on fd."""')
    edit(tree, 'src/microthread/hub.py', '# 一个 (fd, event) 一个等待者',
              '# one waiter per (fd, event), reworded')
    edit(tree, 'bench/micro.py', '"""Micro-costs: what', '"""Micro-costs, reworded: what')
    assert fingerprint(tree)['fingerprint'] == before


def test_a_changed_statement_in_an_imported_runtime_module_changes_it(tree):
    before = fingerprint(tree)['fingerprint']
    edit(tree, 'src/microthread/hub.py', 'hub.claim(fd, event, thread)',
              'hub.claim(fd, event, getcurrent())')
    assert fingerprint(tree)['fingerprint'] != before


def test_a_changed_statement_in_the_benchmark_changes_it(tree):
    before = fingerprint(tree)['fingerprint']
    edit(tree, 'bench/client.c', 'int main', 'static int unused;\nint main')
    assert fingerprint(tree)['fingerprint'] != before


def test_a_module_the_benchmark_does_not_import_is_not_part_of_it(tree):
    before = fingerprint(tree)['fingerprint']
    (tree / 'src/microthread/demos/race.py').write_text('x = 1\n')
    assert fingerprint(tree)['fingerprint'] == before


def test_a_part_kept_from_an_earlier_run_keeps_the_fingerprint_it_was_measured_on(
        monkeypatch, tree):
    monkeypatch.setattr(bench_main, 'ROOT', tree)
    now = fingerprint(tree)['fingerprint']
    old = {'code': {'parts': {'micro': 'old-micro', 'echo': 'old-echo'}}}
    code = bench_main.code_measured(old, {'micro'})
    assert code['parts'] == {'micro': now, 'memory': None, 'echo': 'old-echo',
                             'c10k': None}
    assert code['files'] == fingerprint(tree)['files']


def test_stale_parts_are_those_measured_on_other_code_or_unrecorded(tree):
    now = fingerprint(tree)['fingerprint']
    data = {'meta': {'code': {'parts': {'micro': now, 'echo': 'abc', 'c10k': None}}}}
    assert stale_parts(data, tree) == ({'echo': 'abc', 'c10k': None}, now)
    assert stale_parts(data, tree, ['micro']) == ({}, now)
    assert stale_parts({'micro': {}}, tree) == ({'micro': None}, now)


def test_the_test_run_warning_names_make_bench_only_when_numbers_are_stale(tree):
    now = fingerprint(tree)['fingerprint']
    data = tree / 'bench.json'
    data.write_text(json.dumps({'meta': {'code': {'parts': {'micro': now}}}}))
    assert stale_warning(tree, 'bench.json') is None
    edit(tree, 'src/microthread/loop.py', 'import heapq', 'import heapq, bisect')
    warning = stale_warning(tree, 'bench.json')
    assert warning.startswith('WARNING: bench.json') and 'micro' in warning
    assert 'make bench' in warning
