// The console's small helper: save a role as soon as it is chosen. Every
// form still works without it.
(function () {
  "use strict";
  lastmile.ready(function () {
    document.documentElement.classList.add("js");
    document.querySelectorAll("select[data-console-autosubmit]").forEach(function (sel) {
      sel.addEventListener("change", function () {
        if (sel.form) { sel.form.requestSubmit ? sel.form.requestSubmit() : sel.form.submit(); }
      });
    });
  });
})();
