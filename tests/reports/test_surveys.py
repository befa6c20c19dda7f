"""The survey report, every figure checked against an independent computation over the answers
the test inserted: per group, per scale, per week or month in a time zone, and as CSV."""

import csv
import io
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.auth.scopes import Scope
from inbound.surveys.models import Touchpoint
from tests.conftest import Headers, KeyMaker
from tests.reports.people import STAGE_NAMES
from tests.reports.survey_answers import (
    SURVEYS,
    Answer,
    SurveyWorld,
    calendar_buckets,
    make_survey_world,
)
from tests.surveys.independent import FIGURES, assert_figures, expected_figures

REPORT = "/api/v1/reports/surveys"
FIRST, LAST = date(2026, 1, 1), date(2026, 2, 28)
PERIOD = {"from": FIRST.isoformat(), "to": LAST.isoformat()}
SCALES = {"nps": [10], "ces": [5, 7], "csat": [5]}
ATTRIBUTE = {"touchpoint": "touchpoint", "survey": "survey", "persona": "persona",
             "stage": "stage"}  # fmt: skip


async def survey_report(
    client: httpx.AsyncClient, reader: Headers, **params: Any
) -> dict[str, Any]:
    response = await client.get(REPORT, params={**PERIOD, **params}, headers=reader)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def expected(metric: str, scale_max: int, answers: list[Answer]) -> dict[str, Any]:
    scores = [a.score for a in answers if a.metric == metric and a.scale_max == scale_max]
    return expected_figures(metric, scale_max, scores)


def expected_groups(metric: str, by: str) -> list[str | None]:
    """The groups the report shows, in its order, worked out from the world's definitions."""
    keys: list[str | None] = []
    if by == "touchpoint":
        # The names are the slugs, titled: the same order.
        keys += sorted({SURVEYS[s][0] for s in SURVEYS if SURVEYS[s][1] == metric})
        return keys
    if by == "survey":
        keys += sorted(s for s in SURVEYS if SURVEYS[s][1] == metric)
        return keys
    if by == "persona":
        return ["cfo", "cio", None]
    return [*STAGE_NAMES, None]


def check_entries(
    report: dict[str, Any], world: SurveyWorld, first: date, last: date, tz: str = "UTC",
    **where: Any,
) -> None:  # fmt: skip
    """Every entry of the report (total and groups, whole and per bucket) against the answers."""
    metric, by = report["metric"], report["by"]
    entries = [(e, dict(where)) for e in report["total"]]
    for entry in report["groups"]:
        entries.append((entry, {**where, ATTRIBUTE[by]: entry["key"]}))
    for entry, filters in entries:
        answers = world.among(first, last, tz, **filters)
        assert_figures(entry["figures"], expected(metric, entry["scale_max"], answers), filters)
        if report["trend"] is None:
            assert entry["trend"] is None
            continue
        buckets = calendar_buckets(first, last, report["trend"])
        shown = [(b["bucket"], date.fromisoformat(b["from_date"]),
                  date.fromisoformat(b["to_date"])) for b in entry["trend"]]  # fmt: skip
        assert shown == buckets
        for bucket, (label, day, final) in zip(entry["trend"], buckets, strict=True):
            within = world.among(day, final, tz, **filters)
            want = expected(metric, entry["scale_max"], within)
            assert_figures(bucket["figures"], want, (label, filters))


