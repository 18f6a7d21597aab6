// Push on this device: fills the profile's <section id="push-device"> with
// what this browser can do (not supported, blocked, on, off) and the
// buttons to turn push on, send a test and turn it off. Also reloads the
// offline page when the connection returns.
(function () {
  "use strict";

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text) { e.textContent = text; }
    return e;
  }

  // keyBytes turns the VAPID public key (base64url) into what
  // pushManager.subscribe takes.
  function keyBytes(s) {
    var b = atob((s + "===".slice((s.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/"));
    var out = new Uint8Array(b.length);
    for (var i = 0; i < b.length; i++) { out[i] = b.charCodeAt(i); }
    return out;
  }

  function sameKey(sub, key) {
    var k = sub.options && sub.options.applicationServerKey;
    if (!k) { return true; }
    var a = new Uint8Array(k), b = keyBytes(key);
    if (a.length !== b.length) { return false; }
    for (var i = 0; i < a.length; i++) { if (a[i] !== b[i]) { return false; } }
    return true;
  }

  function apple() {
    return /iPhone|iPad|iPod/.test(navigator.userAgent) ||
      (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);
  }

  function standalone() {
    return navigator.standalone === true || (window.matchMedia && window.matchMedia("(display-mode: standalone)").matches);
  }

  // unsupported says why this browser cannot get push, or "".
  function unsupported() {
    if (!window.isSecureContext) {
      return "Push needs a secure connection: open lastmile over https.";
    }
    if (apple() && !standalone()) {
      return "On iPhone and iPad, add lastmile to your Home Screen first (Share, then Add to Home Screen), open it from there and come back to this page.";
    }
    if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
      return "This browser cannot show push notifications. Use a current Chrome, Edge, Firefox or Safari, or add another contact method below.";
    }
    return "";
  }

  function permission() {
    return new Promise(function (resolve) {
      // Old Safari takes a callback and returns nothing.
      var p = Notification.requestPermission(resolve);
      if (p && p.then) { p.then(resolve); }
    });
  }

  function setup(box) {
    var vapid = box.getAttribute("data-vapid") || "/api/v1/push/vapid-public-key";
    var reg = null;
    box.textContent = "";
    box.setAttribute("aria-labelledby", "push-device-title");
    box.appendChild(el("h2", { id: "push-device-title" }, "Push on this device"));
    var state = box.appendChild(el("p", { "class": "push-state", "data-state": "checking" }, "Checking this browser…"));
    var buttons = box.appendChild(el("div", { "class": "row push-buttons" }));
    var hint = box.appendChild(el("p", { "class": "hint push-hint" }));
    var msg = box.appendChild(el("p", { "class": "push-msg small", role: "status", "aria-live": "polite" }));

    function say(text, kind) {
      msg.textContent = text || "";
      msg.className = "push-msg small" + (kind ? " " + kind : "");
    }

    function show(name, text, hintText) {
      state.setAttribute("data-state", name);
      state.textContent = text;
      buttons.textContent = "";
      hint.textContent = hintText || "";
    }

    function button(label, cls, fn) {
      var b = buttons.appendChild(el("button", { type: "button", "class": "btn " + cls }, label));
      b.addEventListener("click", function () {
        b.disabled = true;
        say("");
        var p;
        // Called at once, not in a later task: browsers ask for the
        // notification permission only during the click.
        try { p = Promise.resolve(fn()); } catch (e) { p = Promise.reject(e); }
        p.catch(function (e) {
          say(e.message || String(e), "error");
        }).then(function () { b.disabled = false; });
      });
      return b;
    }

    function rulesHint(st) {
      hint.textContent = "";
      if (st.inRules) { return; }
      hint.appendChild(document.createTextNode("No notification rule sends alerts to push yet, so alerts will not come here. "));
      hint.appendChild(el("a", { href: st.rulesUrl || "/profile#rules" }, "Add push to your notification rules"));
      hint.appendChild(document.createTextNode("."));
    }

    function on(sub, st) {
      show("on", "This device gets push alerts" + (st.label ? " (" + st.label + ")." : "."));
      rulesHint(st);
      button("Send test", "secondary", function () {
        return lastmile.post("/push/test", { endpoint: sub.endpoint }).then(function (j) { say(j.message, "ok"); });
      });
      button("Turn off", "danger", function () {
        return lastmile.post("/push/unsubscribe", { endpoint: sub.endpoint }).then(function (j) {
          return sub.unsubscribe().catch(function () { return false; }).then(function () {
            off();
            say(j.message, "ok");
          });
        });
      });
    }

    function off() {
      show("off", "This device does not get push alerts.",
        "Turn push on to get alerts here within seconds, with buttons to acknowledge them from the notification.");
      button("Turn on push for this device", "primary", enable);
    }

    function blocked() {
      show("blocked", "Notifications are blocked for lastmile in this browser.",
        "To allow them again, open the site settings (the icon left of the address), set Notifications to Allow, then reload this page.");
    }

    function enable() {
      return permission().then(function (p) {
        if (p === "denied") { blocked(); throw new Error("Notifications were not allowed."); }
        if (p !== "granted") { throw new Error("Notifications were not allowed; try again and choose Allow."); }
        return fetch(vapid, { credentials: "same-origin", headers: { "Accept": "application/json" } });
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (!r.ok || !j.publicKey) { throw new Error(j.message || "The server has no push key (" + r.status + ")."); }
          return j.publicKey;
        });
      }).then(function (key) {
        return reg.pushManager.getSubscription().then(function (old) {
          if (old && !sameKey(old, key)) {
            // Made for another server key: the push service would refuse
            // our messages to it.
            return old.unsubscribe().then(function () { return null; });
          }
          return old;
        }).then(function (old) {
          return old || reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
        });
      }).then(function (sub) {
        return lastmile.post("/push/subscribe", { subscription: JSON.stringify(sub.toJSON()) }).then(function (st) {
          on(sub, st);
          say(st.message, "ok");
        });
      });
    }

    var why = unsupported();
    if (why) {
      show("unsupported", "Push is not available in this browser.", why);
      return;
    }
    if (Notification.permission === "denied") {
      blocked();
      return;
    }
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (r) {
      reg = r;
      return reg.pushManager.getSubscription();
    }).then(function (sub) {
      if (!sub || Notification.permission !== "granted") { off(); return; }
      return lastmile.post("/push/status", { endpoint: sub.endpoint }).then(function (st) {
        if (st.registered) { on(sub, st); } else { off(); }
      });
    }).catch(function (e) {
      show("error", "Push could not be checked in this browser.", e.message || String(e));
    });
  }

  lastmile.ready(function () {
    var box = document.getElementById("push-device");
    if (box) { setup(box); }
    if (document.body.getAttribute("data-nav") === "offline") {
      window.addEventListener("online", function () { location.reload(); });
    }
  });
})();
