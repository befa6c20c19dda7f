"""The whole journey in headless Chromium against the real service: the example landing page
with inbound.js, a visitor who agrees to be counted, reads a blog post and a case study
anonymously, then fills in the e-book's form; the pages read before the form become the lead's
history, and the "Read next" slot fills from the next-best-content answer and changes after a
new page view. A visitor who says no stays nobody's: the same pages and form leave the lead
without identities or activity.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import _base_url
from tests.support.browser import needs_chromium
from tests.support.live_server import LiveServer, landing_page, site_service
from tests.test_browser import ASSET, FORM_FIELDS

BLOG = "five-sources-of-cloud-waste"  # the slugs examples/landing's pages name
CASE_STUDY = "acme-halves-its-cloud-bill"

pytestmark = needs_chromium


@dataclass(frozen=True)
class Journey:
    service: LiveServer
    admin: httpx.Client
    sales: httpx.Client  # a `leads:read` key, as a sales tool has
    origin: str
    assets: dict[str, str]  # slug -> id

    def get(self, path: str) -> Any:
        response = self.sales.get(path)
        assert response.status_code == 200, response.text
        return response.json()


def _assets(origin: str) -> list[dict[str, Any]]:
    """The example's content: the gated e-book, the two pages, and a checklist: as many as the
    slot shows beside a page, so that what the visitor reads leaves it."""
    return [
        {"slug": ASSET, "title": "The Cloud Cost Guide", "kind": "ebook",
         "funnel_stage": "convert", "gated": True, "form_fields": FORM_FIELDS,
         "url": f"{origin}/", "delivery_url": f"{origin}/ebook.pdf"},
        {"slug": BLOG, "title": "Five sources of cloud waste", "kind": "blog_post",
         "funnel_stage": "attract", "url": f"{origin}/blog.html"},
        {"slug": CASE_STUDY, "title": "How Acme halved its cloud bill", "kind": "case_study",
         "funnel_stage": "close", "url": f"{origin}/case-study.html"},
        {"slug": "cost-review-checklist", "title": "The cost review checklist",
         "kind": "checklist", "funnel_stage": "convert", "url": f"{origin}/checklist.html"},
    ]  # fmt: skip


def _arrange(admin: httpx.Client, origin: str) -> tuple[str, dict[str, str], str]:
    """The site (consent required), a persona and the assets; its public key, the assets' ids
    and a `leads:read` key."""
    site = admin.post(
        "/api/v1/sites",
        json={"name": "Northwind", "allowed_origins": [origin], "tracking_consent": "required"},
    )
    assert site.status_code == 201, site.text
    rule = {"field": "job_title", "operator": "contains_any", "values": ["director"]}
    persona = admin.post(
        "/api/v1/personas", json={"slug": "it-leader", "name": "IT Leader", "rules": [rule]}
    )
    assert persona.status_code == 201, persona.text
    ids = {}
    for asset in _assets(origin):
        tags = [{"persona": "it-leader", "relevance": 3}]
        response = admin.post("/api/v1/assets", json={**asset, "personas": tags})
        assert response.status_code == 201, response.text
        ids[asset["slug"]] = response.json()["id"]
    key = admin.post("/api/v1/api-keys", json={"name": "sales tool", "scopes": ["leads:read"]})
    assert key.status_code == 201, key.text
    return site.json()["public_key"], ids, key.json()["key"]


@pytest.fixture(scope="module")
def journey(worker_id: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Journey]:
    tmp = tmp_path_factory.mktemp("journey")
    with site_service(_base_url(), f"inbound_journey_{worker_id}", tmp) as (service, admin, origin):
        public_key, ids, sales_key = _arrange(admin, origin)
        sales_headers = {"Authorization": f"Bearer {sales_key}"}
        with (
            landing_page(
                origin, service.url, public_key, ASSET, tmp / "landing.log", "--consent", "required"
            ),
            httpx.Client(base_url=service.url, headers=sales_headers) as sales,
        ):
            yield Journey(service, admin, sales, origin, ids)


def slot_assets(page: Page) -> list[str]:
    """The assets the "Read next" slot shows, once inbound.js has filled it."""
    expect(page.locator("[data-inbound-slot][data-inbound-filled]")).to_have_count(1)
    links = page.locator("[data-inbound-slot] a[data-inbound-asset]")
    return [links.nth(n).get_attribute("data-inbound-asset") or "" for n in range(links.count())]


def test_pages_read_before_the_form_become_the_leads_history(
    journey: Journey, page: Page, tmp_path: Path
) -> None:
    batches: list[int] = []
    page.on(
        "response",
        lambda r: batches.append(r.status) if urlsplit(r.url).path == "/api/v1/batch" else None,
    )
    # The first page asks; once the visitor agrees, inbound.js keeps an id in the browser.
    page.goto(f"{journey.origin}/fetch.html?utm_source=newsletter&utm_campaign=spring")
    page.click("#consent-banner button[data-answer=yes]")
    expect(page.locator("#consent-banner")).to_be_hidden()
    visitor = page.evaluate("inbound.anonymousId()")
    assert visitor

    # Two pages read anonymously; the slot fills, and changes with the new view.
    with page.expect_response(lambda r: urlsplit(r.url).path == "/api/v1/next"):
        page.click("header nav a[href='blog.html']")
    on_blog = slot_assets(page)
    assert sorted(on_blog) == sorted([ASSET, CASE_STUDY, "cost-review-checklist"])
    page.screenshot(path=tmp_path / "blog.png", full_page=True)
    page.click(f".slot a[data-inbound-asset={CASE_STUDY}]")
    page.wait_for_url(f"{journey.origin}/case-study.html")
    on_case_study = slot_assets(page)
    # Read already, or this page's own: both left out now.
    assert sorted(on_case_study) == sorted([ASSET, "cost-review-checklist"])
    page.screenshot(path=tmp_path / "case-study.png", full_page=True)

    # Then the e-book's form, the plain one: inbound.js put the visitor's id in it.
    page.click(f"header a[data-inbound-asset={ASSET}]")
    page.wait_for_url(f"{journey.origin}/index.html")
    expect(page.locator("form input[name=visitor_id]")).to_have_value(visitor)
    page.fill("#email", "dana.journey@example.com")
    page.fill("#job_title", "IT Director")
    page.click("button[type=submit]")
    page.wait_for_url(f"{journey.origin}/thank-you.html?**")
    capture_id = parse_qs(urlsplit(page.url).query)["capture_id"][0]
    page.wait_for_timeout(1500)  # the thank-you page's view, by the next flush
    assert batches
    assert set(batches) == {200}

    lead_id = journey.get(f"/api/v1/captures/{capture_id}")["contact_id"]
    identities = journey.get(f"/api/v1/leads/{lead_id}/identities")["identities"]
    assert {(i["kind"], i["external_id"]) for i in identities} == {("anonymous", visitor)}
    activity = journey.get(f"/api/v1/leads/{lead_id}/activity?limit=200")["items"]
    views = [e for e in reversed(activity) if e["type"] == "page"]
    paths = [urlsplit(e["url"]).path for e in views]
    # The first page's view came before the answer: stored cookieless, nobody's.
    assert paths[:3] == ["/blog.html", "/case-study.html", "/index.html"]
    assert "/fetch.html" not in paths
    assert views[0]["asset_id"] == journey.assets[BLOG]
    assert views[1]["asset_id"] == journey.assets[CASE_STUDY]
    assert views[2]["asset_id"] == journey.assets[ASSET]
    assert all(e["anonymous_id"] == visitor for e in activity)
    shown = [e for e in activity if e["event"] == "Recommendation Shown"]
    assert {e["properties"]["slot"] for e in shown} == {"read-next"}
    clicked = [e["properties"] for e in activity if e["event"] == "Content Clicked"]
    assert {"asset": BLOG} in clicked  # the header's link
    recommended = [e["properties"] for e in activity if e["event"] == "Recommendation Clicked"]
    assert recommended == [{"slot": "read-next", "asset": CASE_STUDY}]
    lead = journey.get(f"/api/v1/leads/{lead_id}")
    assert lead["email"] == "dana.journey@example.com"


def test_a_visitor_who_says_no_stays_nobodys(journey: Journey, page: Page) -> None:
    page.goto(f"{journey.origin}/blog.html")
    page.click("#consent-banner button[data-answer=no]")
    expect(page.locator("#consent-banner")).to_be_hidden()
    page.click("header a[href='case-study.html']")
    page.wait_for_url(f"{journey.origin}/case-study.html")
    expect(page.locator("#consent-banner")).to_be_hidden()  # the answer is remembered
    assert page.evaluate("inbound.anonymousId()") is None

    page.click(f"header a[data-inbound-asset={ASSET}]")
    page.wait_for_url(f"{journey.origin}/index.html")
    assert page.locator("form input[name=visitor_id]").count() == 0
    page.fill("#email", "sam.no@example.com")
    page.fill("#job_title", "IT Director")
    page.click("button[type=submit]")
    page.wait_for_url(f"{journey.origin}/thank-you.html?**")
    page.wait_for_timeout(1500)

    capture_id = parse_qs(urlsplit(page.url).query)["capture_id"][0]
    lead_id = journey.get(f"/api/v1/captures/{capture_id}")["contact_id"]
    assert journey.get(f"/api/v1/leads/{lead_id}/identities")["identities"] == []
    assert journey.get(f"/api/v1/leads/{lead_id}/activity")["items"] == []
    stored = page.evaluate("({...localStorage})")
    assert stored == {"inbound_consent": "denied", "northwind_analytics_consent": "no"}
    assert page.context.cookies() == []
