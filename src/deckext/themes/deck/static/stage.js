/* A slide's claim, run from the slide (deckext.livedemo, deckext.stage).
 *
 * A slide with `.. live-demo:: NAME` carries a 运行 button (data-demo), a
 * 对照 button where the claim has a counterfactual
 * (data-demo-counterfactual), and the output recorded when the deck was
 * built (data-demo-output), marked 录制.  Served by deckext.stage, the page
 * has a token in <meta name="deck-token">: then the buttons show, and a
 * press runs the claim on the server, POST /demo/NAME with the token in the
 * X-Deck-Token header -- fetch, since EventSource and WebSocket cannot send
 * a header -- and the response body replaces the recording as it streams
 * in.  Without a token (the PDF, the PNGs, any other server) this script
 * does nothing and the recording is what the slide shows.
 *
 * One run, two views: the presenter console copies the current slide from
 * this window (present.js), so each piece of output asks present.js to send
 * the console the slide again, as the console's own re-registration does.
 *
 * One run at a time: a press while another runs stops that one first, and a
 * press on the button of the run that is on (it reads 停止) just stops it.
 * Entering another slide stops the run and drops the request, so the
 * server kills its process group.  hieroglyph takes Enter and space for
 * "next slide" anywhere; on a demo button they press the button, while the
 * arrow keys still move the deck.
 */
(function () {
  'use strict';

  var BUTTONS = 'button[data-demo], button[data-demo-counterfactual]';
  var MARKS = {running: '运行中', live: '现场', stopped: '已停止', refused: '被拒绝',
               failed: '出错'};
  var STOP_LABEL = '停止';

  var token = null;     // this launch's, from the page deckext.stage served
  var run = null;       // the run that is on: {button, slide, demo, text, abort, finished}
  var consoles = [];    // windows that registered with the deck as its console

  function post(path, signal) {
    return fetch(path, {method: 'POST', headers: {'X-Deck-Token': token},
                        cache: 'no-store', signal: signal});
  }

  /* --- what the slide shows ------------------------------------------- */

  function show(current, state) {
    var demo = current.demo, screen = demo.querySelector('.live-demo-screen');
    demo.querySelector('[data-demo-output]').textContent = current.text;
    demo.querySelector('[data-demo-mark]').textContent = MARKS[state];
    demo.setAttribute('data-demo-state', state);
    screen.scrollTop = screen.scrollHeight;
    resendToConsoles();
  }

  // present.js answers a console's registration with the current slide; a
  // registration made on the console's behalf sends it the slide as it now is.
  function resendToConsoles() {
    consoles = consoles.filter(function (win) { return !win.closed; });
    consoles.forEach(function (win) {
      window.dispatchEvent(new MessageEvent('message', {
        data: {command: 'deck_register'}, source: win, origin: location.origin}));
    });
  }

  function onMessage(event) {
    var data = event.data || {};
    if (data.command === 'deck_register' && event.source && event.source !== window &&
        consoles.indexOf(event.source) < 0) {
      consoles.push(event.source);
    }
  }

  /* --- a run ------------------------------------------------------------ */

  function start(button) {
    var name = button.getAttribute('data-demo') || button.getAttribute('data-demo-counterfactual');
    var counterfactual = button.hasAttribute('data-demo-counterfactual');
    var current = run = {button: button, slide: button.closest('article'),
                         demo: button.closest('.live-demo'), text: '',
                         abort: new AbortController()};
    button.setAttribute('data-label', button.textContent);
    button.textContent = STOP_LABEL;
    show(current, 'running');

    function read(response) {
      var reader = response.body.getReader(), decoder = new TextDecoder();
      function pump() {
        return reader.read().then(function (chunk) {
          current.text += chunk.done ? decoder.decode() : decoder.decode(chunk.value, {stream: true});
          if (chunk.done) return response.ok ? 'live' : 'refused';
          show(current, 'running');
          return pump();
        });
      }
      return pump();
    }

    var url = '/demo/' + encodeURIComponent(name) + (counterfactual ? '?counterfactual=1' : '');
    current.finished = post(url, current.abort.signal).then(read).catch(function (error) {
      if (current.abort.signal.aborted) return 'stopped';
      current.text += (current.text ? '\n' : '') + error.message;
      return 'failed';
    }).then(function (state) {
      if (run === current) run = null;
      button.textContent = button.getAttribute('data-label');
      show(current, state);
    });
  }

  // Ends the run that is on, if any, and settles once its reading has ended.
  // leaving: the slide is no longer shown, so the request is dropped too.
  function stop(leaving) {
    var current = run;
    if (!current) return Promise.resolve();
    if (leaving) current.abort.abort();
    var ended = function () { return current.finished; };
    return post('/demo/stop').then(ended, ended);
  }

  /* --- the presenter's hands ------------------------------------------- */

  // Capture: decided before hieroglyph's click on a slide, which in the
  // overview (key t) shows the thumbnail clicked: there a press is not a run.
  function onClick(event) {
    var button = event.target.closest && event.target.closest(BUTTONS);
    if (!button || document.querySelector('section.slides.table')) return;
    var again = run && run.button === button;
    stop(false).then(function () { if (!again) start(button); });
  }

  function onKey(event) {
    if ((event.key === 'Enter' || event.key === ' ') && event.target.matches &&
        event.target.matches(BUTTONS)) {
      event.stopPropagation();    // from hieroglyph's keys: the browser presses the button
    }
  }

  function onSlideEnter(event) {
    var focused = document.activeElement;
    if (focused && focused.matches && focused.matches(BUTTONS) && !event.target.contains(focused)) {
      focused.blur();             // Enter must not press a button of a slide not shown
    }
    if (run && run.slide !== event.target) stop(true);
  }

  document.addEventListener('DOMContentLoaded', function () {
    var meta = document.querySelector('meta[name="deck-token"]');
    // Not the deck (the console's page shows copies of its slides), or no stage.
    if (typeof SlideDeck === 'undefined' || !meta) return;
    token = meta.content;
    document.documentElement.setAttribute('data-deck-stage', '');
    document.addEventListener('click', onClick, true);
    document.body.addEventListener('keydown', onKey);
    document.addEventListener('slideenter', onSlideEnter);
    window.addEventListener('message', onMessage);
  });
}());
