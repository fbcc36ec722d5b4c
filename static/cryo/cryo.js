// Cryo's few lines of browser code: the viewer's time zone, notifications for htmx actions, and live parts.
(function () {
  "use strict";

  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  var current = (document.cookie.match(/(?:^|;\s*)tz=([^;]*)/) || [])[1] || "";
  if (/^[A-Za-z0-9_+\-\/]+$/.test(zone) && current !== zone) {
    // IANA names are plain cookie characters; the server reads the value as it is.
    document.cookie = "tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax";
  }

  function notify(level, text) {
    var box = document.getElementById("notices");
    if (!box || !text) { return; }
    var note = document.createElement("div");
    note.className = "notice " + (level || "info");
    note.setAttribute("role", level === "error" ? "alert" : "status");
    note.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", function () { note.remove(); });
    note.appendChild(close);
    box.appendChild(note);
    if (level !== "error") { setTimeout(function () { note.remove(); }, 8000); }
  }

  document.addEventListener("cryo:notify", function (event) {
    notify(event.detail.level, event.detail.text);
  });
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.getResponseHeader("HX-Trigger")) { return; }  // the server sent its own notification
    notify("error", "The server answered " + xhr.status + " " + (xhr.statusText || "") + ". Reload the page and try again.");
  });
  // Live parts: pushed job events while the page's event stream is open (htmx SSE extension on <main>), polling
  // while it is not. A live part names its job (data-job, with the data-state and data-phase it shows) or its
  // container (data-container); an event that changes what it shows triggers cryo:changed, and the part fetches
  // itself again. The newest event of each job is kept, so a part swapped in just after its event still catches
  // up. A stream the server refuses from the start (204 under WSGI, 401, 503) is given up: the page keeps polling.
  window.cryoLive = false;
  var latest = {};

  function stale(part) {
    var event = latest[part.dataset.job];
    return event && (event.state !== part.dataset.state || event.phase !== part.dataset.phase);
  }
  function catchUp(root) {
    if (!root.querySelectorAll) { return; }
    var parts = Array.prototype.slice.call(root.querySelectorAll("[data-live][data-job]"));
    if (root.matches && root.matches("[data-live][data-job]")) { parts.push(root); }
    parts.forEach(function (part) { if (stale(part)) { htmx.trigger(part, "cryo:changed"); } });
  }
  function onJob(message) {
    var event;
    try { event = JSON.parse(message.data); } catch (e) { return; }
    latest[event.job] = event;
    document.querySelectorAll('[data-live][data-job="' + event.job + '"]').forEach(function (part) {
      if (stale(part)) { htmx.trigger(part, "cryo:changed"); }
    });
    if (event.state === "queued" && event.container) {
      document.querySelectorAll('[data-container="' + event.container + '"]').forEach(function (part) {
        htmx.trigger(part, "cryo:changed");
      });
    }
  }

  // A stream the server ends on purpose (every half hour) comes back within seconds: poll only if it does not.
  var pollSoon = null;
  function pollUnlessBack() {
    if (pollSoon === null) {
      pollSoon = setTimeout(function () { window.cryoLive = false; pollSoon = null; }, 5000);
    }
  }

  document.addEventListener("htmx:sseOpen", function (event) {
    if (pollSoon !== null) { clearTimeout(pollSoon); pollSoon = null; }
    var source = event.detail.source;
    if (!source.cryoListening) {
      source.addEventListener("job", onJob);
      source.cryoListening = true;
    }
    event.detail.elt.cryoOpened = true;
    window.cryoLive = true;
    // Whatever changed before the stream opened (or while it was down) would be missed: catch up once.
    liveParts("cryo:resync");
  });
  document.addEventListener("htmx:sseError", function (event) {
    var elt = event.detail.elt || event.target;
    var source = event.detail.source;
    if (elt && !elt.cryoOpened && source && source.readyState === EventSource.CLOSED) {
      source.close();
      elt.removeAttribute("sse-connect");
      window.cryoLive = false;
      return;
    }
    pollUnlessBack();
  });
  document.addEventListener("htmx:sseClose", function () { window.cryoLive = false; });

  // Polling while no stream is open: every live part asks again each second (none while the tab is hidden; it
  // catches up when it is shown again).
  function liveParts(event) {
    document.querySelectorAll("[data-live]").forEach(function (part) { htmx.trigger(part, event); });
  }
  setInterval(function () {
    if (!window.cryoLive && !document.hidden) { liveParts("cryo:poll"); }
  }, 1000);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { liveParts("cryo:resync"); }
  });
  document.addEventListener("htmx:load", function (event) { catchUp(event.target); });

  document.addEventListener("htmx:sendError", function () {
    notify("error", "Cryo cannot be reached. Check your connection; the page will catch up once it is back.");
  });
})();
