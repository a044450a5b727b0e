/* For the page that embeds a wall: load it next to the <iframe data-campaign-wall> snippet.
   Grows each wall frame to the height its wall reports; listens only to frames it knows, from
   the wall's own origin. */
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = script ? new URL(script.src, document.baseURI).origin : null;
  window.addEventListener("message", function (event) {
    if (!origin || event.origin !== origin) return;
    var data = event.data;
    if (!data || data.type !== "campaign-worker-wall") return;
    var height = Math.max(120, Math.min(200000, Number(data.height) || 0));
    var frames = document.querySelectorAll("iframe[data-campaign-wall]");
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow === event.source) frames[i].style.height = height + "px";
    }
  });
})();
