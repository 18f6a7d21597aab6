// Duty and profile: steps of the notification rules added and removed in
// place, the device's time zone on request, and a question before removing
// things. Every form works without this script.
(function () {
  "use strict";
  lastmile.ready(function () {
    var rows = document.getElementById("rule-rows");
    var add = document.getElementById("rule-add");
    if (rows && add) {
      var blank = function (li) {
        li.querySelectorAll("input").forEach(function (i) { i.value = ""; });
        li.querySelectorAll("select").forEach(function (s) { s.selectedIndex = 0; });
        return li;
      };
      var wire = function (li) {
        var b = li.querySelector(".rule-remove");
        b.classList.remove("hidden");
        b.addEventListener("click", function () {
          if (rows.children.length > 1) { li.remove(); } else { blank(li); }
        });
      };
      Array.prototype.forEach.call(rows.children, wire);
      add.classList.remove("hidden");
      add.addEventListener("click", function () {
        var li = blank(rows.lastElementChild.cloneNode(true));
        rows.appendChild(li);
        wire(li);
        li.querySelector("input").focus();
      });
    }
    var tz = document.getElementById("tz-detect"), tzInput = document.getElementById("tz-input");
    var zone = window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && tzInput && zone && zone !== tzInput.value) {
      tz.textContent = "Use " + zone;
      tz.classList.remove("hidden");
      tz.addEventListener("click", function () { tzInput.value = zone; tzInput.focus(); });
    }
    var hints = { sms: "+4915112345678", voice: "+4915112345678", email: "me@example.com", ntfy: "my-topic or https://ntfy.sh/my-topic" };
    var ch = document.getElementById("cm-channel"), addr = document.getElementById("cm-address");
    if (ch && addr) {
      var hint = function () { addr.placeholder = hints[ch.value] || "https://…"; };
      ch.addEventListener("change", hint);
      hint();
    }
  });
})();
