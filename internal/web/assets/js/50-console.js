// The console's small helpers: copy a one-time secret, save a role as soon
// as it is chosen, and ask before removing something. Every form still
// works without them.
(function () {
  "use strict";
  lastmile.ready(function () {
    document.documentElement.classList.add("js");
    document.querySelectorAll("[data-console-copy]").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var input = document.getElementById(btn.getAttribute("data-console-copy"));
        if (!input) { return; }
        input.select();
        var done = function () { btn.textContent = "Copied"; };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
        } else {
          document.execCommand("copy");
          done();
        }
      });
    });
    document.querySelectorAll("select[data-console-autosubmit]").forEach(function (sel) {
      sel.addEventListener("change", function () {
        if (sel.form) { sel.form.requestSubmit ? sel.form.requestSubmit() : sel.form.submit(); }
      });
    });
    document.querySelectorAll("form[data-console-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        if (!window.confirm(form.getAttribute("data-console-confirm"))) { e.preventDefault(); }
      });
    });
  });
})();
