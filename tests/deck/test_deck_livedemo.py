"""``.. live-demo::`` (deckext.livedemo): the slides that run a claim, and
what a build without a stage shows instead, recorded and cached.

The built deck is checked against the registry: each live demo sits on the
slide its claim names, has a 对照 button exactly where the claim has a
counterfactual, and shows the claim's recorded verdict, marked 录制.  The
recording is checked in small projects of its own: kept while the claims'
code is the same, made again when it changes, a warning (and not kept)
when it contradicts its world, "skipped" kept as what it is.
"""

import html
import io
import re
import shutil
import sys
import textwrap
from pathlib import Path

import pytest
from sphinx.application import Sphinx

from deck_support import sphinx_build
from deckext import livedemo
from deckext.stage import registry
from microthread.demos.claims import CLAIMS

ARTICLE = re.compile(r'<article\b.*?</article>', re.S)
TITLE = re.compile(r'<h[12][^>]*>(.*?)</h[12]>', re.S)
DEMO = re.compile(r'<div class="live-demo" data-live-demo="([^"]+)".*?</div></div>', re.S)


def text(fragment):
    return html.unescape(re.sub(r'<[^>]+>', '', fragment)).strip()


@pytest.fixture(scope='module')
def live_demos(built_slides):
    """{name: (title of its slide, its HTML)} of every live demo of the deck."""
    page = (built_slides / 'index.html').read_text(encoding='utf-8')
    found = {}
    for article in ARTICLE.findall(page):
        title = text(TITLE.search(article).group(1)).rstrip('¶')
        for match in DEMO.finditer(article):
            assert match.group(1) not in found, f'{match.group(1)} is on two slides'
            found[match.group(1)] = (title, match.group(0))
    return found


def test_the_deck_runs_claims_live(live_demos):
    assert len(live_demos) >= 3


def test_each_live_demo_is_on_the_slide_that_makes_its_claim(live_demos):
    assert {name: title for name, (title, _) in live_demos.items()} == \
        {name: CLAIMS[name].slide for name in live_demos}


def test_each_live_demo_has_its_buttons(live_demos):
    for name, (_, part) in live_demos.items():
        assert f'<button type="button" data-demo="{name}"' in part
        assert (f'data-demo-counterfactual="{name}"' in part) == (CLAIMS[name].without is not None)


def test_each_live_demo_shows_its_claims_recorded_verdict(live_demos):
    for name, (_, part) in live_demos.items():
        output = re.search(rf'<span data-demo-output="{name}">(.*?)</span>', part, re.S)
        assert text(output.group(1)).startswith(f'{name}: holds — {CLAIMS[name].says}'), part
        mark = rf'<span class="live-demo-mark" data-demo-mark="{name}"[^>]*>录制</span>'
        assert re.search(mark, part)


# --- small projects of their own ---------------------------------------------------

def project(tmp_path, body):
    """A Sphinx project in tmp_path whose index.rst has body under a title."""
    (tmp_path / 'conf.py').write_text("extensions = ['deckext.livedemo']\n", encoding='utf-8')
    (tmp_path / 'index.rst').write_text('Demo\n====\n\n' + textwrap.dedent(body),
                                        encoding='utf-8')
    return tmp_path


def build_here(srcdir, builder='html'):
    """Build srcdir in this process; return (app, its warnings)."""
    warnings = io.StringIO()
    app = Sphinx(str(srcdir), str(srcdir), str(srcdir / '_build' / builder),
                 str(srcdir / '_build' / 'doctrees'), builder,
                 status=None, warning=warnings, freshenv=True)
    app.build()
    return app, warnings.getvalue()


def test_an_unknown_claim_fails_the_build_naming_it(tmp_path):
    done = sphinx_build(project(tmp_path, '.. live-demo:: no-such-claim\n'),
                        tmp_path / '_build' / 'html', 'html', '-W')
    assert done.returncode != 0
    assert "live-demo: no claim named 'no-such-claim'" in done.stderr


def test_the_handout_shows_both_worlds_recorded(tmp_path):
    srcdir = project(tmp_path, '.. live-demo:: address-space\n\n.. live-demo:: thread-models\n')
    app, warnings = build_here(srcdir)
    assert warnings == ''
    page = text((srcdir / '_build' / 'html' / 'index.html').read_text(encoding='utf-8'))
    assert 'address-space: holds — ' in page
    assert 'address-space --counterfactual（改由线程来写）: refuted — ' in page
    assert 'thread-models: holds — ' in page
    assert 'thread-models --counterfactual' not in page     # none to show


