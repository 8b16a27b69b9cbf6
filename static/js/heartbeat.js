/* Platform time: while this page is visible and in use, tell DAP every 30 seconds.
   Hidden tabs and idle pages (no key, pointer, touch or scroll for 5 minutes) stay quiet,
   so they do not count. DAP itself decides what a beat is worth (see docs/TIMECAP.md). */
(function () {
  "use strict";
  var script = document.currentScript;
  var url = script && script.getAttribute("data-url");
  var tokenMeta = document.querySelector('meta[name="csrf-token"]');
  if (!url || !tokenMeta || !window.fetch) { return; }
  var INTERVAL = 30 * 1000;
  var IDLE_AFTER = 5 * 60 * 1000;
  var lastInput = Date.now();
  ["keydown", "pointerdown", "pointermove", "touchstart", "scroll", "wheel"].forEach(function (name) {
    window.addEventListener(name, function () { lastInput = Date.now(); }, { passive: true });
  });

  function show(figures) {
    var meter = document.getElementById("time-meter");
    if (!meter) { return; }
    var set = function (key, value) {
      var el = meter.querySelector('[data-meter="' + key + '"]');
      if (el) { el.textContent = value; }
    };
    set("platform", figures.platform_minutes);
    set("allowance", figures.allowance_minutes);
    set("web", figures.web_minutes);
    var bar = meter.querySelector("progress");
    if (bar) {
      bar.max = Math.max(figures.allowance_minutes, 1);
      bar.value = Math.min(figures.platform_minutes, figures.allowance_minutes);
    }
    meter.classList.toggle("time-meter-warn", !!figures.warning);
    set("note", figures.capped ? "Time to explore the web" : (figures.warning ? "Nearly time to explore the web" : ""));
  }

  function beat() {
    if (document.visibilityState !== "visible" || Date.now() - lastInput > IDLE_AFTER) { return; }
    if (navigator.onLine === false) { return; }  /* offline time is not platform time */
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": tokenMeta.content, "Accept": "application/json" }
    }).then(function (response) {
      if (response.status !== 200) { return null; }
      return response.json();
    }).then(function (figures) {
      if (!figures) { return; }
      show(figures);
      if (figures.capped && script.getAttribute("data-capped-ok") !== "1") {
        window.location.assign(figures.explore_url);
      }
    }).catch(function () { /* offline: the next beat tries again */ });
  }

  window.setInterval(beat, INTERVAL);
}());
