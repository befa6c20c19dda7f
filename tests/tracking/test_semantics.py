"""What is stored: dedupe by message id, the time corrected for the client's clock, the asset
an event is about, and the ids consent lets an event keep."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.tracking.models import TrackingMessage
from tests.conftest import Headers
from tests.problems import body_of
from tests.tracking.helpers import BATCH, ONE, Site, event, make_site, send, stored

pytestmark = pytest.mark.asyncio(loop_scope="session")


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


class TestDedupe:
    async def test_the_same_message_id_twice_in_a_batch_is_stored_once(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession
    ) -> None:
        first = event(messageId="m-1", properties={"n": 1})
        again = event(messageId="m-1", properties={"n": 2})
        body = (await send(client, site, [first, again, event()])).json()
        assert (body["accepted"], body["duplicates"]) == (2, 1)
        [row] = await stored(db, message_id="m-1")
        assert row.properties == {"n": 1}  # the first one sent

    async def test_a_retried_batch_is_all_duplicates(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession
    ) -> None:
        events = [event() for _ in range(5)]
        assert (await send(client, site, events)).json()["accepted"] == 5
        body = (await send(client, site, events)).json()
        assert (body["accepted"], body["duplicates"]) == (0, 5)
        single = await client.post(ONE, json=events[0], headers=site.basic)
        assert single.json() == {"success": True, "accepted": 0, "duplicates": 1, "rejected": []}
        assert len(await stored(db)) == 5

    async def test_another_site_may_use_the_same_message_id(
        self, client: httpx.AsyncClient, site: Site, admin: Headers, db: AsyncSession
    ) -> None:
        other = await make_site(client, admin, name="Other site")
        assert (await send(client, site, [event(messageId="shared")])).json()["accepted"] == 1
        assert (await send(client, other, [event(messageId="shared")])).json()["accepted"] == 1
        assert len(await stored(db, message_id="shared")) == 2

    async def test_after_48_hours_the_id_is_new_again(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession
    ) -> None:
        await send(client, site, [event(messageId="old"), event(messageId="recent")])
        messages = {m.message_id: m for m in (await db.execute(
            TrackingMessage.__table__.select()  # type: ignore[attr-defined]
        )).all()}  # fmt: skip
        assert set(messages) == {"old", "recent"}
        await db.execute(
            TrackingMessage.__table__.update()  # type: ignore[attr-defined]
            .where(TrackingMessage.message_id == "old")
            .values(received_at=datetime.now(UTC) - timedelta(hours=49))
        )
        await db.execute(
            TrackingMessage.__table__.update()  # type: ignore[attr-defined]
            .where(TrackingMessage.message_id == "recent")
            .values(received_at=datetime.now(UTC) - timedelta(hours=47))
        )
        await db.commit()
        body = (
            await send(client, site, [event(messageId="old"), event(messageId="recent")])
        ).json()
        assert (body["accepted"], body["duplicates"]) == (1, 1)
        assert len(await stored(db, message_id="old")) == 2

    async def test_events_without_a_message_id_get_one_and_are_all_kept(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession
    ) -> None:
        bare = event()
        del bare["messageId"]
        body = (await send(client, site, [bare, bare])).json()
        assert (body["accepted"], body["duplicates"]) == (2, 0)
        rows = await stored(db)
        assert len({row.message_id for row in rows}) == 2
        assert all(row.message_id for row in rows)


class TestClock:
    async def occurred(
        self,
        client: httpx.AsyncClient,
        site: Site,
        db: AsyncSession,
        batch_extra: dict[str, Any] | None = None,
        **fields: Any,
    ) -> datetime:
        response = await send(client, site, [event(**fields)], **(batch_extra or {}))
        assert response.json()["accepted"] == 1, response.text
        [row] = await stored(db)
        return row.occurred_at

    async def test_a_slow_clock_is_corrected_by_sent_at(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession
    ) -> None:
        # The device's clock is a day behind; the event happened 30 s before it was sent.
        device_now = datetime.now(UTC) - timedelta(days=1)
        sent = device_now - timedelta(seconds=30)
        at = await self.occurred(client, site, db, timestamp=iso(sent), sentAt=iso(device_now))
        expected = datetime.now(UTC) - timedelta(seconds=30)
        assert abs((at - expected).total_seconds()) < 5

    async def test_original_timestamp_is_the_client_time_and_sent_at_may_be_the_batch_s(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession
    ) -> None:
        device_now = datetime.now(UTC) + timedelta(hours=3)  # a clock ahead
        at = await self.occurred(
            client, site, db,
            batch_extra={"sentAt": iso(device_now)},
            originalTimestamp=iso(device_now - timedelta(minutes=2)),
            timestamp=iso(device_now - timedelta(days=9)),
        )  # fmt: skip
        expected = datetime.now(UTC) - timedelta(minutes=2)
        assert abs((at - expected).total_seconds()) < 5

    async def test_a_timestamp_alone_is_taken(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession
    ) -> None:
        then = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
        if datetime.now(UTC) - then > timedelta(days=390):
            pytest.skip("the fixed time has left the retention period")
        at = await self.occurred(client, site, db, timestamp="2026-01-15T10:30:00+01:00")
        assert at == then

    async def test_a_timestamp_in_the_future_is_the_time_received(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession
    ) -> None:
        before = datetime.now(UTC)
        at = await self.occurred(client, site, db, timestamp=iso(before + timedelta(days=2)))
        assert before <= at <= datetime.now(UTC)

    async def test_no_time_is_the_time_received(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession
    ) -> None:
        before = datetime.now(UTC)
        at = await self.occurred(client, site, db)
        assert before <= at <= datetime.now(UTC)
        [row] = await stored(db)
        assert row.received_at == at

    async def test_a_corrected_time_past_the_retention_is_refused(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession
    ) -> None:
        device_now = datetime.now(UTC)
        old = event(timestamp=iso(device_now - timedelta(days=400)), sentAt=iso(device_now))
        body = (await send(client, site, [old])).json()
        [rejected] = body["rejected"]
        assert rejected["field"] == "timestamp"
        assert "retention" in rejected["reason"]
        assert await stored(db) == []


class TestAssets:
    @pytest.fixture
    async def asset(self, client: httpx.AsyncClient, admin: Headers) -> dict[str, Any]:
        response = await client.post(
            "/api/v1/assets",
            json={"title": "Scoring guide", "slug": "scoring-guide", "kind": "ebook",
                  "funnel_stage": "convert", "url": "https://www.example.com/guides/scoring/"},
            headers=admin,
        )  # fmt: skip
        return body_of(response, 201)

    @pytest.mark.parametrize(
        "properties",
        [
            {"asset": "scoring-guide"},
            {"url": "https://WWW.example.com/guides/scoring?utm_source=x#top"},
            {"url": "https://www.example.com:443/guides/scoring/"},
        ],
    )
    async def test_an_event_names_its_asset(
        self,
        client: httpx.AsyncClient,
        site: Site,
        db: AsyncSession,
        asset: dict[str, Any],
        properties: dict[str, Any],
    ) -> None:
        await send(client, site, [event(type="page", properties=properties)])
        [row] = await stored(db)
        assert str(row.asset_id) == asset["id"]

    async def test_by_id_and_by_the_page_in_the_context(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession, asset: dict[str, Any]
    ) -> None:
        page = {"url": "https://www.example.com/guides/scoring"}
        await send(client, site, [event(properties={"asset": asset["id"]}),
                                  event(type="page", context={"page": page})])  # fmt: skip
        assert [str(row.asset_id) for row in await stored(db)] == [asset["id"]] * 2

    async def test_other_pages_and_unknown_assets_name_none(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession, asset: dict[str, Any]
    ) -> None:
        await send(client, site, [event(properties={"asset": "nope"}),
                                  event(properties={"url": "https://www.example.com/guides"}),
                                  event(properties={"url": "not a url"})])  # fmt: skip
        assert [row.asset_id for row in await stored(db)] == [None, None, None]

    async def test_an_archived_asset_is_not_named(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession, asset: dict[str, Any],
        admin: Headers,
    ) -> None:  # fmt: skip
        archived = await client.patch(f"/api/v1/assets/{asset['id']}", json={"archived": True},
                                      headers={**admin, "If-Match": "*"})  # fmt: skip
        assert archived.status_code == 200, archived.text
        await send(client, site, [event(properties={"asset": "scoring-guide"})])
        assert [row.asset_id for row in await stored(db)] == [None]


CONSENTED = {"consent": {"categoryPreferences": {"Analytics": True, "Advertising": False}}}


class TestConsent:
    @pytest.mark.parametrize(
        ("mode", "context", "headers", "kept"),
        [
            ("granted", {}, {}, True),
            ("granted", {"gpc": True}, {}, False),
            ("granted", {}, {"Sec-GPC": "1"}, False),
            ("required", {}, {}, False),
            ("required", CONSENTED, {}, True),
            ("required", {"consent": {"analytics": True}}, {}, True),
            ("required", {"consent": {"categoryPreferences": {"analytics": False}}}, {}, False),
            ("required", {"consent": {"categoryPreferences": {"analytics": "yes"}}}, {}, False),
            ("required", CONSENTED, {"Sec-GPC": "1"}, False),
            ("required", {**CONSENTED, "gpc": True}, {}, False),
            ("cookieless", CONSENTED, {}, False),
            ("cookieless", {}, {}, False),
            # The visitor said no: the site's own consent does not overrule it.
            ("granted", {"consent": {"categoryPreferences": {"Analytics": False}}}, {}, False),
            ("granted", {"consent": {"analytics": False}}, {}, False),
            ("required", {"consent": {"analytics": True,
                                      "categoryPreferences": {"analytics": False}}}, {}, False),
        ],
    )  # fmt: skip
    async def test_which_events_keep_their_ids(
        self,
        client: httpx.AsyncClient,
        admin: Headers,
        db: AsyncSession,
        mode: str,
        context: dict[str, Any],
        headers: dict[str, str],
        kept: bool,
    ) -> None:
        site = await make_site(client, admin, consent=mode)
        events = [
            event(userId="u-1", context={**context, "traits": {"email": "a@example.com"}}),
            event(type="identify", userId="u-1", traits={"email": "a@example.com"},
                  context=context),
        ]  # fmt: skip
        response = await client.post(
            BATCH, json={"batch": events}, headers={**site.basic, **headers}
        )
        assert response.json()["accepted"] == 2, response.text
        track, identify = sorted(await stored(db), key=lambda row: row.type, reverse=True)
        assert identify.properties == {}  # an identify's traits are never stored
        assert "traits" not in identify.context
        if kept:
            assert (track.anonymous_id, track.user_id) == ("anon-1", "u-1")
            assert track.context["traits"] == {"email": "a@example.com"}
        else:
            assert (track.anonymous_id, track.user_id) == (None, None)
            assert (identify.anonymous_id, identify.user_id) == (None, None)
            assert "traits" not in track.context

    @pytest.mark.parametrize(
        ("mode", "context"),
        [("cookieless", {}), ("required", {}), ("granted", {"gpc": True}),
         ("granted", {"consent": {"analytics": False}})],
    )  # fmt: skip
    async def test_a_cookieless_event_keeps_no_device_or_external_ids(
        self, client: httpx.AsyncClient, admin: Headers, db: AsyncSession, mode: str,
        context: dict[str, Any],
    ) -> None:  # fmt: skip
        site = await make_site(client, admin, consent=mode)
        device = {"id": "d-1", "advertisingId": "ad-1", "token": "t-1", "type": "ios",
                  "model": "iPhone"}  # fmt: skip
        shared = {"device": device, "externalIds": [{"id": "x-1", "type": "crm"}]}
        own = {**context, "locale": "de-DE"}
        response = await send(client, site, [event(context=own), event(context=own)],
                              context=shared)  # fmt: skip
        assert response.json()["accepted"] == 2, response.text
        for row in await stored(db):
            assert row.context["device"] == {"type": "ios", "model": "iPhone"}
            assert "externalIds" not in row.context
            assert row.context["locale"] == "de-DE"

    async def test_an_event_with_consent_keeps_its_device(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession
    ) -> None:
        device = {"id": "d-1", "advertisingId": "ad-1", "token": "t-1"}
        await send(client, site, [event(context={"device": device, "externalIds": []})])
        [row] = await stored(db)
        assert (row.context["device"], row.context["externalIds"]) == (device, [])

    async def test_the_mode_is_part_of_the_site(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        site = await make_site(client, admin, consent="cookieless")
        read = await client.get(f"/api/v1/sites/{site.id}", headers=admin)
        assert read.json()["tracking_consent"] == "cookieless"
        changed = await client.patch(
            f"/api/v1/sites/{site.id}",
            json={"tracking_consent": "granted"},
            headers={**admin, "If-Match": read.headers["etag"]},
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["tracking_consent"] == "granted"
        bad = await client.patch(
            f"/api/v1/sites/{site.id}", json={"tracking_consent": "maybe"},
            headers={**admin, "If-Match": "*"},
        )  # fmt: skip
        assert bad.status_code == 400
        assert bad.json()["errors"][0]["field"] == "tracking_consent"

    async def test_a_new_site_requires_consent(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        response = await client.post("/api/v1/sites", json={"name": "S"}, headers=admin)
        assert response.json()["tracking_consent"] == "required"
