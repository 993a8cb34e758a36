// thrifty dashboard: shows the exact figure of the mark under the pointer (or keyboard focus).
// It reads only this page; it loads nothing.
(function () {
  "use strict";
  var detail = document.getElementById("detail");
  var data = JSON.parse(document.getElementById("thrifty-data").textContent);
  function show(el) {
    var parts = [];
    if (el.dataset.mode) parts.push(el.dataset.mode);
    if (el.dataset.key) parts.push(el.dataset.key);
    if (el.dataset.series) parts.push(el.dataset.series);
    var figure = el.dataset.cost !== undefined ? (el.dataset.cost === "" ? "unknown" : "$" + el.dataset.cost)
      : (el.dataset.share ? (Number(el.dataset.share) * 100).toFixed(1) + "% of the limit" : "");
    detail.textContent = parts.join(" · ") + ": " + figure;
  }
  var marks = document.querySelectorAll("rect[data-cost], rect[data-share]");
  for (var i = 0; i < marks.length; i++) {
    marks[i].setAttribute("tabindex", "0");
    marks[i].addEventListener("mouseenter", function (e) { show(e.currentTarget); });
    marks[i].addEventListener("focus", function (e) { show(e.currentTarget); });
  }
  detail.textContent = "Point at a bar for its exact figure. Data format " + data.format +
    ", generated " + data.generated_at + ".";
  document.documentElement.dataset.ready = "true";
})();
