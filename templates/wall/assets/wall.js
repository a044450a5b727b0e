/* Tells the page that frames the wall how tall the wall is, so the frame can grow with it
   (embed.js on that page listens). Sends nothing else; loads nothing. */
(function () {
  "use strict";
  if (window.parent === window) return;
  var last = 0;
  function send() {
    var height = Math.ceil(document.body.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    window.parent.postMessage({ type: "campaign-worker-wall", height: height }, "*");
  }
  window.addEventListener("load", send);
  window.addEventListener("resize", send);
  if ("ResizeObserver" in window) new ResizeObserver(send).observe(document.body);
  Array.prototype.forEach.call(document.images, function (img) { img.addEventListener("load", send); });
  send();
})();
