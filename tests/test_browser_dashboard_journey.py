"""The dashboard's journey section in headless Chromium, against the real service: with a persona
and a period chosen on the page, every number it shows is the JSON journey report's.

Leads are captured through the API, answer surveys through signed links (NPS as leads, CES and
CSAT once sales moved them on), so each answer records the stage and persona of its moment.
A screenshot is kept in `test-artifacts/dashboard-journey.png`.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.problems import body_of
from tests.support.browser import needs_chromium
from tests.test_dashboard import ARTIFACTS, LEADS, ORIGIN, Service, running_service, sign_in

# (slug, metric, CES scale); every stage shows CES on both scales.
SURVEYS = [("nps", "nps", None), ("ces5", "ces", 5), ("ces7", "ces", 7), ("csat", "csat", None)]
# Scores per lead (by its place in LEADS): the NPS as a lead, then CES 1-5, CES 1-7, CSAT.
SCORES = [(10, 5, 6, 5), (9, 4, 7, 4), (6, 2, 3, 2), (8, 3, 5, 4), (10, 4, 6, 5), (3, 1, 2, 1),
          (7, 5, 7, 3), (9, 3, 4, 4)]  # fmt: skip

PERSONA_OF = {"IT Director": "it-director", "Software Engineer": "developer", "Chef": None}

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def service(worker_id: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running_service("journey", worker_id, tmp_path_factory, _arrange) as running:
        yield running


def _created(response: httpx.Response) -> dict[str, Any]:
    return body_of(response, 201)


def _answer(admin: httpx.Client, survey: str, contact_id: str, score: int) -> None:
    link = _created(admin.post(f"/api/v1/surveys/{survey}/links", json={"contact_id": contact_id}))
    _created(admin.post("/api/v1/survey-answers", json={"token": link["token"], "score": score}))


def _arrange(admin: httpx.Client) -> None:
    """Two personas, an asset, a survey of each kind, and the leads of the dashboard's test."""
    site = _created(admin.post("/api/v1/sites", json={"name": "Main", "allowed_origins": [ORIGIN]}))
    for slug, name, words in [("it-director", "IT Director", ["director"]),
                              ("developer", "Developer", ["engineer"])]:  # fmt: skip
        rule = {"field": "job_title", "operator": "contains_any", "values": words}
        _created(admin.post("/api/v1/personas", json={"slug": slug, "name": name,
                                                      "rules": [rule]}))  # fmt: skip
    for slug in ("cloud-guide", "cost-webinar"):
        made = {"slug": slug, "title": slug.title(), "kind": "ebook", "funnel_stage": "convert"}
        _created(admin.post("/api/v1/assets", json=made))
    touchpoint = {"slug": "journey", "name": "Journey", "kind": "channel", "channel": "email"}
    _created(admin.post("/api/v1/touchpoints", json=touchpoint))
    for slug, metric, scale in SURVEYS:
        survey = {"slug": slug, "touchpoint": "journey", "metric": metric,
                  "question": f"{slug}?", **({"scale": scale} if scale else {})}  # fmt: skip
        _created(admin.post("/api/v1/surveys", json=survey))
    public = {"Authorization": f"Bearer {site['public_key']}", "Origin": ORIGIN}
    for n, ((job_title, stage, assets), scores) in enumerate(zip(LEADS, SCORES, strict=True)):
        for asset in assets:
            captured = _created(admin.post(
                "/api/v1/captures", headers=public,
                json={"asset": asset, "email": f"journey{n}@example.com", "job_title": job_title},
            ))  # fmt: skip
        contact_id = captured["contact_id"]
        _answer(admin, "nps", contact_id, scores[0])
        if stage != "lead":
            moved = admin.post(f"/api/v1/leads/{contact_id}/stage", json={"stage": stage})
            assert moved.status_code == 200, moved.text
        for (slug, _, _), score in zip(SURVEYS[1:], scores[1:], strict=True):
            _answer(admin, slug, contact_id, score)


@pytest.fixture
def viewport() -> ViewportSize:
    return {"width": 1280, "height": 1400}


def percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.1f}%"


def shown(value: float | None, places: int) -> str:
    return "n/a" if value is None else f"{value:.{places}f}"


def shown_interval(figures: dict[str, Any], places: int) -> str:
    if figures["low"] is None:
        return ""
    return f"{figures['low']:.{places}f} to {figures['high']:.{places}f}"


def text(row: Any, testid: str) -> list[str]:
    cells = row.locator(f"[data-testid={testid}]")
    return [(cells.nth(i).text_content() or "").strip() for i in range(cells.count())]


@pytest.mark.parametrize("persona", ["it-director", "developer"])
def test_the_journey_section_shows_the_json_reports_numbers(
    service: Service, page: Page, persona: str
) -> None:
    today = datetime.now(UTC).date()
    first, last = (today - timedelta(days=30)).isoformat(), today.isoformat()
    sign_in(page, service, service.reader_key)
    # The period in the page's header, then the persona in the journey's own filter.
    page.fill("input[name=from]", first)
    page.fill("input[name=to]", last)
    page.click("form.period:not([data-testid]) button[type=submit]")
    section = page.locator("[data-testid=journey-section]")
    section.locator("select[name=persona]").select_option(persona)
    section.locator("[data-testid=journey-filter] button[type=submit]").click()
    expect(section).to_have_attribute("data-persona", persona)
    assert f"persona={persona}" in page.url
    assert f"from={first}" in page.url

    report = service.report("journey", **{"from": first, "to": last, "persona": persona})
    assert report["persona"] == persona
    rows = section.locator("[data-testid=journey] tbody tr")
    assert [rows.nth(i).get_attribute("data-stage") for i in range(rows.count())] == [
        s["stage"] for s in report["stages"]
    ]
    answers = 0
    for stage in report["stages"]:
        row = section.locator(f"tr[data-stage={stage['stage']}]")
        assert text(row, "count") == [str(stage["count"])]
        ratio = stage["from_previous"]
        if ratio is None:
            assert text(row, "rate") == []
        else:
            assert text(row, "rate") == [percent(ratio["rate"])]
            assert text(row, "numerator") == [str(ratio["numerator"])]
            assert text(row, "denominator") == [str(ratio["denominator"])]
        assert text(row, "nps") == [shown(stage["nps"]["value"], 1)]
        assert text(row, "nps-interval") == [shown_interval(stage["nps"], 1)]
        assert text(row, "nps-n") == [str(stage["nps"]["n"])]
        assert text(row, "ces") == [shown(e["figures"]["value"], 2) for e in stage["ces"]]
        assert text(row, "ces-interval") == [shown_interval(e["figures"], 2) for e in stage["ces"]]
        assert text(row, "ces-n") == [str(e["figures"]["n"]) for e in stage["ces"]]
        assert text(row, "csat") == [shown(stage["csat"]["value"], 1)]
        assert text(row, "csat-interval") == [shown_interval(stage["csat"], 1)]
        assert text(row, "csat-n") == [str(stage["csat"]["n"])]
        answers += stage["nps"]["n"] + stage["csat"]["n"] + sum(e["figures"]["n"]
                                                                for e in stage["ces"])  # fmt: skip
    # The persona's leads and answers are there: the page has numbers to show.
    leads = [lead for lead in LEADS if PERSONA_OF[lead[0]] == persona]
    assert report["stages"][0]["count"] == len(leads)
    assert answers == 4 * len(leads)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "dashboard-journey.png", full_page=True)
