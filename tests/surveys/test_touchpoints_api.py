"""Touchpoints: a stage, an asset or a channel, exactly one; edits, archive, delete."""

import httpx
import pytest

from tests.conftest import Headers
from tests.problems import error_fields
from tests.support.world import make_asset
from tests.surveys.helpers import TOUCHPOINTS, make_survey, make_touchpoint


async def test_each_kind_names_its_own_target(client: httpx.AsyncClient, editor: Headers) -> None:
    asset = await make_asset(client, editor)
    stage = await make_touchpoint(
        client, editor, slug="became-customer", kind="stage", stage="customer", channel=None
    )
    on_asset = await make_touchpoint(
        client, editor, slug="ebook", kind="asset", asset="scoring-ebook", channel=None
    )
    channel = await make_touchpoint(client, editor, sla_hours=24)
    assert (stage["stage"], stage["asset_id"], stage["channel"]) == ("customer", None, None)
    assert (on_asset["asset_id"], on_asset["stage"]) == (asset["id"], None)
    assert (channel["channel"], channel["sla_hours"]) == ("support", 24)
    assert stage["sla_hours"] == 48


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"kind": "stage"}, ["stage"]),
        ({"kind": "stage", "stage": "lead", "channel": "support"}, ["channel"]),
        ({"kind": "channel", "channel": "support", "asset": "scoring-ebook"}, ["asset"]),
        ({"kind": "asset"}, ["asset"]),
    ],
)
async def test_a_kind_without_its_field_or_with_another_is_refused(
    client: httpx.AsyncClient, editor: Headers, body: dict[str, str], fields: list[str]
) -> None:
    await make_asset(client, editor)
    response = await client.post(TOUCHPOINTS, json={"name": "X", **body}, headers=editor)
    assert response.status_code == 422, response.text
    assert error_fields(response) == fields


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "stage", "stage": "prospect"}, "stage"),
        ({"kind": "channel", "channel": "Support Desk"}, "channel"),
        ({"kind": "channel", "channel": "support", "sla_hours": 0}, "sla_hours"),
        ({"kind": "channel", "channel": "support", "sla_hours": 8761}, "sla_hours"),
        ({"kind": "moment", "channel": "support"}, "kind"),
    ],
)
async def test_a_malformed_touchpoint_is_a_400_naming_the_field(
    client: httpx.AsyncClient, editor: Headers, body: dict[str, object], field: str
) -> None:
    response = await client.post(TOUCHPOINTS, json={"name": "X", **body}, headers=editor)
    assert response.status_code == 400, response.text
    assert error_fields(response) == [field]


async def test_an_unknown_or_archived_asset_is_refused(
    client: httpx.AsyncClient, editor: Headers
) -> None:
    await make_asset(client, editor)
    body = {"name": "X", "kind": "asset", "asset": "no-such-asset"}
    response = await client.post(TOUCHPOINTS, json=body, headers=editor)
    assert (response.status_code, error_fields(response)) == (422, ["asset"])
    await client.post("/api/v1/assets/scoring-ebook/archive", headers=editor)
    body["asset"] = "scoring-ebook"
    response = await client.post(TOUCHPOINTS, json=body, headers=editor)
    assert (response.status_code, error_fields(response)) == (422, ["asset"])


async def test_read_by_id_or_slug_and_list_by_kind(
    client: httpx.AsyncClient, editor: Headers, reader: Headers
) -> None:
    channel = await make_touchpoint(client, editor)
    await make_touchpoint(client, editor, slug="lead", kind="stage", stage="lead", channel=None)
    by_id = await client.get(f"{TOUCHPOINTS}/{channel['id']}", headers=reader)
    by_slug = await client.get(f"{TOUCHPOINTS}/support", headers=reader)
    assert by_id.json() == by_slug.json() == channel
    assert by_id.headers["etag"] == '"1"'
    listed = await client.get(TOUCHPOINTS, params={"kind": "stage"}, headers=reader)
    assert [t["slug"] for t in listed.json()["items"]] == ["lead"]
    assert (await client.get(f"{TOUCHPOINTS}/nope", headers=reader)).status_code == 404
    refused = await client.post(
        TOUCHPOINTS, json={"name": "x", "kind": "channel", "channel": "x"}, headers=reader
    )
    assert refused.status_code == 403


async def test_a_slug_is_taken_once(client: httpx.AsyncClient, editor: Headers) -> None:
    await make_touchpoint(client, editor)
    body = {"name": "Other", "slug": "support", "kind": "channel", "channel": "chat"}
    response = await client.post(TOUCHPOINTS, json=body, headers=editor)
    assert (response.status_code, error_fields(response)) == (409, ["slug"])


async def test_patch_with_if_match_and_a_new_kind_clears_the_old_target(
    client: httpx.AsyncClient, editor: Headers
) -> None:
    await make_touchpoint(client, editor)
    stale = await client.patch(
        f"{TOUCHPOINTS}/support", json={"name": "Help"}, headers={**editor, "If-Match": '"9"'}
    )
    assert stale.status_code == 412
    moved = await client.patch(
        f"{TOUCHPOINTS}/support",
        json={"kind": "stage", "stage": "customer"},
        headers={**editor, "If-Match": '"1"'},
    )
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert (body["kind"], body["stage"], body["channel"], body["version"]) == (
        "stage",
        "customer",
        None,
        2,
    )
    half = await client.patch(f"{TOUCHPOINTS}/support", json={"kind": "channel"}, headers=editor)
    assert (half.status_code, error_fields(half)) == (422, ["channel"])
    cleared = await client.patch(f"{TOUCHPOINTS}/support", json={"stage": None}, headers=editor)
    assert (cleared.status_code, error_fields(cleared)) == (422, ["stage"])


async def test_archive_unarchive_and_filter(client: httpx.AsyncClient, editor: Headers) -> None:
    await make_touchpoint(client, editor)
    archived = await client.post(f"{TOUCHPOINTS}/support/archive", headers=editor)
    assert archived.json()["archived"] is True
    assert (await client.get(TOUCHPOINTS, headers=editor)).json()["items"] == []
    listed = await client.get(TOUCHPOINTS, params={"archived": "true"}, headers=editor)
    assert [t["slug"] for t in listed.json()["items"]] == ["support"]
    restored = await client.post(f"{TOUCHPOINTS}/support/unarchive", headers=editor)
    assert restored.json()["archived"] is False


async def test_delete_is_refused_while_surveys_ask_there(
    client: httpx.AsyncClient, editor: Headers
) -> None:
    await make_touchpoint(client, editor)
    await make_survey(client, editor)
    refused = await client.delete(f"{TOUCHPOINTS}/support", headers=editor)
    assert refused.status_code == 409, refused.text
    assert (await client.delete("/api/v1/surveys/support-nps", headers=editor)).status_code == 204
    assert (await client.delete(f"{TOUCHPOINTS}/support", headers=editor)).status_code == 204
    assert (await client.get(f"{TOUCHPOINTS}/support", headers=editor)).status_code == 404


async def test_an_asset_a_touchpoint_names_is_not_deleted(
    client: httpx.AsyncClient, editor: Headers
) -> None:
    await make_asset(client, editor)
    await make_touchpoint(client, editor, slug="ebook", kind="asset", asset="scoring-ebook",
                          channel=None)  # fmt: skip
    refused = await client.delete("/api/v1/assets/scoring-ebook", headers=editor)
    assert refused.status_code == 409, refused.text
    assert (await client.get("/api/v1/assets/scoring-ebook", headers=editor)).status_code == 200
