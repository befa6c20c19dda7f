// Shows the download link the service put in this page's address (`?delivery_url=...`).
"use strict";

(function () {
  const deliveryUrl = new URLSearchParams(location.search).get("delivery_url");
  // Only web links: anyone can craft this address, so never a javascript: or data: URL.
  if (!deliveryUrl || !/^https?:\/\//i.test(deliveryUrl)) return;
  const link = document.getElementById("download-link");
  link.href = deliveryUrl;
  link.hidden = false;
  document.getElementById("no-download").hidden = true;
})();
