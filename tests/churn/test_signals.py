"""Each churn signal alone, then together: points, plain reasons with their evidence, the score's
cap and the order of the reasons, as `GET /api/v1/leads/{id}/risk` computes them now."""

import uuid
from typing import Any

import httpx
import pytest

from tests.churn.world import Churn
from tests.conftest import Headers
from tests.problems import assert_problem, body_of


async def risk_of(client: httpx.AsyncClient, headers: Headers, lead: uuid.UUID) -> dict[str, Any]:
    response = await client.get(f"/api/v1/leads/{lead}/risk", headers=headers)
    return body_of(response)


def points(risk: dict[str, Any]) -> dict[str, int]:
    return {s["signal"]: s["points"] for s in risk["signals"]}


def signal(risk: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in risk["signals"] if s["signal"] == name)
    return found


NOTHING = {"engagement_falling": 0, "engagement_silent": 0, "negative_answer": 0,
           "feedback_cases": 0}  # fmt: skip


class TestEngagement:
    async def test_a_fall_gives_its_share_of_30_points(
        self, client: httpx.AsyncClient, sales: Headers, churn: Churn
    ) -> None:
        lead = await churn.falling_off("fall@example.com", created_days_ago=200)
        risk = await risk_of(client, sales, lead)
        # (38 - 4) / 38 of 30 points.
        assert points(risk) == NOTHING | {"engagement_falling": 27}
        assert risk["score"] == 27
        falling = signal(risk, "engagement_falling")
        assert falling["reason"] == (
            "engagement 4 points in the last 30 days against 38 in the 30 before"
        )
        assert falling["evidence"] == {"last_30_days": 4, "previous_30_days": 38,
                                       "drop": 0.8947}  # fmt: skip
        assert risk["reasons"] == [{"signal": "engagement_falling", "points": 27,
                                    "reason": falling["reason"]}]  # fmt: skip

    @pytest.mark.parametrize(
        ("before", "recent"),
        [(30, 25), (8, 0)],
        ids=["a-dip-under-a-quarter", "too-little-before-to-fall"],
    )
    async def test_no_fall_to_speak_of(
        self, client: httpx.AsyncClient, sales: Headers, churn: Churn, before: int, recent: int
    ) -> None:
        lead = await churn.contact("steady@example.com", created_days_ago=200)
        await churn.points(lead, before, days_ago=40)
        if recent:
            await churn.points(lead, recent, days_ago=3)
        assert points(await risk_of(client, sales, lead)) == NOTHING

    async def test_silence_for_60_days(
        self, client: httpx.AsyncClient, sales: Headers, churn: Churn
    ) -> None:
        lead = await churn.contact("quiet@example.com", created_days_ago=300)
        await churn.points(lead, 50, days_ago=90)
        await churn.points(lead, -5, days_ago=10)  # taking points back is no engagement
        risk = await risk_of(client, sales, lead)
        assert points(risk) == NOTHING | {"engagement_silent": 25}
        silent = signal(risk, "engagement_silent")
        assert silent["reason"] == (
            f"no engagement for 90 days, the last on {churn.ago(90).date().isoformat()}"
        )
        assert silent["evidence"]["silent_days"] == 90

    async def test_never_engaged_counts_from_creation(
        self, client: httpx.AsyncClient, sales: Headers, churn: Churn
    ) -> None:
        old = await churn.contact("never@example.com", created_days_ago=100)
        new = await churn.contact("new@example.com", created_days_ago=20)
        risk = await risk_of(client, sales, old)
        assert points(risk) == NOTHING | {"engagement_silent": 25}
        assert signal(risk, "engagement_silent")["reason"] == (
            "no engagement recorded since it became a contact on "
            f"{churn.ago(100).date().isoformat()}, 100 days ago"
        )
        assert points(await risk_of(client, sales, new)) == NOTHING


