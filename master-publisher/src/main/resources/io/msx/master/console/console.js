// The msx console's page script: live fragments answer 204 when unchanged (each sends the version it shows), the
// page says how fresh its data is and when the master does not answer, clock-driven text (ages, the targets' local
// times) is written here so the server's fragments change only when the data does, and failed actions are shown.
(function () {
  "use strict";
  var serverOffset = 0;          // master clock minus browser clock, from the X-Msx-Now header
  var lastOk = null;             // browser time of the last answer from the master
  var failingSince = null;
  var POLL_SECONDS = 2;

  function masterNow() { return Date.now() + serverOffset; }

  function ago(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 120) return s + " s ago";
    if (s < 7200) return Math.floor(s / 60) + " min ago";
    if (s < 172800) return Math.floor(s / 3600) + " h ago";
    return Math.floor(s / 86400) + " d ago";
  }

  function localTime(zone, offset) {
    if (!zone) return "-";
    try {
      var when = new Date(masterNow() + offset);
      var text = new Intl.DateTimeFormat("sv-SE", {timeZone: zone, year: "numeric", month: "2-digit",
        day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false}).format(when);
      var name = new Intl.DateTimeFormat("en-US", {timeZone: zone, timeZoneName: "short"}).formatToParts(when)
        .filter(function (p) { return p.type === "timeZoneName"; }).map(function (p) { return p.value; })[0];
      return text + " " + (name || zone) + " (" + zone + ")";
    } catch (e) {
      return zone;
    }
  }

  function tick() {
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var since = el.getAttribute("data-since");
      el.textContent = since ? "(" + ago(masterNow() - Date.parse(since)) + ")" : "";
    });
    document.querySelectorAll("[data-zone]").forEach(function (el) {
      el.textContent = localTime(el.getAttribute("data-zone"), Number(el.getAttribute("data-offset") || 0));
    });
    var fresh = document.getElementById("freshness");
    if (fresh && lastOk !== null) {
      var age = Math.round((Date.now() - lastOk) / 1000);
      fresh.textContent = (failingSince === null ? "Live: " : "Not live: ") + "data as of "
        + new Date(lastOk).toLocaleTimeString() + " (" + age + " s old), refreshed every " + POLL_SECONDS + " s";
      fresh.className = failingSince === null ? (age > 3 * POLL_SECONDS ? "stale" : "live") : "stale";
    }
  }

  function offline(message) {
    var bar = document.getElementById("offline");
    if (!bar) return;
    if (failingSince === null) failingSince = Date.now();
    bar.hidden = false;
    bar.textContent = message + " Since " + new Date(failingSince).toLocaleTimeString()
      + "; retrying every " + POLL_SECONDS + " s. What you see is from "
      + (lastOk === null ? "before" : new Date(lastOk).toLocaleTimeString()) + ".";
    document.body.classList.add("master-down");
    tick();
  }

  function online() {
    lastOk = Date.now();
    if (failingSince !== null) {
      failingSince = null;
      var bar = document.getElementById("offline");
      if (bar) { bar.hidden = true; bar.textContent = ""; }
      document.body.classList.remove("master-down");
    }
  }

  function isLive(elt) { return elt && elt.classList && elt.classList.contains("live"); }

  // a live element sends the version it shows; the server answers 204 when it is still current
  document.addEventListener("htmx:configRequest", function (evt) {
    var elt = evt.detail.elt;
    if (isLive(elt) && elt.dataset.version && evt.detail.verb === "get") {
      evt.detail.parameters["seen"] = elt.dataset.version;
    }
  });

  document.addEventListener("htmx:afterRequest", function (evt) {
    var xhr = evt.detail.xhr;
    var elt = evt.detail.elt;
    if (!xhr || xhr.status === 0) return; // htmx:sendError says so
    var now = xhr.getResponseHeader("X-Msx-Now");
    if (now) serverOffset = Number(now) - Date.now();
    // only a live fragment's answer (200: new data, 204: unchanged) makes the data fresh; any other answer to a
    // live element leaves what the page shows as it was, so the page must not claim to be live
    if (isLive(elt)) {
      if (xhr.status === 200 || xhr.status === 204) {
        online();
      } else if (xhr.status >= 500) {
        offline("The master answers but cannot serve its views (HTTP " + xhr.status + "): starting, "
          + "rebalancing, or Kafka unreachable.");
      } else if (xhr.status !== 401) {
        offline("The master refused the refresh (HTTP " + xhr.status + ").");
      }
    }
    var version = xhr.getResponseHeader("X-Msx-Version");
    if (isLive(elt) && version && (xhr.status === 200 || xhr.status === 204)) elt.dataset.version = version;
    tick();
  });

  document.addEventListener("htmx:sendError", function () {
    offline("The master is unreachable.");
  });
  document.addEventListener("htmx:timeout", function () {
    offline("The master does not answer (timed out).");
  });

  // the boxes ticked when a refreshed table arrives stay ticked (the request may have left before the last click)
  var ticked = null;
  document.addEventListener("htmx:beforeSwap", function (evt) {
    if (isLive(evt.detail.elt) && evt.detail.shouldSwap) {
      ticked = {};
      evt.detail.elt.querySelectorAll("input[type=checkbox][name=target]").forEach(function (b) {
        ticked[b.value] = b.checked;
      });
    }
  });
  document.addEventListener("htmx:afterSwap", function (evt) {
    if (isLive(evt.detail.elt) && ticked !== null) {
      evt.detail.elt.querySelectorAll("input[type=checkbox][name=target]").forEach(function (b) {
        if (Object.prototype.hasOwnProperty.call(ticked, b.value)) b.checked = ticked[b.value];
      });
      ticked = null;
    }
  });

  // an action's refusal (400, 403, 503) is shown where its result goes; a live fragment keeps what it shows
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var xhr = evt.detail.xhr;
    if (xhr.status === 401 && xhr.getResponseHeader("HX-Redirect")) return;
    // a check-in watch keeps what it shows after a failed request and asks again a second later
    if (xhr.status >= 400 && evt.detail.elt.classList && evt.detail.elt.classList.contains("watch")) {
      evt.detail.shouldSwap = false;
      evt.detail.isError = false;
      return;
    }
    if (xhr.status >= 400 && !isLive(evt.detail.elt)) {
      var type = xhr.getResponseHeader("Content-Type") || "";
      if (type.indexOf("application/json") === 0) {
        var message = "HTTP " + xhr.status;
        try { message = "Refused (HTTP " + xhr.status + "): " + JSON.parse(xhr.responseText).error; } catch (e) {}
        var p = document.createElement("p");
        p.className = "error";
        p.setAttribute("role", "alert");
        p.textContent = message;
        evt.detail.serverResponse = p.outerHTML;
      }
      evt.detail.shouldSwap = true;
      evt.detail.isError = false;
    }
  });

  // filters refresh their table at once; "select all" ticks every row shown
  document.addEventListener("change", function (evt) {
    var t = evt.target;
    if (t.id === "select-all") {
      document.querySelectorAll("#target-rows input[name=target]").forEach(function (b) { b.checked = t.checked; });
      return;
    }
    var form = t.form;
    if (form && (t.closest(".filters"))) {
      var live = document.querySelector(".live");
      if (live) { delete live.dataset.version; htmx.trigger(live, "refresh"); }
    }
  });
  var typing = null;
  document.addEventListener("input", function (evt) {
    if (evt.target.type !== "search") return;
    clearTimeout(typing);
    typing = setTimeout(function () {
      var live = document.querySelector(".live");
      if (live) { delete live.dataset.version; htmx.trigger(live, "refresh"); }
    }, 300);
  });

  document.addEventListener("DOMContentLoaded", function () {
    lastOk = Date.now();
    tick();
    setInterval(tick, 1000);
  });
})();
