// Inside the ad iframe: tell the embedding page how tall the card is, so the slot fits it (no blank space under a
// short card, no scroll bar inside a tall one). Only a height crosses; the page learns nothing else.
(function () {
  "use strict";
  function report() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    window.parent.postMessage({ parleyAdFrame: true, height: height }, "*");
  }
  report();
  new ResizeObserver(report).observe(document.documentElement);
})();
