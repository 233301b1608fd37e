"""The built deck off the screen: a PDF handout, and a PNG of every slide.

    python -m deckext.present pdf     _build/slides _build/deck.pdf [--notes]
    python -m deckext.present screens _build/slides _build/screens

Both open the built deck in Debian's headless Chromium (``/usr/bin/chromium``,
driven by Playwright; no browser is downloaded), served from 127.0.0.1, so
what they capture is what the audience sees.  A request to any other host is
refused and any console error fails the run: a handout is never made of a
deck that is broken in the browser.

``pdf`` prints one slide a page at the slide's design size (the theme's print
stylesheet), with the CJK fonts embedded; ``--notes`` puts each slide on an A4
page with its speaker notes below.  ``screens`` writes ``slide-NN.png`` at
900x700 px and ``contact-sheet.png``, a grid of them all.
"""

import argparse
import contextlib
import functools
import http.server
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync', '--no-first-run']
# Scale 1 (present.js): the 900x700 slide plus its 10 px margin.
VIEWPORT = {'width': 920, 'height': 720}
SLIDES = 'section.slides > article'
NO_TRANSITIONS = '.slides > article { transition: none !important; }'

SHEET_COLUMNS = 5
SHEET_THUMB = (300, 233)     # a third of the design size
SHEET_GAP = 16
SHEET_BACKGROUND = (64, 64, 64)


class DeckError(RuntimeError):
    """The deck did not load cleanly: console errors, or requests off this host."""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def _served(directory):
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f'http://127.0.0.1:{server.server_address[1]}/'
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def _chromium(browser=None):
    """browser if given (a Playwright Browser), else Debian's Chromium, headless."""
    if browser is not None:
        yield browser
        return
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def deck_page(slides_dir, browser=None, viewport=VIEWPORT):
    """A Chromium page showing the built deck in slides_dir, at scale 1.

    Raises DeckError on leaving if the page logged an error or asked for
    anything not on 127.0.0.1.
    """
    index = Path(slides_dir) / 'index.html'
    if not index.is_file():
        raise DeckError(f'{index} does not exist: build the slides first (make slides)')
    problems = []

    def refuse(route):
        problems.append(f'request refused: {route.request.url}')
        route.abort()

    with _served(slides_dir) as base, _chromium(browser) as chromium:
        context = chromium.new_context(viewport=viewport)
        try:
            context.route(lambda url: urlsplit(url).hostname != '127.0.0.1', refuse)
            page = context.new_page()
            page.on('console', lambda msg: msg.type == 'error'
                    and problems.append(f'console error: {msg.text}'))
            page.on('pageerror', lambda error: problems.append(f'page error: {error}'))
            page.goto(base + 'index.html', wait_until='load')
            page.add_style_tag(content=NO_TRANSITIONS)
            page.evaluate('document.fonts.ready')
            yield page
        finally:
            context.close()
    if problems:
        raise DeckError(f'{index}: ' + '; '.join(problems))


def pdf(slides_dir, out, notes=False, browser=None):
    """Print the deck to out: one slide a page, or slide and notes on A4. Returns the page count."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with deck_page(slides_dir, browser) as page:
        count = page.locator(SLIDES).count()
        if notes:
            page.evaluate('DeckPresent.addHandoutNotes()')
        page.pdf(path=str(out), print_background=True, prefer_css_page_size=True)
    return count


def screens(slides_dir, outdir, browser=None):
    """Write slide-NN.png for every slide and contact-sheet.png; return the slide PNGs."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    for stale in outdir.glob('slide-*.png'):
        stale.unlink()
    shots = []
    with deck_page(slides_dir, browser) as page:
        for index in range(page.locator(SLIDES).count()):
            page.evaluate('index => DeckPresent.go(index)', index)
            page.wait_for_function('index => SlideDeck.curSlide() === index', arg=index)
            shots.append(outdir / f'slide-{index + 1:02d}.png')
            page.locator(f'{SLIDES}.current').screenshot(path=str(shots[-1]))
    contact_sheet(shots, outdir / 'contact-sheet.png')
    return shots


def contact_sheet(pngs, out, columns=SHEET_COLUMNS):
    """One image of all pngs, scaled to thumbnails, in rows of columns."""
    from PIL import Image

    width, height = SHEET_THUMB
    rows = -(-len(pngs) // columns)
    sheet = Image.new('RGB', (columns * (width + SHEET_GAP) + SHEET_GAP,
                              rows * (height + SHEET_GAP) + SHEET_GAP), SHEET_BACKGROUND)
    for number, png in enumerate(pngs):
        row, column = divmod(number, columns)
        with Image.open(png) as shot:
            thumb = shot.convert('RGB').resize(SHEET_THUMB, Image.Resampling.LANCZOS)
        sheet.paste(thumb, (SHEET_GAP + column * (width + SHEET_GAP),
                            SHEET_GAP + row * (height + SHEET_GAP)))
    sheet.save(out, optimize=True)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m deckext.present', description=__doc__.split('\n\n')[0])
    commands = parser.add_subparsers(dest='command', required=True)
    to_pdf = commands.add_parser('pdf', help='a PDF handout, one slide a page')
    to_pdf.add_argument('slides_dir', help='the built deck (_build/slides)')
    to_pdf.add_argument('out', help='the PDF to write')
    to_pdf.add_argument('--notes', action='store_true', help='speaker notes under each slide (A4)')
    to_png = commands.add_parser('screens', help='a PNG of every slide and a contact sheet')
    to_png.add_argument('slides_dir', help='the built deck (_build/slides)')
    to_png.add_argument('outdir', help='directory for slide-NN.png and contact-sheet.png')
    args = parser.parse_args(argv)
    try:
        if args.command == 'pdf':
            pages = pdf(args.slides_dir, args.out, notes=args.notes)
            print(f'{args.out}: {pages} slides' + (' with notes' if args.notes else ''))
        else:
            shots = screens(args.slides_dir, args.outdir)
            print(f'{args.outdir}: {len(shots)} slides and contact-sheet.png')
    except DeckError as error:
        sys.exit(f'error: {error}')


if __name__ == '__main__':
    main()
