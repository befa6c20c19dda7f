"""`GET /api/v1/next`: answers from live history, pinned rules, and the site key's checks."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from inbound.auth.scopes import Scope
from inbound.db import utcnow
from inbound.leads.models import Contact
from inbound.tracking.models import VisitorIdentity
from tests.conftest import Headers, KeyMaker
from tests.problems import assert_problem, error_fields
from tests.support.world import ORIGIN, capture
from tests.tracking.nbc_world import (
    NEXT,
    RULES,
    NbcWorld,
    make_nbc_world,
    next_content,
    slugs,
    view,
)

CONTACTS = Contact.__table__  # type: ignore[attr-defined]
IDENTITIES = VisitorIdentity.__table__  # type: ignore[attr-defined]


@pytest.fixture
async def world(client: httpx.AsyncClient, admin: Headers) -> NbcWorld:
    return await make_nbc_world(client, admin)


class TestAnswer:
    async def test_new_visitor_gets_the_next_phase_first(
        self, client: httpx.AsyncClient, world: NbcWorld
    ) -> None:
        response = await next_content(client, world, slot="sidebar")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["slot"] == "sidebar"
        assert body["k"] == 3
        first = body["items"][0]
        # A new visitor is in attract: convert assets are its next phase.
        assert first["asset"]["stage"] == "convert"
        assert set(first["asset"]) == {"id", "slug", "title", "kind", "stage", "public_url"}
        assert first["components"]["stage_progression"] == pytest.approx(0.6)
        assert first["score"] == pytest.approx(sum(first["components"].values()))
        assert first["reason"]
        assert first["pinned"] is False
        assert len(body["items"]) == 3

    async def test_unknown_anonymous_id_answers_like_a_new_visitor(
        self, client: httpx.AsyncClient, world: NbcWorld
    ) -> None:
        new = await next_content(client, world, k=6)
        unknown = await next_content(client, world, k=6, anonymous_id="never-seen")
        assert unknown.status_code == 200
        assert unknown.json()["items"] == new.json()["items"]

    async def test_a_new_view_changes_the_next_answer_at_once(
        self, client: httpx.AsyncClient, world: NbcWorld, connection: AsyncConnection
    ) -> None:
        await view(connection, world, "blog-seo", anonymous_id="anon-1", ago=timedelta(hours=1))
        first = await slugs(client, world, anonymous_id="anon-1", k=6)
        assert "blog-seo" not in first
        assert first[0] == "ebook-seo"  # its topic and persona, and the next phase
        await view(connection, world, "ebook-seo", anonymous_id="anon-1")
        second = await slugs(client, world, anonymous_id="anon-1", k=6)
        assert "ebook-seo" not in second
        assert second[0] == "case-study"  # now in convert: close comes next

    async def test_the_asset_on_the_page_is_left_out_and_read_as_the_latest_view(
        self, client: httpx.AsyncClient, world: NbcWorld
    ) -> None:
        response = await next_content(client, world, asset="blog-crm", k=6)
        items = response.json()["items"]
        found = [item["asset"]["slug"] for item in items]
        assert "blog-crm" not in found
        assert found[0] == "ebook-crm"
        # The page's asset counts as read: its topic and its persona (CFO) show.
        assert items[0]["components"]["topic_affinity"] == pytest.approx(1.0)
        assert items[0]["components"]["persona_fit"] == pytest.approx(1.0)
        by_id = await slugs(client, world, asset=world.assets["blog-crm"], k=6)
        assert by_id == found

    async def test_archived_assets_are_never_suggested(
        self, client: httpx.AsyncClient, world: NbcWorld, admin: Headers
    ) -> None:
        assert "ebook-seo" in await slugs(client, world, k=6)
        response = await client.post("/api/v1/assets/ebook-seo/archive", headers=admin)
        assert response.status_code == 200
        assert "ebook-seo" not in await slugs(client, world, k=6)
        # A page still showing the archived asset gets an answer, not an error.
        assert len(await slugs(client, world, k=6, asset="ebook-seo")) == 5
        # So does a page whose asset was renamed or deleted since.
        assert await slugs(client, world, k=6, asset="old-slug") == await slugs(client, world, k=6)

    async def test_a_rule_never_pins_the_asset_on_the_page(
        self, client: httpx.AsyncClient, world: NbcWorld, editor: Headers
    ) -> None:
        response = await client.post(RULES, json={"asset": "onboarding"}, headers=editor)
        assert response.status_code == 201
        assert (await slugs(client, world))[0] == "onboarding"
        assert "onboarding" not in await slugs(client, world, asset="onboarding", k=6)

    async def test_a_contact_answers_from_its_linked_ids_captures_persona_and_stage(
        self,
        client: httpx.AsyncClient,
        world: NbcWorld,
        connection: AsyncConnection,
        make_key: KeyMaker,
    ) -> None:
        # The contact captured the SEO e-book (so it is a lead: convert).
        captured = await capture(client, world.site, asset="ebook-seo", email="li@example.com")
        assert captured.status_code == 201, captured.text
        contact_id = captured.json()["contact_id"]
        contact = uuid.UUID(contact_id)
        await connection.execute(
            update(CONTACTS)
            .where(CONTACTS.c.id == contact)
            .values(persona_id=uuid.UUID(world.personas["cfo"]))
        )
        await connection.execute(
            insert(IDENTITIES),
            [{"kind": kind, "external_id": external, "contact_id": contact, "linked_at": utcnow()}
             for kind, external in (("anonymous", "browser-1"), ("user", "u-7"))],
        )  # fmt: skip
        await view(connection, world, "blog-crm", anonymous_id="browser-1")
        await view(connection, world, "case-study", user_id="u-7")
        await view(connection, world, "ebook-crm", anonymous_id="someone-else")
        sales = await make_key(Scope.LEADS_READ, name="sales")
        response = await next_content(client, world, contact_id=contact_id, k=6, headers=sales)
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        found = [item["asset"]["slug"] for item in items]
        # Viewed under either linked id, or captured: left out. Someone else's view is not its.
        assert set(found) == {"blog-seo", "ebook-crm", "onboarding"}
        assert found[0] == "ebook-crm"
        assert items[0]["components"]["persona_fit"] == pytest.approx(1.0)  # CFO, relevance 3
        # With the page's key, a browser linked to the contact is answered from its own
        # views only: a public key reveals nothing of the contact's record.
        browser = await next_content(client, world, anonymous_id="browser-1", k=6)
        assert browser.status_code == 200, browser.text
        assert {item["asset"]["slug"] for item in browser.json()["items"]} == {
            "blog-seo",
            "ebook-seo",
            "ebook-crm",
            "case-study",
            "onboarding",
        }

    async def test_a_browser_s_own_captures_are_left_out_and_move_it_on(
        self, client: httpx.AsyncClient, world: NbcWorld
    ) -> None:
        captured = await capture(
            client, world.site, asset="ebook-crm", email="jo@example.com", visitor_id="tab-1"
        )
        assert captured.status_code == 201, captured.text
        found = await slugs(client, world, anonymous_id="tab-1", k=6)
        assert "ebook-crm" not in found
        assert found[0] == "case-study"  # the next phase (close), on the captured topic
        # Another browser that posts the same email learns nothing of the first one's capture.
        other = await capture(
            client, world.site, asset="blog-seo", email="jo@example.com", visitor_id="tab-2"
        )
        assert other.status_code == 201, other.text
        assert "ebook-crm" in await slugs(client, world, anonymous_id="tab-2", k=6)

    async def test_an_unknown_contact_answers_like_a_new_visitor(
        self, client: httpx.AsyncClient, world: NbcWorld, make_key: KeyMaker
    ) -> None:
        new = await next_content(client, world)
        sales = await make_key(Scope.LEADS_READ, name="sales")
        unknown = await next_content(client, world, contact_id=str(uuid.uuid4()), headers=sales)
        assert unknown.status_code == 200
        assert unknown.json()["items"] == new.json()["items"]

    async def test_asking_by_contact_takes_a_lead_reader_never_the_public_key(
        self, client: httpx.AsyncClient, world: NbcWorld, make_key: KeyMaker
    ) -> None:
        captured = await capture(client, world.site, asset="ebook-seo", email="kim@example.com")
        contact_id = captured.json()["contact_id"]
        public = await next_content(client, world, contact_id=contact_id)
        assert public.status_code == 403, public.text
        assert public.json()["errors"][0]["field"] == "contact_id"
        content_only = await make_key(Scope.CONTENT_READ, name="editor")
        for headers, status in (
            (content_only, 403),
            ({"Authorization": "Bearer inb_sk_nope"}, 401),
        ):
            response = await next_content(client, world, contact_id=contact_id, headers=headers)
            assert response.status_code == status, response.text
        bare = await client.get(NEXT, params={"contact_id": contact_id})
        assert bare.status_code == 401
        assert "leads:read" in bare.json()["detail"]
        # A server's key without `contact_id` is told so, not taken for an unknown key.
        server = await client.get(NEXT, headers=content_only)
        assert server.status_code == 403, server.text
        assert "contact_id" in server.json()["detail"]


class TestReasons:
    async def test_with_every_weight_off_a_known_visitor_is_not_called_new(
        self, client: httpx.AsyncClient, world: NbcWorld, admin: Headers,
        connection: AsyncConnection,
    ) -> None:  # fmt: skip
        off = dict.fromkeys(
            ("persona_fit", "topic_affinity", "stage_progression", "covisitation"), 0
        )
        response = await client.put("/api/v1/settings/nbc", json={**off, "exploration": 0},
                                    headers=admin)  # fmt: skip
        assert response.status_code == 200, response.text
        await view(connection, world, "blog-seo", anonymous_id="reader-1")
        known = (await next_content(client, world, anonymous_id="reader-1")).json()["items"]
        new = (await next_content(client, world, anonymous_id="reader-2")).json()["items"]
        assert "new visitor" not in known[0]["reason"]
        assert "new visitor" in new[0]["reason"]


class TestPinnedRules:
    async def test_a_matching_rule_pins_its_asset_first(
        self,
        client: httpx.AsyncClient,
        world: NbcWorld,
        editor: Headers,
        connection: AsyncConnection,
    ) -> None:
        rule = {"asset": "onboarding", "slot": "sidebar", "campaign": "spring", "priority": 5}
        response = await client.post(RULES, json=rule, headers=editor)
        assert response.status_code == 201, response.text
        await view(connection, world, None, anonymous_id="anon-2", campaign="Spring")
        await view(connection, world, None, anonymous_id="anon-3", campaign="autumn")
        pinned = await next_content(client, world, anonymous_id="anon-2", slot="sidebar")
        assert pinned.json()["items"][0]["asset"]["slug"] == "onboarding"
        assert pinned.json()["items"][0]["pinned"] is True
        for anonymous_id, slot in (("anon-3", "sidebar"), ("anon-2", "footer")):
            other = await next_content(client, world, anonymous_id=anonymous_id, slot=slot)
            assert other.json()["items"][0]["pinned"] is False

    async def test_a_viewed_asset_condition_and_an_inactive_rule(
        self,
        client: httpx.AsyncClient,
        world: NbcWorld,
        editor: Headers,
        connection: AsyncConnection,
    ) -> None:
        rule = {"asset": "blog-crm", "viewed_asset": "blog-crm", "stages": ["anonymous"]}
        created = await client.post(RULES, json=rule, headers=editor)
        assert created.status_code == 201, created.text
        await view(connection, world, "blog-crm", anonymous_id="anon-4")
        # Pinned although already viewed.
        assert (await slugs(client, world, anonymous_id="anon-4"))[0] == "blog-crm"
        assert (await slugs(client, world, anonymous_id="anon-5"))[0] != "blog-crm"
        patched = await client.patch(
            f"{RULES}/{created.json()['id']}", json={"active": False}, headers=editor
        )
        assert patched.status_code == 200
        assert "blog-crm" not in await slugs(client, world, anonymous_id="anon-4")


class TestBrowserStage:
    async def test_a_browser_that_posted_a_form_is_a_lead_for_rules(
        self, client: httpx.AsyncClient, world: NbcWorld, editor: Headers
    ) -> None:
        for rule in ({"asset": "blog-crm", "stages": ["anonymous"], "priority": 9},
                     {"asset": "case-study", "stages": ["lead"], "priority": 5}):  # fmt: skip
            assert (await client.post(RULES, json=rule, headers=editor)).status_code == 201
        assert (await slugs(client, world, anonymous_id="tab-9"))[0] == "blog-crm"
        captured = await capture(
            client, world.site, asset="ebook-seo", email="max@example.com", visitor_id="tab-9"
        )
        assert captured.status_code == 201, captured.text
        found = await slugs(client, world, anonymous_id="tab-9")
        assert found[0] == "case-study"  # the lead rule; the anonymous one no longer holds


class TestRefusals:
    @pytest.mark.parametrize(
        ("params", "field", "status"),
        [({"k": "0"}, "k", 400), ({"k": "21"}, "k", 400), ({"k": "two"}, "k", 400),
         ({"slot": "a b"}, "slot", 400), ({"slot": "x" * 65}, "slot", 400),
         ({"anonymous_id": "a b"}, "anonymous_id", 400),
         ({"anonymous_id": "x" * 101}, "anonymous_id", 400),
         ({"contact_id": "nope"}, "contact_id", 400),
         ({"anonymous_id": "a", "contact_id": str(uuid.uuid4())}, "contact_id", 400),
         ({"limit": "3"}, "limit", 400)],
    )  # fmt: skip
    async def test_bad_parameters_are_named(
        self,
        client: httpx.AsyncClient,
        world: NbcWorld,
        params: dict[str, Any],
        field: str,
        status: int,
    ) -> None:
        response = await next_content(client, world, **params)
        assert_problem(response, status)
        assert field in error_fields(response)

    async def test_the_site_key_is_required(
        self, client: httpx.AsyncClient, world: NbcWorld, admin: Headers
    ) -> None:
        assert (await client.get("/api/v1/next")).status_code == 401
        bad = {"Authorization": "Bearer inb_pk_nothing"}
        assert (await client.get("/api/v1/next", headers=bad)).status_code == 401
        # A server-side key is no site's key: it may only ask by contact.
        assert (await client.get("/api/v1/next", headers=admin)).status_code == 403

    async def test_origins_and_cors(self, client: httpx.AsyncClient, world: NbcWorld) -> None:
        ours = await next_content(client, world, headers={"Origin": ORIGIN})
        assert ours.status_code == 200
        assert ours.headers["access-control-allow-origin"] == ORIGIN
        foreign = await next_content(client, world, headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 403
        assert "access-control-allow-origin" not in foreign.headers
        preflight = await client.options(
            "/api/v1/next",
            headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET",
                     "Access-Control-Request-Headers": "authorization"},
        )  # fmt: skip
        assert preflight.status_code == 204
        assert "GET" in preflight.headers["access-control-allow-methods"]


@pytest.mark.settings(tracking_rate_per_ip="2/minute")
class TestRateLimit:
    async def test_a_page_client_over_its_rate_gets_429_and_events_still_go_in(
        self, client: httpx.AsyncClient, world: NbcWorld
    ) -> None:
        for _ in range(2):
            assert (await next_content(client, world)).status_code == 200
        refused = await next_content(client, world)
        assert refused.status_code == 429
        assert refused.headers["retry-after"].isdigit()
        # Suggestions and events are counted apart: a page asking often still reports views.
        event = {"type": "page", "anonymousId": "a-1", "properties": {"url": ORIGIN}}
        sent = await client.post("/api/v1/t", json=event, headers=world.site.site_headers)
        assert sent.status_code == 200, sent.text
