// lastmile service worker: an offline shell, and push notifications whose
// buttons act on the alert without opening the app. Plain JavaScript, no
// build step. Signed-in pages are never cached: they hold private data.
"use strict";

var SHELL = "lastmile-shell-";  // + the shell's version from /pwa/shell.json
var RUNTIME = "lastmile-runtime"; // hashed assets fetched since
var META = "lastmile-meta";       // which shell is current
var DONE = { acknowledge: "Acknowledged by you", close: "Closed by you", escalate: "Escalated by you" };
var refreshed = false;

// wait hands p to e.waitUntil; an event a test dispatches itself cannot
// wait, and the handler must work all the same.
function wait(e, p) {
  try { e.waitUntil(p); } catch (err) { /* synthetic event */ }
  return p;
}

// refreshShell caches the offline page and the assets it uses, once per
// version of them, and notes which version is current.
function refreshShell() {
  return fetch("/pwa/shell.json", { cache: "no-store", credentials: "omit" }).then(function (r) {
    if (!r.ok) { throw new Error("shell list: " + r.status); }
    return r.json();
  }).then(function (shell) {
    var name = SHELL + shell.version;
    return caches.has(name).then(function (have) {
      if (have) { return; }
      return caches.open(name).then(function (c) {
        return c.addAll(shell.urls.map(function (u) { return new Request(u, { credentials: "omit" }); }));
      });
    }).then(function () {
      return caches.open(META).then(function (c) { return c.put("/current-shell", new Response(name)); });
    });
  });
}

// prune drops the caches of older shells, and the assets fetched for
// them. It runs once this worker is in charge: until then the old one may
// still need its shell.
function prune() {
  return caches.open(META).then(function (c) { return c.match("/current-shell"); }).then(function (r) {
    return r ? r.text() : "";
  }).then(function (current) {
    if (!current) { return; }
    return caches.keys().then(function (keys) {
      var old = keys.filter(function (k) { return k.indexOf(SHELL) === 0 && k !== current; });
      if (old.length) { old.push(RUNTIME); }
      return Promise.all(old.map(function (k) { return caches.delete(k); }));
    });
  });
}

self.addEventListener("install", function (e) {
  // Push matters more than the offline page: a failed shell download must
  // not stop the worker from installing.
  wait(e, refreshShell().catch(function (err) {
    console.warn("offline shell not cached:", err);
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (e) {
  wait(e, prune().catch(function () {}).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (e) {
  var req = e.request;
  if (req.method !== "GET") { return; }
  var url = new URL(req.url);
  if (url.origin !== self.location.origin) { return; }
  if (req.mode === "navigate") {
    e.respondWith(fetch(req).then(function (resp) {
      if (!refreshed) {
        // Once per worker start: pick up a new shell after an upgrade.
        refreshed = true;
        refreshShell().then(prune).catch(function () {});
      }
      return resp;
    }).catch(function () {
      return caches.match("/offline").then(function (hit) {
        return hit || new Response("You are offline. lastmile will reconnect.", {
          status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" }
        });
      });
    }));
    return;
  }
  if (url.pathname.indexOf("/assets/") === 0 && url.searchParams.has("v")) {
    // A hashed URL never changes content: cache first.
    e.respondWith(caches.match(req).then(function (hit) {
      return hit || fetch(req).then(function (resp) {
        if (resp.ok) {
          var copy = resp.clone();
          caches.open(RUNTIME).then(function (c) { return c.put(req, copy); });
        }
        return resp;
      });
    }));
  }
});

// show turns the push channel's payload into a notification.
function show(p) {
  var max = (self.Notification && self.Notification.maxActions) || 2;
  var actions = (p.actions || []).slice(0, max);
  var opts = {
    body: p.body || "",
    requireInteraction: !!p.requireInteraction,
    icon: "/assets/icons/icon-192.png",
    badge: "/assets/icons/badge-96.png",
    data: { url: p.url || "/inbox", actions: actions, alertId: p.alertId || "", kind: p.kind || "" },
    actions: actions.map(function (a) { return { action: a.action, title: a.title }; })
  };
  if (p.tag) {
    opts.tag = p.tag;
    opts.renotify = !!p.renotify; // renotify without a tag is an error
  }
  return self.registration.showNotification(p.title || "lastmile", opts);
}

self.addEventListener("push", function (e) {
  var p;
  try {
    p = e.data ? e.data.json() : {};
  } catch (err) {
    p = { title: "lastmile", body: e.data ? e.data.text() : "" };
  }
  wait(e, show(p));
});

// act POSTs an action's signed single-use link. No cookies: the link is
// its own authority.
function act(n, name) {
  var a = (n.data && n.data.actions || []).filter(function (x) { return x.action === name; })[0];
  var replace = function (title, body, outcome) {
    var opts = { body: body, tag: n.tag || undefined, icon: "/assets/icons/icon-192.png", badge: "/assets/icons/badge-96.png",
      data: { url: n.data && n.data.url || "/inbox", actions: [], outcome: outcome } };
    // The same tag replaces the notification in place. Closing it first
    // would race: the close can land after the new one, which has the
    // same id in Chrome, and take it away.
    if (!n.tag) { n.close(); }
    return self.registration.showNotification(title, opts);
  };
  if (!a || !a.url) {
    return replace("Could not " + name + ": this button has no link", "Open the app to act on the alert.", "error");
  }
  return fetch(a.url, { method: "POST", credentials: "omit", headers: { "Accept": "application/json" } }).then(function (r) {
    return r.json().catch(function () { return {}; }).then(function (j) {
      if (!r.ok) { throw new Error(j.message || ("the server answered " + r.status)); }
      return replace(DONE[name] || "Done", j.message || n.title, "ok");
    });
  }).catch(function (err) {
    return replace("Could not " + name + ": " + err.message + ", open the app", n.title, "error");
  });
}

// open shows url in a lastmile window, the focused one first, or opens one.
function open(url) {
  var target = new URL(url || "/inbox", self.location.origin);
  if (target.origin !== self.location.origin) { target = new URL("/inbox", self.location.origin); }
  if (target.pathname === "/alerts") { target.pathname = "/inbox"; } // a bundle of alerts
  return self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (list) {
    var ours = list.filter(function (c) { return new URL(c.url).origin === self.location.origin; });
    ours.sort(function (a, b) { return (b.focused ? 1 : 0) - (a.focused ? 1 : 0); });
    var w = ours[0];
    if (!w) { return self.clients.openWindow(target.href); }
    // Focusing is allowed only while a real click is handled; navigate
    // works only for a window this worker controls, else open a new one.
    return w.focus().catch(function () { return w; }).then(function (f) {
      return (f || w).navigate(target.href);
    }).catch(function () { return self.clients.openWindow(target.href); });
  });
}

self.addEventListener("notificationclick", function (e) {
  var n = e.notification;
  if (e.action) {
    wait(e, act(n, e.action));
    return;
  }
  n.close();
  wait(e, open(n.data && n.data.url));
});
