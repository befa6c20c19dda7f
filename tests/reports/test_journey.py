"""The journey report, every count, rate and figure checked against a plain Python computation
over the contacts and answers the test inserted, and against the funnel report itself."""

import csv
import io
import uuid
from datetime import date, datetime
from typing import Any

import httpx
import pytest

from inbound.auth.scopes import Scope
from tests.conftest import Headers, KeyMaker
from tests.problems import assert_problem
from tests.reports.journey_answers import JourneyAnswer, JourneyAnswers, draw, insert_answers
from tests.reports.people import JANUARY, PEOPLE, STAGE_NAMES, Ids, Person, bounds
from tests.reports.test_funnel import cohort_counts
from tests.support.world import make_world
from tests.surveys.independent import FIGURES, assert_figures, expected_figures

JOURNEY = "/api/v1/reports/journey"
FUNNEL = "/api/v1/reports/funnel"
CES_SCALES = [5, 7]


@pytest.fixture
async def answers(db: Any, ids: Ids) -> JourneyAnswers:
    return await insert_answers(db, ids, draw())


async def journey(client: httpx.AsyncClient, reader: Headers, **params: Any) -> dict[str, Any]:
    response = await client.get(JOURNEY, params=params, headers=reader)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def period_counts(people: list[Person], start: datetime, end: datetime) -> list[int]:
    return [sum(1 for p in people if s in p.reached and start <= p.reached[s] < end)
            for s in STAGE_NAMES]  # fmt: skip


def answered(
    world: JourneyAnswers, start: datetime, end: datetime, stage: str, *,
    persona: str | None = None, with_contact: bool = False,
) -> list[JourneyAnswer]:  # fmt: skip
    return [a for a in world.answers
            if start <= a.at < end and a.stage == stage
            and (persona is None or a.persona == persona)
            and (not with_contact or a.person is not None)]  # fmt: skip


def check(
    report: dict[str, Any], counts: list[int], world: JourneyAnswers, start: datetime,
    end: datetime, **where: Any,
) -> None:  # fmt: skip
    """Every stage: its count, the rate into it, and its NPS, CES (per scale) and CSAT."""
    assert [s["stage"] for s in report["stages"]] == STAGE_NAMES
    assert [s["count"] for s in report["stages"]] == counts
    for i, shown in enumerate(report["stages"]):
        ratio = shown["from_previous"]
        if i == 0:
            assert ratio is None
        else:
            numerator, denominator = counts[i], counts[i - 1]
            assert (ratio["from_stage"], ratio["to_stage"]) == (STAGE_NAMES[i - 1], STAGE_NAMES[i])
            assert (ratio["numerator"], ratio["denominator"]) == (numerator, denominator)
            assert ratio["drop_off"] == denominator - numerator
            rate = round(numerator / denominator, 4) if denominator else None
            assert ratio["rate"] == rate
        given = answered(world, start, end, shown["stage"], **where)

        def scores(metric: str, scale_max: int, given: list[JourneyAnswer] = given) -> list[int]:
            return [a.score for a in given if a.metric == metric and a.scale_max == scale_max]

        assert_figures(shown["nps"], expected_figures("nps", 10, scores("nps", 10)), shown["stage"])
        assert [(e["scale_min"], e["scale_max"]) for e in shown["ces"]] == [(1, 5), (1, 7)]
        for entry in shown["ces"]:
            want = expected_figures("ces", entry["scale_max"], scores("ces", entry["scale_max"]))
            assert_figures(entry["figures"], want, (shown["stage"], entry["scale_max"]))
        want = expected_figures("csat", 5, scores("csat", 5))
        assert_figures(shown["csat"], want, shown["stage"])


