"""The dashboard page: its query parameters checked like the API's, every refusal an HTML page
with a 400 (never a 500), and each figure labelled with the way it counts."""

import re

import httpx
import pytest

from tests.reports.people import Ids
from tests.reports.test_dashboard_sessions import page


def refused(response: httpx.Response, *words: str) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("text/html")
    [shown] = re.findall(r'data-testid="error">([^<]*)<', response.text)
    for word in words:
        assert word in shown, shown


class TestQueryParameters:
    async def test_an_unknown_parameter_is_refused_naming_it(
        self, client: httpx.AsyncClient, token: str
    ) -> None:
        response = await page(client, token, "?from=2026-01-01&to=2026-01-31&segment=cio")
        refused(response, "unknown query parameter", "segment")

    async def test_a_parameter_given_twice_is_refused(
        self, client: httpx.AsyncClient, token: str
    ) -> None:
        response = await page(client, token, "?from=2026-01-01&from=2025-01-01")
        refused(response, "more than once", "from")

    async def test_the_parameters_it_takes_are_answered(
        self, client: httpx.AsyncClient, token: str, ids: Ids
    ) -> None:
        query = "?from=2026-01-01&to=2026-01-31&tz=Europe/Berlin&stage=mql"
        assert (await page(client, token, query)).status_code == 200

    async def test_without_a_session_the_page_asks_to_sign_in_first(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/dashboard?colour=blue")
        assert response.status_code == 200
        assert 'name="key"' in response.text


class TestCalendarEdges:
    @pytest.mark.parametrize(
        ("query", "words"),
        [
            ("?from=9999-12-31&to=9999-12-31", ["`to`"]),
            ("?from=9999-12-30&to=9999-12-31&tz=Pacific/Kiritimati", ["`to`"]),
            ("?from=0001-01-01&to=0001-01-01&tz=Asia/Tokyo", ["`from`"]),
            ("?from=2026-01-01&to=2026-01-31&tz=" + "x" * 300, ["unknown time zone"]),
            ("?from=2026-01-01&to=2026-01-31&tz=Europe", ["unknown time zone"]),
            ("?from=2026-01-01&to=2026-01-31&tz=Mars/Olympus", ["unknown time zone"]),
            ("?from=2026-02-30&to=2026-03-31", ["`from`", "YYYY-MM-DD"]),
            ("?from=2026-01-01&to=31.01.2026", ["`to`", "YYYY-MM-DD"]),
            ("?from=2020-01-01&to=2026-01-01", ["5 calendar years"]),
            ("?from=2026-02-01&to=2026-01-01", ["`to` comes before `from`"]),
            ("?from=2026-01-01&to=2026-01-31&stage=prospect", ["prospect"]),
        ],
    )
    async def test_a_question_that_cannot_be_answered_is_explained(
        self, client: httpx.AsyncClient, token: str, query: str, words: list[str]
    ) -> None:
        refused(await page(client, token, query), *words)

    @pytest.mark.parametrize(
        "query",
        [
            "?from=9999-12-30&to=9999-12-30&tz=Pacific/Kiritimati",
            "?from=0001-01-01&to=0001-01-01&tz=America/New_York",
        ],
    )
    async def test_the_ends_of_time_show_nobody(
        self, client: httpx.AsyncClient, token: str, query: str
    ) -> None:
        response = await page(client, token, query)
        assert response.status_code == 200, response.text
        counts = re.findall(r'data-testid="count">(\d+)<', response.text)
        assert counts
        assert set(counts) == {"0"}


class TestModeLabels:
    async def test_the_funnel_says_cohort_and_the_assets_and_paths_say_period(
        self, client: httpx.AsyncClient, token: str, ids: Ids
    ) -> None:
        html = (await page(client, token, "?from=2026-01-01&to=2026-01-31")).text
        sections = re.findall(r'data-testid="(\w+)-section" data-mode="(\w+)"', html)
        assert sections == [("funnel", "cohort"), ("journey", "cohort"), ("assets", "period"),
                            ("paths", "period")]  # fmt: skip
        labels = re.findall(r'data-testid="mode">([^<]*)<', html)
        assert labels == ["cohort counts", "cohort counts, answers in period", "period counts",
                          "period counts"]  # fmt: skip
        assert "Captures in period" in html
        assert "customer conversions in period" in html