class TestFigures:
    @pytest.mark.parametrize(
        ("metric", "by"),
        [("nps", "touchpoint"), ("nps", "stage"), ("ces", "survey"), ("ces", "touchpoint"),
         ("csat", "persona"), ("csat", "none"), ("ces", "persona"), ("nps", "survey")],
    )  # fmt: skip
    async def test_every_group_against_the_answers(
        self, client: httpx.AsyncClient, reader: Headers, survey_world: SurveyWorld,
        metric: str, by: str,
    ) -> None:  # fmt: skip
        report = await survey_report(client, reader, metric=metric, by=by)
        assert (report["metric"], report["by"], report["trend"]) == (metric, by, None)
        assert [e["scale_max"] for e in report["total"]] == SCALES[metric]
        if by == "none":
            assert report["groups"] == []
        else:
            keys = [(e["key"], e["scale_max"]) for e in report["groups"]]
            assert keys == [(k, s) for k in expected_groups(metric, by) for s in SCALES[metric]]
        check_entries(report, survey_world, FIRST, LAST)

    async def test_ces_scales_are_never_mixed(
        self, client: httpx.AsyncClient, reader: Headers, survey_world: SurveyWorld
    ) -> None:
        report = await survey_report(client, reader, metric="ces", by="touchpoint")
        support = [e for e in report["groups"] if e["key"] == "support"]
        assert [(e["scale_min"], e["scale_max"]) for e in support] == [(1, 5), (1, 7)]
        fives = world_scores(survey_world, "ces-support")
        sevens = world_scores(survey_world, "ces7-support")
        assert (support[0]["figures"]["n"], support[1]["figures"]["n"]) == (
            len(fives), len(sevens),
        )  # fmt: skip
        # Mixed, the mean would be another number: the test data tells the two apart.
        mixed = sum(fives + sevens) / len(fives + sevens)
        assert abs(support[0]["figures"]["value"] - mixed) > 0.01
        assert abs(support[1]["figures"]["value"] - mixed) > 0.01

    async def test_nobody_answered_is_null_not_zero(
        self, client: httpx.AsyncClient, reader: Headers, survey_world: SurveyWorld
    ) -> None:
        report = await survey_report(client, reader, metric="nps", by="touchpoint")
        [events] = [e for e in report["groups"] if e["key"] == "events"]
        figures = events["figures"]
        assert figures["n"] == 0
        assert (figures["value"], figures["low"], figures["high"]) == (None, None, None)
        assert (figures["promoters"], figures["detractors"]) == (0, 0)

    @pytest.mark.parametrize("metric", ["nps", "ces", "csat"])
    async def test_a_period_without_answers_shows_every_group_empty(
        self, client: httpx.AsyncClient, reader: Headers, survey_world: SurveyWorld, metric: str
    ) -> None:
        period = {"from": "2025-06-01", "to": "2025-06-30"}
        response = await client.get(
            REPORT, params={**period, "metric": metric, "by": "survey", "trend": "week"},
            headers=reader,
        )  # fmt: skip
        report = response.json()
        assert [e["scale_max"] for e in report["total"]] == SCALES[metric]
        entries = [*report["total"], *report["groups"]]
        assert len(report["groups"]) == len(expected_groups(metric, "survey")) * len(SCALES[metric])
        for entry in entries:
            for figures in [entry["figures"], *(b["figures"] for b in entry["trend"])]:
                assert figures["n"] == 0
                assert {figures[name] for name in ("value", "low", "high")} == {None}
                assert figures["top_box_share"] is None

    async def test_one_ces_answer_has_a_mean_but_no_interval(
        self, client: httpx.AsyncClient, reader: Headers, admin: Headers, db: AsyncSession
    ) -> None:
        one = Answer("ces7-onboarding", 6, datetime(2026, 1, 10, tzinfo=UTC), None, None)
        await make_survey_world(client, admin, db, [one])
        report = await survey_report(client, reader, metric="ces", survey="ces7-onboarding")
        [total] = report["total"]
        figures = total["figures"]
        assert (figures["n"], figures["value"], figures["low"], figures["high"]) == (
            1, 6.0, None, None,
        )  # fmt: skip
        assert (figures["top_box"], figures["top_box_share"]) == (1, 100.0)
        assert figures["top_box_low"] is not None


def world_scores(world: SurveyWorld, survey: str) -> list[int]:
    return [a.score for a in world.among(FIRST, LAST, survey=survey)]


