"""The funnel report, every number checked against a plain Python count over the rows made."""

import csv
import io
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from functools import partial
from itertools import pairwise
from typing import Any

import httpx

from inbound.auth.scopes import Scope
from tests.conftest import Headers, KeyMaker
from tests.reports.helpers import group, read_report
from tests.reports.people import JANUARY, PEOPLE, STAGE_NAMES, Ids, Person, bounds
from tests.support.world import make_persona

FUNNEL = "/api/v1/reports/funnel"


def cohort_counts(
    people: Sequence[Person],
    start: datetime,
    end: datetime,
    window: int | None = None,
    entry: str = "lead",
) -> list[int]:
    stages = STAGE_NAMES[STAGE_NAMES.index(entry) :]
    cohort = [p for p in people if entry in p.reached and start <= p.reached[entry] < end]

    def reached(person: Person, stage: str) -> bool:
        when = person.reached.get(stage)
        if when is None:
            return False
        return window is None or when - person.reached[entry] <= timedelta(days=window)

    return [sum(reached(p, stage) for p in cohort) for stage in stages]  # fmt: skip


def period_counts(people: Sequence[Person], start: datetime, end: datetime) -> list[int]:
    stages = STAGE_NAMES[1:]
    return [
        sum(1 for p in people if stage in p.reached and start <= p.reached[stage] < end)
        for stage in stages
    ]


def counts_of(group: dict[str, Any]) -> list[int]:
    return [entry["count"] for entry in group["stages"]]


funnel = partial(read_report, FUNNEL)


def only(predicate: Callable[[Person], bool]) -> list[Person]:
    return [p for p in PEOPLE if predicate(p)]


# -- the tests ---------------------------------------------------------------------------------


