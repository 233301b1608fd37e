"""The deck for a screen reader and for the keyboard alone.

A deck can look right and still be silent to someone who cannot see it.
This holds the built deck to what a screen reader and a keyboard need:

* the page says its language, so that the reader speaks Chinese;
* axe-core (bundled by axe-playwright-python; nothing is fetched), with its
  default rules -- WCAG 2.1 A and AA and its best practices -- finds
  nothing on any slide, each checked in Chromium as the audience sees it,
  after the arrow key brought it in;
* every drawing, chart and timeline is an image with a ``<title>`` and a
  ``<desc>``, and every number it draws can be read in them;
* a live region says each move, "第 N 张，共 M 张：标题", and only the
  shown slide is there for the reader and the Tab key; the overview is
  worked with the arrow keys and Enter.

Chromium is Debian's; without it the browser tests are skipped, except
under CI=true (see test_deck_browser.py).
"""

import html.parser
import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from deck_support import ROOT, start_server
from deckext import numbers, timeline
from deckext.lint import Piece, check, is_cjk, load_glossary
from deckext.present import TYPE_FITTED
from microthread.timeline import Mark, Span, Switch, Timeline
from test_deck_browser import CURRENT_SLIDE_SETTLED, VIEWPORT

LANGUAGE = 'zh-CN'


def announcement(number, count, title):
    return f'第 {number} 张，共 {count} 张：{title}'


# --- the page's language -------------------------------------------------------

class RootLanguage(html.parser.HTMLParser):
    """The lang attribute of a page's <html> element (None: there is none)."""

    def __init__(self):
        super().__init__()
        self.lang = self.seen = None

    def handle_starttag(self, tag, attrs):
        if tag == 'html' and not self.seen:
            self.seen, self.lang = True, dict(attrs).get('lang')


@pytest.mark.parametrize('page', ['index.html', 'console.html'])
def test_every_page_says_it_is_in_chinese(built_slides, page):
    parser = RootLanguage()
    parser.feed((built_slides / page).read_text(encoding='utf-8'))
    assert parser.seen, f'{page} has no <html> element'
    assert parser.lang == LANGUAGE


# --- axe-core on every slide as it is shown ------------------------------------

@pytest.fixture(scope='module')
def axe_walk(browser, edition):  # noqa: F811 (fixture)
    """[(number, title, axe's violations)] for every slide of an edition,
    walked with ArrowRight."""
    server = start_server(edition.dir)
    page = browser.new_page(viewport=VIEWPORT)
    axe, found = Axe(), []
    try:
        page.goto(f'http://127.0.0.1:{server.server_address[1]}/index.html', wait_until='load')
        page.wait_for_function(TYPE_FITTED)
        page.evaluate('document.fonts.ready')
        count = page.evaluate("document.querySelectorAll('.slides > article').length")
        for number in range(1, count + 1):
            page.wait_for_function(CURRENT_SLIDE_SETTLED)
            title = page.evaluate(
                "document.querySelector('.slides > article.current').querySelector('h1, h2')"
                ".textContent.trim()")
            found.append((number, title, axe.run(page).response['violations']))
            page.keyboard.press('ArrowRight')
    finally:
        page.close()
        server.shutdown()
        server.server_close()
    return found


# axe takes about a second a slide: the walk (run by whichever of these two
# comes first, as its setup) needs more than pytest's 120 s default.
WALK_TIMEOUT = 600


@pytest.mark.timeout(WALK_TIMEOUT)
def test_axe_walked_every_slide(axe_walk, edition):
    assert [(number, title) for number, title, _ in axe_walk] == [
        (number, slide.title.strip()) for number, slide in enumerate(edition.deck, 1)]


@pytest.mark.timeout(WALK_TIMEOUT)
def test_axe_finds_no_violation_on_any_slide(axe_walk):
    found = [f'slide {number} {title}: {violation["id"]} ({violation["impact"]}) '
             f'{" ".join(map(str, node["target"]))}: {node["html"][:160]}\n    '
             + node.get('failureSummary', '').replace('\n', ' ')[:300]
             for number, title, violations in axe_walk
             for violation in violations for node in violation['nodes']]
    assert found == [], f'{len(found)} axe violations:\n' + '\n'.join(found)


