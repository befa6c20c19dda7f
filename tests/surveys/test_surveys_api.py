"""Surveys: metric and scale, the touchpoint they ask at, edits, archive, delete."""

import httpx
import pytest

from tests.conftest import Headers
from tests.problems import error_fields
from tests.support.world import World, make_world
from tests.surveys.helpers import SURVEYS, answer, make_survey, make_touchpoint


@pytest.fixture
async def world(client: httpx.AsyncClient, admin: Headers) -> World:
    world = await make_world(client, admin)
    await make_touchpoint(client, admin)
    return world


@pytest.mark.parametrize(
    ("fields", "scale"),
    [
        ({"metric": "nps"}, (0, 10)),
        ({"metric": "csat"}, (1, 5)),
        ({"metric": "ces", "scale": 5}, (1, 5)),
        ({"metric": "ces", "scale": 7}, (1, 7)),
    ],
)
async def test_each_metric_is_asked_on_its_scale(
    client: httpx.AsyncClient,
    admin: Headers,
    world: World,
    fields: dict[str, object],
    scale: tuple[int, int],
) -> None:
    survey = await make_survey(client, admin, **fields)
    assert (survey["scale_min"], survey["scale_max"]) == scale
    assert (survey["window_days"], survey["comment_prompt"]) == (90, None)


@pytest.mark.parametrize(
    ("fields", "status", "field"),
    [
        ({"metric": "ces"}, 422, "scale"),
        ({"metric": "nps", "scale": 5}, 422, "scale"),
        ({"metric": "csat", "scale": 7}, 422, "scale"),
        ({"metric": "ces", "scale": 6}, 400, "scale"),
        ({"metric": "nps", "window_days": 0}, 400, "window_days"),
        ({"metric": "nps", "window_days": 3651}, 400, "window_days"),
        ({"metric": "nps", "question": "x" * 501}, 400, "question"),
        ({"metric": "nps", "question": "  "}, 400, "question"),
        ({"metric": "mood"}, 400, "metric"),
        ({"metric": "nps", "touchpoint": "nowhere"}, 422, "touchpoint"),
    ],
)
async def test_a_bad_survey_is_refused_naming_the_field(
    client: httpx.AsyncClient,
    admin: Headers,
    world: World,
    fields: dict[str, object],
    status: int,
    field: str,
) -> None:
    body = {"touchpoint": "support", "question": "How likely?", **fields}
    response = await client.post(SURVEYS, json=body, headers=admin)
    assert response.status_code == status, response.text
    assert error_fields(response) == [field]


@pytest.mark.parametrize("scale", [6, 10, "7"])
async def test_a_ces_scale_off_the_list_names_the_scales_taken(
    client: httpx.AsyncClient, admin: Headers, world: World, scale: object
) -> None:
    body = {"touchpoint": "support", "question": "How easy?", "metric": "ces", "scale": scale}
    response = await client.post(SURVEYS, json=body, headers=admin)
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["message"] == "must be one of: 5, 7"


async def test_an_archived_touchpoint_takes_no_new_survey(
    client: httpx.AsyncClient, admin: Headers, world: World
) -> None:
    await client.post("/api/v1/touchpoints/support/archive", headers=admin)
    body = {"touchpoint": "support", "metric": "nps", "question": "How likely?"}
    response = await client.post(SURVEYS, json=body, headers=admin)
    assert (response.status_code, error_fields(response)) == (422, ["touchpoint"])


