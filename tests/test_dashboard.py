"""The dashboard in headless Chromium, against the real service: what it shows is the JSON report.

A screenshot of the page is kept in `test-artifacts/dashboard.png`.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.conftest import ROOT, _base_url
from tests.problems import body_of
from tests.support.browser import needs_chromium
from tests.support.live_server import LiveServer, live_server

ARTIFACTS = ROOT / "test-artifacts"
ORIGIN = "https://www.example.com"
# (job title, stage reached after the capture, assets captured in order)
LEADS = [
    ("IT Director", "customer", ["cloud-guide", "cost-webinar"]),
    ("IT Director", "sql", ["cloud-guide"]),
    ("IT Director", "mql", ["cost-webinar"]),
    ("IT Director", "lead", ["cloud-guide"]),
    ("Software Engineer", "customer", ["cost-webinar", "cloud-guide", "cost-webinar"]),
    ("Software Engineer", "lead", ["cloud-guide"]),
    ("Software Engineer", "lead", ["cost-webinar"]),
    ("Chef", "mql", ["cloud-guide"]),
]

pytestmark = needs_chromium


@dataclass(frozen=True)
class Service:
    live: LiveServer
    reader_key: str
    leads_only_key: str

    @property
    def admin_key(self) -> str:
        return self.live.admin_headers["Authorization"].removeprefix("Bearer ")

    def report(self, name: str, **params: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.live.url}/api/v1/reports/{name}",
            params=params,
            headers={"Authorization": f"Bearer {self.reader_key}"},
        )
        return body_of(response)


@contextmanager
def running_service(
    name: str,
    worker_id: str,
    tmp_path_factory: pytest.TempPathFactory,
    arrange: Callable[[httpx.Client], None],
) -> Iterator[Service]:
    """A live service arranged by ``arrange`` through its admin key, with a reports key and a
    key that reads leads only."""
    tmp = tmp_path_factory.mktemp(name)
    with (
        live_server(_base_url(), f"inbound_{name}_{worker_id}", tmp) as live,
        httpx.Client(base_url=live.url, headers=live.admin_headers) as admin,
    ):
        arrange(admin)
        reader = admin.post("/api/v1/api-keys", json={"name": "ops", "scopes": ["reports:read"]})
        leads = admin.post("/api/v1/api-keys", json={"name": "crm", "scopes": ["leads:read"]})
        assert reader.status_code == leads.status_code == 201, reader.text
        yield Service(live, reader.json()["key"], leads.json()["key"])


@pytest.fixture(scope="module")
def service(worker_id: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running_service("dashboard", worker_id, tmp_path_factory, _arrange) as running:
        yield running


def _arrange(admin: httpx.Client) -> None:
    """Personas, two assets, and leads captured through the API, some moved on by sales."""
    site = admin.post("/api/v1/sites", json={"name": "Main", "allowed_origins": [ORIGIN]})
    assert site.status_code == 201, site.text
    for slug, name, words in [("it-director", "IT Director", ["director"]),
                              ("developer", "Developer", ["engineer"])]:  # fmt: skip
        rule = {"field": "job_title", "operator": "contains_any", "values": words}
        response = admin.post("/api/v1/personas", json={"slug": slug, "name": name,
                                                        "rules": [rule]})  # fmt: skip
        assert response.status_code == 201, response.text
    for slug, title, kind in [("cloud-guide", "The Cloud Cost Guide", "ebook"),
                              ("cost-webinar", "Cutting Cloud Costs Live", "webinar")]:  # fmt: skip
        body = {"slug": slug, "title": title, "kind": kind, "funnel_stage": "convert"}
        response = admin.post("/api/v1/assets", json=body)
        assert response.status_code == 201, response.text
    public = {"Authorization": f"Bearer {site.json()['public_key']}", "Origin": ORIGIN}
    for n, (job_title, stage, assets) in enumerate(LEADS):
        for asset in assets:
            captured = admin.post(
                "/api/v1/captures",
                json={"asset": asset, "email": f"person{n}@example.com", "job_title": job_title},
                headers=public,
            )
            assert captured.status_code == 201, captured.text
        if stage != "lead":
            lead_id = captured.json()["contact_id"]
            moved = admin.post(f"/api/v1/leads/{lead_id}/stage", json={"stage": stage})
            assert moved.status_code == 200, moved.text


@pytest.fixture
def viewport() -> ViewportSize:
    return {"width": 1280, "height": 1000}


def sign_in(page: Page, service: Service, key: str) -> None:
    page.goto(f"{service.live.url}/dashboard")
    page.fill("input[name=key]", key)
    page.click("button[type=submit]")


def percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.1f}%"


def test_the_page_shows_the_numbers_of_the_json_reports(service: Service, page: Page) -> None:
    today = datetime.now(UTC).date().isoformat()
    sign_in(page, service, service.reader_key)
    page.fill("input[name=from]", "2026-01-01")
    page.fill("input[name=to]", today)
    page.select_option("select[name=stage]", "customer")
    page.click("form.period button[type=submit]")
    expect(page.locator("[data-testid=funnel]").first).to_be_visible()

    period = {"from": "2026-01-01", "to": today}
    funnel = service.report("funnel", **period, by="persona")
    groups = [funnel["total"], *funnel["groups"]]
    cards = page.locator("[data-testid=funnel]")
    assert cards.count() == len(groups)
    assert [g["label"] for g in groups] == [cards.nth(i).locator("h3").inner_text()
                                           for i in range(len(groups))]  # fmt: skip
    keys = ["@all", *(g["key"] or "@none" for g in funnel["groups"])]
    for key, group in zip(keys, groups, strict=True):
        card = page.locator(f"[data-testid=funnel][data-group='{key}']")
        rates = {r["to_stage"]: percent(r["rate"]) for r in group["from_previous"]}
        for stage in group["stages"]:
            row = card.locator(f"[data-stage={stage['stage']}]")
            assert row.locator("[data-testid=count]").text_content() == str(stage["count"])
            if stage["stage"] in rates:
                shown = row.locator("[data-testid=rate]").text_content() or ""
                assert shown.startswith(f"↳ {rates[stage['stage']]} from ")
        [to_customer] = [r for r in group["from_entry"] if r["to_stage"] == "customer"]
        overall = percent(to_customer["rate"])
        assert card.locator("[data-testid=overall]").inner_text() == overall
    # Cohort counts and period counts are never side by side unlabelled.
    funnel_section = page.locator("[data-testid=funnel-section]")
    assets_section = page.locator("[data-testid=assets-section]")
    assert funnel_section.get_attribute("data-mode") == funnel["mode"] == "cohort"
    expect(funnel_section.locator("[data-testid=mode]")).to_have_text("cohort counts")
    assert assets_section.get_attribute("data-mode") == "period"
    expect(assets_section.locator("[data-testid=mode]")).to_have_text("period counts")
    expect(assets_section.locator("thead")).to_contain_text("Captures in period")
    # The numbers are not all zero: the chart has something to show.
    assert funnel["total"]["stages"][0]["count"] == len(LEADS)
    assert group_count(funnel, "it-director", "customer") == 1

    assets = service.report("assets", **period, stage="customer")
    rows = page.locator("[data-testid=assets] tbody tr")
    assert rows.count() == len(assets["assets"])
    for i, asset in enumerate(assets["assets"]):
        row = rows.nth(i)
        assert row.get_attribute("data-asset") == asset["slug"]
        for name in ("captures", "new_contacts", "first_touch", "last_touch"):
            assert row.locator(f"[data-testid={name}]").inner_text() == str(asset[name])
        assert row.locator("[data-testid=linear]").inner_text() == f"{asset['linear']:.2f}"
    assert sum(a["linear"] for a in assets["assets"]) == pytest.approx(2.0)

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "dashboard.png", full_page=True)


def group_count(report: dict[str, Any], key: str, stage: str) -> int:
    [group] = [g for g in report["groups"] if g["key"] == key]
    [count] = [s["count"] for s in group["stages"] if s["stage"] == stage]
    return int(count)


def test_a_key_without_the_reports_scope_is_refused(service: Service, page: Page) -> None:
    sign_in(page, service, service.leads_only_key)
    expect(page.locator("[role=alert]")).to_contain_text("reports:read")
    expect(page.locator("[data-testid=funnel]")).to_have_count(0)


def test_an_unknown_key_is_refused(service: Service, page: Page) -> None:
    sign_in(page, service, "inb_sk_not-a-key")
    expect(page.locator("[role=alert]")).to_contain_text("unknown or revoked key")


def test_a_bad_period_is_explained_on_the_page(service: Service, page: Page) -> None:
    sign_in(page, service, service.reader_key)
    page.goto(f"{service.live.url}/dashboard?from=2026-03-01&to=2026-01-01")
    expect(page.locator("[data-testid=error]")).to_contain_text("`to` comes before `from`")


def test_signing_out_ends_the_session_for_good(service: Service, page: Page) -> None:
    sign_in(page, service, service.reader_key)
    expect(page.locator("[data-testid=funnel]").first).to_be_visible()
    [cookie] = page.context.cookies()
    assert cookie["value"] != service.reader_key  # the browser never holds the key
    assert (cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, "Strict",
                                                                        "/dashboard")  # fmt: skip
    page.click("text=Sign out")
    expect(page.locator("input[name=key]")).to_be_visible()
    assert page.context.cookies() == []
    page.goto(f"{service.live.url}/dashboard")
    expect(page.locator("input[name=key]")).to_be_visible()
    # The old cookie, put back, opens nothing: the session ended on the server.
    page.context.add_cookies([{"name": cookie["name"], "value": cookie["value"],
                               "domain": cookie["domain"], "path": cookie["path"]}])  # fmt: skip
    page.goto(f"{service.live.url}/dashboard")
    expect(page.locator("[role=alert]")).to_contain_text("your session has ended")
    expect(page.locator("[data-testid=funnel]")).to_have_count(0)


def test_an_admin_key_is_kept_out_of_the_browser(service: Service, page: Page) -> None:
    sign_in(page, service, service.admin_key)
    expect(page.locator("[role=alert]")).to_contain_text("`admin`")
    expect(page.locator("[role=alert]")).to_contain_text("must not be used in a browser")
    assert page.context.cookies() == []


def test_a_sign_in_posted_from_another_page_is_refused(service: Service, page: Page) -> None:
    """A form on a page of another origin (here one without any) that signs the visitor in."""
    page.set_content(
        f'<form method="post" action="{service.live.url}/dashboard/session">'
        f'<input name="key" value="{service.reader_key}"><button>go</button></form>'
    )
    page.click("button")
    expect(page.locator("[role=alert]")).to_contain_text("not posted from this dashboard")
    assert page.context.cookies() == []


def test_an_unknown_query_parameter_is_refused(service: Service, page: Page) -> None:
    sign_in(page, service, service.reader_key)
    answer = page.goto(f"{service.live.url}/dashboard?from=2026-01-01&segment=it-director")
    assert answer is not None
    assert answer.status == 400
    expect(page.locator("[data-testid=error]")).to_contain_text("unknown query parameter")
    expect(page.locator("[data-testid=error]")).to_contain_text("segment")


def test_without_a_key_the_page_asks_for_one(service: Service) -> None:
    answer = httpx.get(f"{service.live.url}/dashboard")
    assert answer.status_code == 200
    assert 'name="key"' in answer.text
    assert "default-src 'none'" in answer.headers["content-security-policy"]
