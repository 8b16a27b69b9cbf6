/* The self check-in screen: fetch the new code (and QR code) when the minute turns, and the
   count of people checked in every 15 seconds, without reloading the page. Without
   JavaScript the page's <noscript> refresh reloads it every minute instead. */
(function () {
  "use strict";
  var box = document.getElementById("check-in");
  var url = box && box.getAttribute("data-url");
  if (!url || !window.fetch) { return; }
  var COUNT_EVERY = 15;
  var RETRY_AFTER = 10;

  function later(seconds) {
    window.setTimeout(refresh, Math.max(1, Math.min(seconds, COUNT_EVERY)) * 1000 + 300);
  }

  function set(key, value) {
    var el = box.querySelector('[data-live="' + key + '"]');
    if (el) { el.textContent = value; }
  }

  function show(live) {
    var qr = document.getElementById("check-in-qr");
    if (qr && qr.getAttribute("data-code") !== live.code) {
      qr.innerHTML = live.svg;  /* DAP's own SVG markup, made by segno */
      qr.setAttribute("data-code", live.code);
    }
    set("display", live.display);
    set("present", live.present);
    set("by_themselves", live.by_themselves);
  }

  function refresh() {
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          /* signed out, or no longer allowed: the page itself says what to do */
          if (response.status === 401 || response.status === 403 || response.status === 404) {
            window.location.reload();
          }
          return null;
        }
        return response.json();
      })
      .then(function (live) {
        if (!live) { later(RETRY_AFTER); return; }
        if (!live.open) { window.location.reload(); return; }
        show(live);
        later(live.seconds_left);
      })
      .catch(function () { later(RETRY_AFTER); });
  }

  later(Number(box.getAttribute("data-seconds-left")) || COUNT_EVERY);
}());
