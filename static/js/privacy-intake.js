/* The public privacy-request form's proof of work (privacy_requests/intake/pow.py).
 *
 * The form carries a signed challenge: find the number n (0..max) for which
 * SHA-256(salt + n) equals the challenge, and send it back in the hidden "altcha" field, in
 * the payload format ALTCHA widgets use. Solving starts when the page loads; pressing the
 * button before it is done waits for it and says so in the status line.
 */
(function () {
  "use strict";
  var form = document.querySelector("form[data-altcha-challenge]");
  if (!form || !window.crypto || !window.crypto.subtle) {
    return;
  }
  var data = form.dataset;
  var field = form.querySelector("input[name=altcha]");
  var status = document.getElementById("altcha-status");
  var encoder = new TextEncoder();
  var BATCH = 500;

  function hex(buffer) {
    return Array.prototype.map
      .call(new Uint8Array(buffer), function (b) { return b.toString(16).padStart(2, "0"); })
      .join("");
  }

  function digest(n) {
    return crypto.subtle.digest("SHA-256", encoder.encode(data.altchaSalt + n)).then(hex);
  }

  async function solve() {
    var max = parseInt(data.altchaMax, 10);
    for (var start = 0; start <= max; start += BATCH) {
      var batch = [];
      for (var n = start; n < start + BATCH && n <= max; n++) {
        batch.push(digest(n));
      }
      var hashes = await Promise.all(batch);
      var found = hashes.indexOf(data.altchaChallenge);
      if (found !== -1) {
        return start + found;
      }
    }
    throw new Error("no solution");
  }

  var solved = solve().then(function (number) {
    field.value = btoa(JSON.stringify({
      algorithm: data.altchaAlgorithm,
      challenge: data.altchaChallenge,
      number: number,
      salt: data.altchaSalt,
      signature: data.altchaSignature
    }));
    return true;
  }).catch(function () {
    return false;
  });

  var waiting = false;
  form.addEventListener("submit", function (event) {
    if (field.value) {
      return;
    }
    event.preventDefault();
    if (waiting) {
      return;
    }
    waiting = true;
    status.textContent = data.workingText;
    solved.then(function (ok) {
      waiting = false;
      if (ok) {
        status.textContent = "";
        form.submit();
      } else {
        status.textContent = data.failedText;
      }
    });
  });
})();
