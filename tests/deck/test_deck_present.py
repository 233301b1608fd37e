"""Presenting the deck, in a real headless Chromium: what a speaker relies on.

* Fit to screen: at 1024x768, 1280x720, 1920x1080 and 3840x2160 every slide
  fills the window with its 900x700 design layout unchanged, nothing sticks
  out of it, and text is rasterised at the final scale (not a blown-up bitmap).
* Type that fills the room: present.js sizes each slide's code and running
  text before the page's first frame, the same in every window and in the
  console's previews, under its caps, and no slide has room for its type a
  pixel larger.
* The presenter console (key c): current and next slide, the notes as rich
  text, the counter, in step with the audience window both ways, and a clock
  that advances, pauses and resets -- driven by Playwright's clock, not waits.
* The overview (key t) jumps to the clicked slide; #N is every slide's URL,
  and a reload keeps the place.
* `make pdf` (with and without NOTES=1) and `make screens`, through
  deckext.present: one page a slide, the Chinese titles as text, embedded
  fonts; a PNG a slide and a contact sheet.
* `make pictures`: the README's slide.png, the same slide in English
  (slide-en.png, refused from an English build of another deck) and
  console.png, and the committed ones are of this deck (docs/pictures.json:
  its slide count, the console's counter, each picture's sha256).

Every page here records its console errors and its requests; none may fail
or leave 127.0.0.1.  Browser and Chromium flags are the deck browser test's.
"""

import io
import json
import re
import shutil
import subprocess
from urllib.parse import urlsplit

import pytest

from deck_support import ROOT, parse_deck
from deckext import present
from test_deck_browser import MIN_TEXT_PX
from test_deck_edition import CJK

DESIGN = (900, 700)
MARGIN = 10                       # px of window around the slide (present.js)
SIZES = [(1024, 768), (1280, 720), (1920, 1080), (3840, 2160)]
REFERENCE = (1280, 720)           # scale 1: the slide at its design size
NO_TRANSITIONS = '.slides > article { transition: none !important; }'


def expected_scale(width, height):
    return min(width / (DESIGN[0] + 2 * MARGIN), height / (DESIGN[1] + 2 * MARGIN))


def squeeze(text):
    """Text without whitespace: PDF extraction and HTML differ only in that."""
    return re.sub(r'\s+', '', text)


class Watch:
    """Console errors and requests of every page of a browser context."""

    def __init__(self, context):
        self.errors, self.requests = [], []
        context.on('console', lambda msg: msg.type == 'error' and self.errors.append(msg.text))
        context.on('weberror', lambda error: self.errors.append(str(error.error)))
        context.on('request', lambda request: self.requests.append(request.url))

    def check(self):
        assert self.errors == []
        assert self.requests, 'no request at all?'
        assert [url for url in self.requests if urlsplit(url).hostname != '127.0.0.1'] == []


@pytest.fixture
def open_deck(browser, built_slides, serve):  # noqa: F811 (fixture)
    """open_deck(viewport, clock=False, fragment='', base=None) -> (page, watch);
    checks the watch at the end.  base: where the deck is served, if not
    by a plain server of the built deck."""
    plain = serve(built_slides)
    contexts = []

    def start(viewport=REFERENCE, clock=False, fragment='', base=None):
        context = browser.new_context(viewport={'width': viewport[0], 'height': viewport[1]})
        contexts.append((context, Watch(context)))
        if clock:
            context.clock.install()
        page = context.new_page()
        page.goto((base or plain) + 'index.html' + fragment, wait_until='load')
        page.add_style_tag(content=NO_TRANSITIONS)
        page.wait_for_function(present.TYPE_FITTED)
        page.evaluate('document.fonts.ready')
        return page, contexts[-1][1]

    yield start
    for context, watch in contexts:
        context.close()
    for context, watch in contexts:
        watch.check()


def current(page):
    return page.evaluate('SlideDeck.curSlide()')


# --- fit to screen -----------------------------------------------------------

