"""Signed links: made for a known contact, answered by JSON or on their own page."""

import base64
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.app import create_app
from inbound.auth.scopes import Scope
from inbound.config import Settings
from inbound.db import bind_of, utcnow
from inbound.surveys.links import LinkClaim, _derived, sign
from inbound.surveys.models import SurveyAnswer
from tests.conftest import Headers, KeyMaker, http_client
from tests.leads.helpers import count_rows
from tests.problems import body_of, error_fields
from tests.support.world import World, capture
from tests.surveys.helpers import (
    answer,
    answers_of,
    make_link,
    survey_site,
)

ANSWERS = "/api/v1/survey-answers"


@pytest.fixture
async def world(client: httpx.AsyncClient, admin: Headers) -> World:
    return await survey_site(client, admin, comment_prompt="What <would> you change?")


@pytest.fixture
async def lead_id(client: httpx.AsyncClient, world: World) -> str:
    contact_id: str = (await capture(client, world)).json()["contact_id"]
    return contact_id


async def link_for(client: httpx.AsyncClient, admin: Headers, lead_id: str) -> dict[str, Any]:
    response = await make_link(client, admin, lead_id, expires_in_days=7)
    return body_of(response, 201)


def path_of(link: dict[str, Any]) -> str:
    return str(link["url"]).removeprefix("http://testserver")


async def test_a_link_answers_as_its_contact_once_per_window(
    client: httpx.AsyncClient, world: World, admin: Headers, lead_id: str
) -> None:
    link = await link_for(client, admin, lead_id)
    assert link["url"] == f"http://testserver/s/{link['token']}"
    expires = utcnow().fromisoformat(link["expires_at"])
    assert timedelta(days=6, hours=23) < expires - utcnow() <= timedelta(days=7)
    body = {"token": link["token"], "score": 2, "comment": "slow"}
    response = await client.post(ANSWERS, json=body)
    assert response.status_code == 201, response.text
    [stored] = await answers_of(client, admin)
    assert (stored["contact_id"], stored["source"], stored["site_id"]) == (lead_id, "link", None)
    assert (stored["score"], stored["comment"], stored["stage"]) == (2, "slow", "lead")
    again = await client.post(ANSWERS, json=body)
    assert again.status_code == 409
    # The contact's answer from a page counts against the same window: taken by nobody (201
    # all the same, since a page's email may be anyone's).
    assert (await answer(client, world, email="ana@example.com")).status_code == 201
    assert len(await answers_of(client, admin)) == 1


async def test_making_a_link_takes_leads_write_and_a_known_contact(
    client: httpx.AsyncClient, world: World, admin: Headers, lead_id: str, make_key: KeyMaker
) -> None:
    reader = await make_key(Scope.LEADS_READ, Scope.CONTENT_WRITE)
    assert (await make_link(client, reader, lead_id)).status_code == 403
    writer = await make_key(Scope.LEADS_WRITE)
    assert (await make_link(client, writer, lead_id)).status_code == 201
    unknown = await make_link(client, writer, "01a23b7a-e3c5-73ce-a7ef-1e2180ec859f")
    assert (unknown.status_code, error_fields(unknown)) == (422, ["contact_id"])
    bad = await make_link(client, writer, lead_id, expires_in_days=0)
    assert (bad.status_code, error_fields(bad)) == (400, ["expires_in_days"])
    assert (await make_link(client, writer, lead_id, survey="nope")).status_code == 404
    await client.post("/api/v1/surveys/support-nps/archive", headers=admin)
    assert (await make_link(client, writer, lead_id)).status_code == 410


def tampered(token: str) -> str:
    payload, mac = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw[-1] ^= 1  # another expiry
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode() + "." + mac


async def test_bad_tampered_and_expired_tokens_are_404_and_410(
    client: httpx.AsyncClient, world: World, admin: Headers, lead_id: str, db: AsyncSession
) -> None:
    link = await link_for(client, admin, lead_id)
    for token in ("nonsense", "a.b", "!!!.###", tampered(link["token"]), link["token"] + "A"):
        response = await client.post(ANSWERS, json={"token": token, "score": 9})
        assert response.status_code == 404, (token, response.text)
        assert response.json()["type"] == "urn:inbound:problem:link-not-found"
        page = await client.get(f"/s/{token}")
        assert page.status_code == 404
        assert "not valid" in page.text
    foreign = sign(
        b"another key" * 3,
        LinkClaim(uuid_of(link), uuid_of(link, contact=True), utcnow() + timedelta(days=1)),
    )
    assert (await client.post(ANSWERS, json={"token": foreign, "score": 9})).status_code == 404
    expired = await expired_token(client, link)
    response = await client.post(ANSWERS, json={"token": expired, "score": 9})
    assert response.status_code == 410
    assert response.json()["type"] == "urn:inbound:problem:link-expired"
    assert (await client.get(f"/s/{expired}")).status_code == 410
    assert await count_rows(db, SurveyAnswer) == 0


def uuid_of(link: dict[str, Any], *, contact: bool = False) -> uuid.UUID:
    payload = link["token"].split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return uuid.UUID(bytes=raw[17:33] if contact else raw[1:17])


