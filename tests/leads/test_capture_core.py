"""The capture endpoint's promises: one contact per person, one capture per post, nothing
half-written, and nothing stored for spam or foreign origins."""

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from inbound.app import create_app
from inbound.config import Settings
from inbound.leads.models import Capture, CaptureIdempotencyKey, Contact, ScoreEvent, StageChange
from tests.conftest import Headers, http_client
from tests.problems import assert_problem, error_fields
from tests.support.world import (
    CAPTURES,
    ORIGIN,
    World,
    capture,
    get_lead,
    make_ebook_world,
)


async def count(session: AsyncSession, model: type[Any]) -> int:
    return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


class TestDeduplication:
    async def test_case_and_spaces_make_one_contact_with_two_captures(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        first = await capture(client, world, email="ana@example.com", company="Acme")
        second = await capture(client, world, email="  ANA@Example.COM ", job_title="CTO")
        assert first.status_code == second.status_code == 201
        assert first.json()["contact_id"] == second.json()["contact_id"]
        assert first.json()["capture_id"] != second.json()["capture_id"]
        assert await count(db, Contact) == 1
        assert await count(db, Capture) == 2
        lead = await get_lead(client, world, first.json()["contact_id"])
        assert lead["email"] == "ana@example.com"
        assert (lead["company"], lead["job_title"]) == ("Acme", "CTO")

    async def test_blank_or_missing_fields_never_erase_what_is_known(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        first = await capture(
            client, world, company="Acme", phone="+34 600", fields={"budget": "5k"}
        )
        await capture(client, world, company="", fields={"budget": ""})
        lead = await get_lead(client, world, first.json()["contact_id"])
        assert (lead["company"], lead["phone"]) == ("Acme", "+34 600")
        assert lead["custom_fields"] == {"budget": "5k"}


class TestConsent:
    async def test_consent_is_recorded_as_given_and_never_implied(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        silent = await capture(client, world)
        lead = await get_lead(client, world, silent.json()["contact_id"])
        assert lead["consent"] == {"given": None, "at": None, "text_version": None,
                                   "capture_id": None}  # fmt: skip
        given = await capture(client, world, consent=True, consent_text_version="2026-01")
        await capture(client, world)  # a later form that does not ask changes nothing
        lead = await get_lead(client, world, given.json()["contact_id"])
        assert lead["consent"]["given"] is True
        assert lead["consent"]["text_version"] == "2026-01"
        assert lead["consent"]["capture_id"] == given.json()["capture_id"]

    async def test_an_explicit_no_is_recorded_too(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        await capture(client, world, consent=True, consent_text_version="v1")
        refused = await capture(client, world, consent=False, consent_text_version="v2")
        lead = await get_lead(client, world, refused.json()["contact_id"])
        assert (lead["consent"]["given"], lead["consent"]["text_version"]) == (False, "v2")

    async def test_consent_without_its_text_version_is_refused(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        response = await capture(client, world, consent=True)
        assert response.status_code == 400
        assert await count(db, Contact) == 0


class TestOrigins:
    async def test_a_foreign_origin_is_refused_and_nothing_is_stored(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        response = await capture(client, world, headers={"Origin": "https://evil.example"})
        assert response.status_code == 403
        assert response.json()["type"] == "urn:inbound:problem:origin-not-allowed"
        assert "access-control-allow-origin" not in response.headers
        assert await count(db, Contact) == 0

    async def test_the_sites_origin_may_post_and_read_the_answer(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await capture(client, world, headers={"Origin": ORIGIN})
        assert response.status_code == 201
        assert response.headers["access-control-allow-origin"] == ORIGIN

    async def test_preflight_answers_known_origins_only(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        asked = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}  # fmt: skip
        known = await client.options(CAPTURES, headers={"Origin": ORIGIN, **asked})
        assert known.status_code == 204
        assert known.headers["access-control-allow-origin"] == ORIGIN
        assert "Authorization" in known.headers["access-control-allow-headers"]
        foreign = await client.options(
            CAPTURES, headers={"Origin": "https://evil.example", **asked}
        )
        assert foreign.status_code == 403
        assert "access-control-allow-origin" not in foreign.headers


class TestPlainForms:
    async def test_a_form_with_redirect_gets_303_to_it(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        form = {"_key": world.public_key, "asset": "scoring-ebook", "email": "bo@example.com",
                "consent": "on", "consent_text_version": "v1", "company_size": "250",
                "budget": "10k", "_redirect": f"{ORIGIN}/thanks?from=ebook"}  # fmt: skip
        response = await client.post(CAPTURES, data=form)
        assert response.status_code == 303
        location = httpx.URL(response.headers["location"])
        assert (location.host, location.path) == ("www.example.com", "/thanks")
        assert location.params["from"] == "ebook"
        assert location.params["delivery_url"] == "https://cdn.example.com/scoring.pdf"
        stored = await db.get(Capture, uuid.UUID(location.params["capture_id"]))
        assert stored is not None
        lead = await get_lead(client, world, str(stored.contact_id))
        assert lead["company_size"] == 250
        assert lead["consent"]["given"] is True
        assert lead["custom_fields"] == {"budget": "10k"}
        assert "_key" not in stored.fields

    async def test_a_foreign_redirect_is_refused(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        form = {"_key": world.public_key, "asset": "scoring-ebook", "email": "bo@example.com",
                "_redirect": "https://evil.example/phish"}  # fmt: skip
        response = await client.post(CAPTURES, data=form)
        assert response.status_code == 422
        assert error_fields(response) == ["_redirect"]
        assert await count(db, Capture) == 0


class TestSpam:
    async def test_a_filled_honeypot_looks_accepted_but_stores_nothing(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        response = await capture(client, world, _hp="http://spam.example")
        assert response.status_code == 201
        assert response.json()["delivery_url"] == "https://cdn.example.com/scoring.pdf"
        assert await count(db, Contact) == 0
        assert await count(db, Capture) == 0

    @pytest.mark.parametrize("redis_url", [None, "redis://127.0.0.1:6379/14"])
    async def test_too_many_posts_from_one_address_get_429(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        admin: Headers,
        redis_url: str | None,
    ) -> None:
        limited = settings.model_copy(
            update={"capture_rate_per_ip": "3/minute", "redis_url": redis_url}
        )
        app = create_app(limited)
        app.state.sessionmaker = sessionmaker
        await app.state.rate_limiter.reset()
        async with http_client(app) as client:
            world = await make_ebook_world(client, admin)
            answers = [(await capture(client, world)).status_code for _ in range(4)]
            refused = await capture(client, world)
        await app.state.rate_limiter.reset()
        await app.state.capture_reference.close()
        assert answers == [201, 201, 201, 429]
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.json()["type"] == "urn:inbound:problem:rate-limited"

    async def test_captures_go_on_when_the_counter_store_is_down(
        self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], admin: Headers
    ) -> None:
        app = create_app(settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))
        app.state.sessionmaker = sessionmaker
        async with http_client(app) as client:
            world = await make_ebook_world(client, admin)
            assert (await capture(client, world)).status_code == 201


class TestOneTransaction:
    async def test_a_failure_half_way_leaves_nothing_behind(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        # The ledger insert comes after the contact, the stage change and the idempotency key.
        if db.get_bind().dialect.name == "postgresql":
            await db.execute(
                text(
                    "CREATE FUNCTION refuse_score() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'ledger unavailable'; END $$"
                )
            )
            await db.execute(
                text(
                    "CREATE TRIGGER refuse_score BEFORE INSERT ON score_events "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_score()"
                )
            )
        else:
            await db.execute(text(
                "CREATE TRIGGER refuse_score BEFORE INSERT ON score_events "
                "BEGIN SELECT RAISE(ABORT, 'ledger unavailable'); END"))  # fmt: skip
        await db.commit()
        response = await capture(client, world, headers={"Idempotency-Key": "half-way"})
        assert_problem(response, 500)
        for model in (Contact, Capture, StageChange, ScoreEvent, CaptureIdempotencyKey):
            assert await count(db, model) == 0, model.__name__


@pytest.mark.committing
class TestConcurrency:
    async def test_twenty_identical_posts_make_one_capture(
        self, committing_app: Litestar, committing_client: httpx.AsyncClient, world: World
    ) -> None:
        key = {"Idempotency-Key": f"double-click-{uuid.uuid4()}"}
        answers = await asyncio.gather(
            *(capture(committing_client, world, headers=key) for _ in range(20))
        )
        assert {a.status_code for a in answers} == {201}
        assert len({a.json()["capture_id"] for a in answers}) == 1
        assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 19
        async with committing_app.state.sessionmaker() as session:
            assert await count(session, Capture) == 1

    async def test_twenty_posts_of_one_new_email_make_one_contact(
        self, committing_app: Litestar, committing_client: httpx.AsyncClient, world: World
    ) -> None:
        answers = await asyncio.gather(
            *(
                capture(committing_client, world, email="new@example.com",
                        headers={"Idempotency-Key": f"post-{i}"})
                for i in range(20)
            )
        )  # fmt: skip
        assert [a.status_code for a in answers] == [201] * 20
        assert len({a.json()["contact_id"] for a in answers}) == 1
        async with committing_app.state.sessionmaker() as session:
            assert await count(session, Contact) == 1
            assert await count(session, Capture) == 20
            lead_stage_changes = await session.execute(
                select(func.count())
                .select_from(StageChange)
                .where(col(StageChange.to_stage) == "lead")
            )
            assert lead_stage_changes.scalar_one() == 1
