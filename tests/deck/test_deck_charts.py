"""The benchmark's charts, tables and source lines read from the back of the room.

deckext.numbers draws them; this measures them in Chromium at the slide's
900x700 design size.  Every text it drew must be at least 18 px as drawn
(an SVG text at its font size times the SVG's scale on the page), every
chart drawn 1:1 with its texts inside it, and all of it inside the slide's
content box.  Two decks are measured: a sample with every chart, table and
the longest source line (one that says the numbers are stale), the ladder
under a title and three bullets as on the slide 用户级线程; and the real
deck, whichever slides carry the numbers.

Chromium is Debian's; without it these are skipped, except under CI=true.
"""

import json

import pytest

from deck_support import ROOT, sphinx_build, start_server

VIEWPORT = {'width': 920, 'height': 720}        # the 900x700 slide at scale 1
FLOOR_PX = 18

SAMPLE = """\
数字
====

用户级线程
----------

* 在用户级调度不同的代码执行序列
* 好处：开销小
* 坏处：需要避开阻塞的系统调用

.. bench-chart:: micro

   切换，都绑在同一个 CPU 上: greenlet_switch_ns, thread_hop_pinned_ns, process_hop_pinned_ns
   唤醒，socketpair 上同一次 send: thread_wakeup_ns, wait_fd_wakeup_ns
   参照，不切换: function_call_ns, getppid_ns

.. bench-source:: micro

内存和连接数
------------

.. bench-chart:: c10k-memory
   :keys: threads,green,callback,gevent,asyncio-protocol

.. bench-source:: c10k

回显
----

.. bench-chart:: echo
   :keys: green,callback,threads,gevent

.. bench-table:: echo
   :keys: green,callback
   :n: 100,1000

表
--

.. bench-table:: c10k
   :keys: green,callback,threads

.. bench-table:: memory

.. bench-source:: c10k memory
"""

# In the current slide: each text the numbers extension drew, at what size
# it is drawn on the 900x700 slide, and whatever of it leaves its box.
MEASURE = """() => {
  const slide = document.querySelector('.slides > article.current');
  const box = slide.getBoundingClientRect();
  const scale = box.width / 900;
  const style = getComputedStyle(slide);
  const edge = (side, border) => (border + parseFloat(style['padding' + side])) * scale;
  const inner = {           // the content box: inside the border and padding
    left: box.left + edge('Left', slide.clientLeft),
    right: box.right - edge('Right', slide.clientLeft),
    top: box.top + edge('Top', slide.clientTop),
    bottom: box.bottom - edge('Bottom', slide.clientTop),
  };
  const title = slide.querySelector('h1, h2').textContent.trim();
  const out = {title, small: [], outside: [], scaled: [], count: 0};
  const name = (el) => el.tagName.toLowerCase() + ' "' +
                       el.textContent.trim().slice(0, 24) + '"';
  const within = (r, b) => r.left >= b.left - 0.5 && r.right <= b.right + 0.5 &&
                           r.top >= b.top - 0.5 && r.bottom <= b.bottom + 0.5;
  const drawn = '.bench-chart, .bench-chart text, table.bench, table.bench th, ' +
                'table.bench td, p.bench-source, p.bench-source *';
  for (const el of slide.querySelectorAll(drawn)) {
    if (!el.getClientRects().length) continue;
    const svg = el.closest('svg');
    let px = parseFloat(getComputedStyle(el).fontSize);
    if (svg && el !== svg) {
      const m = el.getScreenCTM();
      px *= Math.hypot(m.a, m.b) / scale;
    }
    const r = el.getBoundingClientRect();
    if (el.tagName === 'svg') {
      const drawnWidth = r.width / scale, viewWidth = el.viewBox.baseVal.width;
      if (Math.abs(drawnWidth - viewWidth) > 0.5) {
        out.scaled.push(`svg drawn ${drawnWidth.toFixed(1)} px wide, ` +
                        `its viewBox ${viewWidth}`);
      }
    } else if (el.textContent.trim() &&
               [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) {
      out.count++;
      if (px < %(floor)s - 0.05) out.small.push(`${name(el)} at ${px.toFixed(1)} px`);
    }
    if (!within(r, inner)) out.outside.push(`${name(el)} leaves the slide`);
    if (svg && el !== svg && !within(r, svg.getBoundingClientRect())) {
      out.outside.push(`${name(el)} leaves its chart`);
    }
  }
  return out;
}""" % {'floor': FLOOR_PX}

