"""Header bytes that are not text (Origin, Idempotency-Key, User-Agent, ...) get a 4xx or are
kept readably, never a 500."""

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.leads.refusals import assert_refused
from tests.problems import assert_problem
from tests.support.world import CAPTURES, World, capture

NOT_TEXT = b"https://www.ex\xe4mple.com\xff\xfe"


class TestHeaderBytes:
    async def test_a_preflight_with_an_origin_that_is_not_utf8_is_403(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await client.options(
            CAPTURES,
            headers={b"Origin": NOT_TEXT, b"Access-Control-Request-Method": b"POST"},
        )
        assert_problem(response, 403)
        assert "access-control-allow-origin" not in response.headers

    async def test_a_post_with_an_origin_that_is_not_utf8_is_403_and_stores_nothing(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        response = await capture(client, world, headers={"Origin": NOT_TEXT})  # type: ignore[dict-item]
        await assert_refused(response, db, "Origin", 403)

    @pytest.mark.parametrize(
        "value", [b"click-\xe4", b"click-\xff\xfe", b"\xe6\x97\xa5\xe6\x9c\xac", b"k\x00y"]
    )
    async def test_an_idempotency_key_that_is_not_ascii_is_400(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession, value: bytes
    ) -> None:
        response = await capture(client, world, headers={"Idempotency-Key": value})  # type: ignore[dict-item]
        await assert_refused(response, db, "Idempotency-Key", 400)

    @pytest.mark.parametrize(
        ("value", "kept"),
        [
            (b"Mozilla/5.0 \xff\xfe", "Mozilla/5.0 \ufffd\ufffd"),
            (b"Bot\x00/1.0\x7f", "Bot/1.0"),
            ("Navigateur/1.0 (été)".encode(), "Navigateur/1.0 (été)"),
        ],
    )
    async def test_a_user_agent_of_any_bytes_is_kept_as_readable_text(
        self, client: httpx.AsyncClient, world: World, value: bytes, kept: str
    ) -> None:
        response = await capture(client, world, headers={"User-Agent": value})  # type: ignore[dict-item]
        assert response.status_code == 201, response.text
        stored = await client.get(
            f"{CAPTURES}/{response.json()['capture_id']}", headers=world.admin
        )
        assert stored.json()["user_agent"] == kept

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("Authorization", b"Bearer inb_pk_\xff\xfe"),
            ("Authorization", b"Bearer inb_pk_\x00"),
            ("Referer", b"https://www.example.com/\xff"),
            ("Content-Type", b"application/json; charset=\xff"),
            ("X-Request-Id", b"req-\xff\xfe"),
            ("Host", b"www.\xe4\xff.example"),
            ("Accept", b"application/\xff"),
        ],
    )
    async def test_other_headers_that_are_not_text_are_no_500(
        self, client: httpx.AsyncClient, world: World, name: str, value: bytes
    ) -> None:
        headers: dict[str, Any] = {**world.site_headers, name: value}
        body = {"asset": "scoring-ebook", "email": "ana@example.com"}
        response = await client.post(CAPTURES, json=body, headers=headers)
        assert response.status_code < 500, response.text
