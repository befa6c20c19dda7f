"""The example landing page (examples/landing/) in headless Chromium, against the real service.

A visitor fills in the e-book's form, with and without JavaScript, and gets the download link;
the lead is then read back through the API.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, Route, expect

from tests.conftest import _base_url
from tests.problems import body_of
from tests.support.browser import needs_chromium
from tests.support.live_server import LiveServer, landing_page, site_service

ASSET = "cloud-cost-guide-2026"  # the example README's e-book
CONSENT_VERSION = "2026-01"  # the version the pages send with their consent box
CAPTURES = "/api/v1/captures"

# What the example README's e-book asks for: what the page shows, but a job title required, so
# that the fetch form's following of the definition shows.
FORM_FIELDS = [
    {"name": "email", "label": "Work email"},
    *({"name": name, "required": False}
      for name in ("first_name", "last_name", "company", "company_size")),
    {"name": "job_title", "label": "Job title"},
    {"name": "consent", "required": False, "text_version": CONSENT_VERSION},
]  # fmt: skip

pytestmark = needs_chromium


@dataclass(frozen=True)
class Landing:
    """The service with a site, two personas and a gated e-book, and the page that sells it."""

    service: LiveServer
    admin: httpx.Client
    origin: str

    @property
    def delivery_url(self) -> str:
        return f"{self.origin}/ebook.pdf"

    def lead(self, contact_id: str) -> dict[str, Any]:
        response = self.admin.get(f"/api/v1/leads/{contact_id}")
        return body_of(response)

    def capture(self, capture_id: str) -> dict[str, Any]:
        response = self.admin.get(f"{CAPTURES}/{capture_id}")
        return body_of(response)


@pytest.fixture(scope="module")
def landing(worker_id: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Landing]:
    tmp = tmp_path_factory.mktemp("browser")
    with site_service(_base_url(), f"inbound_browser_{worker_id}", tmp) as (service, admin, origin):
        public_key = _arrange(admin, origin)
        with landing_page(origin, service.url, public_key, ASSET, tmp / "landing.log"):
            yield Landing(service=service, admin=admin, origin=origin)


def _arrange(admin: httpx.Client, origin: str) -> str:
    """Create the site (answering its public key), the personas and the e-book."""
    site = admin.post("/api/v1/sites", json={"name": "Northwind", "allowed_origins": [origin]})
    assert site.status_code == 201, site.text
    personas = [
        {"slug": "it-leader", "name": "IT Leader", "values": ["director"]},
        {"slug": "developer", "name": "Developer", "values": ["engineer", "developer"]},
    ]
    for persona in personas:
        rule = {"field": "job_title", "operator": "contains_any", "values": persona.pop("values")}
        response = admin.post("/api/v1/personas", json={**persona, "rules": [rule]})
        assert response.status_code == 201, response.text
    asset = admin.post(
        "/api/v1/assets",
        json={
            "slug": ASSET,
            "title": "The Cloud Cost Guide",
            "kind": "ebook",
            "funnel_stage": "convert",
            "gated": True,
            "form_fields": FORM_FIELDS,
            "delivery_url": f"{origin}/ebook.pdf",
            # Equally relevant to both: the job title typed in the form decides the persona.
            "personas": [{"persona": p["slug"], "relevance": 3} for p in personas],
        },
    )
    assert asset.status_code == 201, asset.text
    public_key: str = site.json()["public_key"]
    return public_key


def fill_in(page: Page, email: str, job_title: str) -> None:
    page.fill("#email", email)
    page.fill("#first_name", "Dana")
    page.fill("#last_name", "Reyes")
    page.fill("#company", "Acme")
    page.fill("#job_title", job_title)
    page.fill("#company_size", "450")
    page.check("#consent")


def captures_of(lead: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry for entry in lead["timeline"] if entry["type"] == "capture"]


def watch_posts(page: Page) -> list[Request]:
    """The page's posts to the capture endpoint from now on."""
    posts: list[Request] = []

    def record(request: Request) -> None:
        if request.method == "POST" and urlsplit(request.url).path == CAPTURES:
            posts.append(request)

    page.on("request", record)
    return posts


