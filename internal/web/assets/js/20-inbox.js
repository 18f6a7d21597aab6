// Live inbox and alert page. A server-sent event says alerts changed; the
// page re-reads its list (or the alert's parts) and swaps it in, marks what
// is new and tells screen readers. Forms marked js-inplace post without
// leaving the page. Without JavaScript the same forms post and redirect.
(function () {
  "use strict";
  var lm = window.lastmile;

  function el(id) { return document.getElementById(id); }

  function say(text) {
    var a = el("live-announce");
    if (!a || !text) { return; }
    a.textContent = "";
    setTimeout(function () { a.textContent = text; }, 50);
  }

  function showError(text) {
    var box = el("live-error");
    if (!box) { return; }
    box.textContent = text || "";
    box.classList.toggle("hidden", !text);
  }

  function quote(v) { return String(v).replace(/["\\]/g, "\\$&"); }

  // focusKey remembers what has focus inside root, to find it again after
  // a swap (or the alert row it belonged to).
  function focusKey(root) {
    var a = document.activeElement;
    if (!a || a === document.body || !root.contains(a)) { return null; }
    var row = a.closest("[data-alert-id]");
    var form = a.closest("form");
    var sel = form ? 'form[action="' + quote(form.getAttribute("action")) + '"] button' :
      a.id ? "#" + a.id : a.getAttribute("href") ? 'a[href="' + quote(a.getAttribute("href")) + '"]' : null;
    return { sel: sel, row: row ? row.getAttribute("data-alert-id") : null };
  }

  function restoreFocus(root, key) {
    if (!key) { return; }
    var t = (key.sel && root.querySelector(key.sel)) ||
      (key.row && root.querySelector('[data-alert-id="' + quote(key.row) + '"] a'));
    if (t) { t.focus({ preventScroll: true }); }
  }

  function rowIDs(root) {
    var out = {};
    root.querySelectorAll("[data-alert-id]").forEach(function (r) { out[r.getAttribute("data-alert-id")] = true; });
    return out;
  }

  // swapInbox replaces the list and highlights rows that were not there.
  function swapInbox(region, html) {
    var before = rowIDs(region), key = focusKey(region), fresh = 0;
    region.innerHTML = html;
    region.querySelectorAll("[data-alert-id]").forEach(function (r) {
      if (!before[r.getAttribute("data-alert-id")]) { r.classList.add("fresh"); fresh++; }
    });
    restoreFocus(region, key);
    if (fresh) { say(fresh === 1 ? "1 new alert" : fresh + " new alerts"); }
  }

  function statusText(root) {
    var b = root.querySelector("#alert-head .badge[class*='st-']");
    return b ? b.textContent : "";
  }

  // swapAlert replaces each live part of the alert page by its id.
  function swapAlert(region, html) {
    var t = document.createElement("template"), key = focusKey(region);
    var was = statusText(region), seen = region.querySelectorAll(".timeline > li").length;
    t.innerHTML = html;
    t.content.querySelectorAll("[data-live-part]").forEach(function (part) {
      var cur = el(part.id);
      if (cur) { cur.replaceWith(part); }
    });
    var items = region.querySelectorAll(".timeline > li");
    for (var i = seen; i < items.length; i++) { items[i].classList.add("fresh"); }
    restoreFocus(region, key);
    var now = statusText(region);
    if (now && now !== was) { say("The alert is now " + now.toLowerCase()); } else if (items.length > seen) { say("The timeline has new entries"); }
  }

  lm.ready(function () {
    var region = document.querySelector("[data-live-stream]");
    var es = null, opened = false, stopped = false, busy = false, again = false, timer = null;

    function refresh() {
      if (!region) { return; }
      if (busy) { again = true; return; }
      busy = true;
      fetch(region.getAttribute("data-live-refresh"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) {
          if (r.redirected) { stop(); throw new Error("You have been signed out. Reload the page to sign in again."); }
          if (r.status === 404) { stop(); throw new Error("This alert is no longer visible to you."); }
          if (!r.ok) { throw new Error("Could not update the page (" + r.status + "); it retries on the next change."); }
          return r.text();
        })
        .then(function (html) {
          if (region.id === "inbox-live") { swapInbox(region, html); } else { swapAlert(region, html); }
          showError("");
        })
        .catch(function (e) { showError(e.message); })
        .then(function () {
          busy = false;
          if (again) { again = false; refresh(); }
        });
    }

    // Changes come in bursts (an alert, its plan, its messages): one
    // re-read a moment later covers them all.
    function soon() {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    }

    function stop() {
      stopped = true;
      if (es) { es.close(); }
    }

    function connect() {
      if (stopped || !window.EventSource) { return; }
      es = new EventSource(region.getAttribute("data-live-stream"));
      // The browser reconnects by itself; what changed meanwhile is read
      // again on every reconnection.
      es.addEventListener("open", function () {
        if (opened) { refresh(); }
        opened = true;
      });
      es.addEventListener("change", soon);
      es.addEventListener("signedout", function () {
        stop();
        showError("You have been signed out. Reload the page to sign in again.");
      });
      es.addEventListener("error", function () {
        // A refused stream (too many tabs, a restart) is not retried by
        // the browser: try again in a minute.
        if (es.readyState === EventSource.CLOSED && !stopped) { setTimeout(connect, 60000); }
      });
    }

    if (region) { connect(); }

    document.addEventListener("submit", function (e) {
      var form = e.target;
      if (!form.classList || !form.classList.contains("js-inplace")) { return; }
      e.preventDefault();
      var btn = form.querySelector("button[type=submit]");
      if (btn) { btn.disabled = true; }
      var data = {};
      new FormData(form).forEach(function (v, k) { if (k !== "_csrf") { data[k] = v; } });
      lm.post(form.getAttribute("action"), data).then(function (j) {
        showError("");
        say(j.message || "Done");
        if (form.hasAttribute("data-reset")) { form.reset(); }
        refresh();
      }).catch(function (err) {
        showError(err.message);
      }).then(function () {
        if (btn && document.contains(btn)) { btn.disabled = false; }
      });
    });
  });
})();
