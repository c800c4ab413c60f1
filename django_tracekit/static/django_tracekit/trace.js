/* Trace waterfall: collapse/expand subtrees, search within the trace, jump to a span.
   Everything is already on the page (server-rendered); this only hides and shows rows.
   Rows are flat, in depth-first order, with data-depth and data-parent (row index). */
(function () {
  "use strict";

  function init() {
    var waterfall = document.getElementById("tk-waterfall");
    if (!waterfall) { return; }
    var rows = Array.prototype.slice.call(waterfall.querySelectorAll(".tk-span"));
    var depth = rows.map(function (r) { return +r.dataset.depth; });
    var parent = rows.map(function (r) { return r.dataset.parent === "" ? -1 : +r.dataset.parent; });
    var collapsed = rows.map(function () { return false; });
    var search = document.getElementById("tk-span-search");
    var count = document.getElementById("tk-search-count");
    var text = null;  // lower-cased row texts, read on the first search
    // Descendants per row (the rows up to the next one at its depth or above): shown as
    // "+N" on a collapsed row.
    var descendants = rows.map(function () { return 0; });
    var open = [];
    for (var r = 0; r < rows.length; r++) {
      while (open.length && depth[open[open.length - 1]] >= depth[r]) { open.pop(); }
      open.forEach(function (k) { descendants[k]++; });
      open.push(r);
    }
    var hiddenCount = rows.map(function (row, k) {
      if (!descendants[k]) { return null; }
      var badge = document.createElement("span");
      badge.className = "tk-hidden-count";
      badge.textContent = "+" + descendants[k];
      badge.hidden = true;
      row.querySelector(".tk-span-name").after(badge);
      return badge;
    });

    // Hidden when an ancestor is collapsed (the search shows its own selection instead).
    function applyCollapse() {
      var hideBelow = Infinity;  // depth under which rows are hidden
      for (var i = 0; i < rows.length; i++) {
        if (depth[i] <= hideBelow) { hideBelow = Infinity; }
        rows[i].hidden = depth[i] > hideBelow;
        if (!rows[i].hidden && collapsed[i]) { hideBelow = depth[i]; }
        var toggle = rows[i].querySelector(".tk-toggle");
        if (toggle) {
          toggle.textContent = collapsed[i] ? "▸" : "▾";
          toggle.setAttribute("aria-expanded", collapsed[i] ? "false" : "true");
          hiddenCount[i].hidden = !collapsed[i];
          var below = rows[i].querySelector(".tk-below-error");
          if (below) { below.hidden = !collapsed[i]; }
        }
      }
    }

    function applySearch() {
      var query = search.value.trim().toLowerCase();
      if (!query) {
        rows.forEach(function (r) { r.classList.remove("tk-match"); });
        count.textContent = "";
        applyCollapse();
        return;
      }
      if (text === null) {
        text = rows.map(function (r) { return r.textContent.toLowerCase(); });
      }
      var shown = rows.map(function () { return false; });
      var matches = 0;
      for (var i = 0; i < rows.length; i++) {
        var match = text[i].indexOf(query) !== -1;
        rows[i].classList.toggle("tk-match", match);
        if (match) {
          matches++;
          for (var j = i; j !== -1 && !shown[j]; j = parent[j]) { shown[j] = true; }
        }
      }
      rows.forEach(function (r, k) {
        r.hidden = !shown[k];
        if (shown[k] && r.classList.contains("tk-match")) { openFold(r); }
      });
      hiddenCount.forEach(function (b) { if (b) { b.hidden = true; } });
      count.textContent = matches + " / " + rows.length;
    }

    function setAll(value) {
      for (var i = 0; i < rows.length; i++) {
        collapsed[i] = value && +rows[i].dataset.children > 0;
      }
      if (value && rows.length) {  // keep the top level and its children visible
        rows.forEach(function (r, k) { if (depth[k] === 0) { collapsed[k] = false; } });
      }
      search.value = "";
      applySearch();
    }

    // A member of folded statements shows once its fold opens.
    function openFold(row) {
      var fold = row.parentElement && row.parentElement.closest(".tk-fold > details");
      if (fold) { fold.open = true; }
    }

    // Open the span a link points at: its ancestors expanded, its details open.
    function reveal(id) {
      var target = document.getElementById(id);
      if (!target || !target.classList.contains("tk-span")) { return; }
      var index = +target.dataset.index;
      for (var j = parent[index]; j !== -1; j = parent[j]) { collapsed[j] = false; }
      if (search.value) { search.value = ""; }
      applySearch();
      rows.forEach(function (r) { r.classList.remove("tk-target"); });
      target.classList.add("tk-target");
      openFold(target);
      target.querySelector("details").open = true;
      target.scrollIntoView({block: "center"});
    }

    waterfall.addEventListener("click", function (event) {
      var toggle = event.target.closest(".tk-toggle");
      if (toggle) {
        event.preventDefault();  // inside <summary>: do not open the details too
        var index = +toggle.closest(".tk-span").dataset.index;
        collapsed[index] = !collapsed[index];
        applySearch();
        return;
      }
      var link = event.target.closest("a[href^='#span-']");
      if (link) {
        event.preventDefault();
        history.replaceState(null, "", link.getAttribute("href"));
        reveal(link.getAttribute("href").slice(1));
      }
    });
    // A stack reads from the bottom (the raise point): show its end when it opens.
    function showStackEnds(root) {
      Array.prototype.forEach.call(root.querySelectorAll(".tk-stack"), function (pre) {
        pre.scrollTop = pre.scrollHeight;
      });
    }
    waterfall.addEventListener("toggle", function (event) {
      if (event.target.open) { showStackEnds(event.target); }
    }, true);  // "toggle" does not bubble
    showStackEnds(waterfall);
    search.addEventListener("input", applySearch);
    initResize(waterfall);
    document.getElementById("tk-collapse-all").addEventListener("click", function () { setAll(true); });
    document.getElementById("tk-expand-all").addEventListener("click", function () { setAll(false); });
    Array.prototype.forEach.call(waterfall.querySelectorAll(".tk-toggle"), function (t) { t.hidden = false; });
    document.getElementById("tk-trace-tools").hidden = false;
    if (location.hash.indexOf("#span-") === 0) { reveal(location.hash.slice(1)); }
  }

  // The split between the spans and the timeline: a CSS variable (CSSOM, not a style
  // attribute: a strict Content-Security-Policy allows it). The timeline keeps >= 55 %.
  function initResize(waterfall) {
    var handle = document.getElementById("tk-resize");
    if (!handle) { return; }
    var split = 40;
    function set(value) {
      split = Math.max(20, Math.min(45, value));
      waterfall.style.setProperty("--tk-split", split + "%");
      handle.setAttribute("aria-valuenow", String(Math.round(split)));
    }
    handle.addEventListener("pointerdown", function (event) {
      event.preventDefault();
      handle.setPointerCapture(event.pointerId);
      function move(e) {
        var box = waterfall.getBoundingClientRect();
        set((e.clientX - box.left - 8) / (box.width - 16) * 100);
      }
      function up() {
        handle.removeEventListener("pointermove", move);
        handle.removeEventListener("pointerup", up);
      }
      handle.addEventListener("pointermove", move);
      handle.addEventListener("pointerup", up);
    });
    handle.addEventListener("keydown", function (event) {
      if (event.key === "ArrowLeft") { set(split - 2); event.preventDefault(); }
      if (event.key === "ArrowRight") { set(split + 2); event.preventDefault(); }
    });
    handle.setAttribute("aria-valuemin", "20");
    handle.setAttribute("aria-valuemax", "45");
    handle.hidden = false;
  }

  // Copy buttons (trace id, span id, stack): shown only with a script; without one the
  // text is there to select.
  function copyText(text, button) {
    function done() {
      var label = button.textContent;
      button.textContent = button.getAttribute("data-copied") || "✓";
      setTimeout(function () { button.textContent = label; }, 1200);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
    } else {
      fallback(text);
      done();
    }
  }
  function fallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "tk-copy-area";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* selected: the user can copy */ }
    area.remove();
  }
  function initCopy() {
    document.addEventListener("click", function (event) {
      var button = event.target.closest(".tk-copy");
      if (!button) { return; }
      event.preventDefault();
      var text = button.getAttribute("data-copy");
      if (button.hasAttribute("data-copy-stack")) {
        var raw = button.parentElement.querySelector("template.tk-raw-stack");
        text = raw ? raw.content.textContent : "";
      }
      copyText(text || "", button);
    });
    Array.prototype.forEach.call(document.querySelectorAll(".tk-copy"), function (b) {
      b.hidden = false;
    });
  }

  function start() {
    initCopy();
    init();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
