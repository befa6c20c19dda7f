// The site's own consent banner, for a site whose tracking consent mode is `required`: it asks
// once, remembers the answer in this browser, and tells inbound.js on every page
// (`inbound.consent(true)` or `inbound.consent(false)`). Before an answer, and after a "no",
// inbound.js keeps no id in the browser. In the other modes the banner never shows.
"use strict";

(function () {
  const ANSWER = "northwind_analytics_consent";
  const banner = document.getElementById("consent-banner");
  const snippet = document.querySelector("script[data-consent]");
  if (!banner || !snippet || snippet.dataset.consent !== "required") return;

  let answer = null;
  try {
    answer = localStorage.getItem(ANSWER);
  } catch (error) {
    answer = null; // storage refused: ask on every page
  }
  if (answer === "yes" || answer === "no") {
    window.inbound.consent(answer === "yes");
    return;
  }
  banner.hidden = false;
  for (const button of banner.querySelectorAll("button[data-answer]")) {
    button.addEventListener("click", () => {
      const yes = button.dataset.answer === "yes";
      try {
        localStorage.setItem(ANSWER, yes ? "yes" : "no");
      } catch (error) {
        // not remembered: the banner asks again on the next page
      }
      window.inbound.consent(yes);
      banner.hidden = true;
    });
  }
})();
