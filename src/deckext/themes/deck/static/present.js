/* The deck in the audience's window: fit to screen, slide URLs, console sync.
 *
 * hieroglyph lays every slide out at a fixed 900x700 px.  This script scales
 * that design box to the window (CSS transform on the slide container: the
 * layout is computed once, at design size, so it is the same on a laptop and
 * on a 4K projector, and Chromium rasterises the text at the final scale),
 * follows #N in the address bar, and keeps the presenter console
 * (console.html, key c) in step with every move, however it was made: arrow
 * keys, the overview, the address bar, or the console itself.
 *
 * The console speaks a small protocol over postMessage:
 *   console  -> audience  {command: 'deck_register'}      (repeated: survives reloads)
 *   console  -> audience  {command: 'deck_goto', index}   (0-based)
 *   audience -> console   {command: 'deck_state', index, count, current, next, notes}
 */
var DeckPresent = (function () {
  'use strict';

  var DESIGN_WIDTH = 900, DESIGN_HEIGHT = 700;
  var MARGIN = 10;          // px of window around the slide at any scale
  var OVERVIEW_COLUMNS = 4;
  var OVERVIEW_CELL = 980;  // a thumbnail's slide plus its margins, at design size

  var consoles = [];        // windows that registered for deck_state

  function fit() {
    var root = document.documentElement;
    var scale = Math.min(window.innerWidth / (DESIGN_WIDTH + 2 * MARGIN),
                         window.innerHeight / (DESIGN_HEIGHT + 2 * MARGIN));
    root.style.setProperty('--deck-scale', String(scale));
    root.style.setProperty('--deck-thumb',
                           String((root.clientWidth - 40) / (OVERVIEW_COLUMNS * OVERVIEW_CELL)));
  }

  function slides() {
    return document.querySelectorAll('section.slides > article');
  }

  function inOverview() {
    return document.querySelector('section.slides').classList.contains('table');
  }

  function state() {
    var all = slides(), index = SlideDeck.curSlide();
    var note = all[index].querySelector('div.admonition.note');
    return {
      command: 'deck_state',
      index: index,
      count: all.length,
      current: all[index].outerHTML,
      next: index + 1 < all.length ? all[index + 1].outerHTML : '',
      notes: note ? note.innerHTML : ''
    };
  }

  function broadcast() {
    var message = state();
    consoles = consoles.filter(function (win) { return !win.closed; });
    consoles.forEach(function (win) { win.postMessage(message, '*'); });
  }

  function go(index) {
    var count = slides().length;
    if (!(index >= 0 && index < count)) return;
    if (inOverview()) SlideDeck.toggleView();
    if (index !== SlideDeck.curSlide()) SlideDeck.setLocation(index);
  }

  function onMessage(event) {
    var data = event.data || {};
    if (data.command === 'deck_register') {
      if (consoles.indexOf(event.source) < 0) consoles.push(event.source);
      event.source.postMessage(state(), '*');
    } else if (data.command === 'deck_goto' && consoles.indexOf(event.source) >= 0) {
      go(Number(data.index));
    }
  }

  // #N typed into the address bar of an open deck (hieroglyph reads it only on load).
  function onHashChange() {
    var number = Number(location.hash.slice(1));
    if (number && number - 1 !== SlideDeck.curSlide()) go(number - 1);
  }

  // For a printed handout with notes: each slide's notes on the page below it.
  function addHandoutNotes() {
    document.documentElement.classList.add('deck-notes');
    Array.prototype.forEach.call(slides(), function (slide) {
      var note = slide.querySelector('div.admonition.note');
      var notes = document.createElement('section');
      notes.className = 'deck-handout-notes';
      if (note) notes.innerHTML = note.innerHTML;
      slide.parentNode.insertBefore(notes, slide.nextSibling);
    });
  }

  fit();
  window.addEventListener('resize', fit);
  if (typeof SlideDeck !== 'undefined') {   // not in the console page
    window.addEventListener('message', onMessage);
    window.addEventListener('hashchange', onHashChange);
    document.addEventListener('slideenter', broadcast);
  }

  return {fit: fit, go: go, addHandoutNotes: addHandoutNotes};
}());
