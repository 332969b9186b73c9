// Live updates for the envwick dashboard. The page works without this
// script; with it, the parts marked data-live are fetched again and
// swapped in whenever the server says a pass recorded status (an event
// named "status" on /events). Nothing here builds HTML from data: the
// fresh parts are the server's own escaped rendering of this same URL.
(function () {
  "use strict";
  if (!window.EventSource || !window.fetch || !window.DOMParser) {
    return;
  }
  var busy = false;
  var again = false;

  function indicator(text, ok) {
    var el = document.getElementById("live");
    if (!el) {
      return;
    }
    el.hidden = false;
    el.textContent = text;
    el.className = ok ? "live on" : "live off";
  }

  function refresh() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    fetch(window.location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) {
          throw new Error("HTTP " + r.status);
        }
        return r.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (el) {
          var next = fresh.getElementById(el.id);
          if (next) {
            el.replaceWith(document.importNode(next, true));
          }
        });
        indicator("live · updated " + new Date().toLocaleTimeString(), true);
        document.documentElement.dataset.updated = String(Date.now());
      })
      .catch(function () {
        indicator("live · update failed", false);
      })
      .finally(function () {
        busy = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  }

  var es = new EventSource("/events");
  es.addEventListener("open", function () {
    indicator("live", true);
  });
  es.addEventListener("error", function () {
    indicator("live · reconnecting", false);
  });
  es.addEventListener("status", refresh);
})();