class TestFigures:
    async def test_january_every_stage_against_the_rows(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids, answers: JourneyAnswers
    ) -> None:
        report = await journey(client, reader, **JANUARY)
        start, end = bounds(date(2026, 1, 1), date(2026, 1, 31))
        counts = cohort_counts(PEOPLE, start, end, entry="subscriber")
        assert counts[0] == 6  # the contacts that entered the funnel in January
        check(report, counts, answers, start, end)
        assert (report["mode"], report["ratio_kind"]) == ("cohort", "conversion")
        assert report["persona"] is None
        # Some stage has answers of every metric: the figures are not all empty.
        assert any(s["nps"]["n"] and s["csat"]["n"] and s["ces"][1]["figures"]["n"]
                   for s in report["stages"])  # fmt: skip

    @pytest.mark.parametrize("by", ["slug", "id"])
    async def test_a_persona_narrows_contacts_now_and_answers_then(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids, answers: JourneyAnswers,
        by: str,
    ) -> None:  # fmt: skip
        ref = "cio" if by == "slug" else str(ids.personas["cio"])
        report = await journey(client, reader, **JANUARY, persona=ref)
        start, end = bounds(date(2026, 1, 1), date(2026, 1, 31))
        cios = [p for p in PEOPLE if p.persona == "cio"]
        check(report, cohort_counts(cios, start, end, entry="subscriber"), answers, start, end,
              persona="cio")  # fmt: skip
        assert report["persona"] == "cio"

    async def test_period_mode_in_a_time_zone(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids, answers: JourneyAnswers
    ) -> None:
        tz = "America/New_York"
        report = await journey(client, reader, **JANUARY, tz=tz, mode="period")
        start, end = bounds(date(2026, 1, 1), date(2026, 1, 31), tz)
        check(report, period_counts(PEOPLE, start, end), answers, start, end)
        assert report["ratio_kind"] == "throughput"

    async def test_a_window_counts_only_the_stages_reached_within_it(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids, answers: JourneyAnswers
    ) -> None:
        report = await journey(client, reader, **JANUARY, window_days=3)
        start, end = bounds(date(2026, 1, 1), date(2026, 1, 31))
        check(report, cohort_counts(PEOPLE, start, end, 3, "subscriber"), answers, start, end)

    async def test_a_site_narrows_to_its_contacts_and_their_answers(
        self, client: httpx.AsyncClient, reader: Headers, admin: Headers, ids: Ids,
        answers: JourneyAnswers,
    ) -> None:  # fmt: skip
        start, end = bounds(date(2026, 1, 1), date(2026, 1, 31))
        report = await journey(client, reader, **JANUARY, site=str(ids.site))
        counts = cohort_counts(PEOPLE, start, end, entry="subscriber")
        check(report, counts, answers, start, end, with_contact=True)
        other = (await make_world(client, admin)).site_id
        empty = await journey(client, reader, **JANUARY, site=other)
        assert [s["count"] for s in empty["stages"]] == [0] * len(STAGE_NAMES)
        assert all(s["nps"]["n"] == s["csat"]["n"] == 0 for s in empty["stages"])
        assert all(s["nps"]["value"] is None for s in empty["stages"])

    async def test_with_no_answers_the_figures_are_null_and_both_scales_shown(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids, answers: JourneyAnswers
    ) -> None:
        report = await journey(client, reader, **{"from": "2024-01-01", "to": "2024-12-31"})
        for stage in report["stages"]:
            assert stage["count"] == 0
            assert stage["nps"] == {name: 0 if name in ("n", "promoters", "passives",
                                                        "detractors") else None
                                    for name in FIGURES}  # fmt: skip
            assert [e["scale_max"] for e in stage["ces"]] == CES_SCALES
            assert all(e["figures"]["n"] == 0 and e["figures"]["value"] is None
                       for e in stage["ces"])  # fmt: skip


class TestSameAsTheFunnel:
    @pytest.mark.parametrize(
        "params",
        [{}, {"persona": "cfo"}, {"mode": "period"}, {"window_days": "10"},
         {"tz": "Asia/Tokyo", "persona": "cio"}, {"mode": "period", "persona": "cio"}],
        ids=["plain", "persona", "period", "window", "tokyo-persona", "period-persona"],
    )  # fmt: skip
    async def test_counts_and_rates_equal_the_funnel_reports(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids, params: dict[str, str]
    ) -> None:
        asked = {"from": "2026-01-01", "to": "2026-02-28", **params}
        report = await journey(client, reader, **asked)
        response = await client.get(FUNNEL, params={**asked, "entry": "subscriber"},
                                    headers=reader)  # fmt: skip
        assert response.status_code == 200, response.text
        total = response.json()["total"]
        assert [(s["stage"], s["count"]) for s in report["stages"]] == [
            (s["stage"], s["count"]) for s in total["stages"]
        ]
        assert [s["from_previous"] for s in report["stages"][1:]] == total["from_previous"]
        assert report["as_of"] is not None


