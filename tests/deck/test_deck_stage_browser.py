"""A slide's claim run from the slide, in a real headless Chromium.

The built deck served by the stage (deckext.stage), driven as a presenter
drives it: a click (or Enter, or space) on 运行 shows the claim's verdict in
the slide and, from the same run, in the presenter console; 对照 shows the
opposite verdict; the arrow keys still move the deck from a focused button;
moving off the slide ends the run and every process it forked.  With the
buttons shown, every live-demo slide still fits and keeps the 18 px floor.
Every page records its console errors and its requests: none may fail or
leave 127.0.0.1.

Two attacks are made from the browser too: a page on a host name that
resolves to 127.0.0.1 (DNS rebinding, by Chromium's own resolver rules) and
a page of another origin posting to the stage.  Both are refused, and
nothing runs.  The quick claims run here: address-space, awaits.
"""

from urllib.parse import urlsplit

import pytest

from stage_support import FAKE_DEMO, PIDS, alive, serving, wait_until
from deckext.present import CHROMIUM, CHROMIUM_ARGS
from test_deck_browser import CURRENT_SLIDE_SETTLED, MEASURE, MIN_TEXT_PX, SMALL_TEXT
from test_deck_present import open_deck  # noqa: F401 (fixture)

@pytest.fixture(scope='module')
def stage(built_slides):
    with serving(built_slides) as stage:
        yield stage


def show_slide_of(page, name):
    """Go to the slide with claim name's live demo; return its index."""
    index = page.evaluate(
        'name => [...document.querySelectorAll(".slides > article")].findIndex('
        'slide => slide.querySelector(`[data-live-demo="${name}"]`))', name)
    assert index >= 0, f'no slide has the live demo {name}'
    page.evaluate('index => DeckPresent.go(index)', index)
    page.wait_for_function('index => SlideDeck.curSlide() === index', arg=index)
    page.wait_for_function(CURRENT_SLIDE_SETTLED)
    return index


def current(selector):
    return f'.slides > article.current {selector}'


def output_of(name):
    return current(f'[data-demo-output="{name}"]')


def wait_for_text(page, selector, start):
    page.wait_for_function(
        '([selector, start]) => (document.querySelector(selector)?.textContent || "")'
        '.startsWith(start)', arg=[selector, start])
    return page.inner_text(selector)


def demo_requests(watch):
    return [url for url in watch.requests if urlsplit(url).path.startswith('/demo/')]


def test_run_shows_the_verdict_in_the_slide_and_in_the_console(open_deck, stage):  # noqa: F811
    """The console shows the output as it comes: its own re-registration,
    every few seconds, never fires here (the clock stands still)."""
    page, watch = open_deck(base=stage.url, clock=True)
    page.context.clock.pause_at(page.evaluate('Date.now()') + 1_000)
    index = show_slide_of(page, 'address-space')
    with page.expect_popup() as popup:
        page.keyboard.press('c')
    console = popup.value
    console.wait_for_function('n => document.querySelector("#cur_slide_num")?.textContent === n',
                              arg=str(index + 1))
    page.click(current('button[data-demo="address-space"]'))
    verdict = wait_for_text(page, output_of('address-space'), 'address-space: holds — ')
    wait_for_text(page, current('[data-demo-mark="address-space"]'), '现场')
    assert wait_for_text(console, '#current_slide [data-demo-output="address-space"]',
                         'address-space: holds — ') == verdict
    assert demo_requests(watch) == [stage.url + 'demo/address-space']   # one run, two views


def test_the_counterfactual_shows_the_opposite_verdict(open_deck, stage):  # noqa: F811 (fixture)
    page, _ = open_deck(base=stage.url)
    show_slide_of(page, 'awaits')
    page.click(current('button[data-demo-counterfactual="awaits"]'))
    wait_for_text(page, output_of('awaits'),
                  'awaits --counterfactual（改成 await asyncio.sleep(0)）: refuted — ')


def tab_to(page, selector, most=30):
    """Press Tab until the element at selector has the focus."""
    for _ in range(most):
        page.keyboard.press('Tab')
        if page.evaluate('s => document.activeElement === document.querySelector(s)', selector):
            return
    raise AssertionError(f'{most} presses of Tab never reached {selector}')


@pytest.mark.parametrize('key', ['Enter', ' '])
def test_a_button_works_from_the_keyboard(open_deck, stage, key):  # noqa: F811 (fixture)
    page, _ = open_deck(base=stage.url)
    index = show_slide_of(page, 'awaits')
    tab_to(page, current('button[data-demo="awaits"]'))
    page.keyboard.press(key)
    wait_for_text(page, output_of('awaits'), 'awaits: holds — ')
    assert page.evaluate('SlideDeck.curSlide()') == index     # pressed, not "next slide"


