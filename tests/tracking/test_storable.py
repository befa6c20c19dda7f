"""Events the database could not store or the API could not give back are refused one by one:
a NUL character, nesting past the limit, times past what a calendar holds."""

import asyncio
import json
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.world import World
from tests.tracking.helpers import BATCH, ONE, Site, event, send, stored
from tests.tracking.identity_helpers import capture_with_visitor

pytestmark = pytest.mark.asyncio(loop_scope="session")

NUL = "\u0000"
NUL_EVENTS: list[tuple[dict[str, Any], str]] = [
    ({"event": f"Signed{NUL}Up"}, "event"),
    ({"type": "page", "name": f"Home{NUL}"}, "name"),
    ({"messageId": f"m{NUL}1"}, "messageId"),
    ({"userId": f"u{NUL}"}, "userId"),
    ({"anonymousId": f"a{NUL}"}, "anonymousId"),
    ({"properties": {"title": f"Pricing{NUL}"}}, "properties.title"),
    ({"properties": {f"ti{NUL}tle": "Pricing"}}, "properties"),
    ({"properties": {"items": [{"sku": "a"}, {"sku": f"b{NUL}"}]}}, "properties.items[1].sku"),
    ({"context": {"page": {"url": f"https://www.example.com/{NUL}"}}}, "context.page.url"),
    ({"type": "identify", "traits": {"email": f"ana{NUL}@example.com"}}, "traits.email"),
]


