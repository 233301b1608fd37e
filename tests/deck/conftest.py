"""Fixtures for the deck's tests: a strict build of the slides, and a server.

The slides are built once per session, from the project root into a
temporary directory, with warnings as errors; several tests read the result.
The English edition is built once too, and ``edition`` gives a test each
edition in turn: the browser's walks (fit, type size, axe-core) run on both.
"""

import types

import pytest

from deck_support import STRICT, ROOT, parse_deck, sphinx_build, start_server


@pytest.fixture(scope='session')
def slides_build(tmp_path_factory):
    """The finished strict build of the deck's slides (a CompletedProcess)."""
    outdir = tmp_path_factory.mktemp('slides')
    done = sphinx_build(ROOT, outdir, 'slides', *STRICT,
                        '-d', str(tmp_path_factory.mktemp('doctrees')))
    done.outdir = outdir
    return done


@pytest.fixture(scope='session')
def built_slides(slides_build):
    """Directory of the built deck; the build must have passed."""
    assert slides_build.returncode == 0, slides_build.stderr
    return slides_build.outdir


@pytest.fixture
def serve():
    """serve(directory) -> base URL of a server for directory on 127.0.0.1."""
    servers = []

    def start(directory):
        servers.append(start_server(directory))
        return f'http://127.0.0.1:{servers[-1].server_address[1]}/'

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope='session')
def deck(built_slides):
    """The Slides of the built deck, in order."""
    return parse_deck(built_slides / 'index.html')


@pytest.fixture(scope='session')
def english_slides(tmp_path_factory):
    """Directory of the English edition's slides, built strictly."""
    outdir = tmp_path_factory.mktemp('slides-en')
    done = sphinx_build(ROOT, outdir, 'slides', *STRICT, '-D', 'language=en',
                        '-d', str(tmp_path_factory.mktemp('doctrees-en')))
    assert done.returncode == 0, done.stderr
    return outdir


@pytest.fixture(scope='module', params=['zh_CN', 'en'])
def edition(request):
    """An edition: its language, the directory it was built in, its Slides."""
    built = request.getfixturevalue('built_slides' if request.param == 'zh_CN'
                                    else 'english_slides')
    return types.SimpleNamespace(language=request.param, dir=built,
                                 deck=parse_deck(built / 'index.html'))
