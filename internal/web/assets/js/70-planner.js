// Duty planner: drag a shift that has not begun to another day or half
// hour of the week grid. It posts to the same "move" action as the shift
// list's form, which is the way without JavaScript or a mouse.
(function () {
  "use strict";
  // Times travel as the wall-clock text of datetime-local inputs in the
  // viewer's profile time zone; arithmetic on them as if UTC keeps clock
  // times right whatever the browser's own zone is.
  function wall(s) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(s || "");
    return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]) : NaN;
  }
  function text(ms) { return new Date(ms).toISOString().slice(0, 16); }
  function el(t) { return t && t.nodeType === 1 ? t : t && t.parentElement; }
  function show(msg) {
    var f = document.querySelector("main .flash.pl-err") || document.createElement("div");
    f.className = "flash error pl-err";
    f.setAttribute("role", "alert");
    f.textContent = msg;
    var main = document.getElementById("main");
    if (!f.parentNode && main) { main.insertBefore(f, main.firstChild); }
  }
  lastmile.ready(function () {
    var grid = document.querySelector(".pl-grid[data-move]");
    if (!grid) { return; }
    var drag = null;
    function clearDrop() {
      grid.querySelectorAll(".pl-drop").forEach(function (b) { b.classList.remove("pl-drop"); });
    }
    function bodyAt(e) {
      var t = el(e.target);
      return drag && t ? t.closest(".pl-body[data-day]") : null;
    }
    grid.addEventListener("dragstart", function (e) {
      var t = el(e.target), b = t && t.closest(".pl-b[data-shift]");
      if (!b) { return; }
      drag = { el: b, dy: e.clientY - b.getBoundingClientRect().top };
      b.classList.add("pl-dragging");
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", b.dataset.shift);
    });
    grid.addEventListener("dragend", function () {
      if (drag) { drag.el.classList.remove("pl-dragging"); }
      clearDrop();
      drag = null;
    });
    grid.addEventListener("dragover", function (e) {
      var body = bodyAt(e);
      if (!body) { return; }
      e.preventDefault();
      e.dataTransfer.dropEffect = "move";
      if (!body.classList.contains("pl-drop")) { clearDrop(); body.classList.add("pl-drop"); }
    });
    grid.addEventListener("drop", function (e) {
      var body = bodyAt(e);
      if (!body) { return; }
      e.preventDefault();
      var r = body.getBoundingClientRect();
      var slot = Math.max(0, Math.min(47, Math.round((e.clientY - drag.dy - r.top) / r.height * 48)));
      var target = wall(body.dataset.day + "T00:00") + slot * 1800000;
      var start = text(wall(drag.el.dataset.start) + target - wall(drag.el.dataset.piece));
      var url = grid.dataset.move + encodeURIComponent(drag.el.dataset.shift) + "/move";
      lastmile.post(url, { start: start, week: grid.dataset.week }).then(function (j) {
        location.assign(j.redirect || location.href);
      }, function (err) { show(err.message); });
    });
  });
})();