# Every element of the current slide, its box in design px relative to the
# slide's top-left corner; and what sticks out of the slide's content box.
MEASURE = """() => {
  const slide = document.querySelector('.slides > article.current');
  const box = slide.getBoundingClientRect();
  const scale = box.width / 900;
  const style = getComputedStyle(slide);
  const pad = ['Left', 'Right', 'Top', 'Bottom'].map(s => parseFloat(style['padding' + s]));
  const elements = [...slide.querySelectorAll('*')].filter(
      el => el.getClientRects().length && !el.closest('div.admonition.note'));
  const rel = el => {
    const r = el.getBoundingClientRect();
    return [r.left - box.left, r.top - box.top, r.right - box.left, r.bottom - box.top]
        .map(v => v / scale);
  };
  const outside = elements.filter(el => !el.closest('.slide-no')).filter(el => {
    const [l, t, r, b] = rel(el);
    return l < pad[0] - 1 || t < pad[2] - 1 || r > 900 - pad[1] + 1 || b > 700 - pad[3] + 1;
  }).map(el => el.tagName + ' "' + el.textContent.trim().slice(0, 30) + '"');
  const clipped = [...slide.querySelectorAll('pre')].filter(
      pre => pre.scrollWidth > pre.clientWidth || pre.scrollHeight > pre.clientHeight)
      .map(pre => pre.textContent.slice(0, 30));
  return {
    title: slide.querySelector('h1, h2').textContent.trim(),
    box: [box.left, box.top, box.width, box.height],
    layout: elements.map(rel),
    outside, clipped,
  };
}"""


@pytest.fixture(scope='module')
def fitted(browser, built_slides):  # noqa: F811 (fixture)
    """{(width, height): [measure of each slide]} over one page resized to every size."""
    from deck_support import start_server
    server = start_server(built_slides)
    context = browser.new_context(viewport={'width': REFERENCE[0], 'height': REFERENCE[1]})
    watch = Watch(context)
    page = context.new_page()
    try:
        page.goto(f'http://127.0.0.1:{server.server_address[1]}/index.html', wait_until='load')
        page.add_style_tag(content=NO_TRANSITIONS)
        page.evaluate('document.fonts.ready')
        count = page.locator('.slides > article').count()
        measured = {}
        for width, height in SIZES:
            page.set_viewport_size({'width': width, 'height': height})
            page.wait_for_function(  # the resize event comes a frame later
                'w => document.documentElement.clientWidth === w && Math.abs(parseFloat('
                'getComputedStyle(document.documentElement).getPropertyValue("--deck-scale"))'
                f' - {expected_scale(width, height)}) < 1e-6', arg=width)
            measured[width, height] = []
            for index in range(count):
                page.evaluate('index => DeckPresent.go(index)', index)
                measured[width, height].append(page.evaluate(MEASURE))
    finally:
        context.close()
        server.shutdown()
        server.server_close()
    watch.check()
    return measured


@pytest.mark.parametrize('size', SIZES, ids=lambda size: '%dx%d' % size)
def test_every_slide_fills_the_window_centred(fitted, size):
    width, height = size
    scale = expected_scale(width, height)
    want = [round(v, 1) for v in ((width - DESIGN[0] * scale) / 2, (height - DESIGN[1] * scale) / 2,
                                  DESIGN[0] * scale, DESIGN[1] * scale)]
    wrong = {s['title']: [round(v, 1) for v in s['box']] for s in fitted[size]
             if any(abs(got - w) > 1 for got, w in zip(s['box'], want))}
    assert wrong == {}, f'want {want}'


@pytest.mark.parametrize('size', SIZES, ids=lambda size: '%dx%d' % size)
def test_every_slide_keeps_its_design_layout(fitted, size):
    moved = {}
    for slide, reference in zip(fitted[size], fitted[REFERENCE]):
        assert len(slide['layout']) == len(reference['layout']), slide['title']
        worst = max((abs(a - b) for box, ref in zip(slide['layout'], reference['layout'])
                     for a, b in zip(box, ref)), default=0)
        if worst > 1:
            moved[slide['title']] = worst
    assert moved == {}


@pytest.mark.parametrize('size', SIZES, ids=lambda size: '%dx%d' % size)
def test_no_slide_content_overflows_or_is_clipped(fitted, size):
    assert {s['title']: s['outside'] for s in fitted[size] if s['outside']} == {}
    assert {s['title']: s['clipped'] for s in fitted[size] if s['clipped']} == {}


