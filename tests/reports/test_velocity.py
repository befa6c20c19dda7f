"""The velocity report: every median and 90th percentile checked against Python's statistics."""

import csv
import io
import statistics
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import partial
from itertools import pairwise
from typing import Any

import httpx
import pytest

from tests.conftest import Headers
from tests.reports.helpers import group, read_report
from tests.reports.people import JANUARY, PEOPLE, STAGE_NAMES, Ids, Person, bounds
from tests.support.world import make_persona

VELOCITY = "/api/v1/reports/velocity"
JANUARY_BOUNDS = bounds(date(2026, 1, 1), date(2026, 1, 31))


def spans(entry: str = "lead") -> list[tuple[str, str]]:
    stages = STAGE_NAMES[STAGE_NAMES.index(entry) :]
    return [*pairwise(stages), *((stages[0], later) for later in stages[1:])]


def expected_spans(
    people: Sequence[Person],
    population: Sequence[Person],
    start: datetime,
    end: datetime,
    *,
    mode: str = "cohort",
    window: int | None = None,
    entry: str = "lead",
) -> list[tuple[str, str, int, float | None, float | None]]:
    """Per span: contacts timed, median and 90th percentile in seconds, computed apart."""
    figures: list[tuple[str, str, int, float | None, float | None]] = []
    if mode == "cohort":
        population = [p for p in people if entry in p.reached
                      and start <= p.reached[entry] < end]  # fmt: skip
    for earlier, later in spans(entry):
        seconds = []
        for person in population:
            if earlier not in person.reached or later not in person.reached:
                continue
            when = person.reached[later]
            if mode == "period" and not start <= when < end:
                continue
            if window is not None and when - person.reached[entry] > timedelta(days=window):
                continue
            seconds.append((when - person.reached[earlier]).total_seconds())
        if not seconds:
            figures.append((earlier, later, 0, None, None))
            continue
        p90 = statistics.quantiles(seconds, n=10, method="inclusive")[8] if len(seconds) > 1 \
            else seconds[0]  # fmt: skip
        figures.append((earlier, later, len(seconds), statistics.median(seconds), p90))
    return figures


def shown(group: dict[str, Any]) -> list[tuple[str, str, int, float | None, float | None]]:
    return [
        (span["from_stage"], span["to_stage"], span["contacts"], span["median_seconds"],
         span["p90_seconds"])
        for span in [*group["from_previous"], *group["from_entry"]]
    ]  # fmt: skip


def assert_same(got: list[Any], expected: list[Any]) -> None:
    assert len(got) == len(expected)
    for mine, theirs in zip(got, expected, strict=True):
        assert mine[:3] == theirs[:3], (mine, theirs)
        for value, truth in zip(mine[3:], theirs[3:], strict=True):
            assert (value is None) == (truth is None), (mine, theirs)
            if truth is not None:
                assert value == pytest.approx(truth, abs=0.1), (mine, theirs)


velocity = partial(read_report, VELOCITY)