SETTLED = """(n) => {
  const slide = document.querySelectorAll('.slides > article')[n];
  return slide.classList.contains('current') &&
         Math.abs(slide.getBoundingClientRect().left - 10) < 1;
}"""

WITH_NUMBERS = """() => [...document.querySelectorAll('.slides > article')]
  .map((slide, n) => slide.querySelector('.bench-chart, table.bench, p.bench-source')
                     ? n : -1)
  .filter(n => n >= 0)"""


def measure(browser, built):
    """MEASURE on every slide of the deck in built that shows numbers."""
    server = start_server(built)
    page = browser.new_page(viewport=VIEWPORT)
    try:
        page.goto(f'http://127.0.0.1:{server.server_address[1]}/index.html',
                  wait_until='load')
        page.evaluate('document.fonts.ready')
        slides = []
        for n in page.evaluate(WITH_NUMBERS):
            page.evaluate(f'location.hash = "#{n + 1}"')
            page.wait_for_function(SETTLED, arg=n)
            slides.append(page.evaluate(MEASURE))
        return slides
    finally:
        page.close()
        server.shutdown()
        server.server_close()


@pytest.fixture(scope='module')
def sample(browser, tmp_path_factory):
    """The sample deck over the real data, one part marked as measured on
    other code, measured slide by slide."""
    src = tmp_path_factory.mktemp('charts')
    data = json.loads((ROOT / 'slides/data/bench.json').read_text(encoding='utf-8'))
    data['meta']['code']['parts']['memory'] = '0123456789abcdef'
    (src / 'bench.json').write_text(json.dumps(data, ensure_ascii=False),
                                    encoding='utf-8')
    (src / 'conf.py').write_text(
        "extensions = ['deckext']\nlanguage = 'zh_CN'\nslide_theme = 'deck'\n"
        f"slide_levels = 2\nbench_data = 'bench.json'\nbench_code_root = {str(ROOT)!r}\n"
        "exclude_patterns = ['_build']\n")
    (src / 'index.rst').write_text(SAMPLE, encoding='utf-8')
    done = sphinx_build(src, src / '_build', 'slides', '-W', '-E')
    assert done.returncode == 0, done.stderr
    return measure(browser, src / '_build')


@pytest.fixture(scope='module')
def deck(browser, built_slides):
    return measure(browser, built_slides)


def problems(slides, key):
    return {slide['title']: slide[key] for slide in slides if slide[key]}


def test_the_sample_shows_every_kind_of_number():
    assert SAMPLE.count('.. bench-chart::') == 3 and 'bench-table:: c10k' in SAMPLE


@pytest.mark.parametrize('which', ['sample', 'deck'])
def test_every_text_the_numbers_draw_is_18_px_or_more(which, request):
    slides = request.getfixturevalue(which)
    assert sum(slide['count'] for slide in slides) > 0, 'no numbers measured'
    assert problems(slides, 'small') == {}


@pytest.mark.parametrize('which', ['sample', 'deck'])
def test_every_chart_is_drawn_1_to_1(which, request):
    assert problems(request.getfixturevalue(which), 'scaled') == {}


@pytest.mark.parametrize('which', ['sample', 'deck'])
def test_the_numbers_stay_inside_their_chart_and_their_slide(which, request):
    # In the sample: the ladder under a title and three bullets, and the
    # source line that says the numbers are stale, fit the slide.
    assert problems(request.getfixturevalue(which), 'outside') == {}