def test_the_arrow_keys_move_the_deck_from_a_focused_button(open_deck, stage):  # noqa: F811
    page, _ = open_deck(base=stage.url)
    index = show_slide_of(page, 'awaits')
    tab_to(page, current('button[data-demo-counterfactual="awaits"]'))
    page.keyboard.press('ArrowRight')
    page.wait_for_function('index => SlideDeck.curSlide() === index', arg=index + 1)
    page.keyboard.press('ArrowLeft')
    page.wait_for_function('index => SlideDeck.curSlide() === index', arg=index)
    assert page.inner_text(current('[data-demo-mark="awaits"]')) == '录制'   # nothing ran


def test_moving_off_the_slide_ends_its_run_and_all_it_forked(open_deck,  # noqa: F811
                                                            built_slides):
    with serving(built_slides, command=FAKE_DEMO, time_limit=30) as stage:
        page, watch = open_deck(base=stage.url)
        index = show_slide_of(page, 'address-space')
        page.click(current('button[data-demo="address-space"]'))
        page.wait_for_function(
            's => (document.querySelector(s)?.textContent.match(/ (parent|child) \\d+/g) || [])'
            '.length === 2', arg=output_of('address-space'))
        pids = [int(pid) for pid in PIDS.findall(page.inner_text(output_of('address-space')))]
        assert len(pids) == 2 and all(alive(pid) for pid in pids)
        page.keyboard.press('ArrowRight')
        page.wait_for_function('index => SlideDeck.curSlide() === index', arg=index + 1)
        wait_until(lambda: not any(alive(pid) for pid in pids), f'processes {pids} still run')
        wait_until(lambda: stage.run is None, 'the stage still has the run')
        slide = f'.slides > article:nth-of-type({index + 1})'
        page.wait_for_function('s => document.querySelector(s).textContent === "已停止"',
                               arg=f'{slide} [data-demo-mark="address-space"]')


def test_every_live_demo_slide_fits_with_its_buttons(open_deck, stage):  # noqa: F811 (fixture)
    page, _ = open_deck(base=stage.url)
    names = page.eval_on_selector_all('[data-live-demo]', 'all => all.map(d => d.dataset.liveDemo)')
    assert names
    for name in names:
        show_slide_of(page, name)
        page.evaluate('document.fonts.ready')
        measured = page.evaluate(MEASURE)
        assert page.is_visible(current(f'button[data-demo="{name}"]'))
        assert (measured['title'], measured['overflowing']) == (measured['title'], [])
        small = [text for text in page.evaluate(SMALL_TEXT, MIN_TEXT_PX)
                 if '.live-demo' in text['element'] or 'button' in text['element']
                 or 'span' in text['element']]
        assert (measured['title'], small) == (measured['title'], [])


# --- attacks from a browser ------------------------------------------------------

@pytest.fixture(scope='module')
def rebinding_browser(browser):  # noqa: F811 (fixture)
    """Chromium whose resolver sends rebound.test to 127.0.0.1, as a DNS
    rebinding attack makes a victim's resolver do."""
    rebinding = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS + ['--host-resolver-rules=MAP rebound.test 127.0.0.1'])
    yield rebinding
    rebinding.close()


def test_a_rebound_host_gets_no_page_and_no_token(rebinding_browser, stage):
    page = rebinding_browser.new_page()
    try:
        response = page.goto(f'http://rebound.test:{stage.port}/index.html')
        assert response.status == 403
        assert stage.token not in response.text()
        assert "Host 'rebound.test:" in response.text()
    finally:
        page.close()


def test_a_page_of_another_origin_cannot_run_a_claim(browser, built_slides, serve,  # noqa: F811
                                                     tmp_path):
    """Another site's page posts: with a header (its preflight is refused)
    and without (a simple request: its Origin is refused).  Nothing runs."""
    (tmp_path / 'index.html').write_text('<!DOCTYPE html><title>elsewhere</title>', encoding='utf-8')
    log = []
    with serving(built_slides, log=log.append) as stage:
        page = browser.new_page()
        try:
            page.goto(serve(tmp_path) + 'index.html')
            outcomes = page.evaluate('''async url => {
              const tries = [{method: 'POST', headers: {'X-Deck-Token': 'guessed'}},
                             {method: 'POST', mode: 'no-cors'}];
              const outcomes = [];
              for (const init of tries) {
                try { outcomes.push((await fetch(url, init)).type); }
                catch (error) { outcomes.push(error.name); }
              }
              return outcomes;
            }''', stage.url + 'demo/address-space')
        finally:
            page.close()
    assert outcomes == ['TypeError', 'opaque']     # blocked; sent blind
    refusals = [line.split('refused: ')[1] for line in log if 'refused: ' in line]
    assert [why.split(':')[0] for why in refusals] == ['OPTIONS', "Origin 'http"]
    assert not [line for line in log if '" 200 ' in line]
