"""`/api/v1/batch` and its aliases: shapes, keys, media types, limits and refusals."""

import base64
import json
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.problems import assert_problem, error_fields
from tests.tracking.helpers import BATCH, ONE, ORIGIN, Site, event, send, stored

pytestmark = pytest.mark.asyncio(loop_scope="session")


class TestAccepted:
    async def test_a_batch_is_stored_and_counted(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession
    ) -> None:
        events = [
            event(),
            event(type="page", name="Pricing", properties={"url": "https://www.example.com/p",
                                                           "title": "Pricing"}),
            event(type="identify", userId="user-7", traits={"plan": "pro"}),
        ]  # fmt: skip
        response = await send(client, site, events)
        assert response.status_code == 200, response.text
        assert response.json() == {"success": True, "accepted": 3, "duplicates": 0, "rejected": []}
        rows = await stored(db)
        assert sorted(row.type for row in rows) == ["identify", "page", "track"]
        page = next(row for row in rows if row.type == "page")
        assert (page.event, page.url, page.title) == ("Pricing", "https://www.example.com/p",
                                                      "Pricing")  # fmt: skip
        identify = next(row for row in rows if row.type == "identify")
        assert (identify.user_id, identify.properties) == ("user-7", {})  # traits: not stored
        assert all(str(row.site_id) == site.id for row in rows)

    @pytest.mark.parametrize("path", [BATCH, "/api/v1/b"])
    async def test_the_batch_paths(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession, path: str
    ) -> None:
        response = await client.post(path, json={"batch": [event()]}, headers=site.basic)
        assert response.json()["accepted"] == 1
        assert len(await stored(db)) == 1

    @pytest.mark.parametrize(
        ("path", "kind"),
        [(ONE, "track"), ("/api/v1/track", "track"), ("/api/v1/p", "page"),
         ("/api/v1/page", "page"), ("/api/v1/i", "identify"), ("/api/v1/identify", "identify")],
    )  # fmt: skip
    async def test_one_event_takes_the_type_of_its_path(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession, path: str, kind: str
    ) -> None:
        body = event()
        del body["type"]
        response = await client.post(path, json=body, headers=site.basic)
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == 1
        assert [row.type for row in await stored(db)] == [kind]

    async def test_a_single_event_says_its_own_type(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession
    ) -> None:
        response = await client.post(ONE, json=event(type="page"), headers=site.basic)
        assert response.status_code == 200
        assert [row.type for row in await stored(db)] == ["page"]

    async def test_the_batch_context_is_merged_under_each_event(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession
    ) -> None:
        events = [event(context={"locale": "de-DE"}), event()]
        shared = {"locale": "en-US", "userAgent": "Mozilla/5.0", "ip": "203.0.113.9"}
        await send(client, site, events, context=shared)
        contexts = sorted((row.context for row in await stored(db)), key=lambda c: c["locale"])
        assert contexts == [
            {"locale": "de-DE", "userAgent": "Mozilla/5.0"},
            {"locale": "en-US", "userAgent": "Mozilla/5.0"},
        ]  # never the IP address


