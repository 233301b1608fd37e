"""Every timeline reads from the back of the room, and fits its slide.

A slide's content box under its title is 778 x 544 px at the 900x700
design size.  Each scenario's drawing -- whole, and each of its panels
alone, as ``:panels:`` draws it -- must fit that box at scale 1 with every
text at 18 px or more (titles at 20), no text on another and none outside
the drawing.  The checks here run twice: on the SVG's own numbers (with
the drawing's estimate of text widths), and in Chromium on the real
glyphs.  Chromium is Debian's (/usr/bin/chromium); without it the browser
half is skipped, except under CI=true, where it fails.
"""

import xml.etree.ElementTree as ET

import pytest

from deckext.timeline import render, text_width
from deckext import scenarios

SVG = "{http://www.w3.org/2000/svg}"
BOX = (778, 544)               # the content box under a slide's title, px


@pytest.fixture(scope="module")
def drawings():
    """{"name" or "name:panel": SVG} of every scenario, whole and by panel."""
    found = {}
    for name, scenario in sorted(scenarios.SCENARIOS.items()):
        panels = scenario()
        found[name] = render(panels, uid=f"tl-{name}")
        for number, panel in enumerate(panels, 1):
            found[f"{name}:{number}"] = render([panel],
                                               uid=f"tl-{name}-{number}")
    return found


def texts(svg):
    """(x, y, size, anchor, bold, text) of each text, sizes inherited."""
    root = ET.fromstring(svg)
    found = []

    def walk(element, size, anchor):
        size = float(element.get("font-size", size))
        anchor = element.get("text-anchor", anchor)
        if element.tag == f"{SVG}text":
            found.append((float(element.get("x")), float(element.get("y")),
                          size, anchor, element.get("font-weight") == "bold",
                          element.text))
        for child in element:
            walk(child, size, anchor)

    walk(root, 16, "start")       # 16: a browser's default, if none is set
    return found


def box(x, y, size, anchor, bold, text):
    """The ink of a text, roughly: its estimated width, 0.88 em up."""
    wide = text_width(text, size, bold)
    left = {"start": x, "middle": x - wide / 2, "end": x - wide}[anchor]
    return left, y - 0.88 * size, left + wide, y + 0.12 * size


def overlapping(boxes):
    return [(a[4], b[4]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]]


def test_every_text_is_drawn_at_18_px_or_more_and_titles_at_20(drawings):
    for name, svg in drawings.items():
        root = ET.fromstring(svg)
        # Drawn at its own size: width in px equals the viewBox's width.
        assert root.get("viewBox") == f"0 0 {root.get('width')} " \
                                      f"{root.get('height')}", name
        for x, y, size, anchor, bold, text in texts(svg):
            assert size >= (20 if bold else 18), (name, text)


def test_every_drawing_fits_the_slides_content_box(drawings):
    for name, svg in drawings.items():
        root = ET.fromstring(svg)
        size = float(root.get("width")), float(root.get("height"))
        assert size[0] <= BOX[0] and size[1] <= BOX[1], (name, size)


def test_no_text_is_on_another_nor_outside_the_drawing(drawings):
    for name, svg in drawings.items():
        root = ET.fromstring(svg)
        width, height = float(root.get("width")), float(root.get("height"))
        boxes = [(*box(*t), t[5]) for t in texts(svg)]
        assert not overlapping(boxes), name
        outside = [b[4] for b in boxes if b[0] < 0 or b[2] > width
                   or b[1] < 0 or b[3] > height]
        assert not outside, name


# -- the same, on the glyphs Chromium draws -----------------------------------

MEASURE = """() => {
  const svg = document.querySelector('svg');
  const frame = svg.getBoundingClientRect();
  const scale = frame.width / svg.viewBox.baseVal.width;
  const texts = [...svg.querySelectorAll('text')].map(t => {
    const r = t.getBoundingClientRect();
    return {text: t.textContent, px: parseFloat(getComputedStyle(t).fontSize) * scale,
            box: [r.left, r.top, r.right, r.bottom]};
  });
  return {frame: [frame.width, frame.height], scale, texts};
}"""


@pytest.fixture(scope="module")
def page(browser):
    """A page of Debian's Chromium, as ``make screens`` drives it."""
    return browser.new_page(viewport={"width": 900, "height": 700})


def test_in_chromium_every_drawing_fits_and_reads_at_18_px(page, drawings):
    for name, svg in drawings.items():
        page.set_content(f'<body style="margin: 0"><div style="width: '
                         f'{BOX[0]}px">{svg}</div></body>')
        page.evaluate("document.fonts.ready")
        seen = page.evaluate(MEASURE)
        width, height = seen["frame"]
        assert seen["scale"] == 1 and width <= BOX[0] and height <= BOX[1], (
            name, seen["frame"])
        small = [(t["text"], t["px"]) for t in seen["texts"] if t["px"] < 18]
        assert not small, name
        # Each text's line box (ascent and descent of the font) is inside
        # the drawing; glyphs, which are smaller, do not touch each other.
        outside = [t["text"] for t in seen["texts"]
                   if t["box"][0] < -0.5 or t["box"][2] > width + 0.5
                   or t["box"][1] < -0.5 or t["box"][3] > height + 0.5]
        assert not outside, name
        glyphs = [(left, top + (bottom - top) * 0.19, right,
                   bottom - (bottom - top) * 0.11, t["text"])
                  for t in seen["texts"]
                  for left, top, right, bottom in [t["box"]]]
        assert not overlapping(glyphs), name
