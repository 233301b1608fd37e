"""The built deck presents correctly in a real headless Chromium.

A green Sphinx build says nothing about what the audience sees, so this
walks the deck the way a presenter does -- load it from a local server, press
the right arrow through every slide -- and measures each slide at 1280x720:
no console error, no request leaving 127.0.0.1, no content past the slide's
edge, no code block clipped, no text too small to read from the back row.
Set DECK_SCREENSHOTS=DIR to keep a PNG of every slide for a human to look at.

Chromium is Debian's (apt-get install chromium fonts-noto-cjk; .ci/run does
it), started by the `browser` fixture of tests/conftest.py: without it the
test is skipped, loudly, except under CI=true, where it fails.
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from deckext.present import TYPE_FITTED
VIEWPORT = {'width': 1280, 'height': 720}
SLIDE_LEFT = (VIEWPORT['width'] - 900) / 2   # hieroglyph slides are 900x700 px

# Run in the page for the current slide: what sticks out of it, what is clipped.
MEASURE = """() => {
  const slide = document.querySelector('.slides > article.current');
  const box = slide.getBoundingClientRect();
  const style = getComputedStyle(slide);
  const inner = {
    left: box.left + parseFloat(style.paddingLeft) - 1,
    right: box.right - parseFloat(style.paddingRight) + 1,
    top: box.top + parseFloat(style.paddingTop) - 1,
    bottom: box.bottom - parseFloat(style.paddingBottom) + 1,
  };
  const describe = (el) => el.tagName.toLowerCase()
      + (el.className ? '.' + String(el.className).split(' ').join('.') : '')
      + ' "' + el.textContent.trim().slice(0, 30) + '"';
  const overflowing = [];
  for (const el of slide.querySelectorAll('*')) {
    if (!el.getClientRects().length || el.closest('.slide-no')) continue;
    const r = el.getBoundingClientRect();
    if (r.left < inner.left || r.right > inner.right ||
        r.top < inner.top || r.bottom > inner.bottom) {
      overflowing.push(describe(el) + ' at ' + JSON.stringify(
          [r.left, r.top, r.right, r.bottom].map(Math.round)));
    }
  }
  const clipped = [];
  for (const pre of slide.querySelectorAll('pre')) {
    if (pre.scrollWidth > pre.clientWidth || pre.scrollHeight > pre.clientHeight) {
      clipped.push(describe(pre) + ` scroll ${pre.scrollWidth}x${pre.scrollHeight}`
                   + ` client ${pre.clientWidth}x${pre.clientHeight}`);
    }
  }
  return {
    title: slide.querySelector('h1, h2').textContent.trim(),
    index: [...document.querySelectorAll('.slides > article')].indexOf(slide),
    hash: location.hash,
    inViewport: box.left >= 0 && box.top >= 0 &&
                box.right <= innerWidth && box.bottom <= innerHeight,
    overflowing, clipped,
  };
}"""

# The smallest type a slide may show, in px at the 900x700 design size.
MIN_TEXT_PX = 18

# Run in the page for the current slide: every visible text drawn smaller
# than MIN_TEXT_PX design px, and what kind of text it is.  A text is an
# element with text of its own (not only its children's): list items, code
# spans, table cells, the slide number, the bench-source line, SVG <text> and
# <tspan>.  Drawn size is the computed font-size times the scale of the
# element's coordinates against the slide's: CSS transforms and zoom inside
# the slide for HTML, and for SVG its whole screen matrix (viewBox, max-width
# squeezing and transform attributes), less the deck's own fit-to-window scale.
SMALL_TEXT = """(minimum) => {
  const slide = document.querySelector('.slides > article.current');
  const deckScale = slide.getBoundingClientRect().height / slide.offsetHeight;
  const ownText = el => [...el.childNodes].some(
      n => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
  const htmlScale = el => {
    let scale = 1;
    for (let up = el; up && up !== slide; up = up.parentElement) {
      const style = getComputedStyle(up);
      if (style.transform !== 'none') {
        const m = new DOMMatrix(style.transform);
        scale *= Math.hypot(m.c, m.d);
      }
      scale *= parseFloat(style.zoom) || 1;
    }
    return scale;
  };
  const named = el => [el.tagName.toLowerCase(), ...el.classList].join('.');
  const describe = el => {
    const svg = el.closest('svg');
    return (svg ? named(svg) + ' ' : '') + named(el)
        + ' "' + el.textContent.trim().slice(0, 30) + '"';
  };
  const small = [];
  for (const el of slide.querySelectorAll('*')) {
    if (!ownText(el) || el.closest('div.admonition.note, defs, title, desc, metadata')) continue;
    const style = getComputedStyle(el);
    if (!el.getClientRects().length || style.visibility !== 'visible') continue;
    let px = parseFloat(style.fontSize);
    if (el instanceof SVGElement) {
      const m = el.getScreenCTM();
      px *= Math.hypot(m.c, m.d) / deckScale;
    } else {
      px *= htmlScale(el);
    }
    if (px < minimum - 0.01) {
      small.push({element: describe(el), px,
                  kind: el.closest('svg.bench-chart') ? 'bench-chart'
                      : el.closest('.bench-source') ? 'bench-source' : 'other'});
    }
  }
  return small;
}"""

CURRENT_SLIDE_SETTLED = f"""() => {{
  const slide = document.querySelector('.slides > article.current');
  return slide && Math.abs(slide.getBoundingClientRect().left - {SLIDE_LEFT}) < 1;
}}"""


@pytest.fixture(scope='module')
def walk(browser, edition):
    """Walk the deck (each edition) with ArrowRight; what was measured on
    each slide, and seen."""
    # The module-scoped server outlives the function-scoped `serve` fixture.
    from deck_support import start_server
    server = start_server(edition.dir)
    base = f'http://127.0.0.1:{server.server_address[1]}/'
    shots = os.environ.get('DECK_SCREENSHOTS')

    page = browser.new_page(viewport=VIEWPORT)
    seen = {'errors': [], 'requests': [], 'slides': [], 'count': 0}
    page.on('console', lambda msg: msg.type == 'error' and seen['errors'].append(msg.text))
    page.on('pageerror', lambda error: seen['errors'].append(str(error)))
    page.on('request', lambda request: seen['requests'].append(request.url))
    try:
        page.goto(base + 'index.html', wait_until='load')
        page.wait_for_function(TYPE_FITTED)
        seen['count'] = page.evaluate("document.querySelectorAll('.slides > article').length")
        for number in range(seen['count']):
            page.wait_for_function(CURRENT_SLIDE_SETTLED)
            page.evaluate('document.fonts.ready')
            seen['slides'].append(page.evaluate(MEASURE))
            seen['slides'][-1]['small_text'] = page.evaluate(SMALL_TEXT, MIN_TEXT_PX)
            if shots:
                Path(shots).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(Path(shots) / f'{edition.language}-slide-{number + 1:02d}.png'))
            page.keyboard.press('ArrowRight')
        page.wait_for_timeout(300)  # late errors, e.g. from the last key press
    finally:
        page.close()
        server.shutdown()
        server.server_close()
    return seen


def test_deck_has_slides(walk):
    assert walk['count'] >= 2


def test_no_console_error(walk):
    assert walk['errors'] == []


def test_no_request_leaves_127_0_0_1(walk):
    assert walk['requests'], 'the page made no request at all?'
    outside = [url for url in walk['requests'] if urlsplit(url).hostname != '127.0.0.1']
    assert outside == []


def test_arrow_right_reaches_every_slide_in_order(walk):
    reached = [(slide['index'], slide['hash']) for slide in walk['slides']]
    assert reached == [(n, f'#{n + 1}') for n in range(walk['count'])]


def test_every_slide_fits_the_viewport_at_1280x720(walk):
    assert [s['title'] for s in walk['slides'] if not s['inViewport']] == []


def test_no_slide_content_overflows_its_slide(walk):
    overflowing = {s['title']: s['overflowing'] for s in walk['slides'] if s['overflowing']}
    assert overflowing == {}


def test_no_code_block_is_clipped(walk):
    clipped = {s['title']: s['clipped'] for s in walk['slides'] if s['clipped']}
    assert clipped == {}


def test_every_visible_text_is_at_least_18px(walk):
    too_small = [f"slide {number} {slide['title']}: {text['element']} at {text['px']:.1f} px"
                 for number, slide in enumerate(walk['slides'], 1)
                 for text in slide['small_text']]
    assert too_small == [], f'text under {MIN_TEXT_PX} px at design size:\n' + '\n'.join(too_small)


@pytest.fixture
def deck_page(browser, built_slides, serve):
    """A fresh page showing the deck, and the console errors of its context."""
    context = browser.new_context(viewport=VIEWPORT)
    errors = []
    context.on('console', lambda msg: msg.type == 'error' and errors.append(msg.text))
    context.on('weberror', lambda error: errors.append(str(error.error)))
    page = context.new_page()
    page.goto(serve(built_slides) + 'index.html', wait_until='load')
    page.wait_for_function(CURRENT_SLIDE_SETTLED)
    yield page, errors
    context.close()


def test_c_opens_the_presenter_console_with_the_slides_notes(deck_page):
    page, errors = deck_page
    page.keyboard.press('ArrowRight')
    page.wait_for_function(CURRENT_SLIDE_SETTLED)
    note = page.inner_text('.slides > article.current div.admonition.note p:not(.admonition-title)')
    with page.expect_popup() as popup_info:
        page.keyboard.press('c')
    console = popup_info.value
    console.wait_for_load_state()
    console.wait_for_function('document.querySelector("#cur_slide_num")?.textContent === "2"')
    assert note.split()[0] in console.inner_text('#presenter_notes')
    assert errors == []


def test_t_toggles_the_slide_table(deck_page):
    page, errors = deck_page
    page.keyboard.press('t')
    page.wait_for_function('document.querySelector("section.slides").classList.contains("table")')
    page.keyboard.press('t')
    page.wait_for_function('!document.querySelector("section.slides").classList.contains("table")')
    assert errors == []
