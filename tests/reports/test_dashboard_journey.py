"""The dashboard's journey section as served (no script runs): the JSON report's numbers for the
page's period and the persona chosen, no personal data, the dashboard's caching headers, and a
bad persona explained on the page."""

import re

import httpx
import pytest

from tests.conftest import Headers
from tests.reports.journey_answers import JourneyAnswers
from tests.reports.people import JANUARY, PEOPLE, Ids
from tests.reports.test_dashboard_page import refused
from tests.reports.test_dashboard_sessions import page
from tests.reports.test_journey import answers, journey

__all__ = ["answers"]  # the fixture, used by name

QUERY = "?from=2026-01-01&to=2026-01-31"


def section(html: str) -> str:
    found = re.search(r'<section data-testid="journey-section".*?</section>', html, re.S)
    assert found is not None
    return found.group(0)


def cells(html: str, stage: str, name: str) -> list[str]:
    [row] = re.findall(rf'<tr data-stage="{stage}">(.*?)</tr>', section(html), re.S)
    return [c.strip() for c in re.findall(rf'data-testid="{name}">([^<]*)<', row)]


@pytest.mark.parametrize("persona", ["", "cio"], ids=["everyone", "cio"])
async def test_the_section_shows_the_reports_numbers(
    client: httpx.AsyncClient, reader: Headers, token: str, ids: Ids, answers: JourneyAnswers,
    persona: str,
) -> None:  # fmt: skip
    response = await page(client, token, f"{QUERY}&persona={persona}")
    assert response.status_code == 200, response.text
    report = await journey(client, reader, **JANUARY, **({"persona": persona} if persona else {}))
    assert f'data-persona="{persona}"' in section(response.text)
    for stage in report["stages"]:
        name = stage["stage"]
        assert cells(response.text, name, "count") == [str(stage["count"])]
        ratio = stage["from_previous"]
        if ratio is not None:
            assert cells(response.text, name, "numerator") == [str(ratio["numerator"])]
            assert cells(response.text, name, "denominator") == [str(ratio["denominator"])]
        assert cells(response.text, name, "nps-n") == [str(stage["nps"]["n"])]
        assert cells(response.text, name, "ces-n") == [str(e["figures"]["n"]) for e in stage["ces"]]
        assert cells(response.text, name, "csat-n") == [str(stage["csat"]["n"])]
        nps = stage["nps"]["value"]
        assert cells(response.text, name, "nps") == ["n/a" if nps is None else f"{nps:.1f}"]
    assert sum(s["nps"]["n"] for s in report["stages"]) > 0
    # The persona stays chosen when the period changes: the header's form carries it.
    assert f'<input type="hidden" name="persona" value="{persona}">' in response.text


async def test_no_personal_data_and_the_dashboards_caching(
    client: httpx.AsyncClient, token: str, ids: Ids, answers: JourneyAnswers
) -> None:
    response = await page(client, token, f"{QUERY}&persona=cio")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "<script" not in response.text
    for person in PEOPLE:
        assert str(person.id) not in response.text
        assert f"{person.id}@example.com" not in response.text


@pytest.mark.parametrize(
    ("persona", "words"),
    [("nobody", ["no persona", "nobody"]), ("a" * 65, ["persona"]), ("a%00b", ["persona"])],
    ids=["unknown", "too-long", "nul"],
)
async def test_a_bad_persona_is_explained_on_the_page(
    client: httpx.AsyncClient, token: str, ids: Ids, persona: str, words: list[str]
) -> None:
    refused(await page(client, token, f"{QUERY}&persona={persona}"), *words)


async def test_the_persona_given_twice_is_refused(
    client: httpx.AsyncClient, token: str, ids: Ids
) -> None:
    refused(await page(client, token, f"{QUERY}&persona=cio&persona=cfo"), "more than once")
