// Rampart console: live lists, SLA countdowns and file-to-textarea; no framework, no CDN.
(function () {
  "use strict";

  function left(due) {
    var seconds = Math.round((Date.parse(due) - Date.now()) / 1000);
    var sign = seconds < 0 ? "-" : "";
    seconds = Math.abs(seconds);
    var hours = Math.floor(seconds / 3600), minutes = Math.floor((seconds % 3600) / 60);
    if (hours >= 48) { return sign + Math.floor(hours / 24) + "d"; }
    return hours ? sign + hours + "h " + minutes + "m" : sign + minutes + "m " + (seconds % 60) + "s";
  }

  function tick() {
    document.querySelectorAll("[data-due]").forEach(function (cell) {
      var out = cell.querySelector(".left");
      if (out) { out.textContent = left(cell.getAttribute("data-due")); }
      if (Date.parse(cell.getAttribute("data-due")) <= Date.now()) {
        cell.classList.remove("running", "warned");
        cell.classList.add("breached");
        var label = cell.querySelector(".sla-label");
        if (label) { label.textContent = "breached"; }
      }
    });
  }

  function poll(target) {
    var url = target.getAttribute("data-poll");
    var every = 1000 * (parseFloat(target.getAttribute("data-poll-seconds")) || 5);
    function again() {
      // keep what the person is typing: skip a refresh while focus is inside the list
      if (target.contains(document.activeElement)) { return setTimeout(again, every); }
      fetch(url, { headers: { "X-Partial": "1" }, credentials: "same-origin" })
        .then(function (answer) {
          if (answer.redirected || answer.status === 401) { window.location.assign("/login"); return null; }
          return answer.ok ? answer.text() : null;
        })
        .then(function (html) {
          if (html !== null && html !== undefined) { target.innerHTML = html; tick(); }
        })
        .catch(function () { /* try again on the next round */ })
        .finally(function () { setTimeout(again, every); });
    }
    setTimeout(again, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll]").forEach(poll);
    document.querySelectorAll("input[type=file][data-fills]").forEach(function (input) {
      input.addEventListener("change", function () {
        var file = input.files && input.files[0];
        var into = document.getElementById(input.getAttribute("data-fills"));
        if (!file || !into) { return; }
        file.text().then(function (text) { into.value = text; });
      });
    });
    tick();
    setInterval(tick, 1000);
  });
})();
