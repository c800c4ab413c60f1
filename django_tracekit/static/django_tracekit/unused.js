/* The unused-code page: a module's group that holds only a link loads its rows when it is
   opened (the module's own page, its table taken from it). Without this script the link
   leads there. */
"use strict";
document.addEventListener("toggle", function (event) {
  var group = event.target;
  if (!(group instanceof HTMLDetailsElement) || !group.open || !group.dataset.src
      || group.dataset.loaded) {
    return;
  }
  group.dataset.loaded = "1";
  var holder = group.querySelector(".tk-lazy");
  fetch(group.dataset.src, {credentials: "same-origin", headers: {"Accept": "text/html"}})
    .then(function (response) {
      if (!response.ok) { throw new Error(response.status); }
      return response.text();
    })
    .then(function (text) {
      var page = new DOMParser().parseFromString(text, "text/html");
      var loaded = page.querySelector("details.tk-module");
      if (!loaded || !holder) { return; }
      var parts = loaded.querySelectorAll("table, .tk-more");
      parts.forEach(function (part) { group.insertBefore(document.importNode(part, true), holder); });
      holder.remove();
    })
    .catch(function () { delete group.dataset.loaded; });
}, true);
