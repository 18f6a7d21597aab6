// Integrations, connectors and channels: the connector form's fields per
// source and log mode, and a JSON check as administrators type channel
// settings.
(function () {
  "use strict";
  lastmile.ready(function () {
    var form = document.querySelector("[data-int-conn-form]");
    if (form) {
      var pick = function (sel) {
        var el = form.querySelector(sel + ":checked") || form.querySelector(sel + "[type=hidden]");
        return el ? el.value : "";
      };
      var sync = function () {
        var now = { source: pick("[data-int-source]"), log: pick("[data-int-log]") };
        form.querySelectorAll("[data-int-when]").forEach(function (el) {
          var rule = el.getAttribute("data-int-when").split(":");
          el.classList.toggle("hidden", rule[1].split(",").indexOf(now[rule[0]]) < 0);
        });
      };
      form.addEventListener("change", sync);
      sync();
    }
    document.querySelectorAll("textarea[data-int-json]").forEach(function (t) {
      var hint = t.parentNode.querySelector(".int-json-hint");
      t.addEventListener("input", function () {
        var msg = "";
        try {
          var v = JSON.parse(t.value.trim() || "{}");
          if (v === null || typeof v !== "object" || Array.isArray(v)) { msg = "The settings must be a JSON object in braces."; }
        } catch (e) { msg = "Not valid JSON yet: " + e.message; }
        if (hint) { hint.textContent = msg; hint.classList.toggle("bad", msg !== ""); }
      });
    });
  });
})();
