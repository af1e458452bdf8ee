/* Filter findings by severity and text, offline; allowed by its sha256 in the page's CSP. */
(function () {
  "use strict";
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input[data-severity-filter]"));
  var search = document.getElementById("search");
  var shown = document.getElementById("shown");
  var noneMatch = document.getElementById("none-match");
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-finding]"));
  var groups = Array.prototype.slice.call(document.querySelectorAll("[data-rule-group]"));
  var blocks = Array.prototype.slice.call(document.querySelectorAll("[data-severity-block]"));
  var text = rows.map(function (row) { return row.textContent.toLowerCase(); });

  function visibleIn(el) {
    return el.querySelector("tr[data-finding]:not([hidden])") !== null;
  }

  function apply() {
    var on = {};
    boxes.forEach(function (box) { on[box.value] = box.checked; });
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var count = 0;
    rows.forEach(function (row, i) {
      var match = on[row.getAttribute("data-severity")] === true &&
        words.every(function (w) { return text[i].indexOf(w) !== -1; });
      row.hidden = !match;
      if (match) { count += 1; }
    });
    groups.forEach(function (g) { g.hidden = !visibleIn(g); });
    blocks.forEach(function (b) { b.hidden = !visibleIn(b); });
    shown.textContent = count + " of " + rows.length + " shown";
    noneMatch.hidden = rows.length === 0 || count > 0;
  }

  boxes.forEach(function (box) { box.addEventListener("change", apply); });
  search.addEventListener("input", apply);
  document.getElementById("controls").addEventListener("submit", function (e) { e.preventDefault(); });
  // Printing shows every evidence list and ztunnel table, not only the ones left open.
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  });
  apply();
}());