def _edge_to_ink(png):
    """Anti-aliased edge pixels per solid ink pixel in a screenshot of dark text on white.

    Text rasterised at its final size keeps a one-pixel anti-aliased edge at
    any scale, so the ratio falls as the text grows; a bitmap scaled up grows
    its blur with it, and the ratio stays.
    """
    from PIL import Image
    levels = Image.open(io.BytesIO(png)).convert('L').histogram()
    return sum(levels[110:230]) / sum(levels[:110])


def test_text_is_rasterised_at_the_window_scale(open_deck):
    ratios = {}
    for size in (REFERENCE, (3840, 2160)):
        page, _ = open_deck(size, fragment='#2')
        ratios[size] = _edge_to_ink(page.locator('.slides > article.current h2').screenshot())
    # 3x the size: a crisp edge/ink ratio falls about threefold.
    assert ratios[3840, 2160] < 0.6 * ratios[REFERENCE], ratios


# --- type that fills the room ------------------------------------------------

# Every block present.js sized, in document order: [slide number, type, size].
FITTED_TYPE = """() => [...document.querySelectorAll('section.slides > article')].flatMap(
    (slide, i) => [...slide.querySelectorAll('[data-deck-type]')].map(
        el => [i + 1, el.dataset.deckType, el.style.fontSize]))"""

# For the current slide: its sized blocks, and whether, with each of them a
# pixel larger (up to its cap), the slide would be full: some element within
# 4 px of the content box's bottom (present.js keeps 2 px clear), a block
# wider than itself, or something past the right edge already (which the
# overflow tests report).  Restores the sizes.
ONE_PX_LARGER = """() => {
  const slide = document.querySelector('.slides > article.current');
  const caps = DeckPresent.typeCaps;
  const blocks = [...slide.querySelectorAll('[data-deck-type]')];
  const sizes = blocks.map(el => [el.dataset.deckType, parseFloat(el.style.fontSize)]);
  const grown = blocks.filter(el => parseFloat(el.style.fontSize) < caps[el.dataset.deckType]);
  let full = null;
  if (grown.length) {
    grown.forEach(el => { el.style.fontSize = (parseFloat(el.style.fontSize) + 1) + 'px'; });
    const box = slide.getBoundingClientRect(), style = getComputedStyle(slide);
    const bottom = box.bottom - slide.clientTop - parseFloat(style.paddingBottom);
    const right = box.left + slide.clientLeft + slide.clientWidth - parseFloat(style.paddingRight);
    full = [...slide.querySelectorAll('*')].some(el => el.getClientRects().length
        && !el.closest('.slide-no, div.admonition.note')
        && (el.getBoundingClientRect().bottom >= bottom - 4
            || el.getBoundingClientRect().right > right + 1))
      || blocks.some(el => el.scrollWidth > el.clientWidth);
    grown.forEach(el => { el.style.fontSize = (parseFloat(el.style.fontSize) - 1) + 'px'; });
  }
  return {title: slide.querySelector('h1, h2').textContent.trim(), sizes, full};
}"""


# Runs before the page's own scripts: at every frame, until present.js has
# fitted the type, how many slides that frame would draw.
COUNT_FRAMES_BEFORE_FIT = """
window.slidesShownBeforeFit = [];
(function nextFrame() {
  requestAnimationFrame(() => {
    if (document.documentElement.hasAttribute('data-deck-fitted')) return;
    window.slidesShownBeforeFit.push([...document.querySelectorAll('section.slides > article')]
        .filter(slide => slide.getClientRects().length).length);
    nextFrame();
  });
})();
"""


def test_no_frame_shows_a_slide_before_its_type_is_fitted(browser, built_slides, serve,
                                                         deck):  # noqa: F811 (fixture)
    context = browser.new_context(viewport={'width': REFERENCE[0], 'height': REFERENCE[1]})
    watch = Watch(context)
    context.add_init_script(COUNT_FRAMES_BEFORE_FIT)
    page = context.new_page()
    page.goto(serve(built_slides) + 'index.html', wait_until='load')
    page.wait_for_function(present.TYPE_FITTED)
    assert page.evaluate('document.documentElement.dataset.deckFitted') == str(len(deck))
    shown = page.evaluate('window.slidesShownBeforeFit')
    context.close()
    watch.check()
    assert shown == [0] * len(shown)


