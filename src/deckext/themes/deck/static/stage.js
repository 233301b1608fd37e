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

  var BUTTONS = 'button[data-demo], button[data-demo-counterfactual], button[data-live]';

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
    demo.querySelector('[data-demo-mark]').textContent = deckWord('demo_' + state);
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
    button.textContent = deckWord('demo_stop');
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

    // The claim speaks the page's language: the Chinese edition's is the default.
    var lang = document.documentElement.lang, query = [];
    if (counterfactual) query.push('counterfactual=1');
    if (lang && lang.indexOf('zh') !== 0) query.push('lang=' + encodeURIComponent(lang));
    var url = '/demo/' + encodeURIComponent(name) + (query.length ? '?' + query.join('&') : '');
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
    if (button.hasAttribute('data-live')) {
      order(button.getAttribute('data-live'));
      return;
    }
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
    if (live && live.slide !== event.target) stopLive();
    var hub = event.target.querySelector && event.target.querySelector('[data-live-hub]');
    if (hub && !live) startLive(event.target, hub);
  }

  /* --- the live hub view (deckext.livehub) ------------------------------ */

  var live = null;      // {slide, hub, abort, report}: the live slide's program is on
  var liveStopped = Promise.resolve();   // the last POST /live/stop, answered
  var LOOP_COLOUR = '#6b6b6b', BLOCKED_COLOUR = '#c0392b', INK = '#1a1a1a';
  var WORKER_COLOURS = ['#1f63b5', '#d9730d', '#2e8b3a', '#8e44ad', '#c0392b'];

  function liveState(hub, state, extra) {
    hub.setAttribute('data-live-state', state);
    hub.querySelector('[data-live-state-text]').textContent = deckWord('live_' + state) + (extra || '');
  }

  function startLive(slide, hub) {
    var current = live = {slide: slide, hub: hub, abort: new AbortController(), report: ''};
    liveState(hub, 'starting');
    // After the last stop is answered: a start served first would be stopped.
    liveStopped.then(function () {
      return post('/live/start', current.abort.signal);
    }).then(function (response) {
      if (!response.ok) throw new Error(response.status + ' ' + response.statusText);
      return fetch('/live/metrics', {headers: {'X-Deck-Token': token}, cache: 'no-store',
                                     signal: current.abort.signal});
    }).then(function (response) {
      if (!response.ok) throw new Error(response.status + ' ' + response.statusText);
      var reader = response.body.getReader(), decoder = new TextDecoder(), pending = '';
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) return;
          pending += decoder.decode(chunk.value, {stream: true});
          var lines = pending.split('\n');
          pending = lines.pop();
          if (lines.length) showLive(current, JSON.parse(lines[lines.length - 1]));
          return pump();
        });
      }
      return pump();
    }).then(function () {
      if (live === current) liveState(hub, 'ended');
    }, function (error) {
      if (!current.abort.signal.aborted) liveState(hub, 'failed', error.message);
    }).then(resendToConsoles);
  }

  function stopLive() {
    var current = live;
    live = null;
    current.abort.abort();
    liveState(current.hub, 'ended');
    liveStopped = post('/live/stop').catch(function () {});
    return liveStopped;
  }

  function order(word) {
    if (live) post('/live/' + word).catch(function () {});
  }

  function showLive(current, data) {
    var hub = current.hub;
    liveState(hub, data.blocking ? 'blocking' : 'running');
    hub.querySelectorAll('[data-metric]').forEach(function (element) {
      var value = data[element.getAttribute('data-metric')];
      element.textContent = typeof value === 'number' ? value.toLocaleString('en-US') : '—';
    });
    var stall = data.detector, report = '';
    if (stall) {
      report = deckWord('live_report', {culprit: stall.culprit, threshold: data.threshold,
                                        where: stall.where});
    }
    var box = hub.querySelector('[data-detector-report]');
    if (report !== current.report) {
      box.textContent = report;
      current.report = report;
    }
    box.setAttribute('data-fresh', stall && stall.age < 1 ? 'yes' : 'no');
    drawStrip(hub.querySelector('[data-live-strip]'), data);
    resendToConsoles();
  }

  // The hub's latest ticks, drawn as deckext.timeline draws a run: a lane
  // for the hub's poll in grey, one for the microthreads it resumes in
  // colour; a run phase held past the detector's threshold is red, named
  // by the detector's report.
  function drawStrip(svg, data) {
    var NS = 'http://www.w3.org/2000/svg', width = +svg.getAttribute('width');
    var left = 80, plot = width - left - 10, lanes = {hub: 8, run: 40}, bar = 24;
    var total = data.strip_ms || 1, culprit = data.detector && data.detector.age < 1 ?
      data.detector.culprit.replace(/^<Microthread '(.*)' #(\d+)>$/, '$1 #$2') : '';
    while (svg.lastChild && svg.lastChild.nodeName !== 'desc') svg.removeChild(svg.lastChild);
    function add(name, attributes, text) {
      var node = document.createElementNS(NS, name);
      Object.keys(attributes).forEach(function (key) { node.setAttribute(key, attributes[key]); });
      if (text) node.textContent = text;
      svg.appendChild(node);
      return node;
    }
    add('text', {x: left - 12, y: lanes.hub + 18, 'font-size': 18, 'text-anchor': 'end', fill: INK}, 'hub');
    add('text', {x: left - 12, y: lanes.run + 18, 'font-size': 18, 'text-anchor': 'end', fill: INK}, deckWord('live_lane'));
    data.strip.forEach(function (span) {
      var start = span[0], length = span[1], polling = span[2] === null;
      var held = !polling && length >= data.threshold * 1000;
      add('rect', {x: left + start / total * plot, y: polling ? lanes.hub : lanes.run,
                   width: Math.max(length / total * plot, 1), height: bar,
                   fill: polling ? LOOP_COLOUR : held ? BLOCKED_COLOUR : WORKER_COLOURS[0],
                   'data-ready': polling ? '' : span[2]});
      if (held) {
        add('text', {x: left + start / total * plot + 6, y: lanes.run + 18, 'font-size': 18,
                     fill: '#fff', 'data-held': ''},
            (culprit ? culprit + ' ' : '') + deckWord('seconds', {value: (length / 1000).toFixed(2)}));
      }
    });
    add('text', {x: width - 10, y: 88, 'font-size': 18, 'text-anchor': 'end', fill: '#444'},
        deckWord('live_recent', {ticks: Math.ceil(data.strip.length / 2), total: formatMs(total)}));
  }

  function formatMs(ms) {
    return ms >= 1000 ? deckWord('seconds', {value: (ms / 1000).toFixed(2)})
                      : deckWord('milliseconds', {value: ms.toFixed(1)});
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