def watch_console(page: Page) -> list[str]:
    """What the page logs from now on: the browser says there why a request was blocked."""
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    return messages


def outcome(page: Page) -> str:
    """Wait until the fetch form shows the download or an alert; answer the alert's text."""
    page.wait_for_selector("#capture-done:not([hidden]), #form-alert:not(:empty)")
    return page.inner_text("#form-alert")


def assert_stored(landing: Landing, contact_id: str, email: str, persona: str) -> dict[str, Any]:
    lead = landing.lead(contact_id)
    assert lead["email"] == email
    assert (lead["first_name"], lead["last_name"], lead["company"]) == ("Dana", "Reyes", "Acme")
    assert lead["company_size"] == 450
    assert lead["persona"]["slug"] == persona
    assert lead["stage"] == "lead"
    assert lead["consent"]["given"] is True
    assert lead["consent"]["text_version"] == CONSENT_VERSION
    return lead


def test_plain_form_lands_on_the_thank_you_page_with_the_download_link(
    landing: Landing, page: Page, tmp_path: Path
) -> None:
    page.goto(f"{landing.origin}/")
    fill_in(page, " Dana.Plain@Example.com", "IT Director")

    page.click("button[type=submit]")

    page.wait_for_url(f"{landing.origin}/thank-you.html?**")
    link = page.locator("#download-link")
    expect(link).to_be_visible()
    expect(link).to_have_attribute("href", landing.delivery_url)
    expect(page.locator("#no-download")).to_be_hidden()
    page.screenshot(path=tmp_path / "plain-form-thank-you.png", full_page=True)
    query = parse_qs(urlsplit(page.url).query)
    assert query["delivery_url"] == [landing.delivery_url]
    capture = landing.capture(query["capture_id"][0])
    assert (capture["consent"], capture["consent_text_version"]) == (True, CONSENT_VERSION)
    assert not {"_key", "_redirect", "_hp"} & set(capture["fields"])
    lead = assert_stored(landing, capture["contact_id"], "dana.plain@example.com", "it-leader")
    assert [entry["id"] for entry in captures_of(lead)] == [capture["id"]]


def test_fetch_form_double_clicked_shows_the_download_link_and_captures_once(
    landing: Landing, page: Page, tmp_path: Path
) -> None:
    page.goto(f"{landing.origin}/fetch.html")
    fill_in(page, "dana.fetch@example.com", "Director of Infrastructure")
    posts = watch_posts(page)
    console = watch_console(page)

    page.dblclick("button[type=submit]")

    assert outcome(page) == "", console
    link = page.locator("#download-link")
    expect(link).to_be_visible()
    expect(link).to_have_attribute("href", landing.delivery_url)
    expect(page.locator("#capture-form")).to_be_hidden()
    page.screenshot(path=tmp_path / "fetch-form-done.png", full_page=True)
    assert page.url == f"{landing.origin}/fetch.html"  # shown in place, no page load
    answer = posts[0].response()
    assert answer is not None
    assert answer.status == 201
    accepted = answer.json()
    assert accepted["delivery_url"] == landing.delivery_url
    keys = {request.all_headers().get("idempotency-key") for request in posts}
    assert len(keys) == 1
    assert None not in keys
    lead = assert_stored(landing, accepted["contact_id"], "dana.fetch@example.com", "it-leader")
    assert [entry["id"] for entry in captures_of(lead)] == [accepted["capture_id"]]
    capture = landing.capture(accepted["capture_id"])
    assert capture["idempotency_key"] in keys
    assert capture["page_url"] == f"{landing.origin}/fetch.html"


