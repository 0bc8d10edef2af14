// Parley ad slot for any publisher's page:
//   <script src="https://parley.example/static/ads-embed.js" data-placement="feed-1" async></script>
// Puts an iframe served by Parley (/ads/frame) right after the script tag: the ad card, its "Send message"
// button and the viewer cookie stay first-party to Parley, and the publisher's page never sees who is reading.
(function () {
  "use strict";
  var scripts = document.querySelectorAll("script[data-placement]");
  for (var i = 0; i < scripts.length; i++) {
    var tag = scripts[i];
    if (tag.getAttribute("data-parley-filled") || !/\/ads-embed\.js(\?|$)/.test(tag.src)) continue;
    tag.setAttribute("data-parley-filled", "1");
    var origin = new URL(tag.src, document.baseURI).origin;
    var params = new URLSearchParams({
      placement: tag.getAttribute("data-placement") || "default",
      locale: tag.getAttribute("data-locale") || navigator.language || "en",
    });
    var market = tag.getAttribute("data-market");
    if (market) params.set("market", market);
    var frame = document.createElement("iframe");
    frame.src = origin + "/ads/frame?" + params.toString();
    frame.title = "Sponsored";
    frame.loading = "lazy";
    frame.setAttribute("referrerpolicy", "strict-origin");
    frame.style.cssText = "display:block;width:100%;height:300px;border:0";
    tag.parentNode.insertBefore(frame, tag.nextSibling);
  }
  // The frame reports its card's height (ads-frame.js): the slot takes it, only from Parley's own frames.
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (!data || data.parleyAdFrame !== true || typeof data.height !== "number") return;
    var frames = document.querySelectorAll("iframe[title='Sponsored']");
    for (var j = 0; j < frames.length; j++) {
      if (frames[j].contentWindow === event.source) {
        frames[j].style.height = Math.max(40, Math.min(800, data.height)) + "px";
      }
    }
  });
})();
