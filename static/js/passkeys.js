/* Passkey ceremonies (accounts/mfa/views_passkeys.py).
 *
 * A form marked data-passkey-ceremony="create" or "get" asks its data-passkey-options-url for
 * options (POST, CSRF token from the form), calls navigator.credentials.create() or .get(),
 * writes the response as JSON (binary fields in base64url) into the hidden "credential" field
 * and submits the form. The server checks everything; this only carries bytes.
 */
(function () {
  "use strict";

  function toBytes(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) {
      base64 += "=";
    }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    if (!buffer) {
      return null;
    }
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) {
      binary += String.fromCharCode(bytes[i]);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeDescriptors(list) {
    return (list || []).map(function (descriptor) {
      return Object.assign({}, descriptor, { id: toBytes(descriptor.id) });
    });
  }

  function creationOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.user = Object.assign({}, json.user, { id: toBytes(json.user.id) });
    options.excludeCredentials = decodeDescriptors(json.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.allowCredentials = decodeDescriptors(json.allowCredentials);
    return options;
  }

  function serialize(credential) {
    var response = credential.response;
    var out = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toBase64url(response.clientDataJSON) },
    };
    if (response.attestationObject) {
      out.response.attestationObject = toBase64url(response.attestationObject);
      out.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      out.response.authenticatorData = toBase64url(response.authenticatorData);
      out.response.signature = toBase64url(response.signature);
      out.response.userHandle = toBase64url(response.userHandle);
    }
    return JSON.stringify(out);
  }

  function setUp(form) {
    var status = form.querySelector("[data-passkey-status]");
    var field = form.querySelector("input[name=credential]");
    var button = form.querySelector("button[type=submit]");
    var ceremony = form.dataset.passkeyCeremony;

    function say(message) {
      status.textContent = message;
    }

    if (!window.PublicKeyCredential || !navigator.credentials) {
      say(form.dataset.passkeyUnsupported || "This browser cannot use passkeys.");
      button.disabled = true;
      return;
    }

    form.addEventListener("submit", async function (event) {
      if (field.value) {
        return; // the ceremony is done: let the form go
      }
      event.preventDefault();
      var name = form.querySelector("input[name=name]");
      if (name && !name.value.trim()) {
        form.submit(); // the server explains what is missing
        return;
      }
      button.disabled = true;
      say(form.dataset.passkeyWaiting || "Follow your browser's prompts…");
      try {
        var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
        var answer = await fetch(form.dataset.passkeyOptionsUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: { "X-CSRFToken": token, Accept: "application/json" },
        });
        if (!answer.ok) {
          throw new Error("options " + answer.status);
        }
        var json = await answer.json();
        var credential =
          ceremony === "create"
            ? await navigator.credentials.create({ publicKey: creationOptions(json) })
            : await navigator.credentials.get({ publicKey: requestOptions(json) });
        field.value = serialize(credential);
        form.submit();
      } catch (error) {
        button.disabled = false;
        say(
          form.dataset.passkeyFailed ||
            "No passkey was used. Press the button to try again, or use another way to sign in."
        );
      }
    });
  }

  document.querySelectorAll("form[data-passkey-ceremony]").forEach(setUp);
})();
