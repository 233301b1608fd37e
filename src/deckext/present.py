"""The built deck off the screen: a PDF handout, a PNG of every slide, the README's pictures.

    python -m deckext.present pdf      _build/slides _build/deck.pdf [--notes]
    python -m deckext.present screens  _build/slides _build/screens
    python -m deckext.present pictures _build/slides docs [--slide TITLE] [--english _build/slides-en]

Each opens the built deck in Debian's headless Chromium (``/usr/bin/chromium``,
driven by Playwright; no browser is downloaded), served from 127.0.0.1, so
what they capture is what the audience sees.  A request to any other host is
refused and any console error fails the run: a handout is never made of a
deck that is broken in the browser.

``pdf`` prints one slide a page at the slide's design size (the theme's print
stylesheet), with the CJK fonts embedded; ``--notes`` puts each slide on an A4
page with its speaker notes below.  ``screens`` writes ``slide-NN.png`` at
900x700 px and ``contact-sheet.png``, a grid of them all.  ``pictures``
writes the README's ``slide.png`` (one slide, as the audience sees it) and
``console.png`` (the presenter console, opened on that slide with the c key,
its clock stopped at 00:00), ``live.png`` (the live hub view, served as
``make present`` serves it, caught mid-stall after 阻塞), with ``--english
DIR`` ``slide-en.png`` (the same slide of the English edition built in DIR),
and ``pictures.json``: the deck's slide count, the console's counter as it
read, and each picture's sha256, so that a test can tell pictures of an
older deck from pictures of this one.
"""

import argparse
import contextlib
import functools
import hashlib
import http.server
import json
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
# present.js has set every slide's type size (it does so before the first frame).
TYPE_FITTED = 'document.documentElement.hasAttribute("data-deck-fitted")'

PICTURE_SLIDE = '用户级调度器的调度时机'   # bullets and a doctest, both set large
PICTURE_SLIDE_VIEWPORT = {'width': 736, 'height': 576}   # scale 0.8: the slide at 720x560
PICTURE_CONSOLE_VIEWPORT = {'width': 960, 'height': 540}
PICTURES_JSON = 'pictures.json'

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
def chromium(browser=None):
    """browser if given (a Playwright Browser), else Debian's Chromium,
    headless: the one way the tools and the tests start it."""
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
def _staged(directory):
    """The deck served as ``make present`` serves it: its live slides run."""
    from .stage import Stage
    stage = Stage(directory)
    threading.Thread(target=stage.serve_forever, daemon=True).start()
    try:
        yield stage.url
    finally:
        stage.shutdown()
        stage.server_close()


@contextlib.contextmanager
def deck_page(slides_dir, browser=None, viewport=VIEWPORT, serve=_served):
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

    with serve(slides_dir) as base, chromium(browser) as running:
        context = running.new_context(viewport=viewport)
        try:
            context.route(lambda url: urlsplit(url).hostname != '127.0.0.1', refuse)
            page = context.new_page()
            page.on('console', lambda msg: msg.type == 'error'
                    and problems.append(f'console error: {msg.text}'))
            page.on('pageerror', lambda error: problems.append(f'page error: {error}'))
            page.goto(base + 'index.html', wait_until='load')
            page.add_style_tag(content=NO_TRANSITIONS)
            page.wait_for_function(TYPE_FITTED)
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
            _show(page, index)
            shots.append(outdir / f'slide-{index + 1:02d}.png')
            page.locator(f'{SLIDES}.current').screenshot(path=str(shots[-1]))
    contact_sheet(shots, outdir / 'contact-sheet.png')
    return shots


def _show(page, index):
    page.evaluate('index => DeckPresent.go(index)', index)
    page.wait_for_function('index => SlideDeck.curSlide() === index', arg=index)


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _titles(page):
    return page.eval_on_selector_all(
        SLIDES, 'all => all.map(s => s.querySelector("h1, h2").textContent.trim())')


def _shoot_slide(page, index, out):
    """The slide at index, as the audience sees it at 0.8 of its design size."""
    _show(page, index)
    page.set_viewport_size(PICTURE_SLIDE_VIEWPORT)
    page.wait_for_function(
        'w => document.documentElement.clientWidth === w && getComputedStyle('
        'document.documentElement).getPropertyValue("--deck-scale") === "0.8"',
        arg=PICTURE_SLIDE_VIEWPORT['width'])
    page.locator(f'{SLIDES}.current').screenshot(path=str(out))