class TestCohort:
    async def test_every_stage_count_and_rate_of_january(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        report = await funnel(client, reader, **JANUARY)
        expected = cohort_counts(PEOPLE, *bounds(date(2026, 1, 1), date(2026, 1, 31)))
        assert counts_of(report["total"]) == expected
        assert [s["stage"] for s in report["total"]["stages"]] == STAGE_NAMES[1:]
        pairs = pairwise(expected)
        for ratio, (before, after) in zip(report["total"]["from_previous"], pairs, strict=True):
            assert (ratio["numerator"], ratio["denominator"]) == (after, before)
            assert ratio["rate"] == (round(after / before, 4) if before else None)
            assert ratio["drop_off"] == before - after
        for ratio, after in zip(report["total"]["from_entry"], expected[1:], strict=True):
            assert (ratio["numerator"], ratio["denominator"]) == (after, expected[0])
        assert report["ratio_kind"] == "conversion"

    async def test_skipped_stages_count_as_reached(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        report = await funnel(client, reader, **JANUARY, by="persona")
        # The cio lead who jumped to customer counts at mql, sql and opportunity too.
        cio = counts_of(group(report, "cio"))
        expected = cohort_counts(
            only(lambda p: p.persona == "cio"), *bounds(date(2026, 1, 1), date(2026, 1, 31))
        )
        assert cio == expected
        assert cio[STAGE_NAMES.index("opportunity") - 1] >= 1

    async def test_by_persona_has_a_group_without_persona_and_zeros_for_empty_ones(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids, admin: Headers
    ) -> None:
        await make_persona(client, admin, "nobody")
        report = await funnel(client, reader, **JANUARY, by="persona")
        period = bounds(date(2026, 1, 1), date(2026, 1, 31))
        for key in ("cio", "cfo", None):
            people = [p for p in PEOPLE if p.persona == key]
            assert counts_of(group(report, key)) == cohort_counts(people, *period), key
        assert group(report, None)["label"] == "no persona"
        assert counts_of(report["total"]) == cohort_counts(PEOPLE, *period)
        assert counts_of(group(report, "nobody")) == [0] * 6

    async def test_a_window_cuts_late_conversions_off(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        report = await funnel(client, reader, **JANUARY, window_days=7)
        period = bounds(date(2026, 1, 1), date(2026, 1, 31))
        expected = cohort_counts(PEOPLE, *period, window=7)
        assert counts_of(report["total"]) == expected
        assert expected != cohort_counts(PEOPLE, *period)

    async def test_the_time_zone_moves_the_day_boundaries(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        new_york = await funnel(client, reader, **JANUARY, tz="America/New_York")
        period = bounds(date(2026, 1, 1), date(2026, 1, 31), "America/New_York")
        assert counts_of(new_york["total"]) == cohort_counts(PEOPLE, *period)
        utc = await funnel(client, reader, **JANUARY)
        assert counts_of(new_york["total"]) != counts_of(utc["total"])

    async def test_an_empty_period_shows_zeros_and_no_rates(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        report = await funnel(client, reader, **{"from": "2025-06-01", "to": "2025-06-30"},
                              by="site")  # fmt: skip
        assert counts_of(report["total"]) == [0] * 6
        assert all(r["rate"] is None for r in report["total"]["from_previous"])
        assert counts_of(group(report, str(ids.site))) == [0] * 6

    async def test_breakdowns_by_first_and_any_asset_source_and_site(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        period = bounds(date(2026, 1, 1), date(2026, 1, 31))
        first = await funnel(client, reader, **JANUARY, by="first_asset")
        anywhere = await funnel(client, reader, **JANUARY, by="any_asset")
        for slug in ("guide", "checklist", "unused"):
            firsts = [p for p in PEOPLE if p.first_asset == slug]
            touched = [p for p in PEOPLE if slug in p.touched]
            assert counts_of(group(first, slug)) == cohort_counts(firsts, *period)
            assert counts_of(group(anywhere, slug)) == cohort_counts(touched, *period)
        source = await funnel(client, reader, **JANUARY, by="source")
        assert counts_of(group(source, "linkedin / social")) == cohort_counts(
            only(lambda p: p.source == ("linkedin", "social")), *period
        )
        assert counts_of(group(source, None)) == cohort_counts(
            only(lambda p: p.source == (None, None)), *period
        )
        site = await funnel(client, reader, **JANUARY, by="site")
        assert counts_of(group(site, str(ids.site))) == cohort_counts(PEOPLE, *period)

    async def test_filters_narrow_the_cohort(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        period = bounds(date(2026, 1, 1), date(2026, 1, 31))
        by_persona = await funnel(client, reader, **JANUARY, persona="cfo")
        assert counts_of(by_persona["total"]) == cohort_counts(
            only(lambda p: p.persona == "cfo"), *period
        )
        by_asset = await funnel(client, reader, **JANUARY, asset="checklist")
        assert counts_of(by_asset["total"]) == cohort_counts(
            only(lambda p: "checklist" in p.touched), *period
        )

    async def test_another_entry_stage(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        report = await funnel(client, reader, **JANUARY, entry="mql")
        period = bounds(date(2026, 1, 1), date(2026, 1, 31))
        assert counts_of(report["total"]) == cohort_counts(PEOPLE, *period, entry="mql")


class TestPeriod:
    async def test_each_stage_counts_who_reached_it_in_the_period(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        report = await funnel(client, reader, **{"from": "2026-02-01", "to": "2026-02-28"},
                              mode="period")  # fmt: skip
        expected = period_counts(PEOPLE, *bounds(date(2026, 2, 1), date(2026, 2, 28)))
        assert counts_of(report["total"]) == expected
        assert report["ratio_kind"] == "throughput"

    async def test_by_persona_each_group_counts_its_own(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        report = await funnel(client, reader, **JANUARY, mode="period", by="persona")
        period = bounds(date(2026, 1, 1), date(2026, 1, 31))
        for key in ("cio", "cfo", None):
            people = [p for p in PEOPLE if p.persona == key]
            assert counts_of(group(report, key)) == period_counts(people, *period), key
        assert counts_of(report["total"]) == period_counts(PEOPLE, *period)


class TestCsv:
    async def test_csv_has_a_row_per_group_and_stage(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids
    ) -> None:
        json_report = await funnel(client, reader, **JANUARY, by="persona")
        response = await client.get(
            FUNNEL, params={**JANUARY, "by": "persona"}, headers={**reader, "Accept": "text/csv"}
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        groups = [json_report["total"], *json_report["groups"]]
        assert len(rows) == 6 * len(groups)
        cells = [(g["label"], s["stage"], s["count"]) for g in groups for s in g["stages"]]
        assert [(r["group_label"], r["stage"], int(r["count"])) for r in rows] == cells


class TestAccess:
    async def test_needs_the_reports_scope(
        self, client: httpx.AsyncClient, make_key: KeyMaker
    ) -> None:
        leads_only = await make_key(Scope.LEADS_READ)
        response = await client.get(FUNNEL, params=JANUARY, headers=leads_only)
        assert response.status_code == 403