def test_the_claims_code_is_a_dependency_of_the_slides(tmp_path):
    app, _ = build_here(project(tmp_path, '.. live-demo:: awaits\n'))
    depends = {Path(path).name for path in app.env.dependencies['index']}
    assert {'claims.py', '__main__.py', 'awaits.py', 'hub.py'} <= depends


class CountedRun(livedemo.Run):
    started = 0

    def __init__(self, *args, **kwargs):
        type(self).started += 1
        super().__init__(*args, **kwargs)


@pytest.fixture
def counted(monkeypatch):
    CountedRun.started = 0
    monkeypatch.setattr(livedemo, 'Run', CountedRun)
    return CountedRun


def test_a_recording_is_kept_while_the_claims_code_is_the_same(tmp_path, counted):
    first = livedemo.recording(tmp_path, 'awaits')
    again = livedemo.recording(tmp_path, 'awaits')
    assert counted.started == 1
    assert first == again
    assert first['status'] == 0 and first['output'].startswith('awaits: holds — ')
    assert (tmp_path / '_build' / 'live-demos' / 'awaits.json').is_file()


def test_other_code_runs_the_claim_again(tmp_path, counted, monkeypatch):
    livedemo.recording(tmp_path, 'awaits')
    root, files, digest = livedemo.claims_source()
    monkeypatch.setattr(livedemo, 'claims_source', lambda: (root, files, 'other code'))
    livedemo.recording(tmp_path, 'awaits')
    assert counted.started == 2


def test_each_edition_records_the_claim_in_its_own_language(tmp_path, counted):
    chinese = livedemo.recording(tmp_path, 'awaits')
    english = livedemo.recording(tmp_path, 'awaits', language='en')
    assert counted.started == 2
    assert english['output'].startswith('awaits: holds — ')
    assert re.search(r'[\u3000-\u9fff]', chinese['output'])
    assert not re.search(r'[\u3000-\u9fff\uff00-\uffef]', english['output'])
    assert livedemo.recording(tmp_path, 'awaits')['output'] == chinese['output']
    assert counted.started == 2


def test_root_or_not_is_part_of_the_key(monkeypatch):
    """A check that needs root records "skipped" without it, and again with it."""
    keys = set()
    for euid in (0, 1000):
        monkeypatch.setattr(livedemo.os, 'geteuid', lambda: euid)
        keys.add(livedemo.recording_key('preemption', True))
    assert len(keys) == 2


def test_the_key_follows_statements_not_docstrings(tmp_path):
    copy = tmp_path / 'src' / 'microthread'
    shutil.copytree(Path(livedemo.claims_source()[0]) / 'src' / 'microthread', copy,
                    ignore=shutil.ignore_patterns('__pycache__'))
    demos = copy / 'demos'
    before = livedemo.claims_source(demos)[2]
    race = demos / 'race.py'
    source = race.read_text(encoding='utf-8')
    race.write_text(source.replace('"""', '"""Reworded. ', 1), encoding='utf-8')
    assert livedemo.claims_source(demos)[2] == before
    race.write_text(source + '\nCHANGED = True\n', encoding='utf-8')
    assert livedemo.claims_source(demos)[2] != before


def test_skipped_is_kept_as_a_recording(tmp_path, counted):
    made = livedemo.recording(tmp_path, 'thread-models', counterfactual=True)
    assert made['status'] == 3
    assert made['output'].startswith('thread-models --counterfactual: skipped — ')
    livedemo.recording(tmp_path, 'thread-models', counterfactual=True)
    assert counted.started == 1


def test_a_recording_that_contradicts_its_world_warns_and_is_not_kept(tmp_path, monkeypatch):
    refuting = [sys.executable, '-c', 'print("awaits: refuted — as if"); raise SystemExit(1)']
    monkeypatch.setattr(livedemo, 'claim_command', lambda name, counterfactual, **options: refuting)
    srcdir = project(tmp_path, '.. live-demo:: awaits\n')
    _, warnings = build_here(srcdir)
    assert 'index.rst:4: WARNING: live-demo awaits: the recording ended with exit status 1, ' \
           'not 0 or 3: awaits: refuted — as if' in warnings
    assert not (srcdir / '_build' / 'live-demos' / 'awaits.json').exists()