def nested(levels: int) -> dict[str, Any]:
    """An object holding objects ``levels`` deep: {"a": {"a": ... {}}}."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


class TestNul:
    @pytest.mark.parametrize(("change", "field"), NUL_EVENTS)
    async def test_an_event_with_a_nul_is_refused_alone(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession, change: dict[str, Any],
        field: str,
    ) -> None:  # fmt: skip
        response = await send(client, site, [event(), event(**change), event()])
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["accepted"] == 2
        [rejected] = body["rejected"]
        assert (rejected["index"], rejected["field"]) == (1, field)
        assert rejected["reason"] == "must not contain the NUL character"
        assert len(await stored(db)) == 2

    @pytest.mark.parametrize(("change", "field"), NUL_EVENTS)
    async def test_a_single_event_with_a_nul_is_400_naming_the_field(
        self, client: httpx.AsyncClient, site: Site, change: dict[str, Any], field: str
    ) -> None:
        response = await client.post(ONE, json=event(**change), headers=site.basic)
        assert response.status_code == 400, response.text
        assert response.json()["errors"] == [
            {"field": field, "message": "must not contain the NUL character"}
        ]

    async def test_a_nul_in_the_batch_s_context_refuses_the_batch(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession
    ) -> None:
        response = await send(client, site, [event()], context={"locale": f"en{NUL}"})
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["field"] == "context.locale"
        assert await stored(db) == []

    async def test_an_escaped_backslash_before_u0000_is_no_nul(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession
    ) -> None:
        response = await send(client, site, [event(properties={"path": "C:\\u0000"})])
        assert response.json()["accepted"] == 1, response.text
        [row] = await stored(db)
        assert row.properties == {"path": "C:\\u0000"}

    async def test_good_requests_sent_with_bad_ones_are_all_stored(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession
    ) -> None:
        # The writer stores concurrent requests together: a NUL reaching the database would
        # fail them all.
        assert (await send(client, site, [])).status_code == 200  # the key is cached now
        good = [send(client, site, [event(), event()]) for _ in range(30)]
        bad = [send(client, site, [event(properties={"title": NUL})]) for _ in range(10)]
        answers = await asyncio.gather(*good, *bad)
        assert [answer.status_code for answer in answers] == [200] * 40
        assert sum(answer.json()["accepted"] for answer in answers) == 60
        assert len(await stored(db)) == 60


class TestNesting:
    async def test_32_levels_are_taken_and_33_refused(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession
    ) -> None:
        # The event is the first level and `properties` the second.
        deepest = event(properties=nested(31))
        too_deep = event(properties=nested(32))
        body = (await send(client, site, [deepest, too_deep])).json()
        assert body["accepted"] == 1
        [rejected] = body["rejected"]
        assert rejected["index"] == 1
        assert rejected["field"] == "properties" + ".a" * 31
        assert "nested too deeply" in rejected["reason"]
        assert len(await stored(db)) == 1

    async def test_lists_count_as_levels(self, client: httpx.AsyncClient, site: Site) -> None:
        value: Any = "x"
        for _ in range(40):
            value = [value]
        response = await client.post(ONE, json=event(context={"deep": value}), headers=site.basic)
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "context.deep" + "[0]" * 30

    async def test_far_deeper_than_the_decoder_goes_is_400(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        deep = '{"a":' * 5000 + "1" + "}" * 5000
        body = json.dumps(event()).replace('"properties": {}', f'"properties": {deep}')
        one = await client.post(
            ONE, content=body, headers={**site.basic, "Content-Type": "application/json"}
        )
        assert one.status_code == 400, one.text
        assert "nested too deeply" in one.json()["detail"]
        batch = await client.post(
            BATCH, content='{"batch": [' + body + "]}",
            headers={**site.basic, "Content-Type": "application/json"},
        )  # fmt: skip
        assert batch.status_code == 400, batch.text

    async def test_what_is_taken_the_activity_gives_back(
        self, client: httpx.AsyncClient, world: World, admin: dict[str, str]
    ) -> None:
        contact_id = await capture_with_visitor(client, world, "ana@example.com", "v-1")
        consented = {"consent": {"analytics": True}}
        deepest = event(anonymousId="v-1", properties=nested(31),
                        context={**nested(31), **consented})  # fmt: skip
        response = await client.post(BATCH, json={"batch": [deepest]}, headers=world.site_headers)
        assert response.json()["accepted"] == 1, response.text
        activity = await client.get(f"/api/v1/leads/{contact_id}/activity", headers=admin)
        assert activity.status_code == 200, activity.text
        assert len(activity.json()["items"]) == 1


class TestExtremeTimes:
    @pytest.mark.parametrize(
        ("fields", "batch_sent_at", "field"),
        [
            ({"timestamp": "0001-01-01T00:00:00+14:00"}, None, "timestamp"),
            ({"originalTimestamp": "0001-01-01T00:00:00+14:00"}, None, "originalTimestamp"),
            ({"timestamp": "0001-01-01T00:00:00+14:00", "sentAt": "2026-12-03T09:30:00Z"},
             None, "timestamp"),
            ({"timestamp": "2026-12-03T09:30:00Z", "sentAt": "9999-12-31T23:59:59-14:00"},
             None, "sentAt"),
            ({"timestamp": "2026-12-03T09:30:00Z"}, "9999-12-31T23:59:59-14:00", "sentAt"),
            ({"timestamp": "0001-01-01T00:00:00Z", "sentAt": "9999-12-31T23:59:59-14:00"},
             None, "sentAt"),
        ],
    )  # fmt: skip
    async def test_times_long_before_the_retention_are_refused_alone(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession, fields: dict[str, Any],
        batch_sent_at: str | None, field: str,
    ) -> None:  # fmt: skip
        extra = {"sentAt": batch_sent_at} if batch_sent_at else {}
        response = await send(client, site, [event(), event(**fields)], **extra)
        assert response.status_code == 200, response.text
        [rejected] = response.json()["rejected"]
        assert (rejected["index"], rejected["field"]) == (1, field)
        assert "retention" in rejected["reason"]
        assert len(await stored(db)) == 1

    @pytest.mark.parametrize(
        "fields",
        [
            {"timestamp": "9999-12-31T23:59:59-14:00"},
            {"originalTimestamp": "9999-12-31T23:59:59-14:00", "sentAt": "0001-01-01T00:00:00Z"},
            {"timestamp": "2026-12-03T09:30:00Z", "sentAt": "0001-01-01T00:00:00+14:00"},
        ],
    )
    async def test_times_far_ahead_are_the_time_received(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession, fields: dict[str, Any]
    ) -> None:
        response = await send(client, site, [event(**fields)])
        assert response.json()["accepted"] == 1, response.text
        [row] = await stored(db)
        assert row.occurred_at == row.received_at

    async def test_a_single_event_from_year_one_is_400(
        self, client: httpx.AsyncClient, site: Site
    ) -> None:
        response = await client.post(
            ONE, json=event(timestamp="0001-01-01T00:00:00+14:00"), headers=site.basic
        )
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["field"] == "timestamp"
