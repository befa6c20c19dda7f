"""Captures racing each other on real, committed transactions: double-clicks and bursts."""

import asyncio
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import func, select
from sqlmodel import col

from inbound.leads.models import Capture, CaptureIdempotencyKey, Contact, ScoreEvent, StageChange
from tests.leads.helpers import count_rows, ebook_form, post_form, timeline
from tests.support.world import ORIGIN, World, capture, get_lead

pytestmark = pytest.mark.committing

BURST = 20


async def rows(app: Litestar) -> dict[str, int]:
    """Rows per table that captures write, read through a fresh session."""
    async with app.state.sessionmaker() as session:
        return {
            model.__name__: await count_rows(session, model)
            for model in (Contact, Capture, ScoreEvent, StageChange, CaptureIdempotencyKey)
        }


async def stage_changes_to(app: Litestar, stage: str) -> int:
    async with app.state.sessionmaker() as session:
        statement = (
            select(func.count()).select_from(StageChange).where(col(StageChange.to_stage) == stage)
        )
        return int((await session.execute(statement)).scalar_one())


def statuses(answers: list[httpx.Response]) -> list[int]:
    return [answer.status_code for answer in answers]


class TestDoubleClicks:
    async def test_identical_posts_with_one_key_make_one_capture(
        self, committing_app: Litestar, committing_client: httpx.AsyncClient, world: World
    ) -> None:
        key = {"Idempotency-Key": "double-click"}
        answers = await asyncio.gather(
            *(capture(committing_client, world, headers=key) for _ in range(BURST))
        )
        assert statuses(answers) == [201] * BURST, [a.text for a in answers]
        assert len({a.json()["capture_id"] for a in answers}) == 1
        assert len({a.json()["contact_id"] for a in answers}) == 1
        assert len({a.headers["location"] for a in answers}) == 1
        replayed = [a.headers.get("idempotent-replayed") == "true" for a in answers]
        assert replayed.count(False) == 1
        assert await rows(committing_app) == {
            "Contact": 1,
            "Capture": 1,
            "ScoreEvent": 1,
            "StageChange": 1,
            "CaptureIdempotencyKey": 1,
        }

    async def test_a_form_submitted_repeatedly_with_its_idem_field_makes_one_capture(
        self, committing_app: Litestar, committing_client: httpx.AsyncClient, world: World
    ) -> None:
        fields = ebook_form(
            world, _idem="form-submit", _redirect=f"{ORIGIN}/thanks", email="form@example.com"
        )
        answers = await asyncio.gather(
            *(post_form(committing_client, fields) for _ in range(BURST))
        )
        assert statuses(answers) == [303] * BURST, [a.text for a in answers]
        assert len({a.headers["location"] for a in answers}) == 1
        counts = await rows(committing_app)
        assert (counts["Contact"], counts["Capture"]) == (1, 1)

    async def test_two_keys_racing_make_two_captures_of_one_contact(
        self, committing_app: Litestar, committing_client: httpx.AsyncClient, world: World
    ) -> None:
        answers = await asyncio.gather(
            *(
                capture(committing_client, world, email="two@example.com",
                        headers={"Idempotency-Key": f"tab-{i % 2}"})
                for i in range(BURST)
            )
        )  # fmt: skip
        assert statuses(answers) == [201] * BURST, [a.text for a in answers]
        assert len({a.json()["capture_id"] for a in answers}) == 2
        assert len({a.json()["contact_id"] for a in answers}) == 1
        counts = await rows(committing_app)
        assert (counts["Contact"], counts["Capture"], counts["ScoreEvent"]) == (1, 2, 2)


