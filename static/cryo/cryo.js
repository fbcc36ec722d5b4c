// Cryo's few lines of browser code: the viewer's time zone, and notifications for htmx actions.
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
  document.addEventListener("htmx:sendError", function () {
    notify("error", "Cryo cannot be reached. Check your connection; the page will catch up once it is back.");
  });
})();