async def test_list_filters_and_read_by_slug(
    client: httpx.AsyncClient, admin: Headers, world: World
) -> None:
    await make_touchpoint(client, admin, slug="chat", channel="chat")
    nps = await make_survey(client, admin)
    await make_survey(client, admin, slug="chat-csat", metric="csat", touchpoint="chat")
    listed = await client.get(SURVEYS, params={"touchpoint": "support"}, headers=admin)
    assert [s["slug"] for s in listed.json()["items"]] == ["support-nps"]
    listed = await client.get(SURVEYS, params={"metric": "csat"}, headers=admin)
    assert [s["slug"] for s in listed.json()["items"]] == ["chat-csat"]
    unknown = await client.get(SURVEYS, params={"touchpoint": "nowhere"}, headers=admin)
    assert unknown.json() == {"items": [], "next_cursor": None}
    read = await client.get(f"{SURVEYS}/support-nps", headers=admin)
    assert read.json() == nps
    assert read.headers["etag"] == '"1"'


async def test_metric_and_scale_change_until_the_first_answer(
    client: httpx.AsyncClient, admin: Headers, world: World
) -> None:
    await make_survey(client, admin)
    to_ces = await client.patch(f"{SURVEYS}/support-nps", json={"metric": "ces"}, headers=admin)
    assert (to_ces.status_code, error_fields(to_ces)) == (422, ["scale"])
    changed = await client.patch(
        f"{SURVEYS}/support-nps",
        json={"metric": "ces", "scale": 7},
        headers={**admin, "If-Match": '"1"'},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["scale_max"], changed.json()["version"]) == (7, 2)
    assert (await answer(client, world, score=6)).status_code == 201
    refused = await client.patch(f"{SURVEYS}/support-nps", json={"scale": 5}, headers=admin)
    assert (refused.status_code, error_fields(refused)) == (409, ["scale"])
    refused = await client.patch(
        f"{SURVEYS}/support-nps", json={"metric": "nps", "scale": None}, headers=admin
    )
    assert refused.status_code == 409, refused.text
    worded = await client.patch(
        f"{SURVEYS}/support-nps",
        json={"question": "How easy was it?", "window_days": 30, "comment_prompt": "Why?"},
        headers=admin,
    )
    assert worded.status_code == 200, worded.text
    assert (worded.json()["window_days"], worded.json()["scale_max"]) == (30, 7)
    stale = await client.patch(
        f"{SURVEYS}/support-nps", json={"question": "Q"}, headers={**admin, "If-Match": '"2"'}
    )
    assert stale.status_code == 412


async def test_delete_only_before_answers_and_archive_stops_answers(
    client: httpx.AsyncClient, admin: Headers, world: World
) -> None:
    await make_survey(client, admin)
    assert (await answer(client, world)).status_code == 201
    refused = await client.delete(f"{SURVEYS}/support-nps", headers=admin)
    assert refused.status_code == 409, refused.text
    archived = await client.post(f"{SURVEYS}/support-nps/archive", headers=admin)
    assert archived.json()["archived"] is True
    closed = await answer(client, world)
    assert closed.status_code == 410, closed.text
    assert closed.json()["type"] == "urn:inbound:problem:survey-closed"
    await client.post(f"{SURVEYS}/support-nps/unarchive", headers=admin)
    assert (await answer(client, world)).status_code == 201


async def test_surveys_need_content_scopes(
    client: httpx.AsyncClient, admin: Headers, world: World, reader: Headers
) -> None:
    await make_survey(client, admin)
    assert (await client.get(SURVEYS, headers=reader)).status_code == 200
    body = {"touchpoint": "support", "metric": "nps", "question": "Q"}
    assert (await client.post(SURVEYS, json=body, headers=reader)).status_code == 403
    assert (await client.get(SURVEYS)).status_code == 401


async def test_a_survey_without_a_slug_is_named_after_its_touchpoint_and_metric(
    client: httpx.AsyncClient, admin: Headers, world: World
) -> None:
    body = {"touchpoint": "support", "metric": "csat", "question": "How satisfied are you?"}
    first = await client.post(SURVEYS, json=body, headers=admin)
    assert first.status_code == 201, first.text
    assert first.json()["slug"] == "support-csat"
    second = await client.post(SURVEYS, json=body, headers=admin)
    assert (second.status_code, error_fields(second)) == (409, ["slug"])
