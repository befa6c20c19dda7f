"""`POST /api/v1/captures` with JSON: consent, stages and one transaction."""

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.leads.models import Capture, StageChange
from tests.conftest import Headers
from tests.leads.helpers import NOTHING_WRITTEN, count_rows, get_capture, instant, written
from tests.problems import assert_problem
from tests.support.world import World, capture, get_lead, make_asset


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


async def make_newsletter(client: httpx.AsyncClient, admin: Headers) -> None:
    await make_asset(
        client, admin, slug="weekly", title="Weekly", kind="newsletter",
        funnel_stage="attract", gated=False, delivery_url=None,
    )  # fmt: skip


class TestStage:
    async def test_a_first_capture_makes_a_lead_that_passed_through_subscriber(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await capture(client, world)
        lead = await get_lead(client, world, response.json()["contact_id"])
        assert lead["stage"] == "lead"
        reached = lead["reached_at"]
        assert reached["subscriber"] is not None
        assert reached["subscriber"] == reached["lead"] == lead["stage_changed_at"]
        assert {k for k, v in reached.items() if v is not None} == {"subscriber", "lead"}
        [change] = [e["detail"] for e in lead["timeline"] if e["type"] == "stage"]
        assert (change["from"], change["to"], change["cause"]) == (None, "lead", "capture")
        assert change["actor"].startswith("key:")

    async def test_a_newsletter_makes_a_subscriber(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        await make_newsletter(client, world.admin)
        response = await capture(client, world, asset="weekly", email="sub@example.com")
        assert response.json()["delivery_url"] is None
        lead = await get_lead(client, world, response.json()["contact_id"])
        assert lead["stage"] == "subscriber"
        assert lead["reached_at"]["subscriber"] is not None
        assert lead["reached_at"]["lead"] is None

    async def test_a_subscriber_who_asks_for_an_asset_becomes_a_lead(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        await make_newsletter(client, world.admin)
        subscribed = await capture(client, world, asset="weekly")
        first = await get_lead(client, world, subscribed.json()["contact_id"])
        await capture(client, world)
        lead = await get_lead(client, world, subscribed.json()["contact_id"])
        assert lead["stage"] == "lead"
        assert lead["reached_at"]["subscriber"] == first["reached_at"]["subscriber"]
        assert instant(lead["reached_at"]["lead"]) > instant(first["reached_at"]["subscriber"])

    async def test_a_lead_who_subscribes_stays_a_lead(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        await make_newsletter(client, world.admin)
        first = await capture(client, world)
        lead = await get_lead(client, world, first.json()["contact_id"])
        await capture(client, world, asset="weekly")
        after = await get_lead(client, world, first.json()["contact_id"])
        assert after["stage"] == "lead"
        assert after["reached_at"] == lead["reached_at"]
        assert await count_rows(db, StageChange) == 1


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
