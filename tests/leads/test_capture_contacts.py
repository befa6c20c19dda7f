"""`POST /api/v1/captures` with JSON: redirects, one contact per email and idempotency."""

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbound.db import utcnow
from inbound.leads.models import Capture, CaptureIdempotencyKey, Contact
from tests.leads.helpers import (
    DELIVERY_URL,
    FOREIGN_ORIGIN,
    OTHER_ORIGIN,
    count_rows,
    get_capture,
    other_site,
    written,
)
from tests.problems import assert_problem, error_fields
from tests.support.world import ORIGIN, World, capture, get_lead


def assert_another_capture_of_the_same_contact(
    answer: httpx.Response, first: httpx.Response
) -> None:
    """``answer`` is a new capture, not a replay of ``first``, of the same contact."""
    assert answer.status_code == 201
    assert "idempotent-replayed" not in answer.headers
    assert answer.json()["capture_id"] != first.json()["capture_id"]
    assert answer.json()["contact_id"] == first.json()["contact_id"]


class TestRedirect:
    async def test_a_json_post_with_redirect_gets_303(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        response = await capture(client, world, _redirect=f"{ORIGIN}/thanks")
        assert response.status_code == 303, response.text
        location = httpx.URL(response.headers["location"])
        assert str(location.copy_with(query=None)) == f"{ORIGIN}/thanks"
        assert location.params["delivery_url"] == DELIVERY_URL
        stored = await get_capture(client, world, location.params["capture_id"])
        assert "_redirect" not in stored["fields"]

    @pytest.mark.parametrize(
        "redirect",
        [
            f"{FOREIGN_ORIGIN}/thanks",
            f"{OTHER_ORIGIN}/thanks",
            "http://www.example.com/thanks",
            "https://www.example.com:8443/thanks",
            "https://www.example.com.evil.example/thanks",
            "/thanks",
        ],
    )
    async def test_a_redirect_off_the_sites_origins_is_422(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession, redirect: str
    ) -> None:
        await other_site(client, world.admin)
        response = await capture(client, world, _redirect=redirect)
        assert assert_problem(response, 422)["type"] == "urn:inbound:problem:redirect-not-allowed"
        assert error_fields(response) == ["_redirect"]
        assert await count_rows(db, Capture) == 0


class TestOneContactPerEmail:
    async def test_spellings_of_one_email_make_one_contact(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        answers = [
            await capture(client, world, email=email)
            for email in (" Ana@Example.COM ", "ana@example.com", "ANA@EXAMPLE.COM")
        ]
        assert [a.status_code for a in answers] == [201] * 3
        assert len({a.json()["contact_id"] for a in answers}) == 1
        assert len({a.json()["capture_id"] for a in answers}) == 3
        assert await count_rows(db, Contact) == 1
        lead = await get_lead(client, world, answers[0].json()["contact_id"])
        assert lead["email"] == "ana@example.com"
        assert sorted(e["id"] for e in lead["timeline"] if e["type"] == "capture") == sorted(
            a.json()["capture_id"] for a in answers
        )
        for answer in answers:
            stored = await get_capture(client, world, answer.json()["capture_id"])
            assert stored["contact_id"] == lead["id"]

    async def test_other_emails_make_other_contacts(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        ana = await capture(client, world, email="ana@example.com")
        bo = await capture(client, world, email="ana@example.org")
        assert ana.json()["contact_id"] != bo.json()["contact_id"]

    async def test_a_returning_lead_updates_its_contact_and_keeps_what_it_left_out(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        first = await capture(
            client, world, first_name="Ana", company="Acme", job_title="CTO", company_size=50,
            phone="+34 600", fields={"budget": "5k", "team": "data"},
        )  # fmt: skip
        lead = await get_lead(client, world, first.json()["contact_id"])
        second = await capture(
            client, world, email=" ANA@example.com", first_name="", company="Beta",
            company_size=500, phone="   ", fields={"budget": "", "region": "EU"},
        )  # fmt: skip
        assert second.json()["contact_id"] == first.json()["contact_id"]
        updated = await get_lead(client, world, first.json()["contact_id"])
        assert updated["first_name"] == "Ana"
        assert updated["company"] == "Beta"
        assert updated["job_title"] == "CTO"
        assert updated["company_size"] == 500
        assert updated["phone"] == "+34 600"
        assert updated["custom_fields"] == {"budget": "5k", "team": "data", "region": "EU"}
        assert updated["version"] > lead["version"]
        assert updated["created_at"] == lead["created_at"]
        assert len([e for e in updated["timeline"] if e["type"] == "capture"]) == 2


class TestIdempotency:
    async def test_the_same_key_answers_as_the_first_post_and_writes_nothing_more(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        key = {"Idempotency-Key": "click-1"}
        first = await capture(client, world, headers=key, company="Acme")
        before = await written(db)
        lead = await get_lead(client, world, first.json()["contact_id"])
        again = await capture(client, world, headers=key, company="Acme")
        assert again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["location"] == first.headers["location"]
        assert again.headers["idempotent-replayed"] == "true"
        assert await written(db) == before
        unchanged = await get_lead(client, world, first.json()["contact_id"])
        assert unchanged["version"] == lead["version"]

    async def test_a_key_reused_with_another_body_is_422_and_stores_none_of_it(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        key = {"Idempotency-Key": "click-2"}
        first = await capture(client, world, headers=key, company="Acme")
        again = await capture(client, world, headers=key, email="bo@example.com", company="Beta")
        assert assert_problem(again, 422)["type"] == "urn:inbound:problem:idempotency-key-reused"
        assert await count_rows(db, Contact) == 1
        lead = await get_lead(client, world, first.json()["contact_id"])
        assert lead["company"] == "Acme"

    async def test_the_idem_field_is_the_same_key_as_the_header(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        first = await capture(client, world, _idem="click-3")
        by_field = await capture(client, world, _idem="click-3")
        by_header = await capture(client, world, headers={"Idempotency-Key": "click-3"})
        assert by_field.json() == by_header.json() == first.json()
        assert by_field.headers["idempotent-replayed"] == "true"
        assert await count_rows(db, Capture) == 1
        stored = await get_capture(client, world, first.json()["capture_id"])
        assert stored["idempotency_key"] == "click-3"
        assert "_idem" not in stored["fields"]

    async def test_without_a_key_every_post_is_a_capture(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        first = await capture(client, world)
        second = await capture(client, world)
        assert first.json()["capture_id"] != second.json()["capture_id"]
        assert await count_rows(db, Capture) == 2

    async def test_keys_belong_to_their_site(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        blog = await other_site(client, world.admin)
        key = {"Idempotency-Key": "shared"}
        main = await capture(client, world, headers=key)
        other = await capture(client, blog, headers=key)
        assert_another_capture_of_the_same_contact(other, main)
        assert await count_rows(db, Capture) == 2

    async def test_a_key_replays_for_24_hours_and_then_makes_a_new_capture(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        key = {"Idempotency-Key": "daily"}
        first = await capture(client, world, headers=key)
        await age_idempotency_key(db, "daily", timedelta(hours=23, minutes=50))
        within = await capture(client, world, headers=key)
        assert within.json()["capture_id"] == first.json()["capture_id"]

        await age_idempotency_key(db, "daily", timedelta(hours=24, minutes=5))
        after = await capture(client, world, headers=key)
        assert_another_capture_of_the_same_contact(after, first)
        assert await count_rows(db, Capture) == 2

        replayed = await capture(client, world, headers=key)
        assert replayed.json()["capture_id"] == after.json()["capture_id"]
        assert await count_rows(db, Capture) == 2


async def age_idempotency_key(db: AsyncSession, key: str, age: timedelta) -> None:
    """Pretend the capture made under ``key`` was made ``age`` ago."""
    then = utcnow() - age
    claimed = (
        await db.execute(
            update(CaptureIdempotencyKey)
            .where(col(CaptureIdempotencyKey.key) == key)
            .values(created_at=then)
            .returning(col(CaptureIdempotencyKey.capture_id))
        )
    ).scalar_one()
    await db.execute(update(Capture).where(col(Capture.id) == claimed).values(created_at=then))
    await db.commit()