# --- drawings, charts and timelines: a title, a description, the numbers ------

class Drawings(html.parser.HTMLParser):
    """Every outermost <svg> of a page: its attributes, the text of its own
    <title> and <desc>, and the texts it draws (<text>, <tspan>)."""

    def __init__(self):
        super().__init__()
        self.drawings = []
        self._depth = 0           # of elements inside the current <svg>
        self._into = None         # 'title', 'desc' or 'text' while inside one

    def handle_starttag(self, tag, attrs):
        if not self._depth and tag == 'svg':
            self.drawings.append({'attrs': dict(attrs), 'title': None, 'desc': None,
                                  'ids': {}, 'drawn': []})
            self._depth = 1
            return
        if not self._depth:
            return
        self._depth += 1
        drawing = self.drawings[-1]
        if self._depth == 2 and tag in ('title', 'desc') and drawing[tag] is None:
            drawing[tag] = ''
            drawing['ids'][tag] = dict(attrs).get('id')
            self._into = tag
        elif tag == 'text':
            drawing['drawn'].append('')
            self._into = 'text'

    def handle_startendtag(self, tag, attrs):
        if self._depth:
            return   # an empty element: nothing to read, no depth to keep
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if not self._depth:
            return
        self._depth -= 1
        if tag in ('title', 'desc', 'text'):
            self._into = None

    def handle_data(self, data):
        if self._into in ('title', 'desc'):
            self.drawings[-1][self._into] += data
        elif self._into == 'text':
            self.drawings[-1]['drawn'][-1] += data


# A number as a drawing writes it: 1,000 and 31.4 are one number each.
NUMBER = re.compile(r'\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?')


def drawings_of(markup):
    parser = Drawings()
    parser.feed(markup)
    return parser.drawings


def drawings(built_slides):
    return drawings_of((built_slides / 'index.html').read_text(encoding='utf-8'))


def named(drawing):
    return f'<svg class="{drawing["attrs"].get("class", "")}"> {drawing["title"]!r}'


def not_a_described_image(drawing):
    """What keeps a drawing from being one image, named by its <title> and
    described by its <desc>."""
    attrs, ids, wrong = drawing['attrs'], drawing['ids'], []
    if attrs.get('role') != 'img':
        wrong.append(f'{named(drawing)}: role is {attrs.get("role")!r}, not "img"')
    for part, aria in (('title', 'aria-labelledby'), ('desc', 'aria-describedby')):
        if not (drawing[part] or '').strip():
            wrong.append(f'{named(drawing)}: no <{part}> or an empty one')
        elif not ids.get(part) or attrs.get(aria) != ids[part]:
            wrong.append(f'{named(drawing)}: {aria}={attrs.get(aria)!r} does not '
                         f'point at its <{part} id={ids.get(part)!r}>')
    return wrong


def numbers_not_said(drawing):
    """The numbers a drawing draws that its title and description do not say."""
    said = set(NUMBER.findall(f'{drawing["title"]} {drawing["desc"]}'))
    shown = {n for text in drawing['drawn'] for n in NUMBER.findall(text)}
    return [f'{named(drawing)}: {sorted(shown - said)}'] if shown - said else []


def own_words(drawing, part):
    """A drawing's title or description as the deck's code wrote it.  A
    chart's quotes its labels and values verbatim from slides/data/bench.json,
    as it draws them; their wording is the data's, so each is masked as one
    word, CJK (中) or Latin (a) as it begins."""
    text = drawing[part] or ''
    if drawing['attrs'].get('class') == 'bench-chart':
        for drawn in sorted({t.strip() for t in drawing['drawn'] if t.strip()},
                            key=len, reverse=True):
            text = text.replace(drawn, '中' if is_cjk(drawn[0]) else 'a')
    return text


def miswritten(drawing):
    """Where a drawing's title or description breaks the deck's Chinese rules."""
    terms = load_glossary(ROOT / 'docs' / 'glossary.md')
    return [str(violation) for part in ('title', 'desc')
            for violation in check(Piece(named(drawing), 1, own_words(drawing, part)), terms)]


