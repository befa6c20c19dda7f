"""`/api/v1/webhooks`: subscriptions, as an admin manages them."""

from typing import Any

import httpx
import pytest

from tests.conftest import Headers
from tests.leads.helpers import error_fields

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
    assert response.status_code == 400, response.text
    assert field in error_fields(response)


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
