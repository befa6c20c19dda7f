"""Spam defences of the capture endpoint: the honeypot, and rate limits per address and per key
(counted in memory, or in Redis shared by every process, and failing open when Redis is down)."""

import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.leads.models import Capture, Contact
from tests.conftest import Headers
from tests.leads.helpers import count_rows, ebook_form, post_form
from tests.leads.refusals import nothing_written
from tests.problems import assert_problem
from tests.support.fixtures import AppMaker
from tests.support.world import (
    CAPTURES,
    LEADS,
    ORIGIN,
    World,
    capture,
    get_lead,
    make_ebook_world,
)

DELIVERY_URL = "https://cdn.example.com/scoring.pdf"
REDIS_URL = "redis://127.0.0.1:6379/15"
CLOSED_REDIS_URL = "redis://127.0.0.1:1/0"


class TestHoneypot:
    async def test_a_filled_honeypot_is_answered_like_a_capture_and_stores_nothing(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        response = await capture(
            client, world, _hp="http://spam.example", headers={"Idempotency-Key": "bot-1"}
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert set(body) == {"contact_id", "capture_id", "delivery_url"}
        assert body["delivery_url"] == DELIVERY_URL
        assert response.headers["location"] == f"{CAPTURES}/{body['capture_id']}"
        assert await nothing_written(db)
        unknown = await client.get(f"{CAPTURES}/{body['capture_id']}", headers=world.admin)
        assert unknown.status_code == 404
        no_lead = await client.get(f"{LEADS}/{body['contact_id']}", headers=world.admin)
        assert no_lead.status_code == 404

    async def test_a_filled_honeypot_in_a_form_with_redirect_gets_303(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        fields = ebook_form(
            world, email="bot@example.com", _hp="Buy now", _redirect=f"{ORIGIN}/thanks"
        )
        response = await post_form(client, fields)
        assert response.status_code == 303, response.text
        location = httpx.URL(response.headers["location"])
        assert str(location.copy_with(query=None)) == f"{ORIGIN}/thanks"
        assert location.params["delivery_url"] == DELIVERY_URL
        assert location.params["capture_id"]
        assert await nothing_written(db)

    async def test_a_filled_honeypot_leaves_a_known_contact_as_it_was(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        real = await capture(client, world, company="Acme")
        lead = await get_lead(client, world, real.json()["contact_id"])
        spam = await capture(client, world, company="Spam Inc", _hp="x")
        assert spam.status_code == 201
        assert spam.json()["contact_id"] != real.json()["contact_id"]
        assert await get_lead(client, world, real.json()["contact_id"]) == lead
        assert await count_rows(db, Capture) == 1

    @pytest.mark.parametrize(
        ("changes", "delivery_url"),
        [
            ({"email": "not-an-email"}, DELIVERY_URL),
            ({"asset": "no-such-asset"}, None),
            ({"nickname": "bot", "company_size": "many"}, DELIVERY_URL),
        ],
    )
    async def test_a_filled_honeypot_learns_nothing_from_its_mistakes(
        self,
        client: httpx.AsyncClient,
        world: World,
        db: AsyncSession,
        changes: dict[str, Any],
        delivery_url: str | None,
    ) -> None:
        response = await capture(client, world, _hp="x", **changes)
        assert response.status_code == 201, response.text
        assert response.json()["delivery_url"] == delivery_url
        assert await nothing_written(db)

    async def test_a_filled_honeypot_naming_an_impossible_asset_is_no_500(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        response = await capture(client, world, _hp="x", asset="scoring\x00ebook")
        assert response.status_code == 201, response.text
        assert await nothing_written(db)

    @pytest.mark.parametrize("honeypot", ["", "   "])
    async def test_an_empty_honeypot_input_is_a_person(
        self, client: httpx.AsyncClient, world: World, honeypot: str
    ) -> None:
        response = await post_form(
            client, ebook_form(world, email="person@example.com", _hp=honeypot)
        )
        assert response.status_code == 201, response.text
        stored = await client.get(
            f"{CAPTURES}/{response.json()['capture_id']}", headers=world.admin
        )
        assert stored.status_code == 200
        assert "_hp" not in stored.json()["fields"]

    async def test_an_empty_honeypot_in_json_is_a_person(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        response = await capture(client, world, _hp="")
        assert response.status_code == 201
        assert await count_rows(db, Capture) == 1

    async def test_a_honeypot_still_needs_the_sites_key(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await client.post(
            CAPTURES, json={"asset": "scoring-ebook", "email": "bot@example.com", "_hp": "x"}
        )
        assert response.status_code == 401


# Rate limits. Every test counts under its own client address and its own site key, so that
# counters shared through Redis never mix with those of other tests or other runs.


def unique_address() -> str:
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{1 + secrets.randbelow(254)}"


@asynccontextmanager
async def client_at(app: Litestar, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client calling ``app`` from ``address``."""
    transport = httpx.ASGITransport(app=app, client=(address, 50123))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def assert_rate_limited(response: httpx.Response, window_seconds: int) -> None:
    assert_problem(response, 429)
    assert response.json()["type"] == "urn:inbound:problem:rate-limited"
    assert response.json()["status"] == 429
    assert 1 <= int(response.headers["retry-after"]) <= window_seconds


async def statuses(client: httpx.AsyncClient, world: World, times: int) -> list[int]:
    return [(await capture(client, world)).status_code for _ in range(times)]


STORES = pytest.mark.parametrize("redis_url", [None, REDIS_URL], ids=["memory", "redis"])


class TestRateLimits:
    @STORES
    async def test_one_address_gets_429_after_its_limit(
        self,
        app_with: AppMaker,
        admin: Headers,
        db: AsyncSession,
        redis_url: str | None,
    ) -> None:
        async with app_with(redis_url=redis_url, capture_rate_per_ip="3/minute") as app:
            address = unique_address()
            async with client_at(app, address) as client:
                world = await make_ebook_world(client, admin)
                assert await statuses(client, world, 3) == [201] * 3
                refused = await capture(client, world, email="late@example.com")
                assert_rate_limited(refused, 60)
                second_site = await client.post(
                    "/api/v1/sites",
                    json={"name": "Blog", "allowed_origins": ["https://blog.example.org"]},
                    headers=admin,
                )
                blog = second_site.json()
                other_key = World(blog["id"], blog["public_key"], admin)
                assert_rate_limited(await capture(client, other_key), 60)
            async with client_at(app, unique_address()) as elsewhere:
                assert await statuses(elsewhere, world, 1) == [201]
        assert await count_rows(db, Capture) == 4
        assert await count_rows(db, Contact) == 1

    @STORES
    async def test_one_key_gets_429_after_its_limit_from_any_address(
        self,
        app_with: AppMaker,
        admin: Headers,
        redis_url: str | None,
    ) -> None:
        async with app_with(redis_url=redis_url,
            capture_rate_per_ip="100/minute", capture_rate_per_key="4/minute",
        ) as app:  # fmt: skip
            async with client_at(app, unique_address()) as client:
                world = await make_ebook_world(client, admin)
                assert await statuses(client, world, 2) == [201] * 2
                second = await client.post(f"/api/v1/sites/{world.site_id}/keys", headers=admin)
                rotated = World(world.site_id, second.json()["key"], admin)
            async with client_at(app, unique_address()) as other_address:
                assert await statuses(other_address, world, 3) == [201, 201, 429]
                assert_rate_limited(await capture(other_address, world), 60)
                assert await statuses(other_address, rotated, 1) == [201]

    @STORES
    async def test_a_refusal_is_readable_by_the_sites_page(
        self,
        app_with: AppMaker,
        admin: Headers,
        redis_url: str | None,
    ) -> None:
        async with (
            app_with(redis_url=redis_url, capture_rate_per_ip="1/minute") as app,
            client_at(app, unique_address()) as client,
        ):
            world = await make_ebook_world(client, admin)
            assert await statuses(client, world, 1) == [201]
            refused = await capture(client, world, headers={"Origin": ORIGIN})
        assert_rate_limited(refused, 60)
        assert refused.headers["access-control-allow-origin"] == ORIGIN
        assert "retry-after" in refused.headers["access-control-expose-headers"].lower()

    async def test_processes_sharing_redis_share_the_counts(
        self, app_with: AppMaker, admin: Headers
    ) -> None:
        address = unique_address()
        settings = {"redis_url": REDIS_URL, "capture_rate_per_ip": "3/minute"}
        async with (
            app_with(**settings) as first,
            app_with(**settings) as second,
            client_at(first, address) as one,
            client_at(second, address) as other,
        ):
            world = await make_ebook_world(one, admin)
            assert await statuses(one, world, 2) == [201, 201]
            assert await statuses(other, world, 2) == [201, 429]
            assert await statuses(one, world, 1) == [429]

    async def test_processes_without_redis_count_apart(
        self, app_with: AppMaker, admin: Headers
    ) -> None:
        address = unique_address()
        async with (
            app_with(capture_rate_per_ip="2/minute") as first,
            app_with(capture_rate_per_ip="2/minute") as second,
            client_at(first, address) as one,
            client_at(second, address) as other,
        ):
            world = await make_ebook_world(one, admin)
            assert await statuses(one, world, 3) == [201, 201, 429]
            assert await statuses(other, world, 2) == [201, 201]

    async def test_captures_go_on_when_redis_is_down(
        self,
        app_with: AppMaker,
        admin: Headers,
        db: AsyncSession,
    ) -> None:
        async with (
            app_with(redis_url=CLOSED_REDIS_URL,
                capture_rate_per_ip="1/minute", capture_rate_per_key="1/minute",
            ) as app,
            client_at(app, unique_address()) as client,
        ):  # fmt: skip
            world = await make_ebook_world(client, admin)
            started = time.monotonic()
            answers = await statuses(client, world, 3)
            elapsed = time.monotonic() - started
        assert answers == [201] * 3
        assert elapsed < 3
        assert await count_rows(db, Capture) == 3
