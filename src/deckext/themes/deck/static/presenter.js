/* The presenter console (console.html): what the speaker sees on a second screen.
 *
 * It owns no slides: the audience window (present.js) sends the current and
 * next slide's HTML and the notes on every move, and the console's keys and
 * buttons ask that window to move.  So the two cannot disagree, and a reload
 * of either one resynchronises them: the console registers again every few
 * seconds.  The clock counts time since the console opened, with pause and
 * reset; it reads Date.now() at each tick, so it never drifts.
 */
(function () {
  'use strict';

  var REGISTER_EVERY = 2000;  // ms; re-registration after an audience reload
  var TICK = 250;             // ms between clock redraws
  var DESIGN_WIDTH = 900, DESIGN_HEIGHT = 700;

  var deck = window.opener;
  var shown = {index: -1, count: 0, current: null};
  var clock = {start: Date.now(), pausedAt: null};
  var CLOCK_KEY = 'deck-console-clock';   // the clock, kept across a switch of edition

  function $(id) { return document.getElementById(id); }

  /* --- the clock ------------------------------------------------------- */

  function elapsedMs() {
    return (clock.pausedAt === null ? Date.now() : clock.pausedAt) - clock.start;
  }

  function formatElapsed(ms) {
    var seconds = Math.floor(ms / 1000);
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
    var mmss = (m < 10 ? '0' : '') + m + ':' + (s < 10 ? '0' : '') + s;
    return h ? h + ':' + mmss : mmss;
  }

  function drawClock() {
    $('elapsed').textContent = formatElapsed(elapsedMs());
    $('elapsed').classList.toggle('paused', clock.pausedAt !== null);
    $('timer_pause').textContent = deckWord(clock.pausedAt === null ? 'pause' : 'resume');
  }

  function togglePause() {
    var now = Date.now();
    if (clock.pausedAt === null) {
      clock.pausedAt = now;
    } else {
      clock.start += now - clock.pausedAt;
      clock.pausedAt = null;
    }
    drawClock();
  }

  function resetClock() {
    clock.start = Date.now();
    if (clock.pausedAt !== null) clock.pausedAt = clock.start;
    drawClock();
  }

  /* --- the slides ------------------------------------------------------ */

  function fitFrame(frame) {
    var mini = frame.firstElementChild;
    if (!mini) return;
    var scale = Math.min(frame.clientWidth / DESIGN_WIDTH, frame.clientHeight / DESIGN_HEIGHT);
    mini.style.transform = 'scale(' + scale + ')';
  }

  function showSlide(frame, html) {
    frame.innerHTML = html ? '<div class="slides deck-mini">' + html + '</div>' : '';
    fitFrame(frame);
  }

  function show(state) {
    if (state.index === shown.index && state.current === shown.current) return;
    shown = state;
    $('cur_slide_num').textContent = String(state.index + 1);
    $('num_slides').textContent = String(state.count);
    showSlide($('current_slide'), state.current);
    showSlide($('next_slide'), state.next);
    $('presenter_notes').innerHTML = state.notes;
    $('presenter_notes').scrollTop = 0;
  }

  /* --- talking to the audience window ---------------------------------- */

  function send(message) {
    if (deck && !deck.closed) deck.postMessage(message, '*');
  }

  function go(index) {
    if (index >= 0 && index < shown.count) send({command: 'deck_goto', index: index});
  }

  // The other edition: the audience window moves to the same slide in it,
  // and this console to its own page there, its clock running on.
  function switchEdition() {
    var button = $('edition');
    if (!button) return;
    send({command: 'deck_edition'});
    try { sessionStorage.setItem(CLOCK_KEY, JSON.stringify(clock)); } catch (e) { /* no storage: the clock restarts */ }
    location.href = button.getAttribute('data-href');
  }

  function restoreClock() {
    try {
      var kept = JSON.parse(sessionStorage.getItem(CLOCK_KEY) || 'null');
      sessionStorage.removeItem(CLOCK_KEY);
      if (kept && typeof kept.start === 'number') clock = kept;
    } catch (e) { /* nothing kept */ }
  }

  function onMessage(event) {
    if (event.source === deck && event.data && event.data.command === 'deck_state') {
      show(event.data);
    }
  }

  // Keys the focused element needs for itself, for the keyboard alone: Enter
  // and space press a focused button; the arrow, page and space keys scroll
  // the notes while they have the focus (Tab reaches them).
  var SCROLL_KEYS = ['ArrowUp', 'ArrowDown', 'PageUp', 'PageDown', ' '];

  function ownKey(event) {
    var target = event.target;
    if (target.tagName === 'BUTTON') return event.key === 'Enter' || event.key === ' ';
    return target.id === 'presenter_notes' && SCROLL_KEYS.indexOf(event.key) >= 0;
  }

  function onKey(event) {
    if (event.altKey || event.ctrlKey || event.metaKey || ownKey(event)) return;
    switch (event.key) {
      case 'ArrowRight': case 'ArrowDown': case 'PageDown': case ' ': case 'Enter':
        go(shown.index + 1); break;
      case 'ArrowLeft': case 'ArrowUp': case 'PageUp': case 'Backspace':
        go(shown.index - 1); break;
      case 'Home': go(0); break;
      case 'End': go(shown.count - 1); break;
      case 'p': togglePause(); break;
      case 'r': resetClock(); break;
      case 'l': switchEdition(); break;
      default: return;
    }
    event.preventDefault();
  }

  function init() {
    restoreClock();
    window.addEventListener('message', onMessage);
    document.addEventListener('keydown', onKey);
    window.addEventListener('resize', function () {
      fitFrame($('current_slide'));
      fitFrame($('next_slide'));
    });
    $('prev').addEventListener('click', function () { go(shown.index - 1); });
    $('next').addEventListener('click', function () { go(shown.index + 1); });
    $('timer_pause').addEventListener('click', togglePause);
    $('timer_reset').addEventListener('click', resetClock);
    if ($('edition')) $('edition').addEventListener('click', switchEdition);

    if (!deck) {
      $('no_deck').hidden = false;
    }
    send({command: 'deck_register'});
    setInterval(function () { send({command: 'deck_register'}); }, REGISTER_EVERY);
    setInterval(drawClock, TICK);
    drawClock();
  }

  document.addEventListener('DOMContentLoaded', init);
}());
