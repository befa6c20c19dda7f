/*! inbound.js: page views, clicks, lead forms and recommendation slots for inbound. */
(() => {
  "use strict";
  const VERSION = "1.0.0";
  const w = window, d = document, nav = navigator;
  if (w.inbound && w.inbound.loaded) return; // the tag included twice

  const ID_KEY = "inbound_anonymous_id", USER_KEY = "inbound_user_id";
  const CHOICE_KEY = "inbound_consent", COOKIE = "inbound_aid";
  const UTM = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"];
  const BATCH = 100, BEACON_BYTES = 60000, FLUSH_MS = 1000, MAX_BACKOFF_MS = 30000;

  const script = d.currentScript || d.querySelector("script[src*='inbound.js'][data-key]");
  const data = (script && script.dataset) || {};
  const key = data.key || "";
  const host = (data.host || (script && script.src ? new URL(script.src, location.href).origin : ""))
    .replace(/\/+$/, "");
  const mode = ["cookieless", "granted"].includes(data.consent) ? data.consent : "required";
  const gpc = nav.globalPrivacyControl === true;

  const memory = {}; // stands in for localStorage where the browser refuses it
  const slotTickets = new WeakMap();
  let queue = [], inflight = null, timer = null, backoff = FLUSH_MS;
  let userId = null, anonymousId = null, lastUrl = null;
  // Sent, never kept, while no id may be stored: the service then stores events cookieless.
  let pageId = null;
  const domReady = new Promise((resolve) => {
    if (d.readyState === "loading") d.addEventListener("DOMContentLoaded", resolve);
    else resolve();
  });

  const read = (name) => {
    try { return localStorage.getItem(name); } catch (e) { return memory[name] || null; }
  };
  const write = (name, value) => {
    try {
      if (value === null) localStorage.removeItem(name); else localStorage.setItem(name, value);
    } catch (e) { memory[name] = value; }
  };
  const cookie = (value) => { // the value is a UUID: nothing to encode
    d.cookie = `${COOKIE}=${value === null ? "; max-age=0" : value + "; max-age=31536000"}; path=/; ` +
      `SameSite=Lax${location.protocol === "https:" ? "; Secure" : ""}`;
  };
  const cookieValue = () => (d.cookie.match(/(?:^|; )inbound_aid=([\w-]{1,100})/) || [])[1] || null;

  // randomUUID exists only in secure contexts (https, localhost); getRandomValues everywhere.
  const uuid = () => (crypto.randomUUID ? crypto.randomUUID() : "10000000-1000-4000-8000-100000000000"
    .replace(/[018]/g, (c) => (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4))))
      .toString(16)));

  // The id is kept (localStorage and a first-party cookie) only when mode and choice allow it.
  const mayStore = () => {
    if (gpc || mode === "cookieless") return false;
    const choice = read(CHOICE_KEY);
    return mode === "granted" ? choice !== "denied" : choice === "granted";
  };
  const forget = () => {
    anonymousId = null;
    write(ID_KEY, null);
    write(USER_KEY, null);
    if (cookieValue() !== null) cookie(null);
  };
  const loadIdentity = () => {
    if (!mayStore()) return forget();
    // An id edited into one the service refuses is replaced.
    anonymousId = [read(ID_KEY), cookieValue()].find((id) => id && /^[\w-]{1,100}$/.test(id)) || uuid();
    write(ID_KEY, anonymousId);
    cookie(anonymousId);
    userId = userId || read(USER_KEY);
  };
  const consent = (given) => {
    if (gpc || mode === "cookieless") return; // then nothing at all is written
    write(CHOICE_KEY, given ? "granted" : "denied");
    if (given) loadIdentity();
    else { forget(); userId = null; }
    hookForms();
  };

  const query = () => new URLSearchParams(location.search);
  const here = () => location.href.split("#")[0];
  const campaign = () => {
    const q = query(), found = {};
    for (const name of UTM) {
      const value = q.get(name);
      if (value) found[name === "utm_campaign" ? "name" : name.slice(4)] = value;
    }
    return found;
  };
  const pageAsset = () => (d.querySelector("meta[name='inbound:asset']") || {}).content;
  const pageFields = () => ({
    url: location.href, path: location.pathname, referrer: d.referrer, title: d.title,
    search: location.search,
  });
  const event = (type, fields) => {
    const message = Object.assign({
      type, messageId: uuid(), timestamp: new Date().toISOString(),
      context: {
        page: pageFields(), userAgent: nav.userAgent, locale: nav.language,
        library: { name: "inbound.js", version: VERSION },
      },
    }, fields);
    const utm = campaign();
    if (Object.keys(utm).length) message.context.campaign = utm;
    // A refusal is said, so that a site in granted mode stores the event without ids too.
    const analytics = anonymousId ? true : read(CHOICE_KEY) === "denied" ? false : null;
    if (analytics !== null) message.context.consent = { categoryPreferences: { analytics } };
    if (gpc) message.context.gpc = true;
    message.anonymousId = anonymousId || pageId || (pageId = uuid());
    if (userId && anonymousId) message.userId = userId;
    queue.push(message);
    schedule(FLUSH_MS);
  };

  const page = (name, properties) => {
    if (typeof name === "object" && name !== null) [name, properties] = [undefined, name];
    const fields = pageFields();
    if (lastUrl && lastUrl !== here()) fields.referrer = lastUrl; // a single-page move
    lastUrl = here();
    if (pageAsset()) fields.asset = pageAsset();
    const message = { properties: Object.assign(fields, properties) };
    if (name) message.name = String(name);
    event("page", message);
    // The view reaches the service before the slots ask what to show next.
    return flush().then(() => domReady).then(refresh);
  };
  const track = (name, properties) => {
    event("track", { event: String(name), properties: Object.assign({}, properties) });
  };
  const identify = (id, traits) => {
    const fields = { traits: Object.assign({}, traits) };
    if (typeof id === "string" && id.indexOf("@") > 0) fields.traits.email = id.trim();
    else if (id !== undefined && id !== null && id !== "") {
      userId = String(id);
      if (mayStore()) write(USER_KEY, userId);
    }
    event("identify", fields);
  };

  // Transport: a batch a second; at once, with a beacon, when the page goes away.
  const schedule = (ms) => {
    if (!timer && !inflight) timer = setTimeout(() => { timer = null; flush(); }, ms);
  };
  const body = (batch) => JSON.stringify({ batch, sentAt: new Date().toISOString(), writeKey: key });
  const size = (text) => new TextEncoder().encode(text).length;
  // text/plain needs no CORS preflight; keepalive lets a request outlive the page (under 64 KB).
  const post = (text) => fetch(`${host}/api/v1/batch`, {
    method: "POST", mode: "cors", credentials: "omit", keepalive: size(text) < BEACON_BYTES,
    headers: { "Content-Type": "text/plain;charset=UTF-8" }, body: text,
  });
  const flush = () => {
    if (inflight) return inflight.then(flush);
    if (!queue.length || !key) return Promise.resolve();
    const batch = queue.splice(0, BATCH);
    inflight = post(body(batch)).then((response) => {
      // A client error would fail again: drop it. Anything else is tried again later.
      if (response.status >= 500 || response.status === 429 || response.status === 408) {
        throw new Error(`HTTP ${response.status}`);
      }
      backoff = FLUSH_MS;
    }).catch(() => {
      queue = batch.concat(queue); // same messageIds: the service drops what it already has
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }).then(() => {
      inflight = null;
      if (queue.length) schedule(backoff === FLUSH_MS ? 0 : backoff);
    });
    return inflight;
  };
  const flushNow = () => {
    if (!key) return;
    clearTimeout(timer);
    timer = null;
    while (queue.length) {
      const batch = [queue.shift()];
      while (queue.length && batch.length < BATCH &&
        size(body(batch.concat(queue[0]))) < BEACON_BYTES) batch.push(queue.shift());
      const text = body(batch);
      let sent = false;
      try {
        sent = nav.sendBeacon(`${host}/api/v1/batch`, new Blob([text], { type: "text/plain" }));
      } catch (e) { /* no beacons here */ }
      if (!sent) post(text).catch(() => {});
    }
  };

  const onClick = (e) => {
    const link = e.target && e.target.closest && e.target.closest("a[data-inbound-asset]");
    if (!link) return;
    const asset = link.getAttribute("data-inbound-asset");
    const box = link.closest("[data-inbound-slot]");
    const slot = box && box.getAttribute("data-inbound-slot");
    track("Content Clicked", slot ? { asset, slot } : { asset });
    if (slot && link.hasAttribute("data-inbound-recommended")) {
      track("Recommendation Clicked", { slot, asset });
    }
  };

  // Lead forms carry the visitor's id, and the campaign, to the capture.
  const isLeadForm = (form) => {
    if (form.hasAttribute("data-inbound-form")) return true;
    const action = form.getAttribute("action");
    try { return !!action && /\/api\/v1\/captures\/?$/.test(new URL(action, location.href).pathname); }
    catch (e) { return false; }
  };
  const hidden = (form, name, value, replace) => {
    let input = form.querySelector(`input[name='${name}']`);
    if (value === null) { // a blank id would be refused: send none
      if (input && input.type === "hidden") input.remove();
      return;
    }
    if (!input) {
      input = form.appendChild(d.createElement("input"));
      input.type = "hidden";
      input.name = name;
    }
    if (replace || !input.value) input.value = value;
  };
  const hookForms = () => {
    const q = query();
    for (const form of d.forms) {
      if (!isLeadForm(form)) continue;
      hidden(form, "visitor_id", anonymousId, true);
      for (const name of UTM) {
        const value = (q.get(name) || "").trim().slice(0, 200);
        if (value) hidden(form, name, value, false);
      }
    }
  };

  // Slots: built from elements and text, never from HTML.
  const refresh = () => {
    hookForms();
    return Promise.all(Array.from(d.querySelectorAll("[data-inbound-slot]"), fill));
  };
  const fill = (box) => {
    const slot = box.getAttribute("data-inbound-slot");
    if (!slot || !key) return Promise.resolve();
    const q = new URLSearchParams();
    if (anonymousId) q.set("anonymous_id", anonymousId);
    if (pageAsset()) q.set("asset", pageAsset()); // left out of the answer
    q.set("slot", slot);
    q.set("k", String(Math.min(20, Math.max(1, parseInt(box.getAttribute("data-inbound-k"), 10) || 3))));
    const ticket = {};
    slotTickets.set(box, ticket);
    return fetch(`${host}/api/v1/next?${q}`, {
      mode: "cors", credentials: "omit",
      headers: { Accept: "application/json", Authorization: `Bearer ${key}` },
    }).then((response) => (response.ok ? response.json() : null)).then((answer) => {
      // Only the newest answer counts: an older one may arrive late.
      if (slotTickets.get(box) !== ticket || !answer || !Array.isArray(answer.items)) return;
      const items = answer.items.filter((item) => item && item.asset);
      if (items.length) show(box, slot, items);
    }).catch(() => {}); // the slot keeps what it showed
  };
  const show = (box, slot, items) => {
    const list = d.createElement("ul");
    list.className = "inbound-recommendations";
    const assets = items.map(({ asset, reason }) => {
      const name = String(asset.slug || asset.id);
      const url = typeof asset.public_url === "string" ? asset.public_url : "";
      const li = list.appendChild(d.createElement("li"));
      const title = li.appendChild(d.createElement(/^https?:\/\//i.test(url) ? "a" : "span"));
      title.textContent = String(asset.title || name);
      title.setAttribute("data-inbound-asset", name);
      if (title.tagName === "A") {
        title.href = url;
        title.setAttribute("data-inbound-recommended", "");
      }
      if (reason) li.append(" ", Object.assign(d.createElement("small"), { textContent: String(reason) }));
      return name;
    });
    box.replaceChildren(list);
    box.setAttribute("data-inbound-filled", "");
    track("Recommendation Shown", { slot, assets });
  };

  // Single-page sites: a new address is a new page view.
  const onNavigate = () => setTimeout(() => { if (here() !== lastUrl) page(); }, 0);
  const pushState = history.pushState;
  history.pushState = function () {
    const result = pushState.apply(this, arguments);
    onNavigate();
    return result;
  };
  w.addEventListener("popstate", onNavigate);
  w.addEventListener("pagehide", flushNow);
  d.addEventListener("visibilitychange", () => { if (d.visibilityState === "hidden") flushNow(); });
  d.addEventListener("click", onClick, true);
  d.addEventListener("submit", hookForms, true);

  const api = {
    loaded: true, version: VERSION, page, track, identify, consent, refresh,
    anonymousId: () => anonymousId,
    push: (call) => replay(call), // a stub's call made after this script loaded
  };
  const replay = (call) => {
    const [method, ...args] = Array.from(call || []);
    if (method !== "push" && typeof api[method] === "function") api[method](...args);
  };

  if (!key) console.warn("inbound.js: no data-key, nothing is sent");
  loadIdentity();
  const waiting = Array.isArray(w.inbound) ? w.inbound.slice() : [];
  w.inbound = api;
  waiting.forEach(replay);
  domReady.then(() => {
    hookForms();
    // Without a queued page() call, the page view is sent here, after queued consent calls.
    if (!waiting.some((call) => call && call[0] === "page")) page();
  });
})();
