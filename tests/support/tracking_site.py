"""A site embedding inbound.js in headless Chromium, with the service faked by request routing.

The site's pages, the script and the two endpoints the script calls (`POST /api/v1/batch`,
`GET /api/v1/next`) are answered by Playwright's `route`, so each test decides what the
service answers and reads exactly what the page sent. Beacons bypass routing in Chromium, so
`navigator.sendBeacon` is watched from inside the page (see `BEACON_SPY`).
"""

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import BrowserContext, Page, Route

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "src" / "inbound" / "tracking" / "static" / "inbound.js"
SITE = "https://site.test"  # https: a secure context, as real sites are
HOST = "https://inbound.test"
KEY = "inb_pk_site_test_key"
CORS = {
    "Access-Control-Allow-Origin": SITE,
    "Access-Control-Allow-Headers": "authorization, content-type",
    "Access-Control-Allow-Methods": "GET, POST",
}
# Records every beacon's address, type and text in sessionStorage, which outlives the page.
BEACON_SPY = """
(() => {
  const NativeBlob = window.Blob;
  window.Blob = class extends NativeBlob {
    constructor(parts, options) { super(parts, options); this.sentText = parts.join(""); }
  };
  const send = navigator.sendBeacon.bind(navigator);
  navigator.sendBeacon = (url, data) => {
    const sent = JSON.parse(sessionStorage.getItem("beacons") || "[]");
    sent.push({url: String(url), type: data.type, text: data.sentText});
    sessionStorage.setItem("beacons", JSON.stringify(sent));
    return send(url, data);
  };
})();
"""

Event = dict[str, Any]


def page_html(
    *,
    consent: str = "granted",
    title: str = "The Cloud Cost Guide",
    head: str = "",
    body: str = "",
    before: str = "",
) -> str:
    """A site's page with the script tag; `before` runs before the script (a queueing stub)."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>{head}
<script>{before}</script>
<script src="{HOST}/inbound.js" data-key="{KEY}" data-consent="{consent}" async></script>
</head><body>{body}</body></html>"""


class TrackedSite:
    """The pages, the fake service's answers, and what the page sent to it."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.pages: dict[str, str] = {}
        self.batches: list[dict[str, Any]] = []
        self.batch_content_types: list[str] = []
        self.next_queries: list[dict[str, list[str]]] = []
        self.next_authorizations: list[str | None] = []
        self.recommendations: list[list[dict[str, Any]]] = [[]]
        self.failures_left = 0
        self.refused: list[dict[str, Any]] = []  # batches answered 503
        self.timeline: list[str] = []  # "batch" and "next", in the order they arrived
        context.route(f"{SITE}/**", self._page)
        context.route(f"{HOST}/inbound.js", self._script)
        context.route(f"{HOST}/api/v1/batch", self._batch)
        context.route(f"{HOST}/api/v1/next?**", self._next)
        self.page = context.new_page()

    def open(self, path: str, html: str) -> Page:
        self.pages[urlsplit(path).path] = html
        self.page.goto(f"{SITE}{path}")
        return self.page

    def events(self, type_: str | None = None, event: str | None = None) -> list[Event]:
        found = [e for batch in self.batches for e in batch["batch"]]
        if type_:
            found = [e for e in found if e["type"] == type_]
        if event:
            found = [e for e in found if e.get("event") == event]
        return found

    def wait_for_events(
        self, count: int, type_: str | None = None, event: str | None = None
    ) -> list[Event]:
        """The events of this type (and name) received, once there are at least `count`."""
        what = f"{count} {type_ or ''} {event or ''}"
        self.until(lambda: len(self.events(type_, event)) >= count, what)
        return self.events(type_, event)

    def until(self, check: Callable[[], bool], what: str, seconds: float = 6) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if check():
                return
            self.page.wait_for_timeout(50)
        raise AssertionError(f"timed out waiting for {what}")

    def beacons(self) -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = json.loads(
            self.page.evaluate("sessionStorage.getItem('beacons') || '[]'")
        )
        return sent

    def stored(self) -> dict[str, Any]:
        """What the page keeps: its localStorage and its cookies."""
        state: dict[str, Any] = self.page.evaluate(
            "({local: {...localStorage}, cookie: document.cookie})"
        )
        return state

    def _page(self, route: Route) -> None:
        html = self.pages.get(urlsplit(route.request.url).path)
        if html is None:
            route.fulfill(status=404, body="not here")
        else:
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

    def _script(self, route: Route) -> None:
        route.fulfill(status=200, content_type="text/javascript", body=SCRIPT.read_text())

    def _batch(self, route: Route) -> None:
        if route.request.method == "OPTIONS":
            route.fulfill(status=204, headers=CORS)
            return
        self.timeline.append("batch")
        if self.failures_left:
            self.failures_left -= 1
            self.refused.append(json.loads(route.request.post_data or "{}"))
            route.fulfill(status=503, headers=CORS, json={"title": "Service Unavailable"})
            return
        body = json.loads(route.request.post_data or "{}")
        self.batches.append(body)
        self.batch_content_types.append(route.request.headers.get("content-type", ""))
        answer = {"success": True, "accepted": len(body["batch"]), "duplicates": 0, "rejected": []}
        route.fulfill(status=200, headers=CORS, json=answer)

    def _next(self, route: Route) -> None:
        if route.request.method == "OPTIONS":
            route.fulfill(status=204, headers=CORS)
            return
        self.timeline.append("next")
        self.next_queries.append(parse_qs(urlsplit(route.request.url).query))
        self.next_authorizations.append(route.request.headers.get("authorization"))
        items = self.recommendations[min(len(self.next_queries), len(self.recommendations)) - 1]
        route.fulfill(status=200, headers=CORS, json={"items": items})


def item(slug: str, title: str, *, url: str | None = None, reason: str = "") -> dict[str, Any]:
    """One recommendation as the next-best-content endpoint answers it."""
    asset = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, slug)),
        "slug": slug,
        "title": title,
        "kind": "blog_post",
        "stage": "attract",
        "public_url": url if url is not None else f"{SITE}/{slug}",
    }
    return {"asset": asset, "score": 0.5, "reason": reason}
