// Posts the landing page's form as JSON with fetch and shows the answer in place.
//
// The form itself says where to post (its action), with which site key (`_key`) and for which
// asset (`asset`), so this script needs no settings of its own. Without JavaScript the same
// form still works: it posts as a plain HTML form and lands on thank-you.html.
"use strict";

(function () {
  const form = document.getElementById("capture-form");
  if (!form || !window.fetch) return;

  // The service's syntax for URLs: other values would be refused, so they are left out.
  const URL_PATTERN = /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#][^\x00-\x20\x7f-\x9f]*)?$/;
  const CONTROL_FIELDS = new Set(["_key", "_redirect", "_idem", "consent"]);
  const UTM_FIELDS = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];
  const alertBox = document.getElementById("form-alert");
  const button = form.querySelector("button[type=submit]");

  // One key per page load: a double-click, or a retry after an answer got lost, is one capture.
  const idempotencyKey = newKey();
  let busy = false;

  followFormDefinition();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    clearErrors();
    try {
      await send();
    } finally {
      busy = false;
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  });

  async function send() {
    let response;
    try {
      response = await fetch(form.action, {
        method: "POST",
        mode: "cors",
        credentials: "omit",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json, application/problem+json",
          Authorization: "Bearer " + form.elements.namedItem("_key").value,
          "Idempotency-Key": idempotencyKey,
        },
        body: JSON.stringify(payload()),
      });
    } catch (error) {
      showAlert("We could not reach the server. Check your connection and try again.");
      return;
    }
    let answer = null;
    try {
      answer = await response.json();
    } catch (error) {
      answer = null;
    }
    if (response.status === 201 && answer) {
      showDone(answer.delivery_url);
    } else if (answer && answer.title) {
      showProblem(answer);
    } else {
      showAlert("Something went wrong (HTTP " + response.status + "). Please try again.");
    }
  }

  // The asset's form as the service defines it: which fields it requires, and the version of
  // its consent text. The page's own HTML stays as it is when the definition cannot be read.
  async function followFormDefinition() {
    const asset = encodeURIComponent(form.elements.namedItem("asset").value);
    const url = form.action.replace(/\/captures$/, "/assets/" + asset + "/form");
    let definition;
    try {
      const response = await fetch(url, {
        mode: "cors",
        credentials: "omit",
        headers: {
          Accept: "application/json",
          Authorization: "Bearer " + form.elements.namedItem("_key").value,
        },
      });
      if (!response.ok) return;
      definition = await response.json();
    } catch (error) {
      return;
    }
    for (const field of definition.fields) {
      const input = form.elements.namedItem(field.name);
      if (!input || !input.id || input.type === "hidden") continue;
      input.required = field.required;
      const mark = form.querySelector("label[for='" + input.id + "'] .optional");
      if (mark) mark.hidden = field.required;
    }
    const version = form.elements.namedItem("consent_text_version");
    if (version && definition.consent && definition.consent.text_version) {
      version.value = definition.consent.text_version;
    }
  }

  function payload() {
    const body = {};
    for (const [name, value] of new FormData(form)) {
      if (CONTROL_FIELDS.has(name) || typeof value !== "string") continue;
      const text = value.trim();
      if (text === "") continue; // a blank field is left out, never sent as ""
      body[name] = name === "company_size" && /^\d+$/.test(text) ? Number(text) : text;
    }
    const consent = form.elements.namedItem("consent");
    if (consent) body.consent = consent.checked; // asked: a blank box is a "no", sent as such
    const query = new URLSearchParams(location.search);
    for (const name of UTM_FIELDS) {
      const value = (query.get(name) || "").trim().slice(0, 200);
      if (value) body[name] = value;
    }
    // The browser's anonymous id, when inbound.js may keep one: the capture ties the pages
    // this browser viewed before to the lead. None before consent, or in cookieless mode.
    const tracker = window.inbound;
    const visitor = tracker && typeof tracker.anonymousId === "function" && tracker.anonymousId();
    if (visitor) body.visitor_id = visitor;
    else delete body.visitor_id;
    if (isUrl(location.href)) body.page_url = location.href;
    if (isUrl(document.referrer)) body.referrer = document.referrer;
    return body;
  }

  function showDone(deliveryUrl) {
    const link = document.getElementById("download-link");
    const safe = typeof deliveryUrl === "string" && /^https?:\/\//i.test(deliveryUrl);
    if (safe) {
      link.href = deliveryUrl;
    } else {
      link.hidden = true;
      document.getElementById("no-download").hidden = false;
    }
    document.getElementById("capture-panel").hidden = true;
    const done = document.getElementById("capture-done");
    done.hidden = false;
    done.focus();
  }

  function showProblem(problem) {
    const unplaced = [];
    for (const error of problem.errors || []) {
      if (!showFieldError(error.field, error.message)) unplaced.push(error);
    }
    if (problem.errors && problem.errors.length && !unplaced.length) {
      showAlert("Please check the highlighted fields.");
    } else {
      showAlert(problem.detail || problem.title);
    }
  }

  function showFieldError(field, message) {
    const name = String(field || "").replace(/^fields\./, "");
    const input = form.elements.namedItem(name);
    if (!input || !input.id || input.type === "hidden" || input.closest(".hp")) return false;
    let note = document.getElementById(input.id + "-error");
    if (!note) {
      note = document.createElement("p");
      note.id = input.id + "-error";
      note.className = "field-error";
      input.insertAdjacentElement("afterend", note);
    }
    note.textContent = readable(name, message);
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", note.id);
    return true;
  }

  // Validation messages may quote the pattern a value missed: say it in words instead.
  function readable(name, message) {
    if (!/pattern/i.test(message)) return message;
    return name === "email" ? "Enter a valid email address." : "This value is not valid.";
  }

  function clearErrors() {
    showAlert("");
    for (const note of form.querySelectorAll(".field-error")) note.textContent = "";
    for (const input of form.querySelectorAll("[aria-invalid]")) {
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    }
  }

  function showAlert(text) {
    alertBox.textContent = text;
  }

  function isUrl(value) {
    return typeof value === "string" && value.length <= 2048 && URL_PATTERN.test(value);
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    // randomUUID needs a secure context (https or localhost); getRandomValues does not.
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
})();
