// The export's progress bar (exports/views.py): poll the progress URL every second and update
// the bar and its text without reloading; when the export completes, show the download button.
// Without script the page says to reload it.
(function () {
  "use strict";
  var section = document.querySelector(".export-progress[data-progress-url]");
  if (!section || !window.fetch) {
    return;
  }
  var url = section.getAttribute("data-progress-url");
  var bar = section.querySelector("progress");
  var done = section.querySelector("[data-rows-done]");
  var total = section.querySelector("[data-rows-total]");
  var percent = section.querySelector("[data-percent]");
  var status = section.querySelector("[data-status]");
  var download = section.querySelector("[data-download-form]");
  var failed = section.querySelector("[data-failed]");
  var row = document.querySelector("tr[data-active-row]");

  function show(data) {
    bar.value = data.percent;
    bar.textContent = data.percent + " %";
    done.textContent = data.rows_done;
    total.textContent = data.rows_total;
    percent.textContent = data.percent;
    status.textContent = data.status_label;
    if (row) {
      row.querySelector("[data-row-status]").textContent = data.status_label;
      row.querySelector("[data-row-rows]").textContent = data.rows_done + " / " + data.rows_total;
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (!data) {
          window.setTimeout(poll, 3000);
          return;
        }
        show(data);
        if (data.status === "completed") {
          if (data.download_url) {
            download.hidden = false;
          }
        } else if (data.status === "failed" || data.status === "expired") {
          failed.hidden = false;
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 3000);
      });
  }
  poll();
})();