def test_fitted_type_is_the_same_in_any_window_and_in_the_console(open_deck):
    small, _ = open_deck((1024, 768))
    large, _ = open_deck((3840, 2160))
    fitted = small.evaluate(FITTED_TYPE)
    assert fitted and fitted == large.evaluate(FITTED_TYPE)

    # The console's previews are copies of the audience's slides: same sizes.
    number = next(n for n, kind, _ in fitted if kind == 'code')
    large.evaluate('index => DeckPresent.go(index)', number - 1)
    console = open_console(large)
    console_shows(console, number)
    sizes = 'el => [...el.querySelectorAll("[data-deck-type]")].map(b => getComputedStyle(b).fontSize)'
    for pane, slide in (('#current_slide', 'article.current'), ('#next_slide', 'article.next')):
        assert (console.eval_on_selector(pane, sizes)
                == large.eval_on_selector(f'.slides > {slide}', sizes)), pane


def test_no_slide_has_room_for_its_type_a_pixel_larger(open_deck, deck):
    page, _ = open_deck()
    caps = page.evaluate('DeckPresent.typeCaps')
    slides = []
    for index in range(len(deck)):
        page.evaluate('index => DeckPresent.go(index)', index)
        slides.append(page.evaluate(ONE_PX_LARGER))
    out_of_bounds = {s['title']: s['sizes'] for s in slides
                     if any(not MIN_TEXT_PX <= size <= caps[kind] for kind, size in s['sizes'])}
    assert out_of_bounds == {}, f'sizes outside {MIN_TEXT_PX} px and the caps {caps}'
    room_left = {s['title']: s['sizes'] for s in slides if s['full'] is False}
    assert room_left == {}
    # The deck has sparse slides: some text at its cap, some code above the floor.
    sizes = [size for s in slides for size in s['sizes']]
    assert ['text', caps['text']] in sizes
    assert any(kind == 'code' and size > MIN_TEXT_PX for kind, size in sizes)


# --- presenter console -------------------------------------------------------

def open_console(page):
    with page.expect_popup() as popup:
        page.keyboard.press('c')
    console = popup.value
    console.wait_for_load_state()
    return console


def console_shows(console, number):
    console.wait_for_function(
        'n => document.querySelector("#cur_slide_num").textContent === String(n)', arg=number)


def test_console_shows_current_and_next_slide_notes_and_counter(open_deck, deck):
    page, _ = open_deck(fragment='#1')
    console = open_console(page)
    console_shows(console, 1)
    assert console.inner_text('#num_slides') == str(len(deck))
    assert squeeze(console.inner_text('#current_slide h1, #current_slide h2')) == squeeze(deck[0].title)
    assert squeeze(console.inner_text('#next_slide h2')) == squeeze(deck[1].title)
    # Rich text: the notes' own HTML, ``literal`` and all.
    notes = page.evaluate('document.querySelector(".slides > article.current div.note").innerHTML')
    assert console.inner_html('#presenter_notes') == notes
    assert console.locator('#presenter_notes p code').count() >= 1
    assert console.locator('#presenter_notes p.admonition-title').is_hidden()


def test_console_follows_the_audience_window_and_drives_it(open_deck, deck):
    page, _ = open_deck(fragment='#2')
    console = open_console(page)
    console_shows(console, 2)

    page.keyboard.press('ArrowRight')                 # audience -> console
    console_shows(console, 3)
    assert squeeze(console.inner_text('#current_slide h2')) == squeeze(deck[2].title)
    assert squeeze(deck[2].notes).removeprefix('备注') in squeeze(console.inner_text('#presenter_notes'))

    console.keyboard.press('ArrowRight')              # console -> audience
    page.wait_for_function('location.hash === "#4"')
    console_shows(console, 4)
    console.click('#prev')
    page.wait_for_function('location.hash === "#3"')

    page.keyboard.press('t')                          # an overview jump, too
    page.click('.slides.table > article:nth-of-type(9)')
    console_shows(console, 9)
    assert current(page) == 8


