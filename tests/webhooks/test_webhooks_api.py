"""`/api/v1/webhooks`: subscriptions, as an admin manages them."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.app import create_app
from inbound.config import Settings
from tests.conftest import Headers, http_client
from tests.problems import assert_names, error_fields

WEBHOOKS = "/api/v1/webhooks"
RECEIVER = "https://crm.example.com/hooks/inbound"


async def subscribe(client: httpx.AsyncClient, admin: Headers, **fields: Any) -> httpx.Response:
    body = {"url": RECEIVER, "events": ["lead.created", "lead.stage_changed"], **fields}
    return await client.post(WEBHOOKS, json=body, headers=admin)


async def test_a_subscription_shows_its_secret_once(
    client: httpx.AsyncClient, admin: Headers
) -> None:
    response = await subscribe(client, admin, description="CRM bridge")
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["secret"].startswith("whsec_")
    assert created["events"] == ["lead.created", "lead.stage_changed"]
    assert created["active"] is True
    read = await client.get(response.headers["location"], headers=admin)
    assert read.status_code == 200
    assert "secret" not in read.json()
    listed = (await client.get(WEBHOOKS, headers=admin)).json()["items"]
    assert [item["id"] for item in listed] == [created["id"]]
    assert all("secret" not in item for item in listed)


async def test_a_secret_may_be_given(client: httpx.AsyncClient, admin: Headers) -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    response = await subscribe(client, admin, secret=secret)
    assert response.status_code == 201, response.text
    assert response.json()["secret"] == secret


async def test_update_with_if_match_and_delete(client: httpx.AsyncClient, admin: Headers) -> None:
    created = await subscribe(client, admin)
    location, etag = created.headers["location"], created.json()["version"]
    changed = await client.patch(
        location, json={"events": ["lead.qualified"], "active": False},
        headers=admin | {"If-Match": f'"{etag}"'},
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert changed.json()["events"] == ["lead.qualified"]
    assert changed.json()["active"] is False
    stale = await client.patch(
        location, json={"active": True}, headers=admin | {"If-Match": f'"{etag}"'}
    )
    assert stale.status_code == 412
    assert (await client.delete(location, headers=admin)).status_code == 204
    assert (await client.get(location, headers=admin)).status_code == 404


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "file:///etc/passwd"}, "url"),
        ({"url": "https://user:secret@crm.example.com/hooks"}, "url"),
        ({"events": []}, "events"),
        ({"events": ["lead.deleted"]}, "events[0]"),
        ({"events": ["lead.created", "lead.created"]}, "events"),
        ({"secret": "not-a-secret"}, "secret"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_subscriptions_are_refused_by_field(
    client: httpx.AsyncClient, admin: Headers, fields: dict[str, Any], field: str
) -> None:
    response = await subscribe(client, admin, **fields)
    assert_names(response, field)


async def test_only_admins_manage_webhooks(
    client: httpx.AsyncClient, make_key: Any, admin: Headers
) -> None:
    from inbound.auth.scopes import Scope

    sales = await make_key(Scope.LEADS_WRITE, name="sales")
    assert (await subscribe(client, sales)).status_code == 403
    assert (await client.get(WEBHOOKS, headers=sales)).status_code == 403


async def test_an_unknown_subscription_or_delivery_is_404(
    client: httpx.AsyncClient, admin: Headers
) -> None:
    unknown = "01a20c4a-c977-72f1-b9e6-5e758768b236"
    assert (await client.get(f"{WEBHOOKS}/{unknown}", headers=admin)).status_code == 404
    created = (await subscribe(client, admin)).json()
    path = f"{WEBHOOKS}/{created['id']}/deliveries/{unknown}"
    assert (await client.get(path, headers=admin)).status_code == 404
    assert (await client.post(f"{path}/replay", headers=admin)).status_code == 404
    log = await client.get(f"{WEBHOOKS}/{created['id']}/deliveries", headers=admin)
    assert log.json() == {"items": [], "next_cursor": None}


INTERNAL = {
    "http://127.0.0.1:5432": "127.0.0.1 is a loopback address",
    "http://localhost:6379": "localhost is this machine's loopback",
    "http://localhost./hooks": "loopback",
    "http://0.0.0.0": "unspecified",
    "http://127.1": "127.1 (127.0.0.1) is a loopback address",
    "http://2130706433": "(127.0.0.1) is a loopback address",
    "http://0x7f000001": "(127.0.0.1) is a loopback address",
    "http://[::1]/hooks": "::1 is a loopback address",
    "http://[fc00::1]": "private",
    "http://[fe80::1]": "link-local",
    "http://[::ffff:127.0.0.1]": "(127.0.0.1) is a loopback address",
    "http://169.254.169.254/latest/meta-data/": "link-local",
    "http://100.64.0.1": "not a public address",
    "http://10.0.0.5:8080/hooks": "private",
    "http://224.0.0.1": "multicast",
    "http://metadata.google.internal/": ".internal",
    "http://redis:6379": "no dot",
    "https://crm.example.com:22/hooks": "port 22",
    "https://[78dDc2]/hooks": "not an IPv6 address",
}


@pytest.mark.parametrize(("url", "reason"), INTERNAL.items())
async def test_internal_targets_are_refused_with_the_reason(
    client: httpx.AsyncClient, admin: Headers, url: str, reason: str
) -> None:
    response = await subscribe(client, admin, url=url)
    assert response.status_code == 422, response.text
    assert error_fields(response) == ["url"]
    assert reason in response.json()["errors"][0]["message"]
    assert (await client.get(WEBHOOKS, headers=admin)).json()["items"] == []


async def test_a_url_cannot_be_changed_to_an_internal_target(
    client: httpx.AsyncClient, admin: Headers
) -> None:
    created = (await subscribe(client, admin)).json()
    location = f"{WEBHOOKS}/{created['id']}"
    changed = await client.patch(
        location, json={"url": "http://169.254.169.254/latest/meta-data/"}, headers=admin
    )
    assert changed.status_code == 422, changed.text
    assert error_fields(changed) == ["url"]
    assert "link-local" in changed.json()["detail"]
    kept = (await client.get(location, headers=admin)).json()
    assert (kept["url"], kept["version"]) == (RECEIVER, created["version"])
    moved = await client.patch(location, json={"url": "https://[2606:4700::1111]/h"}, headers=admin)
    assert moved.status_code == 200, moved.text
    assert moved.json()["url"] == "https://[2606:4700::1111]/h"


@pytest.fixture
async def loopback_client(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """The API of a server set up for local development: loopback receivers allowed."""
    app = create_app(settings.model_copy(update={"webhook_allow_loopback": True}))
    app.state.sessionmaker = sessionmaker
    async with http_client(app) as client:
        yield client
    await app.state.engine.dispose()


async def test_the_loopback_setting_allows_loopback_and_nothing_else(
    loopback_client: httpx.AsyncClient, admin: Headers
) -> None:
    for url in ("http://127.0.0.1:9000/hooks", "http://localhost:9000/hooks"):
        response = await subscribe(loopback_client, admin, url=url)
        assert response.status_code == 201, response.text
    for url in ("http://10.0.0.5/hooks", "http://169.254.169.254/", "http://0.0.0.0:9000/"):
        response = await subscribe(loopback_client, admin, url=url)
        assert response.status_code == 422, response.text
        assert error_fields(response) == ["url"]