class TestBursts:
    async def test_posts_of_one_new_email_make_one_contact_and_every_capture(
        self, committing_app: Litestar, committing_client: httpx.AsyncClient, world: World
    ) -> None:
        spellings = ["new@example.com", " New@Example.com", "NEW@EXAMPLE.COM "]
        answers = await asyncio.gather(
            *(
                capture(committing_client, world, email=spellings[i % len(spellings)],
                        headers={"Idempotency-Key": f"post-{i}"})
                for i in range(BURST)
            )
        )  # fmt: skip
        assert statuses(answers) == [201] * BURST, [a.text for a in answers]
        assert len({a.json()["contact_id"] for a in answers}) == 1
        assert len({a.json()["capture_id"] for a in answers}) == BURST
        counts = await rows(committing_app)
        assert counts["Contact"] == 1
        assert counts["Capture"] == counts["ScoreEvent"] == BURST
        assert counts["CaptureIdempotencyKey"] == BURST
        assert await stage_changes_to(committing_app, "lead") == 1

    async def test_posts_without_keys_for_one_new_email_all_count(
        self, committing_app: Litestar, committing_client: httpx.AsyncClient, world: World
    ) -> None:
        answers = await asyncio.gather(
            *(capture(committing_client, world, email="burst@example.com") for _ in range(BURST))
        )
        assert statuses(answers) == [201] * BURST, [a.text for a in answers]
        counts = await rows(committing_app)
        assert (counts["Contact"], counts["Capture"]) == (1, BURST)

    async def test_racing_captures_of_one_lead_lose_no_update(
        self, committing_app: Litestar, committing_client: httpx.AsyncClient, world: World
    ) -> None:
        first = await capture(committing_client, world, email="busy@example.com", company="Acme")
        contact_id = first.json()["contact_id"]
        before = await get_lead(committing_client, world, contact_id)
        answers = await asyncio.gather(
            *(
                capture(committing_client, world, email="busy@example.com",
                        fields={f"answer_{i:02}": i})
                for i in range(BURST)
            )
        )  # fmt: skip
        assert statuses(answers) == [201] * BURST, [a.text for a in answers]
        lead = await get_lead(committing_client, world, contact_id)
        expected: dict[str, Any] = {f"answer_{i:02}": i for i in range(BURST)}
        assert lead["custom_fields"] == expected
        assert lead["company"] == "Acme"
        assert lead["version"] == before["version"] + BURST
        assert len([e for e in lead["timeline"] if e["type"] == "capture"]) == BURST + 1
        counts = await rows(committing_app)
        assert (counts["Contact"], counts["Capture"], counts["ScoreEvent"]) == (
            1,
            BURST + 1,
            BURST + 1,
        )

    async def test_racing_captures_of_one_lead_earn_no_more_than_the_cap(
        self, committing_app: Litestar, committing_client: httpx.AsyncClient, world: World
    ) -> None:
        # The default form-capture rule: 50 points each, at most 150 a day.
        first = await capture(committing_client, world, email="eager@example.com")
        contact_id = first.json()["contact_id"]
        answers = await asyncio.gather(
            *(capture(committing_client, world, email="eager@example.com") for _ in range(BURST))
        )
        assert statuses(answers) == [201] * BURST, [a.text for a in answers]
        lead = await get_lead(committing_client, world, contact_id)
        ledger = timeline(lead, "score")
        assert len(ledger) == BURST + 1
        assert sum(e["points"] for e in ledger) == 150.0
        assert [e["capped"] for e in ledger].count(False) == 3
        assert lead["score"] == 150.0

    async def test_posts_of_many_new_emails_make_one_contact_each(
        self, committing_app: Litestar, committing_client: httpx.AsyncClient, world: World
    ) -> None:
        emails = [f"person{i}@example.com" for i in range(BURST // 2)]
        answers = await asyncio.gather(
            *(capture(committing_client, world, email=email) for email in emails + emails)
        )
        assert statuses(answers) == [201] * BURST, [a.text for a in answers]
        by_email: dict[str, set[str]] = {}
        for email, answer in zip(emails + emails, answers, strict=True):
            by_email.setdefault(email, set()).add(answer.json()["contact_id"])
        assert all(len(ids) == 1 for ids in by_email.values())
        assert len(set().union(*by_email.values())) == len(emails)
        counts = await rows(committing_app)
        assert (counts["Contact"], counts["Capture"]) == (len(emails), BURST)