def test_console_clock_advances_pauses_and_resets(open_deck):
    from playwright.sync_api import expect
    page, _ = open_deck(clock=True)
    console = open_console(page)
    console_shows(console, 1)
    clock = page.context.clock
    # From here on time moves only when the test says so.
    clock.pause_at(page.evaluate('Date.now()') + 1_000)
    elapsed = expect(console.locator('#elapsed')).to_have_text

    console.click('#timer_reset')
    elapsed('00:00')
    clock.run_for(65_000)
    elapsed('01:05')
    console.keyboard.press('p')                       # pause
    clock.run_for(30_000)
    elapsed('01:05')
    expect(console.locator('#timer_pause')).to_have_text('继续')
    console.click('#timer_pause')                     # resume
    clock.fast_forward(3_600_000)
    elapsed('1:01:05')
    console.keyboard.press('r')                       # reset
    elapsed('00:00')
    clock.run_for(2_000)
    elapsed('00:02')


# --- overview and URLs -------------------------------------------------------

def test_overview_jumps_to_the_clicked_slide(open_deck, deck):
    page, _ = open_deck()
    page.keyboard.press('t')
    page.wait_for_function('document.querySelector("section.slides").classList.contains("table")')
    last = len(deck)
    page.click(f'.slides.table > article:nth-of-type({last})')
    page.wait_for_function('!document.querySelector("section.slides").classList.contains("table")')
    assert current(page) == last - 1
    assert page.evaluate('location.hash') == f'#{last}'
    assert page.locator('.slides > article.current h2').inner_text() == deck[-1].title


def test_every_slide_has_its_url_and_a_reload_keeps_the_place(open_deck, deck):
    page, _ = open_deck(fragment='#7')
    assert current(page) == 6
    page.keyboard.press('ArrowRight')
    page.wait_for_function('location.hash === "#8"')
    page.reload(wait_until='load')
    assert current(page) == 7
    assert page.locator('.slides > article.current h2').inner_text() == deck[7].title
    page.evaluate('location.hash = "#3"')             # typed into the address bar
    page.wait_for_function('SlideDeck.curSlide() === 2')


# --- PDF handout and contact sheet ---------------------------------------------

def poppler(tool, *args):
    if not shutil.which(tool):
        pytest.fail(f'{tool} is missing: apt-get install poppler-utils (.ci/run does it)')
    return subprocess.run([tool, *args], capture_output=True, text=True, check=True).stdout


def pdf_pages(path):
    return int(re.search(r'^Pages:\s+(\d+)', poppler('pdfinfo', str(path)), re.M).group(1))


@pytest.fixture(scope='module')
def handout(built_slides, tmp_path_factory, browser):  # noqa: F811 (fixture)
    out = tmp_path_factory.mktemp('pdf') / 'deck.pdf'
    present.pdf(built_slides, out, browser=browser)
    return out


def test_pdf_has_one_page_per_slide(handout, deck):
    assert pdf_pages(handout) == len(deck)
    assert 'Page size:       675.12 x 525.12 pts' in poppler('pdfinfo', str(handout))  # 900x700 px


def test_pdf_has_every_slide_title_as_text_on_its_page(handout, deck):
    pages = poppler('pdftotext', str(handout), '-').split('\f')
    missing = [(n + 1, slide.title) for n, slide in enumerate(deck)
               if squeeze(slide.title) not in squeeze(pages[n])]
    assert missing == []


def test_pdf_embeds_its_fonts(handout):
    fonts = poppler('pdffonts', str(handout)).splitlines()[2:]
    assert fonts, 'no fonts at all?'
    # The last columns: emb sub uni object ID.  Embedded, with a Unicode map.
    assert [line for line in fonts if (line.split()[-5], line.split()[-3]) != ('yes', 'yes')] == []


def test_pdf_with_notes_puts_each_slides_notes_on_its_page(built_slides, tmp_path, deck,
                                                           browser):  # noqa: F811 (fixture)
    out = tmp_path / 'deck-notes.pdf'
    present.pdf(built_slides, out, notes=True, browser=browser)
    assert pdf_pages(out) == len(deck)
    pages = poppler('pdftotext', str(out), '-').split('\f')
    missing = [n + 1 for n, slide in enumerate(deck)
               if squeeze(slide.notes).removeprefix('备注')[:20] not in squeeze(pages[n])
               or squeeze(slide.title) not in squeeze(pages[n])]
    assert missing == []


