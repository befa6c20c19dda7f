"""`POST /api/v1/captures` with JSON: CORS, redirects, one contact per email and the stages a
capture moves it through."""

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.leads.models import Capture, Contact, StageChange
from tests.conftest import Headers
from tests.leads.helpers import (
    DELIVERY_URL,
    NOTHING_WRITTEN,
    OTHER_ORIGIN,
    count_rows,
    get_capture,
    instant,
    other_site,
    written,
)
from tests.problems import assert_problem, error_fields
from tests.support.world import CAPTURES, ORIGIN, World, capture, get_lead, make_asset

FOREIGN_ORIGIN = "https://evil.example"


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


ASKED = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type,idempotency-key",
}


class TestCors:
    async def test_a_preflight_from_any_sites_origin_is_204(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        await other_site(client, world.admin)
        for origin in (ORIGIN, OTHER_ORIGIN):
            response = await client.options(CAPTURES, headers={"Origin": origin, **ASKED})
            assert response.status_code == 204, response.text
            assert response.headers["access-control-allow-origin"] == origin
            assert "POST" in response.headers["access-control-allow-methods"]
            allowed = response.headers["access-control-allow-headers"].lower()
            assert {"authorization", "content-type", "idempotency-key"} <= {
                h.strip() for h in allowed.split(",")
            }
            assert "Origin" in response.headers["vary"]

    @pytest.mark.parametrize("origin", [FOREIGN_ORIGIN, "null", "https://www.example.com:8443"])
    async def test_a_preflight_from_a_foreign_origin_is_403(
        self, client: httpx.AsyncClient, world: World, origin: str
    ) -> None:
        response = await client.options(CAPTURES, headers={"Origin": origin, **ASKED})
        problem = assert_problem(response, 403)
        assert problem["type"] == "urn:inbound:problem:origin-not-allowed"
        assert "access-control-allow-origin" not in response.headers

    async def test_a_post_from_the_sites_origin_may_read_the_answer(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await capture(client, world, headers={"Origin": ORIGIN})
        assert response.status_code == 201
        assert response.headers["access-control-allow-origin"] == ORIGIN
        exposed = {
            h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
        }
        assert {"location", "retry-after", "idempotent-replayed"} <= exposed

    async def test_a_post_from_another_sites_origin_is_403_readably_and_stores_nothing(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        await other_site(client, world.admin)
        response = await capture(client, world, headers={"Origin": OTHER_ORIGIN})
        assert assert_problem(response, 403)["type"] == "urn:inbound:problem:origin-not-allowed"
        assert error_fields(response) == ["Origin"]
        assert response.headers["access-control-allow-origin"] == OTHER_ORIGIN
        assert await written(db) == NOTHING_WRITTEN

    @pytest.mark.parametrize("origin", [FOREIGN_ORIGIN, "null", "http://www.example.com"])
    async def test_a_post_from_a_foreign_origin_is_403_and_stores_nothing(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession, origin: str
    ) -> None:
        response = await capture(client, world, headers={"Origin": origin, "Idempotency-Key": "k"})
        assert assert_problem(response, 403)["type"] == "urn:inbound:problem:origin-not-allowed"
        assert "access-control-allow-origin" not in response.headers
        assert await written(db) == NOTHING_WRITTEN


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
