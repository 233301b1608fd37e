/* The deck in the audience's window: type that fills each slide, fit to
 * screen, slide URLs, console sync, and the deck for a screen reader and
 * the keyboard alone.
 *
 * hieroglyph lays every slide out at a fixed 900x700 px.  Once, when the page
 * has been parsed, this script sets each slide's code and running text as
 * large as that slide's room allows (fitType below).  It scales the design
 * box to the window (CSS transform on the slide container: the layout is
 * computed once, at design size, so it is the same on a laptop and on a 4K
 * projector, and Chromium rasterises the text at the final scale), follows
 * #N in the address bar, and keeps the presenter console (console.html,
 * key c) in step with every move, however it was made: arrow keys, the
 * overview, the address bar, or the console itself.
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

  // Type that fills the room: the largest size, in design px, a block grows to.
  var CODE_MAX = 30;        // a <pre>: a short function is read from the back row
  var TEXT_MAX = 40;        // bullets and paragraphs on a sparse slide
  var FIT_SLACK = 2;        // px kept clear above the content box's bottom edge

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

  /* --- type that fills the room ----------------------------------------
   *
   * Each slide grows its code blocks and its running text (lists and
   * paragraphs directly on the slide) by one factor k, each block clamped to
   * its cap, to the largest k at which the slide still fits its 780x620 px
   * content box: no child past the bottom or right edge, no code block that
   * would scroll, no block wider than itself.  A block whose style attribute
   * sets its size (bench tables, the bench-source line) keeps that size: it
   * was sized by whoever generated it.  Titles, tables, figures and charts
   * keep theirs and count as taken room.  Each block it sizes gets its
   * size as an inline style and data-deck-type="code" or "text".
   *
   * Everything is measured in layout px: while it measures (class
   * deck-fitting on the container) every slide is displayed and the
   * container's fit-to-window transform is off, so boxes, scroll* and
   * client* are the design layout's own, the same at any window size.  The
   * result is a pure function of the built HTML and the fonts (local ones:
   * the deck loads no web font), so every rendering of the page (the
   * screen, the PDF, the PNGs, the console's previews, which copy the
   * slides' HTML, and the overview) shows the same sizes.  It runs once, in
   * the task that ends parsing (DOMContentLoaded, where hieroglyph first
   * shows a slide), so no frame shows a slide before it; it leaves
   * data-deck-fitted on <html> with the number of slides it fitted.
   */
  function growable(slide) {
    var blocks = [];
    function add(el, type, max) {
      if (el.style.fontSize || el.closest('div.admonition.note')) return;
      var base = parseFloat(getComputedStyle(el).fontSize);
      if (base < max) blocks.push({el: el, type: type, base: base, max: max});
    }
    Array.prototype.forEach.call(slide.querySelectorAll('pre'), function (pre) {
      add(pre, 'code', CODE_MAX);
    });
    Array.prototype.forEach.call(slide.children, function (el) {
      if (/^(UL|OL|DL|P|BLOCKQUOTE)$/.test(el.tagName)) add(el, 'text', TEXT_MAX);
    });
    return blocks;
  }

  // Boxes of the slide's children, HTML or SVG alike; a list's or title's
  // glyphs may poke out of its line boxes, so only a code block's own scroll
  // height counts.
  function fits(slide, inFlow, blocks) {
    var box = slide.getBoundingClientRect(), style = getComputedStyle(slide);
    var bottom = box.bottom - parseFloat(style.borderBottomWidth)
                 - parseFloat(style.paddingBottom) - FIT_SLACK;
    var right = box.right - parseFloat(style.borderRightWidth) - parseFloat(style.paddingRight);
    return inFlow.every(function (el) {
      var child = el.getBoundingClientRect();
      return child.bottom <= bottom && child.right <= right;
    }) && blocks.every(function (block) {
      var el = block.el;
      return el.scrollWidth <= el.clientWidth &&
             (el.tagName !== 'PRE' || el.scrollHeight <= el.clientHeight);
    });
  }

  function setSizes(blocks, k) {
    blocks.forEach(function (block) {
      block.el.style.fontSize = Math.min(block.max, Math.floor(block.base * k)) + 'px';
      block.el.setAttribute('data-deck-type', block.type);
    });
  }

  // Bisection until k is known to under 1 px of the largest block: then the
  // sizes at high, which do not fit, are each at most 1 px above the result.
  function fitSlide(slide) {
    var blocks = growable(slide);
    if (!blocks.length) return;
    var inFlow = Array.prototype.filter.call(slide.children, function (el) {
      var position = getComputedStyle(el).position;
      return el.getClientRects().length && position !== 'absolute' && position !== 'fixed';
    });
    var largest = Math.max.apply(null, blocks.map(function (b) { return b.base; }));
    var low = 1;                      // a k that fits (the design size, assumed)
    var high = Math.max.apply(null, blocks.map(function (b) { return b.max / b.base; }));
    setSizes(blocks, high);
    if (fits(slide, inFlow, blocks)) return;  // every block at its cap
    while ((high - low) * largest >= 1) {
      var k = (low + high) / 2;
      setSizes(blocks, k);
      if (fits(slide, inFlow, blocks)) low = k; else high = k;
    }
    setSizes(blocks, low);
  }

  function fitType() {
    var container = document.querySelector('section.slides');
    var all = slides();
    container.classList.add('deck-fitting');
    Array.prototype.forEach.call(all, fitSlide);
    container.classList.remove('deck-fitting');
    document.documentElement.setAttribute('data-deck-fitted', String(all.length));
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

  /* --- a screen reader and the keyboard alone ---------------------------
   *
   * hieroglyph keeps the slides next to the current one laid out, just off
   * screen, for its slide-in transition; a screen reader would read them as
   * if they were shown, and Tab would reach into them.  So every slide but
   * the current one is inert while a slide is shown.  In the overview (key
   * t) every slide is a thumbnail to pick: none is inert, each takes focus
   * (Tab, or the arrow keys) and Enter or space shows the focused one.
   * A move of any kind -- a key, the overview, the address bar, the
   * console -- is said in the live region #deck-status (layout.html):
   * "第 N 张，共 M 张：标题".
   */
  function title(slide) {
    var heading = slide.querySelector('h1, h2');
    return heading ? heading.textContent.trim() : '';
  }

  function announce() {
    var all = slides(), index = SlideDeck.curSlide();
    var status = document.getElementById('deck-status');
    if (status && all[index]) {
      status.textContent = deckWord('status', {n: index + 1, total: all.length, title: title(all[index])});
    }
  }

  // Called whenever a class changes on the container or a slide: whatever
  // moved, the shown slide is the one reachable.
  function reachable() {
    var overview = inOverview();
    Array.prototype.forEach.call(slides(), function (slide, index) {
      slide.inert = !overview && !slide.classList.contains('current');
      if (overview) {
        slide.tabIndex = 0;
        slide.setAttribute('aria-label', deckWord('overview_slide', {n: index + 1, title: title(slide)}));
      } else if (slide.hasAttribute('tabindex')) {
        slide.removeAttribute('tabindex');
        slide.removeAttribute('aria-label');
      }
    });
  }

  // In the overview: arrows move the focus, Enter or space shows the focused
  // slide.  Runs before hieroglyph's own key handlers (capture on window), and
  // keeps the keys it uses from them.
  function onOverviewKey(event) {
    if (!inOverview() || event.altKey || event.ctrlKey || event.metaKey) return;
    var all = Array.prototype.slice.call(slides());
    var index = all.indexOf(document.activeElement);
    var step = {ArrowRight: 1, ArrowDown: OVERVIEW_COLUMNS,
                ArrowLeft: -1, ArrowUp: -OVERVIEW_COLUMNS}[event.key];
    if (step) {
      var to = index < 0 ? SlideDeck.curSlide() : Math.max(0, Math.min(all.length - 1, index + step));
      all[to].focus();
      all[to].scrollIntoView({block: 'nearest'});
    } else if ((event.key === 'Enter' || event.key === ' ') && index >= 0) {
      go(index);
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
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
    } else if (data.command === 'deck_edition' && consoles.indexOf(event.source) >= 0) {
      switchEdition();
    }
  }

  // The same slide in the other edition (layout.html links it; make present
  // serves both): the key l here, or the console's button, which asks this
  // window through deck_edition.
  function switchEdition() {
    var other = document.querySelector('link[rel="alternate"][hreflang]');
    if (!other) return false;
    location.href = other.href.split('#')[0] + '#' + (SlideDeck.curSlide() + 1);
    return true;
  }

  function onEditionKey(event) {
    if (event.key !== 'l' || event.altKey || event.ctrlKey || event.metaKey) return;
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    if (switchEdition()) event.preventDefault();
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
    document.addEventListener('DOMContentLoaded', fitType);
    window.addEventListener('message', onMessage);
    window.addEventListener('hashchange', onHashChange);
    document.addEventListener('slideenter', broadcast);
    document.addEventListener('slideenter', announce);
    window.addEventListener('keydown', onOverviewKey, true);
    document.addEventListener('keydown', onEditionKey);
    document.addEventListener('DOMContentLoaded', function () {
      new MutationObserver(reachable).observe(document.querySelector('section.slides'),
          {attributes: true, attributeFilter: ['class'], subtree: true});
      reachable();
    });
  }

  return {fit: fit, go: go, addHandoutNotes: addHandoutNotes,
          typeCaps: {code: CODE_MAX, text: TEXT_MAX}};
}());
