// The viewer's own time beside each time of the page, which the page shows in UTC (SPEC §14):
// every <time datetime="...Z"> gets "(2026-01-02 13:00:01 Europe/Paris)" after it. Nothing
// when the browser's zone is UTC.
(function () {
  "use strict";
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone || zone === "UTC" || zone === "Etc/UTC") {
    return;
  }
  // Swedish dates are ISO-like: 2026-01-02 13:00:01.
  var format = new Intl.DateTimeFormat("sv-SE", {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false
  });
  function addLocalTimes() {
    document.querySelectorAll("time[datetime]").forEach(function (element) {
      var moment = new Date(element.getAttribute("datetime"));
      var next = element.nextElementSibling;
      if (isNaN(moment.getTime()) || (next && next.classList.contains("local-time"))) {
        return;
      }
      var local = document.createElement("span");
      local.className = "local-time";
      local.textContent = " (" + format.format(moment) + " " + zone + ")";
      element.after(local);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", addLocalTimes);
  } else {
    addLocalTimes();
  }
})();