class TestNegativeAnswer:
    @pytest.mark.parametrize(
        ("metric", "score", "scale_max", "negative"),
        [
            ("nps", 6, 10, True), ("nps", 7, 10, False), ("nps", 0, 10, True),
            ("ces", 2, 5, True), ("ces", 3, 5, False), ("ces", 3, 7, True), ("ces", 4, 7, False),
            ("csat", 2, 5, True), ("csat", 3, 5, False),
        ],
        ids=["nps-6", "nps-7", "nps-0", "ces-2-of-5", "ces-3-of-5", "ces-3-of-7", "ces-4-of-7",
             "csat-2", "csat-3"],
    )  # fmt: skip
    async def test_the_bottom_of_each_scale(
        self,
        client: httpx.AsyncClient,
        sales: Headers,
        churn: Churn,
        metric: str,
        score: int,
        scale_max: int,
        negative: bool,
    ) -> None:
        lead = await churn.contact("voice@example.com")
        await churn.points(lead, 5, days_ago=2)
        await churn.answer(lead, metric, score, scale_max=scale_max, days_ago=13)
        risk = await risk_of(client, sales, lead)
        assert points(risk) == NOTHING | {"negative_answer": 35 if negative else 0}

    async def test_the_reason_names_the_answer_and_its_touchpoint(
        self, client: httpx.AsyncClient, sales: Headers, churn: Churn
    ) -> None:
        lead = await churn.contact("detractor@example.com")
        await churn.points(lead, 5, days_ago=2)
        await churn.answer(lead, "nps", 3, days_ago=13)
        risk = await risk_of(client, sales, lead)
        answer = signal(risk, "negative_answer")
        day = churn.ago(13).date().isoformat()
        assert answer["reason"] == f"NPS 3 on {day} at touchpoint onboarding"
        assert answer["evidence"] | {"answered_at": None} == {
            "answers": 1, "metric": "nps", "score": 3, "scale_max": 10, "answered_at": None,
            "touchpoint": "onboarding",
        }  # fmt: skip

    async def test_further_answers_add_up_to_ten_and_old_ones_count_for_nothing(
        self, client: httpx.AsyncClient, sales: Headers, churn: Churn
    ) -> None:
        lead = await churn.contact("unhappy@example.com")
        await churn.points(lead, 5, days_ago=2)
        await churn.answer(lead, "nps", 2, days_ago=100)
        await churn.answer(lead, "ces", 3, scale_max=7, days_ago=3, touchpoint="setup")
        risk = await risk_of(client, sales, lead)
        assert signal(risk, "negative_answer")["points"] == 35
        await churn.answer(lead, "csat", 1, days_ago=30)
        await churn.answer(lead, "nps", 4, days_ago=60)
        risk = await risk_of(client, sales, lead)
        answer = signal(risk, "negative_answer")
        assert answer["points"] == 45
        day = churn.ago(3).date().isoformat()
        assert answer["reason"] == (
            f"CES 3 on 1-7 on {day} at touchpoint setup, and 2 more negative answers in 90 days"
        )
        await churn.answer(lead, "nps", 5, days_ago=61)
        assert signal(await risk_of(client, sales, lead), "negative_answer")["points"] == 45


class TestFeedbackCases:
    async def test_open_and_overdue_cases(
        self, client: httpx.AsyncClient, sales: Headers, churn: Churn
    ) -> None:
        lead = await churn.contact("cases@example.com")
        await churn.points(lead, 5, days_ago=2)
        await churn.case(lead, due_in_days=1)
        risk = await risk_of(client, sales, lead)
        assert points(risk) == NOTHING | {"feedback_cases": 10}
        assert signal(risk, "feedback_cases")["reason"] == "1 unresolved feedback case"
        await churn.case(lead, due_in_days=-4, status="contacted")
        await churn.case(lead, due_in_days=-2)
        await churn.case(lead, due_in_days=-1, status="resolved")
        risk = await risk_of(client, sales, lead)
        cases = signal(risk, "feedback_cases")
        # 10 + 20 + 20, held at 40.
        assert cases["points"] == 40
        day = (churn.now.date()).toordinal() - 4
        assert cases["reason"] == (
            "3 unresolved feedback cases, 2 overdue since "
            f"{type(churn.now.date()).fromordinal(day).isoformat()}"
        )
        assert cases["evidence"]["unresolved"] == 3
        assert cases["evidence"]["overdue"] == 2


