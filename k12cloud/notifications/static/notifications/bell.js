// The header bell: fetch the member's unread count once per page, so that no page's own
// queries pay for it. Without script the bell is still a link to the notifications page.
(function () {
  "use strict";
  var bell = document.querySelector(".notification-bell[data-unread-url]");
  if (!bell || !window.fetch) {
    return;
  }
  var badge = bell.querySelector("[data-unread-count]");
  fetch(bell.getAttribute("data-unread-url"), {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  })
    .then(function (response) {
      return response.ok ? response.json() : null;
    })
    .then(function (data) {
      if (!data || !data.unread) {
        return;
      }
      badge.textContent = " (" + data.unread + " " + (bell.getAttribute("data-unread-label") || "unread") + ")";
      badge.hidden = false;
      bell.classList.add("has-unread");
    })
    .catch(function () {});
})();