class TestKeys:
    async def test_basic_auth_with_the_key_as_user_name(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        response = await client.post(BATCH, json={"batch": [event()]}, headers=site.basic)
        assert response.status_code == 200

    async def test_bearer(self, client: httpx.AsyncClient, site: Site) -> None:
        response = await client.post(BATCH, json={"batch": [event()]}, headers=site.bearer)
        assert response.status_code == 200

    async def test_write_key_in_the_body(self, client: httpx.AsyncClient, site: Site) -> None:
        batch = await client.post(BATCH, json={"batch": [event()], "writeKey": site.key})
        assert batch.status_code == 200, batch.text
        one = await client.post(ONE, json=event(writeKey=site.key))
        assert one.status_code == 200, one.text

    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"Authorization": "Basic " + base64.b64encode(b"inb_pk_nothing:").decode()},
            {"Authorization": "Basic !!!"},
            {"Authorization": "Bearer inb_pk_" + "x" * 43},
        ],
    )
    async def test_no_key_or_an_unknown_one_is_401(
        self, client: httpx.AsyncClient, site: Site, headers: dict[str, str]
    ) -> None:
        response = await client.post(BATCH, json={"batch": [event()]}, headers=headers)
        assert_problem(response, 401)

    async def test_a_server_key_without_ingest_is_403(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        response = await client.post(BATCH, json={"batch": [event()]}, headers=site.admin)
        assert response.status_code in {401, 403}


class TestMediaTypes:
    async def test_text_plain_is_read_as_json(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession
    ) -> None:
        body = json.dumps({"batch": [event()], "writeKey": site.key})
        response = await client.post(
            BATCH, content=body, headers={"Content-Type": "text/plain;charset=UTF-8"}
        )
        assert response.status_code == 200, response.text
        assert len(await stored(db)) == 1

    async def test_a_form_is_415(self, client: httpx.AsyncClient, site: Site) -> None:
        response = await client.post(BATCH, data={"batch": "x"}, headers=site.basic)
        assert response.status_code == 415

    @pytest.mark.parametrize("body", [b"{", b"[]", b'{"batch": 5}', b"{}"])
    async def test_a_body_that_is_no_batch_is_400(
        self, client: httpx.AsyncClient, site: Site, body: bytes
    ) -> None:
        response = await client.post(
            BATCH, content=body, headers={**site.basic, "Content-Type": "application/json"}
        )
        assert_problem(response, 400)


class TestLimits:
    async def test_more_than_100_events_is_400_naming_batch(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession
    ) -> None:
        response = await send(client, site, [event() for _ in range(101)])
        assert response.status_code == 400
        assert error_fields(response) == ["batch"]
        assert await stored(db) == []

    async def test_100_events_are_taken(self, client: httpx.AsyncClient, site: Site) -> None:
        response = await send(client, site, [event() for _ in range(100)])
        assert response.json()["accepted"] == 100

    async def test_a_body_over_500_kb_is_413(self, client: httpx.AsyncClient, site: Site) -> None:
        big = [event(properties={"pad": "x" * 30_000}) for _ in range(18)]
        response = await send(client, site, big)
        assert_problem(response, 413)
        assert response.json()["detail"] == "the body is larger than 500 KB"

    async def test_an_event_over_32_kb_is_rejected_alone(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession
    ) -> None:
        big = event(properties={"pad": "x" * 33_000})
        response = await send(client, site, [event(), big])
        body = response.json()
        assert (body["accepted"], len(body["rejected"])) == (1, 1)
        rejected = body["rejected"][0]
        assert (rejected["index"], rejected["message_id"]) == (1, big["messageId"])
        assert "32 KB" in rejected["reason"]
        assert len(await stored(db)) == 1

    @pytest.mark.parametrize("path", [ONE, "/api/v1/track", "/api/v1/p", "/api/v1/i"])
    async def test_a_single_event_over_32_kb_is_400_naming_it(
        self, client: httpx.AsyncClient, site: Site, path: str
    ) -> None:
        response = await client.post(
            path, json=event(properties={"pad": "x" * 33_000}), headers=site.basic
        )
        assert response.status_code == 400, response.text
        [error] = response.json()["errors"]
        assert error == {"field": "body", "message": "the event is larger than 32 KB"}

    async def test_a_single_event_body_over_500_kb_is_413(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        response = await client.post(
            ONE, json=event(properties={"pad": "x" * 520_000}), headers=site.basic
        )
        assert response.status_code == 413
        assert response.json()["detail"] == "the body is larger than 500 KB"


BAD_EVENTS: list[tuple[dict[str, Any], str | None]] = [
    ({"anonymousId": None}, "anonymousId"),
    ({"anonymousId": ""}, "anonymousId"),
    ({"anonymousId": "has space"}, "anonymousId"),
    ({"anonymousId": "é"}, "anonymousId"),
    ({"anonymousId": "a" * 101}, "anonymousId"),
    ({"anonymousId": 5}, "anonymousId"),
    ({"userId": "u" * 201}, "userId"),
    ({"userId": ""}, "userId"),
    ({"type": "screen"}, "type"),
    ({"event": None}, "event"),
    ({"event": "e" * 201}, "event"),
    ({"type": "page", "name": "n" * 201}, "name"),
    ({"messageId": "m" * 201}, "messageId"),
    ({"messageId": 7}, "messageId"),
    ({"properties": []}, "properties"),
    ({"properties": {"title": "t" * 501}}, "properties.title"),
    ({"properties": {"url": 5}}, "properties.url"),
    ({"context": {"page": {"title": "t" * 501}}}, "context.page.title"),
    ({"context": "x"}, "context"),
    ({"timestamp": "yesterday"}, "timestamp"),
    ({"timestamp": "2026-12-01T10:00:00"}, "timestamp"),
    ({"originalTimestamp": 5}, "originalTimestamp"),
    ({"timestamp": "2001-01-01T00:00:00Z"}, "timestamp"),
]


class TestRefusals:
    @pytest.mark.parametrize(("change", "field"), BAD_EVENTS)
    async def test_a_bad_event_is_reported_and_the_others_stored(
        self,
        client: httpx.AsyncClient,
        site: Site,
        db: AsyncSession,
        change: dict[str, Any],
        field: str,
    ) -> None:
        bad = event(**change)
        if bad.get("anonymousId") is None:
            del bad["anonymousId"]
        response = await send(client, site, [event(), bad, event()])
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["accepted"] == 2
        [rejected] = body["rejected"]
        assert (rejected["index"], rejected["field"]) == (1, field), rejected
        assert rejected["reason"]
        assert len(await stored(db)) == 2

    @pytest.mark.parametrize(("change", "field"), BAD_EVENTS)
    async def test_a_bad_single_event_is_400_naming_the_field(
        self, client: httpx.AsyncClient, site: Site, change: dict[str, Any], field: str
    ) -> None:
        bad = event(**change)
        if bad.get("anonymousId") is None:
            del bad["anonymousId"]
        response = await client.post(ONE, json=bad, headers=site.basic)
        assert response.status_code == 400, response.text
        assert error_fields(response) == [field]

    async def test_a_batch_entry_that_is_no_object(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        response = await send(client, site, ["nope", event()])  # type: ignore[list-item]
        body = response.json()
        assert body["accepted"] == 1
        assert body["rejected"][0]["index"] == 0


class TestBrowsers:
    async def test_a_foreign_origin_is_403(self, client: httpx.AsyncClient, site: Site) -> None:
        response = await client.post(
            BATCH,
            json={"batch": [event()]},
            headers={**site.basic, "Origin": "https://evil.example.org"},
        )
        assert response.status_code == 403

    async def test_the_site_origin_reads_the_answer(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        response = await client.post(
            BATCH, json={"batch": [event()]}, headers={**site.basic, "Origin": ORIGIN}
        )
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == ORIGIN

    async def test_a_preflight(self, client: httpx.AsyncClient, site: Site) -> None:
        response = await client.options(
            BATCH,
            headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization, content-type"},
        )  # fmt: skip
        assert response.status_code == 204
        assert response.headers["access-control-allow-origin"] == ORIGIN
        allowed = response.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed
        assert "content-type" in allowed
        foreign = await client.options(ONE, headers={"Origin": "https://evil.example.org"})
        assert foreign.status_code == 403


@pytest.mark.settings(tracking_rate_per_ip="2/minute")
class TestRateLimit:
    async def test_a_client_over_its_rate_gets_429_with_retry_after(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        for _ in range(2):
            assert (await send(client, site, [event()])).status_code == 200
        refused = await client.post(ONE, json=event(), headers=site.basic)
        assert refused.status_code == 429
        assert refused.headers["retry-after"].isdigit()
