"""Every report at the edges of the calendar, of time zones and of its limits: a 400 naming the
parameter, or a correct answer, never a 500."""

from typing import Any

import httpx
import pytest

from tests.conftest import Headers
from tests.problems import assert_names
from tests.reports.people import JANUARY, Ids

REPORTS = ("funnel", "velocity", "assets")
FORMATS = ("json", "csv")


def refused_naming(response: httpx.Response, field: str) -> None:
    assert_names(response, field)


async def get(
    client: httpx.AsyncClient, reader: Headers, report: str, format: str, **params: Any
) -> httpx.Response:
    return await client.get(
        f"/api/v1/reports/{report}", params={**params, "format": format}, headers=reader
    )


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("report", REPORTS)
class TestCalendarEdges:
    @pytest.mark.parametrize(
        ("params", "field"),
        [
            # The period would end after the last instant a timestamp can hold.
            ({"from": "9999-12-31", "to": "9999-12-31"}, "to"),
            ({"from": "9999-12-30", "to": "9999-12-31", "tz": "Pacific/Kiritimati"}, "to"),
            ({"from": "9999-12-31", "to": "9999-12-31", "tz": "America/Los_Angeles"}, "to"),
            # It would start before the first one: east of UTC, midnight of 1 January, year 1.
            ({"from": "0001-01-01", "to": "0001-01-02", "tz": "Asia/Kolkata"}, "from"),
            ({"from": "0001-01-01", "to": "0001-01-01", "tz": "Asia/Tokyo"}, "from"),
        ],
    )
    async def test_a_period_beyond_representable_time_is_refused(
        self,
        client: httpx.AsyncClient,
        reader: Headers,
        report: str,
        format: str,
        params: dict[str, str],
        field: str,
    ) -> None:
        refused_naming(await get(client, reader, report, format, **params), field)

    @pytest.mark.parametrize(
        "params",
        [
            {"from": "9999-12-30", "to": "9999-12-30"},
            {"from": "9999-12-30", "to": "9999-12-30", "tz": "Pacific/Kiritimati"},
            {"from": "9999-12-30", "to": "9999-12-30", "tz": "Pacific/Pago_Pago"},
            {"from": "0001-01-01", "to": "0001-01-01"},
            {"from": "0001-01-01", "to": "0001-01-31", "tz": "America/New_York"},
            {"from": "0001-01-01", "to": "0001-01-02", "tz": "Pacific/Kiritimati"},  # LMT, west
        ],
    )
    async def test_a_period_at_the_ends_of_time_answers_nobody(
        self,
        client: httpx.AsyncClient,
        reader: Headers,
        ids: Ids,
        report: str,
        format: str,
        params: dict[str, str],
    ) -> None:
        response = await get(client, reader, report, format, **params)
        assert response.status_code == 200, response.text
        if format == "csv":
            assert response.headers["content-type"].startswith("text/csv")
            return
        body = response.json()
        if report == "funnel":
            assert {stage["count"] for stage in body["total"]["stages"]} == {0}
        elif report == "velocity":
            assert {span["contacts"] for span in body["total"]["from_previous"]} == {0}
        else:
            assert (body["converted"], body["unattributed"]) == (0, 0)
            assert {asset["captures"] for asset in body["assets"]} == {0}

    @pytest.mark.parametrize(
        "tz",
        [
            "Mars/Olympus",
            "x" * 300,  # longer than a file name may be
            "Europe",  # a directory of zones, not a zone
            "zone.tab",  # a file beside the zones, not one
            "../etc",
            "/etc/localtime",
            "utc ",
            "",
        ],
    )
    async def test_a_time_zone_that_is_not_one_is_refused(
        self, client: httpx.AsyncClient, reader: Headers, report: str, format: str, tz: str
    ) -> None:
        refused_naming(await get(client, reader, report, format, **JANUARY, tz=tz), "tz")

    async def test_an_unknown_site_is_refused(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids, report: str, format: str
    ) -> None:
        site = "00000000-0000-7000-8000-000000000000"
        refused_naming(await get(client, reader, report, format, **JANUARY, site=site), "site")

    async def test_a_known_site_narrows(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids, report: str, format: str
    ) -> None:
        response = await get(client, reader, report, format, **JANUARY, site=str(ids.site))
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("report", REPORTS)
class TestPeriodLimit:
    """A period spans at most 5 calendar years: `to` comes before the same day 5 years on."""

    @pytest.mark.parametrize(
        ("first", "last"),
        [
            ("2021-01-01", "2025-12-31"),
            ("2021-03-15", "2026-03-14"),
            ("2024-02-29", "2029-02-28"),  # 5 years on from 29 February is 1 March
            ("9995-01-01", "9999-12-30"),
        ],
    )
    async def test_five_calendar_years_are_answered(
        self, client: httpx.AsyncClient, reader: Headers, report: str, first: str, last: str
    ) -> None:
        response = await get(client, reader, report, "json", **{"from": first, "to": last})
        assert response.status_code == 200, response.text

    @pytest.mark.parametrize(
        ("first", "last"),
        [
            ("2021-01-01", "2026-01-01"),
            ("2021-03-15", "2026-03-15"),
            ("2024-02-29", "2029-03-01"),
            ("2020-01-01", "2026-01-01"),
        ],
    )
    async def test_a_day_more_is_refused_naming_to(
        self, client: httpx.AsyncClient, reader: Headers, report: str, first: str, last: str
    ) -> None:
        response = await get(client, reader, report, "json", **{"from": first, "to": last})
        refused_naming(response, "to")
        assert "5 calendar years" in response.json()["detail"]