class TestTrend:
    async def test_months_in_new_york(
        self, client: httpx.AsyncClient, reader: Headers, survey_world: SurveyWorld
    ) -> None:
        tz = "America/New_York"
        report = await survey_report(
            client, reader, metric="nps", by="touchpoint", trend="month", tz=tz
        )
        assert [b["bucket"] for b in report["total"][0]["trend"]] == ["2026-01", "2026-02"]
        check_entries(report, survey_world, FIRST, LAST, tz)
        # The answers at the turn of the month tell New York's January from UTC's.
        utc = await survey_report(client, reader, metric="nps", trend="month")
        assert (
            utc["total"][0]["trend"][0]["figures"]["n"]
            != (report["total"][0]["trend"][0]["figures"]["n"])
        )

    @pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Asia/Kathmandu"])
    async def test_weeks_cut_to_the_period(
        self, client: httpx.AsyncClient, reader: Headers, survey_world: SurveyWorld, tz: str
    ) -> None:
        first, last = date(2026, 1, 1), date(2026, 2, 10)  # a Thursday to a Tuesday
        params = {"from": first.isoformat(), "to": last.isoformat(), "tz": tz}
        report = await survey_report(
            client, reader, metric="csat", by="persona", trend="week", **params
        )
        weeks = report["total"][0]["trend"]
        assert (weeks[0]["bucket"], weeks[0]["from_date"], weeks[0]["to_date"]) == (
            "2026-W01", "2026-01-01", "2026-01-04",
        )  # fmt: skip
        assert (weeks[-1]["bucket"], weeks[-1]["to_date"]) == ("2026-W07", "2026-02-10")
        check_entries(report, survey_world, first, last, tz)

    async def test_ces_weeks_by_survey_over_the_new_year(
        self, client: httpx.AsyncClient, reader: Headers, survey_world: SurveyWorld
    ) -> None:
        first, last = date(2025, 12, 22), date(2026, 1, 18)
        params = {"from": first.isoformat(), "to": last.isoformat()}
        report = await survey_report(client, reader, metric="ces", by="survey", trend="week",
                                     **params)  # fmt: skip
        check_entries(report, survey_world, first, last)

    async def test_the_buckets_add_up_to_the_whole(
        self, client: httpx.AsyncClient, reader: Headers, survey_world: SurveyWorld
    ) -> None:
        report = await survey_report(client, reader, metric="nps", by="stage", trend="week")
        for entry in [*report["total"], *report["groups"]]:
            assert sum(b["figures"]["n"] for b in entry["trend"]) == entry["figures"]["n"]


class TestFilters:
    @pytest.mark.parametrize(
        ("params", "where"),
        [
            ({"touchpoint": "support", "by": "survey"}, {"touchpoint": "support"}),
            ({"survey": "nps-onboarding", "by": "persona"}, {"survey": "nps-onboarding"}),
            ({"persona": "cio", "by": "touchpoint"}, {"persona": "cio"}),
            ({"stage": "customer", "by": "persona"}, {"stage": "customer"}),
            ({"stage": "lead", "persona": "cfo", "touchpoint": "onboarding", "trend": "month"},
             {"stage": "lead", "persona": "cfo", "touchpoint": "onboarding"}),
            ({"source": "link", "by": "touchpoint"}, {"source": "link"}),
            ({"source": "public", "by": "persona", "trend": "week"}, {"source": "public"}),
        ],
    )  # fmt: skip
    async def test_a_filter_narrows_the_answers(
        self, client: httpx.AsyncClient, reader: Headers, survey_world: SurveyWorld,
        params: dict[str, str], where: dict[str, str],
    ) -> None:  # fmt: skip
        metric = "nps"
        report = await survey_report(client, reader, metric=metric, **params)
        check_entries(report, survey_world, FIRST, LAST, **where)
        everyone = len(survey_world.among(FIRST, LAST, metric=metric))
        assert 0 < report["total"][0]["figures"]["n"] < everyone

    async def test_filters_by_id_as_by_slug(
        self, client: httpx.AsyncClient, reader: Headers, survey_world: SurveyWorld
    ) -> None:
        by_slug = await survey_report(client, reader, metric="csat", touchpoint="support",
                                      survey="csat-support", persona="cfo")  # fmt: skip
        by_id = await survey_report(
            client, reader, metric="csat",
            touchpoint=str(survey_world.touchpoint_ids["support"]),
            survey=str(survey_world.survey_ids["csat-support"]),
            persona=str(survey_world.persona_ids["cfo"]),
        )  # fmt: skip
        assert by_slug == by_id
        assert by_slug["total"][0]["figures"]["n"] > 0

    async def test_a_filtered_group_is_the_only_one(
        self, client: httpx.AsyncClient, reader: Headers, survey_world: SurveyWorld
    ) -> None:
        persona = await survey_report(client, reader, metric="nps", by="persona", persona="cio")
        assert [e["key"] for e in persona["groups"]] == ["cio"]
        stage = await survey_report(client, reader, metric="nps", by="stage", stage="lead")
        assert [e["key"] for e in stage["groups"]] == ["lead"]
        touchpoint = await survey_report(
            client, reader, metric="nps", by="touchpoint", touchpoint="support"
        )
        assert [e["key"] for e in touchpoint["groups"]] == ["support"]
        survey = await survey_report(client, reader, metric="ces", by="survey",
                                     touchpoint="onboarding")  # fmt: skip
        assert {e["key"] for e in survey["groups"]} == {"ces7-onboarding"}