class TestTogether:
    async def test_the_sum_and_the_order_of_the_reasons(
        self, client: httpx.AsyncClient, sales: Headers, churn: Churn
    ) -> None:
        lead = await churn.falling_off("all@example.com", created_days_ago=400)
        await churn.answer(lead, "nps", 3, days_ago=13)
        await churn.case(lead, due_in_days=-1)
        risk = await risk_of(client, sales, lead)
        assert risk["score"] == 27 + 35 + 20
        assert [r["signal"] for r in risk["reasons"]] == [
            "negative_answer", "engagement_falling", "feedback_cases",
        ]  # fmt: skip
        assert [r["points"] for r in risk["reasons"]] == [35, 27, 20]
        assert risk["above_threshold"] is True
        assert risk["flagged"] is False  # the worker has not passed yet
        await churn.recompute()
        risk = await risk_of(client, sales, lead)
        assert risk["flagged"] is True
        assert risk["flagged_since"] is not None

    async def test_the_score_stops_at_100_and_shows_the_top_three(
        self, client: httpx.AsyncClient, sales: Headers, churn: Churn
    ) -> None:
        lead = await churn.contact("lost@example.com", created_days_ago=400)
        await churn.points(lead, 20, days_ago=35)
        for days in (3, 4, 5):
            await churn.answer(lead, "nps", 0, days_ago=days)
            await churn.case(lead, due_in_days=-days)
        risk = await risk_of(client, sales, lead)
        assert points(risk) == {"engagement_falling": 30, "engagement_silent": 0,
                                "negative_answer": 45, "feedback_cases": 40}  # fmt: skip
        assert risk["score"] == 100
        assert [r["points"] for r in risk["reasons"]] == [45, 40, 30]


class TestEligibility:
    @pytest.mark.parametrize("stage", ["subscriber", "lead", "mql", "sql"])
    async def test_a_lead_before_opportunity_has_no_risk(
        self, client: httpx.AsyncClient, sales: Headers, churn: Churn, stage: str
    ) -> None:
        lead = await churn.contact(f"{stage}@example.com", stage=stage, created_days_ago=300)
        await churn.answer(lead, "nps", 0)
        risk = await risk_of(client, sales, lead)
        assert risk["eligible"] is False
        assert risk["score"] is None
        assert risk["signals"] == []
        assert risk["reasons"] == []

    @pytest.mark.parametrize("stage", ["opportunity", "customer", "evangelist"])
    async def test_opportunities_customers_and_evangelists_have_one(
        self, client: httpx.AsyncClient, sales: Headers, churn: Churn, stage: str
    ) -> None:
        lead = await churn.contact(f"{stage}@example.com", stage=stage, created_days_ago=300)
        risk = await risk_of(client, sales, lead)
        assert risk["eligible"] is True
        assert risk["score"] == 25

    async def test_an_unknown_lead_is_a_404_and_reading_needs_leads_read(
        self, client: httpx.AsyncClient, sales: Headers, reader: Headers, churn: Churn
    ) -> None:
        response = await client.get(f"/api/v1/leads/{uuid.uuid4()}/risk", headers=sales)
        assert_problem(response, 404)
        lead = await churn.contact("someone@example.com")
        response = await client.get(f"/api/v1/leads/{lead}/risk", headers=reader)
        assert response.status_code == 403
        response = await client.get(f"/api/v1/leads/{lead}/risk?verbose=1", headers=sales)
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "verbose"
