"""`make live` rebuilds the deck when its sources change and reloads the browser.

The target runs on a copy of the deck's sources (so the test edits nothing
real), with this checkout's .venv, on a free port of 127.0.0.1.  A page open
on slide 2 must reload by itself after an edit under slides/ and under src/,
show the edited text, and stay on slide 2; an edit elsewhere (tests/) must
not rebuild.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from urllib.parse import urlsplit

import pytest

from deck_support import ROOT

SOURCES = ['Makefile', 'conf.py', 'index.rst', 'pyproject.toml', 'requirements.txt',
           'slides', 'src', 'docs']   # docs/glossary.md: the lint's terms
STARTUP = 90  # s for the first build and the server to come up


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def wait_for_http(url, process, log):
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f'make live exited {process.returncode}:\n{log.read_text()}')
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f'make live did not serve {url} in {STARTUP} s:\n{log.read_text()}')


@pytest.fixture
def live(tmp_path):
    """(base URL, deck copy, log) of `make live` running over a copy of the deck."""
    deck = tmp_path / 'deck'
    deck.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, deck / name, ignore=shutil.ignore_patterns('__pycache__'))
        else:
            shutil.copy2(source, deck / name)   # keeps mtimes: the .venv stamp stays newer
    port = free_port()
    log = tmp_path / 'live.log'
    with open(log, 'w') as out:
        process = subprocess.Popen(
            # -o: the venv is this checkout's, installed already; never reinstall it.
            ['make', '--no-print-directory', '-o', str(ROOT / '.venv' / '.installed'),
             'live', f'VENV={ROOT / ".venv"}', f'PORT={port}'],
            cwd=deck, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    try:
        base = f'http://127.0.0.1:{port}/'
        wait_for_http(base + 'index.html', process, log)
        yield base, deck, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def test_make_live_rebuilds_and_reloads_on_slides_and_src_changes(browser, live):  # noqa: F811
    base, deck, log = live
    context = browser.new_context(viewport={'width': 1280, 'height': 720})
    errors, requests = [], []
    context.on('console', lambda msg: msg.type == 'error' and errors.append(msg.text))
    context.on('weberror', lambda error: errors.append(str(error.error)))
    context.on('request', lambda request: requests.append(request.url))
    page = context.new_page()
    try:
        page.goto(base + 'index.html#2', wait_until='load')
        page.wait_for_function('typeof SlideDeck !== "undefined" && SlideDeck.curSlide() === 1')

        def reloads_after(edit):
            page.evaluate('window.notReloaded = true')
            edit()
            page.wait_for_function('window.notReloaded === undefined', timeout=60_000)
            page.wait_for_load_state('load')
            page.wait_for_function('typeof SlideDeck !== "undefined" && SlideDeck.curSlide() === 1')

        slide_file = sorted((deck / 'slides').glob('*.rst'))[0]
        reloads_after(lambda: slide_file.write_text(
            slide_file.read_text(encoding='utf-8') + '\n实时预览标记\n', encoding='utf-8'))
        assert '实时预览标记' in page.text_content('section.slides')
        assert page.evaluate('location.hash') == '#2'

        module = deck / 'src' / 'microthread' / '__init__.py'
        reloads_after(lambda: module.write_text(
            module.read_text(encoding='utf-8') + '\n# edited\n', encoding='utf-8'))

        page.evaluate('window.notReloaded = true')
        (deck / 'tests').mkdir()
        (deck / 'tests' / 'unrelated.txt').write_text('not a source of the deck')
        page.wait_for_timeout(3000)  # a rebuild and reload take about 2 s
        assert page.evaluate('window.notReloaded') is True
    finally:
        context.close()
    assert errors == []
    assert [url for url in requests if urlsplit(url).hostname != '127.0.0.1'] == []
    assert log.read_text().count('Rebuilding...') == 2, log.read_text()