def pictures(slides_dir, outdir, title=PICTURE_SLIDE, browser=None, english_dir=None):
    """Write the README's slide.png and console.png, and pictures.json; return what it holds.

    The slide titled title, at 0.8 of its design size; then the presenter
    console as a speaker opens it, with the c key on that slide, in a
    960x540 window, its clock stopped at 00:00.  Given english_dir, also
    slide-en.png: the slide of the same number in the English edition, so
    the README shows what the translation looks like on screen.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    slide_png, console_png = outdir / 'slide.png', outdir / 'console.png'
    with deck_page(slides_dir, browser, viewport=PICTURE_CONSOLE_VIEWPORT) as page:
        titles = _titles(page)
        if title not in titles:
            raise DeckError(f'no slide is titled {title!r}: choose one with --slide '
                            '(make pictures SLIDE=...)')
        index = titles.index(title)
        _shoot_slide(page, index, slide_png)

        clock = page.context.clock
        clock.install()
        clock.pause_at(page.evaluate('Date.now()') + 1_000)
        with page.expect_popup() as popup:
            page.keyboard.press('c')
        console = popup.value
        console.wait_for_load_state('load')
        console.wait_for_function(
            '([number, count]) => document.querySelector("#cur_slide_num").textContent'
            ' === String(number) && document.querySelector("#num_slides").textContent'
            ' === String(count) && document.querySelector("#current_slide h1, #current_slide h2")',
            arg=[index + 1, len(titles)])
        console.evaluate('document.fonts.ready')
        counter = ' '.join(console.inner_text('#controls .counter').split())
        console.screenshot(path=str(console_png))
    pngs = [slide_png, console_png]
    described = {
        'slides': len(titles),
        'slide': {'number': index + 1, 'title': title},
        'console_counter': counter,
    }
    if english_dir is not None:
        english_png = outdir / 'slide-en.png'
        described['slide_en'] = english_picture(english_dir, index, len(titles), english_png,
                                                browser)
        pngs.append(english_png)
    live_png = outdir / 'live.png'
    described['live_slide'] = live_picture(slides_dir, live_png, browser)
    pngs.append(live_png)
    described['sha256'] = {png.name: sha256(png) for png in pngs}
    (outdir / PICTURES_JSON).write_text(
        json.dumps(described, ensure_ascii=False, indent=2) + '\n', encoding='utf-8')
    return described


def english_picture(english_dir, index, count, out, browser=None):
    """A PNG of slide index of the English edition; returns its number, title and language."""
    with deck_page(english_dir, browser, viewport=PICTURE_CONSOLE_VIEWPORT) as page:
        titles = _titles(page)
        if len(titles) != count:
            raise DeckError(f'{english_dir} has {len(titles)} slides, the source {count}: '
                            'build both editions from the same sources')
        _shoot_slide(page, index, out)
        language = page.evaluate('document.documentElement.lang')
    return {'number': index + 1, 'title': titles[index], 'lang': language}


# The live slide mid-stall: 阻塞 pressed, the detector's report on the
# slide, a held span in the strip, throughput fallen to a few messages.
LIVE_STALLED = """() => {
  const slide = document.querySelector('.slides > article.current');
  const rate = slide.querySelector('[data-metric="msgs_per_s"]').textContent;
  return slide.querySelector('[data-detector-report]').textContent !== ''
      && slide.querySelector('[data-held]') !== null
      && parseFloat(rate.replace(/,/g, '')) < 100;
}"""
LIVE_FLOWING = """() => parseFloat(document.querySelector(
  '.slides > article.current [data-metric="msgs_per_s"]').textContent.replace(/,/g, '')) > 0"""


def live_picture(slides_dir, out, browser=None):
    """A PNG of the live hub view mid-stall, as served by ``make present``;
    returns the slide's number."""
    with deck_page(slides_dir, browser, viewport=PICTURE_SLIDE_VIEWPORT,
                   serve=_staged) as page:
        index = page.evaluate('[...document.querySelectorAll("section.slides > article")]'
                              '.findIndex(slide => slide.querySelector("[data-live-hub]"))')
        if index < 0:
            raise DeckError('no slide has the live hub view (.. live-hub::)')
        _show(page, index)
        page.wait_for_function(LIVE_FLOWING, timeout=20_000)
        page.click(f'{SLIDES}.current button[data-live="block"]')
        page.wait_for_function(LIVE_STALLED, timeout=20_000)
        page.locator(f'{SLIDES}.current').screenshot(path=str(out))
        page.click(f'{SLIDES}.current button[data-live="unblock"]')
        _show(page, index - 1)          # leaving the slide ends the program
    return index + 1


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
    to_pictures = commands.add_parser('pictures', help="the README's slide.png and console.png")
    to_pictures.add_argument('slides_dir', help='the built deck (_build/slides)')
    to_pictures.add_argument('outdir', help='directory for the pictures and pictures.json (docs)')
    to_pictures.add_argument('--slide', default=PICTURE_SLIDE, metavar='TITLE',
                             help=f'the title of the slide to show (default: {PICTURE_SLIDE})')
    to_pictures.add_argument('--english', metavar='DIR',
                             help='the English edition (_build/slides-en): '
                                  'slide-en.png, the same slide in English')
    args = parser.parse_args(argv)
    try:
        if args.command == 'pdf':
            pages = pdf(args.slides_dir, args.out, notes=args.notes)
            print(f'{args.out}: {pages} slides' + (' with notes' if args.notes else ''))
        elif args.command == 'pictures':
            described = pictures(args.slides_dir, args.outdir, title=args.slide,
                                 english_dir=args.english)
            english = ' and slide-en.png' if args.english else ''
            print(f'{args.outdir}: slide.png{english} and console.png of slide '
                  f'{described["console_counter"]} ({args.slide}), live.png of slide '
                  f'{described["live_slide"]} mid-stall')
        else:
            shots = screens(args.slides_dir, args.outdir)
            print(f'{args.outdir}: {len(shots)} slides and contact-sheet.png')
    except DeckError as error:
        sys.exit(f'error: {error}')


if __name__ == '__main__':
    main()
