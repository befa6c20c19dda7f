"""An idempotency key belongs to one request body: the same body replays the first answer,
another body is refused rather than silently dropped."""

import asyncio

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbound.leads.models import Capture, CaptureIdempotencyKey, Contact
from tests.conftest import Headers
from tests.leads.helpers import count_rows
from tests.problems import assert_problem, error_fields
from tests.support.world import (
    CAPTURES,
    World,
    capture,
    get_lead,
    make_ebook_world,
)


class TestIdempotencyFingerprint:
    async def test_a_key_reused_with_another_body_is_422_and_changes_nothing(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        key = {"Idempotency-Key": "reused"}
        first = await capture(client, world, headers=key, company="Acme")
        lead = await get_lead(client, world, first.json()["contact_id"])
        other = await capture(client, world, headers=key, email="bo@example.com", company="Beta")
        problem = assert_problem(other, 422)
        assert problem["type"] == "urn:inbound:problem:idempotency-key-reused"
        assert error_fields(other) == ["Idempotency-Key"]
        assert "idempotent-replayed" not in other.headers
        assert await count_rows(db, Contact) == 1
        assert await count_rows(db, Capture) == 1
        assert await get_lead(client, world, first.json()["contact_id"]) == lead

    async def test_an_idem_field_reused_with_another_body_is_422_naming_it(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        first = await capture(client, world, _idem="form-1", company="Acme")
        assert first.status_code == 201
        other = await capture(client, world, _idem="form-1", company="Acme Inc")
        assert_problem(other, 422)
        assert error_fields(other) == ["_idem"]
        assert await count_rows(db, Capture) == 1

    async def test_the_same_body_in_another_order_still_replays(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        headers = {**world.site_headers, "Idempotency-Key": "ordered"}
        body = {"asset": "scoring-ebook", "email": "ana@example.com", "fields": {"a": 1, "b": 2}}
        first = await client.post(CAPTURES, json=body, headers=headers)
        reordered = {
            "fields": {"b": 2, "a": 1},
            "email": "ana@example.com",
            "asset": "scoring-ebook",
        }
        again = await client.post(CAPTURES, json=reordered, headers=headers)
        assert again.status_code == 201, again.text
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()
        assert await count_rows(db, Capture) == 1

    async def test_a_key_claimed_before_fingerprints_were_kept_still_replays(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        key = {"Idempotency-Key": "older"}
        first = await capture(client, world, headers=key, company="Acme")
        await db.execute(
            update(CaptureIdempotencyKey)
            .where(col(CaptureIdempotencyKey.key) == "older")
            .values(request_hash=None)
        )
        await db.commit()
        again = await capture(client, world, headers=key, company="Beta")
        assert again.status_code == 201, again.text
        assert again.json() == first.json()
        assert await count_rows(db, Capture) == 1

    @pytest.mark.committing
    async def test_racing_posts_with_one_key_and_two_bodies_make_one_capture(
        self, committing_app: Litestar, committing_client: httpx.AsyncClient,
        committing_admin: Headers,
    ) -> None:  # fmt: skip
        world = await make_ebook_world(committing_client, committing_admin)
        key = {"Idempotency-Key": "race"}
        answers = await asyncio.gather(
            *(
                capture(committing_client, world, headers=key, company=f"Body {i % 2}")
                for i in range(10)
            )
        )
        created = [a for a in answers if a.status_code == 201]
        refused = [a for a in answers if a.status_code == 422]
        assert len(created) + len(refused) == 10, [a.text for a in answers]
        assert len({a.json()["capture_id"] for a in created}) == 1
        assert (len(created), len(refused)) == (5, 5)
        async with committing_app.state.sessionmaker() as session:
            assert await count_rows(session, Capture) == 1
