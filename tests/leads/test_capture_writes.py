"""`POST /api/v1/captures` with JSON: idempotency, consent and one transaction for everything a
capture writes."""

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbound.db import utcnow
from inbound.leads.models import Capture, CaptureIdempotencyKey, Contact
from tests.leads.helpers import (
    NOTHING_WRITTEN,
    count_rows,
    get_capture,
    instant,
    other_site,
    written,
)
from tests.problems import assert_problem
from tests.support.world import World, capture, get_lead


def assert_another_capture_of_the_same_contact(
    answer: httpx.Response, first: httpx.Response
) -> None:
    """``answer`` is a new capture, not a replay of ``first``, of the same contact."""
    assert answer.status_code == 201
    assert "idempotent-replayed" not in answer.headers
    assert answer.json()["capture_id"] != first.json()["capture_id"]
    assert answer.json()["contact_id"] == first.json()["contact_id"]


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


class TestConsent:
    async def test_consent_is_recorded_as_given_on_the_contact_and_the_capture(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await capture(client, world, consent=True, consent_text_version="2026-01")
        ids = response.json()
        stored = await get_capture(client, world, ids["capture_id"])
        assert (stored["consent"], stored["consent_text_version"]) == (True, "2026-01")
        consent = (await get_lead(client, world, ids["contact_id"]))["consent"]
        assert (consent["given"], consent["text_version"]) == (True, "2026-01")
        assert consent["capture_id"] == ids["capture_id"]
        assert instant(consent["at"]) == instant(stored["created_at"])

    async def test_a_no_is_recorded_as_no(self, client: httpx.AsyncClient, world: World) -> None:
        response = await capture(client, world, consent=False, consent_text_version="v1")
        stored = await get_capture(client, world, response.json()["capture_id"])
        assert stored["consent"] is False
        consent = (await get_lead(client, world, response.json()["contact_id"]))["consent"]
        assert (consent["given"], consent["text_version"]) == (False, "v1")
        assert consent["capture_id"] == response.json()["capture_id"]

    async def test_a_capture_that_does_not_ask_leaves_consent_unknown(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await capture(client, world)
        stored = await get_capture(client, world, response.json()["capture_id"])
        assert (stored["consent"], stored["consent_text_version"]) == (None, None)
        consent = (await get_lead(client, world, response.json()["contact_id"]))["consent"]
        assert consent == {"given": None, "at": None, "text_version": None, "capture_id": None}

    @pytest.mark.parametrize("given", [True, False])
    async def test_a_later_capture_that_does_not_ask_keeps_the_earlier_answer(
        self, client: httpx.AsyncClient, world: World, given: bool
    ) -> None:
        answered = await capture(client, world, consent=given, consent_text_version="v1")
        before = (await get_lead(client, world, answered.json()["contact_id"]))["consent"]
        later = await capture(client, world, company="Acme")
        stored = await get_capture(client, world, later.json()["capture_id"])
        assert stored["consent"] is None
        lead = await get_lead(client, world, answered.json()["contact_id"])
        assert lead["company"] == "Acme"
        assert lead["consent"] == before
        assert before["given"] is given

    async def test_a_new_answer_replaces_the_old_one(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        await capture(client, world, consent=True, consent_text_version="v1")
        withdrawn = await capture(client, world, consent=False, consent_text_version="v2")
        consent = (await get_lead(client, world, withdrawn.json()["contact_id"]))["consent"]
        assert (consent["given"], consent["text_version"]) == (False, "v2")
        assert consent["capture_id"] == withdrawn.json()["capture_id"]


async def refuse_score_events_for(db: AsyncSession, email: str) -> None:
    """Make the database itself refuse the score ledger row of one contact's capture."""
    if db.get_bind().dialect.name == "postgresql":
        await db.execute(
            text(
                "CREATE FUNCTION refuse_score_for_email() RETURNS trigger LANGUAGE plpgsql AS $$ "
                "BEGIN IF (SELECT email FROM contacts WHERE id = NEW.contact_id) = "
                f"'{email}' THEN RAISE EXCEPTION 'ledger unavailable'; END IF; RETURN NEW; END $$"
            )
        )
        await db.execute(
            text(
                "CREATE TRIGGER refuse_score_for_email BEFORE INSERT ON score_events "
                "FOR EACH ROW EXECUTE FUNCTION refuse_score_for_email()"
            )
        )
    else:
        await db.execute(
            text(
                "CREATE TRIGGER refuse_score_for_email BEFORE INSERT ON score_events "
                f"WHEN (SELECT email FROM contacts WHERE id = NEW.contact_id) = '{email}' "
                "BEGIN SELECT RAISE(ABORT, 'ledger unavailable'); END"
            )
        )
    await db.commit()


async def allow_score_events(db: AsyncSession) -> None:
    await db.execute(text("DROP TRIGGER refuse_score_for_email ON score_events")
                     if db.get_bind().dialect.name == "postgresql"
                     else text("DROP TRIGGER refuse_score_for_email"))  # fmt: skip
    await db.commit()


class TestOneTransaction:
    async def test_a_failure_in_a_new_contacts_capture_leaves_nothing_behind(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        await refuse_score_events_for(db, "boom@example.com")
        response = await capture(
            client, world, email="boom@example.com", consent=True, consent_text_version="v1",
            headers={"Idempotency-Key": "boom-1"},
        )  # fmt: skip
        assert_problem(response, 500)
        assert await written(db) == NOTHING_WRITTEN

        others = await capture(client, world, email="fine@example.com")
        assert others.status_code == 201, others.text

    async def test_a_failure_in_a_returning_contacts_capture_changes_nothing(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        first = await capture(client, world, email="boom@example.com", company="Acme")
        lead = await get_lead(client, world, first.json()["contact_id"])
        before = await written(db)
        await refuse_score_events_for(db, "boom@example.com")
        response = await capture(
            client, world, email="boom@example.com", company="Beta", fields={"budget": "9k"},
            consent=True, consent_text_version="v1", headers={"Idempotency-Key": "boom-2"},
        )  # fmt: skip
        assert_problem(response, 500)
        assert await written(db) == before
        after = await get_lead(client, world, first.json()["contact_id"])
        assert after == lead

    async def test_a_key_whose_capture_failed_is_free_for_the_retry(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        await refuse_score_events_for(db, "boom@example.com")
        key = {"Idempotency-Key": "boom-3"}
        failed = await capture(client, world, email="boom@example.com", headers=key)
        assert_problem(failed, 500)
        await allow_score_events(db)
        retried = await capture(client, world, email="boom@example.com", headers=key)
        assert retried.status_code == 201, retried.text
        assert "idempotent-replayed" not in retried.headers
        assert await count_rows(db, Capture) == 1
