// Copies the page's UTM parameters (?utm_source=...&utm_campaign=...) into the form's hidden
// utm_* inputs, so that the capture records which campaign brought the visitor. Without
// JavaScript the inputs stay empty and the service reads the same parameters from the
// address the browser sends as `Referer` (the page's referrer policy lets it through).
"use strict";

(function () {
  const query = new URLSearchParams(location.search);
  for (const input of document.querySelectorAll("form input[type=hidden][name^='utm_']")) {
    const value = (query.get(input.name) || "").trim().slice(0, 200);
    if (value && !input.value) input.value = value;
  }
})();