class TestCsv:
    async def test_every_row_is_the_jsons(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids, answers: JourneyAnswers
    ) -> None:
        report = await journey(client, reader, **JANUARY)
        response = await client.get(JOURNEY, params={**JANUARY}, headers={**reader,
                                    "Accept": "text/csv"})  # fmt: skip
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert len(rows) == len(STAGE_NAMES) * (2 + len(CES_SCALES))
        for row in rows:
            [stage] = [s for s in report["stages"] if s["stage"] == row["stage"]]
            assert int(row["count"]) == stage["count"]
            ratio = stage["from_previous"]
            assert row["denominator"] == ("" if ratio is None else str(ratio["denominator"]))
            if row["metric"] == "ces":
                [entry] = [e for e in stage["ces"] if e["scale_max"] == int(row["scale_max"])]
                figures = entry["figures"]
            else:
                figures = stage[row["metric"]]
            for name in FIGURES:
                value = figures[name]
                assert row[name] == ("" if value is None else str(value)), (row, name)
        same = await client.get(JOURNEY, params={**JANUARY, "format": "csv"}, headers=reader)
        assert same.text.splitlines()[1:] == response.text.splitlines()[1:]


class TestRefusals:
    @pytest.mark.parametrize(
        ("params", "field"),
        [({"to": "2026-01-31"}, "from"), ({"from": "2026-01-01"}, "to"),
         ({**JANUARY, "from": "2026-02-30"}, "from"),
         ({"from": "2026-02-01", "to": "2026-01-01"}, "to"),
         ({**JANUARY, "tz": "Mars/Olympus"}, "tz"), ({**JANUARY, "mode": "weekly"}, "mode"),
         ({**JANUARY, "window_days": "0"}, "window_days"),
         ({**JANUARY, "window_days": "7", "mode": "period"}, "window_days"),
         ({**JANUARY, "persona": "nobody"}, "persona"),
         ({**JANUARY, "persona": str(uuid.UUID(int=1))}, "persona"),
         ({**JANUARY, "site": "main"}, "site"),
         ({**JANUARY, "site": str(uuid.UUID(int=2))}, "site"),
         ({**JANUARY, "format": "xlsx"}, "format"), ({**JANUARY, "by": "persona"}, "by"),
         ({**JANUARY, "entry": "lead"}, "entry"), ({**JANUARY, "persona": "a\x00b"}, "persona")],
        ids=["no-from", "no-to", "no-such-day", "to-before-from", "zone", "mode", "window-zero",
             "window-in-period-mode", "persona-slug", "persona-id", "site-not-uuid",
             "site-unknown", "format", "breakdown", "entry", "nul"],
    )  # fmt: skip
    async def test_bad_parameters_are_a_400_naming_the_parameter(
        self, client: httpx.AsyncClient, reader: Headers, ids: Ids, params: dict[str, str],
        field: str,
    ) -> None:  # fmt: skip
        response = await client.get(JOURNEY, params=params, headers=reader)
        assert_problem(response, 400)
        body = response.json()
        assert field in [e["field"] for e in body.get("errors", [])] or field in body["detail"], (
            body
        )

    async def test_a_key_without_the_reports_scope_is_refused(
        self, client: httpx.AsyncClient, make_key: KeyMaker
    ) -> None:
        leads = await make_key(Scope.LEADS_READ, name="crm")
        assert (await client.get(JOURNEY, params=JANUARY, headers=leads)).status_code == 403
        assert (await client.get(JOURNEY, params=JANUARY)).status_code == 401