class TestCohort:
    async def test_every_span_of_january(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        report = await velocity(client, reader, **JANUARY)
        expected = expected_spans(PEOPLE, PEOPLE, *JANUARY_BOUNDS)
        assert_same(shown(report["total"]), expected)
        # Lead to MQL: three January leads, so a real median and an interpolated percentile.
        lead_to_mql = report["total"]["from_previous"][0]
        assert lead_to_mql["contacts"] == 4
        assert lead_to_mql["median_days"] == round(lead_to_mql["median_seconds"] / 86400, 2)

    async def test_stages_jumped_over_take_no_time(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        report = await velocity(client, reader, **JANUARY, persona="cio")
        cio = [p for p in PEOPLE if p.persona == "cio"]
        assert_same(shown(report["total"]), expected_spans(cio, cio, *JANUARY_BOUNDS))
        sql_to_opportunity = report["total"]["from_previous"][2]
        assert (sql_to_opportunity["from_stage"], sql_to_opportunity["to_stage"]) == (
            "sql", "opportunity",
        )  # fmt: skip
        assert sql_to_opportunity["contacts"] == 1
        assert sql_to_opportunity["median_seconds"] == 0.0

    async def test_by_persona_with_a_group_without_and_an_empty_one(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids, admin: Headers
    ) -> None:
        await make_persona(client, admin, "nobody")
        report = await velocity(client, reader, **JANUARY, by="persona")
        for key in ("cio", "cfo", None):
            people = [p for p in PEOPLE if p.persona == key]
            assert_same(shown(group(report, key)), expected_spans(people, people,
                                                                   *JANUARY_BOUNDS))  # fmt: skip
        # All contacts' figures come from the same pass here: the same as without groups.
        assert_same(shown(report["total"]), expected_spans(PEOPLE, PEOPLE, *JANUARY_BOUNDS))
        empty = shown(group(report, "nobody"))
        assert all(contacts == 0 and median is None and p90 is None
                   for _, _, contacts, median, p90 in empty)  # fmt: skip

    async def test_a_window_leaves_out_late_conversions(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        report = await velocity(client, reader, **JANUARY, window_days=7)
        expected = expected_spans(PEOPLE, PEOPLE, *JANUARY_BOUNDS, window=7)
        assert_same(shown(report["total"]), expected)
        assert expected != expected_spans(PEOPLE, PEOPLE, *JANUARY_BOUNDS)

    async def test_the_time_zone_moves_who_is_in_the_cohort(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        report = await velocity(client, reader, **JANUARY, tz="America/New_York")
        period = bounds(date(2026, 1, 1), date(2026, 1, 31), "America/New_York")
        expected = expected_spans(PEOPLE, PEOPLE, *period)
        assert_same(shown(report["total"]), expected)
        assert expected != expected_spans(PEOPLE, PEOPLE, *JANUARY_BOUNDS)

    async def test_an_empty_period_has_no_figures(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        report = await velocity(client, reader, **{"from": "2025-06-01", "to": "2025-06-30"})
        assert all(contacts == 0 and median is None
                   for _, _, contacts, median, _ in shown(report["total"]))  # fmt: skip

    async def test_breakdown_by_any_asset(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        report = await velocity(client, reader, **JANUARY, by="any_asset")
        for slug in ("guide", "checklist", "unused"):
            touched = [p for p in PEOPLE if slug in p.touched]
            assert_same(shown(group(report, slug)), expected_spans(touched, touched,
                                                                    *JANUARY_BOUNDS))  # fmt: skip


class TestPeriod:
    async def test_times_of_those_that_reached_the_later_stage_in_the_period(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        february = bounds(date(2026, 1, 15), date(2026, 2, 28))
        report = await velocity(client, reader, **{"from": "2026-01-15", "to": "2026-02-28"},
                                mode="period")  # fmt: skip
        assert_same(shown(report["total"]), expected_spans(PEOPLE, PEOPLE, *february,
                                                           mode="period"))  # fmt: skip

    async def test_by_persona_and_in_all(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        report = await velocity(client, reader, **JANUARY, mode="period", by="persona")
        for key in ("cio", "cfo", None):
            people = [p for p in PEOPLE if p.persona == key]
            expected = expected_spans(people, people, *JANUARY_BOUNDS, mode="period")
            assert_same(shown(group(report, key)), expected)
        everyone = expected_spans(PEOPLE, PEOPLE, *JANUARY_BOUNDS, mode="period")
        assert_same(shown(report["total"]), everyone)


class TestCsv:
    async def test_a_row_per_group_and_span(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        report = await velocity(client, reader, **JANUARY, by="persona")
        response = await client.get(VELOCITY, params={**JANUARY, "by": "persona", "format": "csv"},
                                    headers=reader)  # fmt: skip
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        groups = [report["total"], *report["groups"]]
        # The entry stage to the next is in both lists of the JSON, once in the CSV.
        expected = [(g["label"], s["from_stage"], s["to_stage"], str(s["contacts"]),
                     "" if s["median_seconds"] is None else str(s["median_seconds"]))
                    for g in groups
                    for s in [*g["from_previous"], *g["from_entry"][1:]]]  # fmt: skip
        assert [(r["group_label"], r["from_stage"], r["to_stage"], r["contacts"],
                 r["median_seconds"]) for r in rows] == expected  # fmt: skip
