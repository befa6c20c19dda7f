"""`POST /api/v1/captures` with JSON: what is stored, and bad input."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.leads.models import Capture, Contact
from tests.leads.helpers import count_rows, get_capture
from tests.problems import assert_problem, error_fields
from tests.support.world import CAPTURES, ORIGIN, World, capture, get_lead

# Where a lead came from, as a capture tells it and the lead's first touch keeps it.
FIRST_TOUCH = {
    "utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "spring",
    "utm_term": "scoring", "utm_content": "hero", "referrer": "https://news.example.net/issue/4",
}  # fmt: skip


class TestWhatIsStored:
    async def test_every_field_reaches_the_contact_and_the_capture(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        body = {
            "email": "Ana.Lopez@Example.com",
            "first_name": "Ana",
            "last_name": "López",
            "company": "Acme",
            "job_title": "CTO",
            "phone": "+34 600 000 000",
            "country": "ES",
            "industry": "Software",
            "company_size": 250,
            "seniority": "executive",
            "consent": True,
            "consent_text_version": "2026-01",
            "fields": {"budget": "10k", "seats": 12, "trial": True, "ratio": 0.5},
            **FIRST_TOUCH,
            "page_url": f"{ORIGIN}/ebooks/scoring?x=1",
            "visitor_id": "dGVzdA+/x==",  # any id events take, base64 included
        }
        response = await capture(
            client, world, headers={"User-Agent": "Form/1.0", "Idempotency-Key": "k-1"}, **body
        )
        assert response.status_code == 201, response.text
        ids = response.json()

        lead = await get_lead(client, world, ids["contact_id"])
        assert lead["email"] == "ana.lopez@example.com"
        profile = ("first_name", "last_name", "company", "job_title", "phone", "country",
                   "industry", "company_size", "seniority")  # fmt: skip
        assert {name: lead[name] for name in profile} == {name: body[name] for name in profile}
        assert lead["custom_fields"] == body["fields"]
        assert lead["first_touch"] == {
            "site_id": world.site_id,
            "asset_id": lead["first_touch"]["asset_id"],
            **FIRST_TOUCH,
        }

        stored = await get_capture(client, world, ids["capture_id"])
        assert stored["asset_id"] == lead["first_touch"]["asset_id"]
        for name in ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
                     "referrer", "page_url", "visitor_id"):  # fmt: skip
            assert stored[name] == body[name], name
        assert (stored["consent"], stored["consent_text_version"]) == (True, "2026-01")
        assert stored["user_agent"] == "Form/1.0"
        assert stored["ip_prefix"] == "127.0.0.0/24"
        assert stored["idempotency_key"] == "k-1"
        assert stored["fields"]["fields"] == body["fields"]
        assert stored["fields"]["company"] == "Acme"

    async def test_the_client_network_is_kept_not_its_address(
        self, app: Litestar, world: World
    ) -> None:
        transport = httpx.ASGITransport(app=app, client=("2001:db8:1:2::5", 40000))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await capture(client, world)
            stored = await get_capture(client, world, response.json()["capture_id"])
        assert stored["ip_prefix"] == "2001:db8:1::/48"
        assert "2001:db8:1:2::5" not in str(stored)

    async def test_first_touch_stays_with_the_first_capture(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        first = await capture(
            client, world, utm_source="google", referrer="https://www.google.com/"
        )
        second = await capture(
            client, world, utm_source="linkedin", referrer="https://www.linkedin.com/"
        )
        lead = await get_lead(client, world, first.json()["contact_id"])
        assert lead["first_touch"]["utm_source"] == "google"
        assert lead["first_touch"]["referrer"] == "https://www.google.com/"
        later = await get_capture(client, world, second.json()["capture_id"])
        assert later["utm_source"] == "linkedin"
        captures = [e for e in lead["timeline"] if e["type"] == "capture"]
        assert [e["detail"]["utm_source"] for e in captures] == ["linkedin", "google"]


BASE = {"asset": "scoring-ebook", "email": "ana@example.com"}


class TestBadInput:
    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"email": "not-an-email"}, "email"),
            ({"email": "ana@example"}, "email"),
            ({"email": "a\x00b@example.com"}, "email"),
            ({"email": None}, "email"),
            ({"company_size": "250"}, "company_size"),
            ({"company_size": -1}, "company_size"),
            ({"company_size": True}, "company_size"),
            ({"consent": "yes", "consent_text_version": "v1"}, "consent"),
            ({"first_name": 5}, "first_name"),
            ({"phone": "1" * 51}, "phone"),
            ({"company": "Ac\x00me"}, "company"),
            ({"fields": ["budget"]}, "fields"),
            ({"page_url": "javascript:alert(1)"}, "page_url"),
            ({"referrer": "not a url"}, "referrer"),
            ({"visitor_id": "has spaces"}, "visitor_id"),
            ({"_idem": "has spaces"}, "_idem"),
            ({"_redirect": 5}, "_redirect"),
            ({"asset": " "}, "asset"),
            ({"nickname": "Ana"}, "nickname"),
        ],
    )
    async def test_a_wrong_value_is_400_naming_its_field(
        self,
        client: httpx.AsyncClient,
        world: World,
        db: AsyncSession,
        changes: dict[str, Any],
        field: str,
    ) -> None:
        response = await client.post(CAPTURES, json={**BASE, **changes}, headers=world.site_headers)
        assert assert_problem(response, 400)["type"] == "urn:inbound:problem:validation"
        assert error_fields(response) == [field]
        assert await count_rows(db, Contact) == 0

    async def test_a_missing_email_is_400_naming_it(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await client.post(
            CAPTURES, json={"asset": "scoring-ebook"}, headers=world.site_headers
        )
        assert_problem(response, 400)
        assert error_fields(response) == ["email"]

    @pytest.mark.parametrize(
        "fields", [{"budget": {"min": 1}}, {"budget": [1, 2]}, {"Budget": "x"}, {"a-b": "x"}]
    )
    async def test_a_wrong_custom_field_is_400_naming_it(
        self, client: httpx.AsyncClient, world: World, fields: dict[str, Any]
    ) -> None:
        response = await capture(client, world, fields=fields)
        assert_problem(response, 400)
        [name] = fields
        named = error_fields(response)
        assert named
        # The field itself, or a part of its value.
        assert all(f"{field}.".startswith(f"fields.{name}.") for field in named), named

    @pytest.mark.parametrize("body", [b"[]", b"null", b'"ana@example.com"', b"42", b"true"])
    async def test_a_body_that_is_not_an_object_is_400(
        self, client: httpx.AsyncClient, world: World, body: bytes
    ) -> None:
        headers = {**world.site_headers, "Content-Type": "application/json"}
        response = await client.post(CAPTURES, content=body, headers=headers)
        assert "object" in assert_problem(response, 400)["detail"]

    @pytest.mark.parametrize(
        "body", [b"{", b"", b"{'asset': 'x'}", b'{"asset": "x",}', b'{"asset": "x"} {}']
    )
    async def test_invalid_json_is_400(
        self, client: httpx.AsyncClient, world: World, body: bytes
    ) -> None:
        headers = {**world.site_headers, "Content-Type": "application/json"}
        response = await client.post(CAPTURES, content=body, headers=headers)
        assert assert_problem(response, 400)["type"] == "urn:inbound:problem:validation"

    async def test_json_that_is_not_utf8_is_400(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        body = b'{"asset": "scoring-ebook", "email": "ana@example.com", "company": "\xff"}'
        headers = {**world.site_headers, "Content-Type": "application/json"}
        response = await client.post(CAPTURES, content=body, headers=headers)
        assert_problem(response, 400)
        assert await count_rows(db, Contact) == 0

    async def test_consent_without_its_text_version_is_400(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        for consent in (True, False):
            response = await capture(client, world, consent=consent)
            assert "consent_text_version" in assert_problem(response, 400)["detail"]
        assert await count_rows(db, Contact) == 0

    @pytest.mark.parametrize(
        "content_type", [None, "text/plain", "application/xml", "text/html", "application/jsonx"]
    )
    async def test_an_unsupported_content_type_is_415(
        self, client: httpx.AsyncClient, world: World, content_type: str | None
    ) -> None:
        headers = dict(world.site_headers)
        if content_type is not None:
            headers["Content-Type"] = content_type
        response = await client.post(
            CAPTURES,
            content=b'{"asset": "scoring-ebook", "email": "a@example.com"}',
            headers=headers,
        )
        assert assert_problem(response, 415)["type"] == "urn:inbound:problem:unsupported-media-type"

    async def test_json_with_a_charset_or_a_json_suffix_is_read(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        body = b'{"asset": "scoring-ebook", "email": "ana@example.com"}'
        for content_type in ("application/json; charset=utf-8", "application/vnd.form+json"):
            headers = {**world.site_headers, "Content-Type": content_type}
            response = await client.post(CAPTURES, content=body, headers=headers)
            assert response.status_code == 201, (content_type, response.text)

    async def test_a_body_over_64_kib_is_413(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        too_big = await capture(client, world, fields={"notes": "x" * (64 * 1024)})
        assert_problem(too_big, 413)
        form = {"_key": world.public_key, **BASE, "notes": "x" * (64 * 1024)}
        assert_problem(await client.post(CAPTURES, data=form), 413)
        assert await count_rows(db, Capture) == 0

    async def test_a_streamed_body_over_64_kib_is_413(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"asset": "scoring-ebook", "email": "ana@example.com", "fields": {"x": "'
            for _ in range(70):
                yield b"x" * 1024
            yield b'"}}'

        headers = {**world.site_headers, "Content-Type": "application/json"}
        response = await client.post(CAPTURES, content=chunks(), headers=headers)
        assert_problem(response, 413)

    async def test_a_body_just_under_64_kib_is_taken(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        fields = {f"note_{i:02}": "x" * 2000 for i in range(31)}
        body = httpx.Request("POST", "http://testserver/", json={**BASE, "fields": fields}).content
        assert 60 * 1024 < len(body) < 64 * 1024
        response = await capture(client, world, fields=fields)
        assert response.status_code == 201, response.text

    async def test_an_overlong_idempotency_key_header_is_400_not_500(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        response = await capture(client, world, headers={"Idempotency-Key": "k" * 201})
        assert_problem(response, 400)
        assert await count_rows(db, Capture) == 0

    async def test_a_redirect_with_an_impossible_port_is_refused_not_500(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        response = await capture(client, world, _redirect="https://www.example.com:99999/thanks")
        assert response.status_code in {400, 422}, response.text
        assert error_fields(response) == ["_redirect"]
        assert await count_rows(db, Capture) == 0
