// lastmile core: a CSRF-aware fetch for the pages' scripts, and the service
// worker registration. Each area's script is its own file in this folder,
// wrapped in its own function scope; all are served as one app.js.
"use strict";
window.lastmile = (function () {
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.content : "";
  }
  // post sends a form-encoded POST with the session's CSRF token and returns
  // the parsed JSON answer; a refusal rejects with the server's message.
  function post(url, data) {
    var body = new URLSearchParams(data || {});
    body.set("_csrf", csrf());
    return fetch(url, {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf() }
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) { throw new Error(j.message || ("request failed: " + r.status)); }
        return j;
      });
    });
  }
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  // Shared by every page: a form with data-confirm asks before it posts
  // (removals, rotations); a button with data-copy copies the value (or
  // text) of the element it names, and shows itself only where the
  // browser can copy.
  ready(function () {
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) {
        if (!window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); }
      });
    });
    document.querySelectorAll("[data-copy]").forEach(function (b) {
      if (!navigator.clipboard || !window.isSecureContext) { return; }
      b.classList.remove("hidden");
      b.addEventListener("click", function () {
        var el = document.getElementById(b.getAttribute("data-copy"));
        if (!el) { return; }
        navigator.clipboard.writeText("value" in el ? el.value : el.textContent).then(function () {
          b.textContent = "Copied";
          setTimeout(function () { b.textContent = "Copy"; }, 2000);
        });
      });
    });
  });
  // Signed-in pages register the service worker, which keeps an offline
  // shell and shows push notifications.
  ready(function () {
    if ("serviceWorker" in navigator && csrf()) {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function (e) {
        console.warn("service worker not registered:", e);
      });
    }
  });
  return { csrf: csrf, post: post, ready: ready };
})();
