"""`POST /api/v1/captures` with JSON: keys, answers, assets and their forms, what is stored,
bad input, CORS, one contact per email, idempotency, consent, stages and one transaction."""

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from inbound.auth.scopes import Scope
from inbound.db import utcnow
from inbound.leads.models import Capture, CaptureIdempotencyKey, Contact, ScoreEvent, StageChange
from tests.conftest import Headers, KeyMaker
from tests.leads.helpers import count_rows
from tests.problems import assert_problem, body_of, error_fields
from tests.support.world import CAPTURES, ORIGIN, World, capture, get_lead, make_asset, make_world

DELIVERY_URL = "https://cdn.example.com/scoring.pdf"
OTHER_ORIGIN = "https://blog.example.org"
FOREIGN_ORIGIN = "https://evil.example"
WRITTEN = (Contact, Capture, StageChange, ScoreEvent, CaptureIdempotencyKey)
# Where a lead came from, as a capture tells it and the lead's first touch keeps it.
FIRST_TOUCH = {
    "utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "spring",
    "utm_term": "scoring", "utm_content": "hero", "referrer": "https://news.example.net/issue/4",
}  # fmt: skip
NOTHING_WRITTEN = {model.__name__: 0 for model in WRITTEN}


async def other_site(client: httpx.AsyncClient, admin: Headers) -> World:
    response = await client.post(
        "/api/v1/sites",
        json={"name": "Blog", "allowed_origins": [OTHER_ORIGIN]},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    return World(response.json()["id"], response.json()["public_key"], admin)


def assert_another_capture_of_the_same_contact(
    answer: httpx.Response, first: httpx.Response
) -> None:
    """``answer`` is a new capture, not a replay of ``first``, of the same contact."""
    assert answer.status_code == 201
    assert "idempotent-replayed" not in answer.headers
    assert answer.json()["capture_id"] != first.json()["capture_id"]
    assert answer.json()["contact_id"] == first.json()["contact_id"]


async def get_capture(client: httpx.AsyncClient, world: World, capture_id: str) -> dict[str, Any]:
    response = await client.get(f"{CAPTURES}/{capture_id}", headers=world.admin)
    return body_of(response)


async def written(db: AsyncSession) -> dict[str, int]:
    """Rows per table of everything a capture writes."""
    return {model.__name__: await count_rows(db, model) for model in WRITTEN}


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


class TestSiteKeys:
    async def test_the_public_key_in_the_authorization_header_is_accepted(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await capture(client, world)
        assert response.status_code == 201, response.text
        body = response.json()
        assert set(body) == {"contact_id", "capture_id", "delivery_url"}
        assert body["delivery_url"] == DELIVERY_URL
        assert response.headers["location"] == f"{CAPTURES}/{body['capture_id']}"
        assert "idempotent-replayed" not in response.headers

    async def test_the_location_reads_the_stored_capture(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await capture(client, world)
        stored = await client.get(response.headers["location"], headers=world.admin)
        assert stored.status_code == 200
        assert stored.json()["id"] == response.json()["capture_id"]
        assert stored.json()["contact_id"] == response.json()["contact_id"]
        assert stored.json()["site_id"] == world.site_id

    async def test_the_public_key_may_come_as_a_key_field(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        body = {"_key": world.public_key, "asset": "scoring-ebook", "email": "ana@example.com"}
        response = await client.post(CAPTURES, json=body)
        assert response.status_code == 201, response.text
        stored = await get_capture(client, world, response.json()["capture_id"])
        assert "_key" not in stored["fields"]
        assert world.public_key not in str(stored)

    async def test_a_missing_key_is_401_and_stores_nothing(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        response = await client.post(
            CAPTURES, json={"asset": "scoring-ebook", "email": "ana@example.com"}
        )
        problem = assert_problem(response, 401)
        assert problem["type"] == "urn:inbound:problem:unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert await count_rows(db, Contact) == 0

    @pytest.mark.parametrize(
        "authorization",
        ["Bearer inb_pk_notarealkeyatall", "Bearer ", "Basic dXNlcjpwYXNz", "inb_pk_nobearer"],
    )
    async def test_an_unknown_or_malformed_key_is_401(
        self, client: httpx.AsyncClient, world: World, authorization: str
    ) -> None:
        response = await capture(client, world, headers={"Authorization": authorization})
        assert_problem(response, 401)

    @pytest.mark.parametrize("scopes", [(Scope.INGEST,), (Scope.ADMIN,), (Scope.LEADS_WRITE,)])
    async def test_a_secret_key_without_a_site_is_401(
        self,
        client: httpx.AsyncClient,
        world: World,
        make_key: KeyMaker,
        db: AsyncSession,
        scopes: tuple[Scope, ...],
    ) -> None:
        secret = await make_key(*scopes, name="server")
        assert secret["Authorization"].startswith("Bearer inb_sk_")
        response = await capture(client, world, headers=secret)
        assert_problem(response, 401)
        assert await count_rows(db, Capture) == 0

    async def test_a_revoked_key_is_401_and_its_replacement_works(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        site = (await client.get(f"/api/v1/sites/{world.site_id}", headers=world.admin)).json()
        new = await client.post(f"/api/v1/sites/{world.site_id}/keys", headers=world.admin)
        assert new.status_code == 201
        revoked = await client.delete(
            f"/api/v1/api-keys/{site['keys'][0]['id']}", headers=world.admin
        )
        assert revoked.status_code == 204

        refused = await capture(client, world)
        assert_problem(refused, 401)
        as_field = await client.post(
            CAPTURES,
            json={"_key": world.public_key, "asset": "scoring-ebook", "email": "a@example.com"},
        )
        assert_problem(as_field, 401)
        assert await count_rows(db, Capture) == 0
        replacement = World(world.site_id, new.json()["key"], world.admin)
        assert (await capture(client, replacement)).status_code == 201


class TestAsset:
    async def test_the_asset_may_be_named_by_id(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        world = await make_world(client, admin)
        asset = await make_asset(client, admin)
        response = await capture(client, world, asset=asset["id"])
        assert response.status_code == 201, response.text
        stored = await get_capture(client, world, response.json()["capture_id"])
        assert stored["asset_id"] == asset["id"]

    @pytest.mark.parametrize("asset", ["no-such-asset", "0190c6a0-0000-7000-8000-000000000000"])
    async def test_an_unknown_asset_is_422_naming_asset(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession, asset: str
    ) -> None:
        response = await capture(client, world, asset=asset)
        assert assert_problem(response, 422)["type"] == "urn:inbound:problem:unknown-asset"
        assert error_fields(response) == ["asset"]
        assert await written(db) == NOTHING_WRITTEN

    async def test_each_missing_required_field_is_listed(
        self, client: httpx.AsyncClient, admin: Headers, db: AsyncSession
    ) -> None:
        world = await make_world(client, admin)
        form = [
            {"name": "company"},
            {"name": "job_title", "required": True},
            {"name": "phone", "required": False},
            {"name": "budget"},
            {"name": "consent"},
        ]
        await make_asset(client, admin, form_fields=form)
        response = await capture(client, world, company="  ", fields={"budget": ""})
        assert assert_problem(response, 422)["type"] == "urn:inbound:problem:missing-fields"
        assert sorted(error_fields(response)) == ["budget", "company", "consent", "job_title"]
        assert await count_rows(db, Contact) == 0

        answered = await capture(
            client, world, company="Acme", job_title="CTO", fields={"budget": "10k"},
            consent=True, consent_text_version="v1",
        )  # fmt: skip
        assert answered.status_code == 201, answered.text


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
        assert when(consent["at"]) == when(stored["created_at"])

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
        assert when(lead["reached_at"]["lead"]) > when(first["reached_at"]["subscriber"])

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