def test_the_deck_has_its_drawing_charts_and_timelines(built_slides):
    classes = [d['attrs'].get('class') for d in drawings(built_slides)]
    assert classes.count('timeline') >= 5
    assert classes.count('bench-chart') >= 1
    assert any(d['ids'].get('title') == 'hub-title' for d in drawings(built_slides))


def test_every_drawing_is_an_image_with_a_title_and_a_description(built_slides):
    assert [wrong for d in drawings(built_slides) for wrong in not_a_described_image(d)] == []


def test_every_number_a_drawing_shows_is_in_its_title_or_description(built_slides):
    assert [missing for d in drawings(built_slides) for missing in numbers_not_said(d)] == []


def test_titles_and_descriptions_are_written_as_the_slides_are(built_slides):
    assert [found for d in drawings(built_slides) for found in miswritten(d)] == []


def test_every_kind_of_chart_is_described_with_its_numbers():
    # The deck shows one chart; the bench's others (two series of bars, lines
    # of memory against connections) are drawn here from numbers like theirs.
    charts = drawings_of(''.join([
        numbers.svg_bars([('切换', [('greenlet 切换', '不进内核', [294.0]),
                                    ('线程切换', '', [3014.0])])],
                         [], '纳秒/次，对数刻度', log=True, uid='ladder'),
        numbers.svg_bars([('', [('微线程', '', [70925, 48640]), ('gevent', '', [52000, 40010])])],
                         ['N = 100', 'N = 1000'], '消息/秒', uid='echo'),
        numbers.svg_lines([('微线程', [(0, 20.0), (5000, 60.5), (10000, 101.2)]),
                           ('系统线程（只到 5 千）', [(0, 20.0), (5000, 410.0)])],
                          '连接数', '常驻内存 MiB', uid='memory')]))
    assert len(charts) == 3
    assert [problem for chart in charts for problem in
            not_a_described_image(chart) + numbers_not_said(chart) + miswritten(chart)] == []
    assert '微线程：N = 100 时 70,925，N = 1000 时 48,640' in charts[1]['desc']
    assert '系统线程（只到 5 千）：连接数 0 时 20.0；连接数 5,000 时 410' in charts[2]['desc']


def test_a_timelines_description_gives_every_span_mark_and_switch_its_time():
    # A timeline draws its times as positions only, so the check on the built
    # deck above cannot see them: here they are, in words, for a known run.
    panel = Timeline('hub 把控制交给微线程', ['hub', '微线程'],
                     spans=[Span('hub', 0.0, 0.00001), Span('hub', 0.00001, 0.002, 'wait'),
                            Span('微线程', 0.00001, 0.002, 'run', 'send')],
                     marks=[Mark('微线程', 0.0015, 'EAGAIN')],
                     switches=[Switch(0.00001, 'hub', '微线程', '就绪')])
    svg = timeline.render([panel], uid='tl-x')
    assert '<title id="tl-x-title">时间线：hub 把控制交给微线程</title>' in svg
    assert ('第 1 幅“hub 把控制交给微线程”，共 2.0 ms，泳道：hub、微线程。'
            '0 µs 起，hub 运行 10 µs；10 µs，hub 切换到微线程（就绪）；'
            '10 µs 起，hub 等待 2.0 ms；10 µs 起，微线程运行 2.0 ms（send）；'
            '1.5 ms，微线程：EAGAIN。</desc>') in svg


# --- the live region, and the keyboard alone -----------------------------------

@pytest.fixture
def deck_page(browser, built_slides, serve):  # noqa: F811 (fixture)
    """open(fragment='') -> a page showing the deck, type fitted."""
    base = serve(built_slides)
    contexts = []

    def open_deck(fragment=''):
        contexts.append(browser.new_context(viewport=VIEWPORT))
        page = contexts[-1].new_page()
        page.goto(base + 'index.html' + fragment, wait_until='load')
        page.wait_for_function(TYPE_FITTED)
        return page

    yield open_deck
    for context in contexts:
        context.close()