class TestCsv:
    @pytest.mark.parametrize(
        "params",
        [
            {"metric": "ces", "by": "touchpoint", "trend": "month", "tz": "America/New_York"},
            {"metric": "nps", "by": "persona"},
            {"metric": "csat", "trend": "week"},
        ],
    )
    @pytest.mark.parametrize("ask", ["format", "accept"])
    async def test_csv_says_what_json_says(
        self, client: httpx.AsyncClient, reader: Headers, survey_world: SurveyWorld,
        params: dict[str, str], ask: str,
    ) -> None:  # fmt: skip
        report = await survey_report(client, reader, **params)
        asked = {**PERIOD, **params, **({"format": "csv"} if ask == "format" else {})}
        headers = {**reader, **({"Accept": "text/csv"} if ask == "accept" else {})}
        response = await client.get(REPORT, params=asked, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert rows == json_as_rows(report)

    async def test_a_label_is_never_a_formula(
        self, client: httpx.AsyncClient, reader: Headers, survey_world: SurveyWorld,
        db: AsyncSession,
    ) -> None:  # fmt: skip
        formula = '=HYPERLINK("http://evil.example","x")'
        await db.execute(update(Touchpoint).where(Touchpoint.slug == "support")  # type: ignore[arg-type]
                         .values(name=formula))  # fmt: skip
        await db.commit()
        params = {**PERIOD, "metric": "nps", "by": "touchpoint", "format": "csv"}
        response = await client.get(REPORT, params=params, headers=reader)
        labels = {row["group_label"] for row in csv.DictReader(io.StringIO(response.text))}
        assert "'" + formula in labels
        assert formula not in labels


def json_as_rows(report: dict[str, Any]) -> list[dict[str, str]]:
    """The JSON report flattened as the CSV should be, every value as its text."""

    def text(value: Any) -> str:
        return "" if value is None else str(value)

    rows = []
    for entry in [*report["total"], *report["groups"]]:
        head = {
            "group_key": text(entry["key"]),
            "group_label": entry["label"],
            "scale_min": text(entry["scale_min"]),
            "scale_max": text(entry["scale_max"]),
        }
        spans = [("", report["from_date"], report["to_date"], entry["figures"])]
        spans += [(b["bucket"], b["from_date"], b["to_date"], b["figures"])
                  for b in entry["trend"] or []]  # fmt: skip
        for bucket, first, last, figures in spans:
            rows.append({**head, "bucket": bucket, "from_date": first, "to_date": last,
                         **{name: text(figures[name]) for name in FIGURES}})  # fmt: skip
    return rows


class TestAccess:
    async def test_needs_the_reports_scope(
        self, client: httpx.AsyncClient, make_key: KeyMaker
    ) -> None:
        editor = await make_key(Scope.CONTENT_READ, Scope.LEADS_READ)
        response = await client.get(REPORT, params={**PERIOD, "metric": "nps"}, headers=editor)
        assert response.status_code == 403, response.text
