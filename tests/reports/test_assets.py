"""The assets report: captures, new contacts and attribution, checked against a count in Python."""

import csv
import io
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from functools import partial
from typing import Any

import httpx
import pytest

from tests.conftest import Headers
from tests.reports.helpers import read_report
from tests.reports.people import JANUARY, PEOPLE, Ids, Person, bounds

ASSETS = "/api/v1/reports/assets"
SLUGS = ("guide", "checklist", "unused")


def expected(
    people: Sequence[Person], stage: str, start: datetime, end: datetime
) -> tuple[dict[str, dict[str, float]], int, int]:
    """Per asset its figures, then the attributed and unattributed conversions."""
    figures = {slug: Counter[str]() for slug in SLUGS}
    linear: dict[str, float] = dict.fromkeys(SLUGS, 0.0)
    attributed = unattributed = 0
    for person in people:
        for slug, when in person.captures:
            figures[slug]["captures"] += start <= when < end
        if person.first_asset and start <= min(person.reached.values()) < end:
            figures[person.first_asset]["new_contacts"] += 1
        converted_at = person.reached.get(stage)
        if converted_at is None or not start <= converted_at < end:
            continue
        before = [slug for slug, when in person.captures if when <= converted_at]
        if not before:
            unattributed += 1
            continue
        attributed += 1
        figures[before[0]]["first_touch"] += 1
        figures[before[-1]]["last_touch"] += 1
        for slug in before:
            linear[slug] += 1 / len(before)
    table = {
        slug: {name: float(figures[slug][name]) for name in
               ("captures", "new_contacts", "first_touch", "last_touch")} | {"linear": linear[slug]}
        for slug in SLUGS
    }  # fmt: skip
    return table, attributed, unattributed


assets = partial(read_report, ASSETS)


def assert_matches(report: dict[str, Any], truth: tuple[Any, int, int]) -> None:
    table, attributed, unattributed = truth
    assert (report["converted"], report["unattributed"]) == (attributed, unattributed)
    shown = {row["slug"]: row for row in report["assets"]}
    assert set(shown) == set(SLUGS)
    for slug, figures in table.items():
        for name, value in figures.items():
            assert shown[slug][name] == pytest.approx(value, abs=1e-4), (slug, name)
    for model in ("first_touch", "last_touch", "linear"):
        assert sum(row[model] for row in report["assets"]) == pytest.approx(attributed, abs=1e-3)


JANUARY_BOUNDS = bounds(date(2026, 1, 1), date(2026, 1, 31))


class TestAttribution:
    async def test_mql_conversions_of_january(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        report = await assets(client, reader, **JANUARY, stage="mql")
        assert report["stage"] == "mql"
        assert_matches(report, expected(PEOPLE, "mql", *JANUARY_BOUNDS))

    async def test_linear_shares_over_several_captures_and_none_after_converting(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        # One customer, who captured the guide, the checklist, then the guide again as it
        # converted: 2/3 to the guide, 1/3 to the checklist.
        report = await assets(client, reader, **JANUARY)
        assert report["stage"] == "customer"
        assert_matches(report, expected(PEOPLE, "customer", *JANUARY_BOUNDS))
        shown = {row["slug"]: row for row in report["assets"]}
        assert shown["guide"]["linear"] == pytest.approx(2 / 3, abs=1e-4)
        assert shown["checklist"]["linear"] == pytest.approx(1 / 3, abs=1e-4)
        assert [row["slug"] for row in report["assets"]][:2] == ["guide", "checklist"]

    async def test_a_capture_after_the_conversion_earns_no_credit(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        # The sql lead captured the unused asset five days after converting.
        report = await assets(client, reader, **JANUARY, stage="sql")
        assert_matches(report, expected(PEOPLE, "sql", *JANUARY_BOUNDS))
        unused = next(row for row in report["assets"] if row["slug"] == "unused")
        assert (unused["captures"], unused["linear"], unused["last_touch"]) == (1, 0.0, 0)

    async def test_conversions_without_a_capture_before_are_unattributed(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        report = await assets(client, reader, **JANUARY, stage="subscriber")
        truth = expected(PEOPLE, "subscriber", *JANUARY_BOUNDS)
        assert_matches(report, truth)
        assert truth[2] >= 1

    async def test_the_time_zone_and_a_persona_narrow_it(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        period = bounds(date(2026, 1, 1), date(2026, 1, 31), "America/New_York")
        report = await assets(client, reader, **JANUARY, stage="mql", tz="America/New_York")
        assert_matches(report, expected(PEOPLE, "mql", *period))
        cio = [p for p in PEOPLE if p.persona == "cio"]
        report = await assets(client, reader, **JANUARY, stage="mql", persona="cio")
        assert_matches(report, expected(cio, "mql", *JANUARY_BOUNDS))

    async def test_an_empty_period_lists_every_asset_with_zeros(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        report = await assets(client, reader, **{"from": "2025-06-01", "to": "2025-06-30"})
        assert report["converted"] == report["unattributed"] == 0
        assert sorted(row["slug"] for row in report["assets"]) == sorted(SLUGS)
        assert all(row["captures"] == 0 and row["linear"] == 0 for row in report["assets"])


class TestCsv:
    async def test_a_row_per_asset(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        report = await assets(client, reader, **JANUARY, stage="mql")
        response = await client.get(
            ASSETS, params={**JANUARY, "stage": "mql"}, headers={**reader, "Accept": "text/csv"}
        )
        assert response.status_code == 200, response.text
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [(r["slug"], int(r["captures"]), float(r["linear"])) for r in rows] == [
            (a["slug"], a["captures"], a["linear"]) for a in report["assets"]
        ]

    async def test_a_title_a_spreadsheet_would_run_is_defused(
        self, client: httpx.AsyncClient, reader: Headers, admin: Headers, ids: Ids
    ) -> None:
        title = '=HYPERLINK("http://evil.example","x")'
        patched = await client.patch(f"/api/v1/assets/{SLUGS[0]}", json={"title": title},
                                     headers=admin)  # fmt: skip
        assert patched.status_code == 200, patched.text
        response = await client.get(
            ASSETS, params={**JANUARY, "stage": "mql", "format": "csv"}, headers=reader
        )
        rows = {r["slug"]: r for r in csv.DictReader(io.StringIO(response.text))}
        assert rows[SLUGS[0]]["title"] == "'" + title