def test_fetch_form_retried_after_a_lost_answer_captures_once(
    landing: Landing, page: Page, tmp_path: Path
) -> None:
    page.goto(f"{landing.origin}/fetch.html?utm_source=newsletter")
    fill_in(page, "dana.retry@example.com", "Senior Software Engineer")
    delivered: list[dict[str, Any]] = []

    def deliver_then_drop(route: Route) -> None:
        """The service records the capture, but its answer never reaches the page."""
        delivered.append(route.fetch().json())
        route.abort("connectionreset")

    page.route(f"**{CAPTURES}", deliver_then_drop, times=1)
    page.click("button[type=submit]")
    assert "could not reach the server" in outcome(page)
    assert len(delivered) == 1
    page.unroute_all()  # the retry reaches the service for real
    posts = watch_posts(page)

    page.click("button[type=submit]")

    expect(page.locator("#download-link")).to_have_attribute("href", landing.delivery_url)
    page.screenshot(path=tmp_path / "fetch-form-retried.png", full_page=True)
    answer = posts[0].response()
    assert answer is not None
    assert answer.status == 201
    replayed = answer.json()
    assert replayed == delivered[0]
    lead = assert_stored(landing, replayed["contact_id"], "dana.retry@example.com", "developer")
    assert [entry["id"] for entry in captures_of(lead)] == [replayed["capture_id"]]
    assert lead["first_touch"]["utm_source"] == "newsletter"


def test_fetch_form_shows_the_services_field_errors_next_to_the_fields(
    landing: Landing, page: Page, tmp_path: Path
) -> None:
    page.goto(f"{landing.origin}/fetch.html")
    # A browser takes an email without a dot in its domain; the service does not.
    fill_in(page, "dana@localhost", "IT Director")
    posts = watch_posts(page)
    console = watch_console(page)

    page.click("button[type=submit]")

    assert outcome(page) == "Please check the highlighted fields.", console
    # The service's own words, which name what an email must be.
    expect(page.locator("#email-error")).to_have_text(re.compile(r"^must be an email address "))
    expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#email")).to_have_attribute("aria-describedby", "email-error")
    expect(page.locator("#capture-form")).to_be_visible()
    expect(page.locator("#download-link")).to_be_hidden()
    page.screenshot(path=tmp_path / "fetch-form-error.png", full_page=True)
    answer = posts[0].response()
    assert answer is not None
    assert answer.status == 400
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_honeypot_is_out_of_sight_and_out_of_reach_for_people(landing: Landing, page: Page) -> None:
    for path in ("/", "/fetch.html"):
        page.goto(f"{landing.origin}{path}")
        honeypot = page.locator("input[name=_hp]")
        box = honeypot.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= 0
        expect(honeypot).to_have_attribute("tabindex", "-1")
        expect(honeypot).to_have_attribute("autocomplete", "off")
        expect(page.locator(".hp")).to_have_attribute("aria-hidden", "true")
        page.focus("#company_size")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.name") != "_hp"


@pytest.mark.parametrize("javascript", [True, False], ids=["utm-js", "no-javascript"])
def test_plain_form_records_the_campaign_in_the_pages_address(
    landing: Landing, browser: Browser, javascript: bool
) -> None:
    context = browser.new_context(java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto(f"{landing.origin}/?utm_source=linkedin&utm_medium=paid-social&utm_campaign=q3")
        fill_in(page, f"dana.utm.{javascript}@example.com".lower(), "IT Director")
        page.click("button[type=submit]")
        page.wait_for_url(f"{landing.origin}/thank-you.html?**")
        capture_id = parse_qs(urlsplit(page.url).query)["capture_id"][0]
    finally:
        context.close()
    capture = landing.capture(capture_id)
    utms = (capture["utm_source"], capture["utm_medium"], capture["utm_campaign"])
    assert utms == ("linkedin", "paid-social", "q3")
    lead = landing.lead(capture["contact_id"])
    assert lead["first_touch"]["utm_source"] == "linkedin"


def test_fetch_form_marks_the_fields_the_asset_requires(landing: Landing, page: Page) -> None:
    page.goto(f"{landing.origin}/fetch.html")
    expect(page.locator("#job_title")).to_have_attribute("required", "")
    expect(page.locator("label[for=job_title] .optional")).to_be_hidden()
    expect(page.locator("label[for=company] .optional")).to_be_visible()
    assert page.locator("#company").get_attribute("required") is None