PICTURES = ('slide.png', 'slide-en.png', 'console.png', 'live.png')


def test_pictures_show_a_slide_the_same_slide_in_english_and_the_console_opened_on_it(
        built_slides, english_slides, tmp_path, deck, browser):  # noqa: F811 (fixture)
    from PIL import Image
    described = present.pictures(built_slides, tmp_path, browser=browser,
                                 english_dir=english_slides)
    number = described['slide']['number']
    assert squeeze(deck[number - 1].title) == squeeze(present.PICTURE_SLIDE)
    assert described['slides'] == len(deck)
    assert described['console_counter'] == f'{number} / {len(deck)}'
    english = described['slide_en']
    assert english['number'] == number and english['lang'] == 'en'
    assert english['title'] and not CJK.search(english['title'])
    assert json.loads((tmp_path / present.PICTURES_JSON).read_text(encoding='utf-8')) == described
    assert described['sha256'] == {name: present.sha256(tmp_path / name) for name in PICTURES}
    assert '现场：运行中的 hub' in deck[described['live_slide'] - 1].title
    with Image.open(tmp_path / 'slide.png') as slide, \
            Image.open(tmp_path / 'slide-en.png') as slide_en, \
            Image.open(tmp_path / 'console.png') as console:
        assert slide.size == slide_en.size == (720, 560)       # 0.8 of the design size
        assert console.size == (present.PICTURE_CONSOLE_VIEWPORT['width'],
                                present.PICTURE_CONSOLE_VIEWPORT['height'])


def test_pictures_refuse_an_english_edition_of_another_deck(built_slides, tmp_path,
                                                            browser):  # noqa: F811 (fixture)
    """An English build with a slide fewer is another deck: no picture of it is made."""
    other = tmp_path / 'slides-en'
    shutil.copytree(built_slides, other)
    page = other / 'index.html'
    html = page.read_text(encoding='utf-8')
    last = html.rindex('<article')
    page.write_text(html[:last] + html[html.index('</article>', last) + len('</article>'):],
                    encoding='utf-8')
    with pytest.raises(present.DeckError, match='slides, the source'):
        present.english_picture(other, 0, len(parse_deck(built_slides / 'index.html')),
                                tmp_path / 'out.png', browser)
    assert not (tmp_path / 'out.png').exists()


def test_readme_pictures_are_of_this_deck(deck):
    """The committed pictures were made by `make pictures` from a deck of this many slides."""
    docs = ROOT / 'docs'
    described = json.loads((docs / present.PICTURES_JSON).read_text(encoding='utf-8'))
    refresh = 'docs/*.png show another deck than this one: run make pictures and commit docs/'
    number = described['slide']['number']
    assert described['slides'] == len(deck), refresh
    assert described['console_counter'] == f'{number} / {len(deck)}', refresh
    assert squeeze(deck[number - 1].title) == squeeze(described['slide']['title']), refresh
    assert described['slide_en']['number'] == number, refresh
    assert described['sha256'] == {name: present.sha256(docs / name)
                                   for name in PICTURES}, refresh
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    assert all(f'](docs/{name})' in readme for name in PICTURES)


def test_screens_writes_a_png_per_slide_and_a_contact_sheet(built_slides, tmp_path, deck,
                                                           browser):  # noqa: F811 (fixture)
    from PIL import Image
    shots = present.screens(built_slides, tmp_path, browser=browser)
    assert [shot.name for shot in shots] == [f'slide-{n:02d}.png' for n in range(1, len(deck) + 1)]
    with Image.open(shots[0]) as first:
        assert first.size == DESIGN
    rows = -(-len(deck) // present.SHEET_COLUMNS)
    with Image.open(tmp_path / 'contact-sheet.png') as sheet:
        assert sheet.size == (present.SHEET_COLUMNS * (present.SHEET_THUMB[0] + present.SHEET_GAP)
                              + present.SHEET_GAP,
                              rows * (present.SHEET_THUMB[1] + present.SHEET_GAP) + present.SHEET_GAP)
