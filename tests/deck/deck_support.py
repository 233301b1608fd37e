"""What the deck's tests share: building with Sphinx, and reading the built deck."""

import functools
import html.parser
import http.server
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# As `make test` builds: warnings are errors, all reported, references
# checked, and a fresh environment so that no warning hides in a cache.
STRICT = ['-W', '--keep-going', '-n', '-E']


def sphinx_build(srcdir, outdir, builder='slides', *options):
    """Run sphinx-build in this interpreter's environment; return the process.

    Without colour: under CI=true Sphinx colours its messages even into a pipe.
    """
    return subprocess.run(
        [sys.executable, '-m', 'sphinx', '--no-color', '-b', builder, *options,
         str(srcdir), str(outdir)],
        capture_output=True, text=True)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def start_server(directory):
    """An HTTP server for directory on 127.0.0.1, serving from a thread."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Slide:
    """One <article> of the built deck: its title, notes and code blocks."""

    def __init__(self, classes):
        self.classes = classes
        self.title = ''
        self.notes = ''
        self.code = []   # text of each <pre>

    def __repr__(self):
        return f'<Slide {self.title!r}>'


class DeckParser(html.parser.HTMLParser):
    """Split hieroglyph's index.html into Slides (stdlib only, no BeautifulSoup)."""

    def __init__(self):
        super().__init__()
        self.slides = []
        self._open = []      # stack of (tag, role) of the elements we are in
        self._role = None    # 'title', 'notes' or 'code' while inside one

    def handle_starttag(self, tag, attrs):
        classes = (dict(attrs).get('class') or '').split()
        role = None
        if tag == 'article' and 'slide' in classes:
            self.slides.append(Slide(classes))
            role = 'slide'
        elif self.slides and self._role is None:
            if tag in ('h1', 'h2') and self._open and self._open[-1][1] == 'slide':
                role = 'title'
            elif tag == 'div' and 'note' in classes:
                role = 'notes'
            elif tag == 'pre':
                role = 'code'
                self.slides[-1].code.append('')
        if tag in ('meta', 'link', 'br', 'img', 'input', 'hr'):
            return
        self._open.append((tag, role))
        if role in ('title', 'notes', 'code'):
            self._role = role

    def handle_endtag(self, tag):
        while self._open:
            open_tag, role = self._open.pop()
            if role == self._role and role is not None:
                self._role = None
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self._role == 'title':
            self.slides[-1].title += data
        elif self._role == 'notes':
            self.slides[-1].notes += data
        elif self._role == 'code':
            self.slides[-1].code[-1] += data


def parse_deck(index_html):
    parser = DeckParser()
    parser.feed(Path(index_html).read_text(encoding='utf-8'))
    return parser.slides