def said(page):
    """What the live region holds, found by its role."""
    return page.get_by_role('status').inner_text().strip()


def exposed(page, role):
    """The names of the nodes of a role in Chromium's own accessibility tree:
    what a screen reader is given, inert and hidden content left out."""
    tree = page.context.new_cdp_session(page).send('Accessibility.getFullAXTree')
    return [node.get('name', {}).get('value', '') for node in tree['nodes']
            if not node.get('ignored') and node.get('role', {}).get('value') == role]


def test_the_live_region_says_every_slide_the_arrow_keys_bring(deck_page, deck):
    page = deck_page()
    region = page.get_by_role('status')
    assert region.get_attribute('aria-live') == 'polite'
    titles = [slide.title.strip() for slide in deck]
    heard = [said(page)]
    for _ in titles[1:]:
        page.keyboard.press('ArrowRight')
        heard.append(said(page))
    page.keyboard.press('ArrowLeft')
    heard.append(said(page))
    expected = [announcement(n, len(titles), t) for n, t in enumerate(titles, 1)]
    assert heard == expected + [expected[-2]]


def test_only_the_shown_slide_is_there_for_a_screen_reader(deck_page, deck):
    page = deck_page('#5')
    page.keyboard.press('ArrowRight')
    page.wait_for_function(CURRENT_SLIDE_SETTLED)
    # The talk's title (the page's h1) and the shown slide's own title; the
    # slides laid out off screen on either side are inert.
    assert exposed(page, 'heading') == [deck[0].title.strip(), deck[5].title.strip()]
    page.keyboard.press('Tab')
    assert page.evaluate("!document.activeElement.closest('.slides > article:not(.current)')")


def test_the_overview_is_worked_with_arrow_keys_and_enter(deck_page, deck):
    page = deck_page('#4')
    page.keyboard.press('t')
    page.wait_for_function("document.querySelector('section.slides').classList.contains('table')")
    page.keyboard.press('ArrowRight')      # the focus comes to the slide that was shown
    page.keyboard.press('ArrowDown')       # a row further down: four slides on
    focused = page.evaluate('document.activeElement.getAttribute("aria-label")')
    assert focused == f'第 8 张：{deck[7].title.strip()}'
    page.keyboard.press('Enter')
    page.wait_for_function("!document.querySelector('section.slides').classList.contains('table')")
    page.wait_for_function(CURRENT_SLIDE_SETTLED)
    assert page.evaluate('location.hash') == '#8'
    assert said(page) == announcement(8, len(deck), deck[7].title.strip())


def test_the_console_is_worked_with_the_keyboard_alone(deck_page):
    page = deck_page('#12')
    with page.expect_popup() as opened:
        page.keyboard.press('c')
    console = opened.value
    console.wait_for_function('document.querySelector("#cur_slide_num")?.textContent === "12"')
    focused = 'document.activeElement.id'
    for _ in range(3):                     # ◀, ▶, then 暂停
        console.keyboard.press('Tab')
    assert console.evaluate(focused) == 'timer_pause'
    console.keyboard.press('Enter')        # presses the button, does not move the deck
    assert console.inner_text('#timer_pause') == '继续'
    console.keyboard.press('Tab')
    console.keyboard.press('Tab')          # 归零, then English (the other edition)
    assert console.evaluate(focused) == 'edition'
    console.keyboard.press('Tab')          # then the notes
    assert console.evaluate(focused) == 'presenter_notes'
    notes = 'document.getElementById("presenter_notes")'
    assert console.evaluate(f'{notes}.scrollHeight > {notes}.clientHeight'), \
        'the notes of slide 12 fit the console: nothing to scroll'
    console.keyboard.press('ArrowDown')    # scrolls the notes
    console.wait_for_function(f'{notes}.scrollTop > 0')
    assert console.inner_text('#cur_slide_num') == '12'
    console.keyboard.press('ArrowRight')   # still moves the deck
    console.wait_for_function('document.querySelector("#cur_slide_num").textContent === "13"')
    assert said(page).startswith('第 13 张，共 ')