async def expired_token(client: httpx.AsyncClient, link: dict[str, Any]) -> str:
    """A token signed with the service's own key, expired a second ago."""
    app_state = client._transport.app.state  # type: ignore[attr-defined]
    key = await app_state.survey_link_keys.key(bind_of(app_state.sessionmaker))
    claim = LinkClaim(uuid_of(link), uuid_of(link, contact=True), utcnow() - timedelta(seconds=1))
    return sign(key, claim)


async def test_the_page_shows_the_question_escaped_and_takes_the_form(
    client: httpx.AsyncClient, world: World, admin: Headers, lead_id: str
) -> None:
    await client.patch(
        "/api/v1/surveys/support-nps", json={"question": "Rate <script>x</script>"}, headers=admin
    )
    link = await link_for(client, admin, lead_id)
    page = await client.get(path_of(link))
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in page.text
    assert "Rate &lt;script&gt;x&lt;/script&gt;" in page.text
    assert "What &lt;would&gt; you change?" in page.text
    assert page.text.count('type="radio" name="score"') == 11
    missing = await client.post(path_of(link), data={"comment": "hm"})
    assert missing.status_code == 400
    assert "Choose a score." in missing.text
    for odd in ("²", "9" * 5000):  # digits to Python's isdigit, no number to int()
        unread = await client.post(path_of(link), data={"score": odd})
        assert unread.status_code == 400
        assert "Choose a score." in unread.text
    off = await client.post(path_of(link), data={"score": "11"})
    assert off.status_code == 422
    assert "scale is 0 to 10" in off.text
    nul = await client.post(path_of(link), data={"score": "8", "comment": "a\x00b"})
    assert nul.status_code == 400
    assert "(a NUL)" in nul.text
    assert "too long" not in nul.text
    sent = await client.post(path_of(link), data={"score": "8", "comment": "ok"})
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"] == path_of(link)
    thanks = await client.get(path_of(link))
    assert thanks.status_code == 200
    assert "Thank you" in thanks.text
    assert "<form" not in thanks.text
    again = await client.post(path_of(link), data={"score": "3"})
    assert again.status_code == 409
    assert "Already answered" in again.text
    [stored] = await answers_of(client, admin)
    assert (stored["score"], stored["comment"], stored["source"]) == (8, "ok", "link")


async def test_an_erased_contacts_link_answers_nothing(
    client: httpx.AsyncClient, world: World, admin: Headers, lead_id: str
) -> None:
    link = await link_for(client, admin, lead_id)
    assert (await answer(client, world, email="ana@example.com")).status_code == 201
    erased = await client.delete(f"/api/v1/leads/{lead_id}", headers=admin)
    assert erased.status_code in (200, 202, 204), erased.text
    response = await client.post(ANSWERS, json={"token": link["token"], "score": 9})
    assert response.status_code == 404, response.text
    assert (await client.get(path_of(link))).status_code == 404
    # The lead's answers went with it.
    assert await answers_of(client, admin) == []


@pytest.mark.settings(signing_key="k" * 40)
class TestConfiguredKey:
    async def test_links_are_signed_with_the_configured_key(
        self, client: httpx.AsyncClient, world: World, admin: Headers, lead_id: str
    ) -> None:
        link = await link_for(client, admin, lead_id)
        claim = LinkClaim(
            uuid_of(link), uuid_of(link, contact=True), utcnow().fromisoformat(link["expires_at"])
        )
        assert sign(_derived("k" * 40), claim) == link["token"]


@pytest.mark.settings(public_url="https://feedback.example.com/inbound/")
class TestPublicUrl:
    async def test_links_are_built_on_the_public_address_not_the_requests(
        self, client: httpx.AsyncClient, world: World, admin: Headers, lead_id: str
    ) -> None:
        response = await client.post(
            "/api/v1/surveys/support-nps/links",
            json={"contact_id": lead_id},
            headers={**admin, "Host": "10.0.0.7:8000"},
        )
        assert response.status_code == 201, response.text
        link = response.json()
        assert link["url"] == f"https://feedback.example.com/inbound/s/{link['token']}"


async def test_every_process_shares_the_key_kept_in_the_database(
    client: httpx.AsyncClient,
    world: World,
    admin: Headers,
    lead_id: str,
    settings: Settings,
    sessionmaker: Any,
) -> None:
    link = await link_for(client, admin, lead_id)
    other = create_app(settings)
    other.state.sessionmaker = sessionmaker
    try:
        async with http_client(other) as elsewhere:
            response = await elsewhere.post(ANSWERS, json={"token": link["token"], "score": 9})
        assert response.status_code == 201, response.text
    finally:
        await other.state.engine.dispose()


async def test_an_archived_survey_s_page_says_it_is_closed(
    client: httpx.AsyncClient, world: World, admin: Headers, lead_id: str
) -> None:
    link = await link_for(client, admin, lead_id)
    await client.post("/api/v1/surveys/support-nps/archive", headers=admin)
    page = await client.get(path_of(link))
    assert page.status_code == 410
    assert "no longer takes answers" in page.text
    posted = await client.post(path_of(link), data={"score": "9"})
    assert posted.status_code == 410
    answered = await client.post(ANSWERS, json={"token": link["token"], "score": 9})
    assert answered.status_code == 410
    assert answered.json()["type"] == "urn:inbound:problem:survey-closed"
