// kegauth: passkeys and security keys (WebAuthn).
//
// A form marked `data-kegauth-passkey` ("register" or "get") is posted twice:
// first to its `data-options-url`, which answers the options for
// navigator.credentials as JSON (and keeps the challenge in the session);
// then, with the browser's answer in its `credential` field, to its action.
// Without WebAuthn (or without the JSON helpers of WebAuthn Level 3) the
// form stays hidden and the element `#<form id>-unsupported` is shown.
(function () {
  "use strict";
  var supported =
    window.PublicKeyCredential &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function" &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function";

  function fail(form, error) {
    var status = form.querySelector(".passkey-status");
    if (status) {
      // What went wrong, for whoever inspects the page.
      status.setAttribute("data-error", String(error));
      status.textContent = (error && error.said) || form.getAttribute("data-failed") || "";
      status.hidden = false;
    }
    var button = form.querySelector("button");
    if (button) button.disabled = false;
  }

  function ceremony(form, options) {
    if (form.getAttribute("data-kegauth-passkey") === "register") {
      return navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
      });
    }
    return navigator.credentials.get({
      publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
    });
  }

  document.querySelectorAll("form[data-kegauth-passkey]").forEach(function (form) {
    if (!supported) {
      var note = document.getElementById(form.id + "-unsupported");
      if (note) note.hidden = false;
      return;
    }
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button");
      if (button) button.disabled = true;
      form.elements.credential.value = "";
      var body = new URLSearchParams(new FormData(form));
      fetch(form.getAttribute("data-options-url"), {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          if (response.ok) return response.json();
          // A refusal may say why ({"error": message}).
          return response
            .json()
            .catch(function () {
              return {};
            })
            .then(function (body) {
              var error = new Error("options: " + response.status);
              error.said = body && body.error;
              throw error;
            });
        })
        .then(function (options) {
          return ceremony(form, options);
        })
        .then(function (credential) {
          form.elements.credential.value = JSON.stringify(credential.toJSON());
          form.submit();
        })
        .catch(function (error) {
          if (window.console) console.warn("kegauth passkey:", error);
          fail(form, error);
        });
    });
  });
})();
