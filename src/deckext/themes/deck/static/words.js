/* The deck's own words in the edition's language (deckext.words, theme.py).
 *
 * The page carries them as JSON in <script id="deck-words">; the other
 * scripts ask for one by key, deckWord('status', {n: 3, total: 40, title: …}),
 * and get its template with the fields filled in.  A key the page lacks is
 * a bug, said in the console, never a blank on the slide: the key shows.
 */
(function () {
  'use strict';

  var words = null;

  window.deckWord = function (key, fields) {
    if (words === null) {
      var carrier = document.getElementById('deck-words');
      words = carrier ? JSON.parse(carrier.textContent) : {};
    }
    if (!(key in words)) {
      console.error('deckWord: no word ' + key);
      return key;
    }
    return words[key].replace(/\{(\w+)\}/g, function (whole, name) {
      return fields && name in fields ? String(fields[name]) : whole;
    });
  };
}());
