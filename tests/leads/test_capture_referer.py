"""Forms posted without JavaScript: the landing page's UTMs come from the `Referer` header."""

from typing import Any

import httpx
import pytest

from tests.problems import body_of
from tests.support.world import CAPTURES, ORIGIN, World, get_lead

LANDING = (
    f"{ORIGIN}/ebooks/scoring?utm_source=linkedin&utm_medium=paid-social"
    "&utm_campaign=spring%20launch&utm_term=scoring&utm_content=hero&gclid=x1"
)
UTMS = {
    "utm_source": "linkedin",
    "utm_medium": "paid-social",
    "utm_campaign": "spring launch",
    "utm_term": "scoring",
    "utm_content": "hero",
}
NO_UTMS = dict.fromkeys(UTMS)


async def post(
    client: httpx.AsyncClient, world: World, referer: str | None, **fields: str
) -> dict[str, Any]:
    """Post the e-book's plain form from ``referer``; answer the stored capture."""
    body = {"_key": world.public_key, "asset": "scoring-ebook", "email": "ana@example.com"}
    headers = {"Referer": referer} if referer is not None else {}
    response = await client.post(CAPTURES, data=body | fields, headers=headers)
    assert response.status_code == 201, response.text
    stored = await client.get(f"{CAPTURES}/{response.json()['capture_id']}", headers=world.admin)
    return body_of(stored)


def utms_of(capture: dict[str, Any]) -> dict[str, Any]:
    return {name: capture[name] for name in UTMS}


class TestUtmsFromTheLandingPage:
    async def test_a_form_without_utms_takes_the_landing_pages(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        capture = await post(client, world, LANDING)
        assert utms_of(capture) == UTMS
        assert capture["page_url"] == LANDING
        assert "utm_source" not in capture["fields"]  # the fields stay as posted
        lead = await get_lead(client, world, capture["contact_id"])
        assert lead["first_touch"]["utm_source"] == "linkedin"
        assert lead["first_touch"]["utm_campaign"] == "spring launch"

    async def test_utms_in_the_form_win_and_none_is_mixed_in_from_the_page(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        capture = await post(client, world, LANDING, utm_source="newsletter")
        assert utms_of(capture) == NO_UTMS | {"utm_source": "newsletter"}

    async def test_a_page_url_in_the_form_wins(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        capture = await post(client, world, LANDING, page_url=f"{ORIGIN}/other")
        assert capture["page_url"] == f"{ORIGIN}/other"
        assert utms_of(capture) == UTMS

    async def test_json_utms_win_too(self, client: httpx.AsyncClient, world: World) -> None:
        body = {"asset": "scoring-ebook", "email": "bo@example.com", "utm_medium": "email"}
        headers = {**world.site_headers, "Referer": LANDING}
        response = await client.post(CAPTURES, json=body, headers=headers)
        assert response.status_code == 201, response.text
        stored = await client.get(
            f"{CAPTURES}/{response.json()['capture_id']}", headers=world.admin
        )
        assert utms_of(stored.json()) == NO_UTMS | {"utm_medium": "email"}

    async def test_blank_utms_in_the_form_count_as_none(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        capture = await post(client, world, LANDING, utm_source="", utm_medium=" ")
        assert utms_of(capture) == UTMS

    async def test_a_page_without_utms_gives_none(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        capture = await post(client, world, f"{ORIGIN}/")
        assert utms_of(capture) == NO_UTMS
        assert capture["page_url"] == f"{ORIGIN}/"

    async def test_no_referer_gives_none(self, client: httpx.AsyncClient, world: World) -> None:
        capture = await post(client, world, None)
        assert utms_of(capture) == NO_UTMS
        assert capture["page_url"] is None

    @pytest.mark.parametrize(
        "referer",
        ["android-app://com.example/?utm_source=app", "not a url", f"{ORIGIN}/?utm_source=a b"],
    )
    async def test_a_referer_that_is_no_web_page_is_ignored(
        self, client: httpx.AsyncClient, world: World, referer: str
    ) -> None:
        capture = await post(client, world, referer)
        assert utms_of(capture) == NO_UTMS
        assert capture["page_url"] is None

    async def test_odd_values_are_cleaned_never_refused(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        long = "x" * 500
        referer = (
            f"{ORIGIN}/?utm_source={long}&utm_medium=%00mail%00&utm_campaign=&utm_term=a&utm_term=b"
        )
        capture = await post(client, world, referer)
        assert utms_of(capture) == NO_UTMS | {
            "utm_source": "x" * 200,
            "utm_medium": "mail",
            "utm_term": "a",
        }

    async def test_a_referer_too_long_for_a_page_url_is_ignored(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        capture = await post(client, world, f"{ORIGIN}/?utm_source=s&pad={'p' * 2100}")
        assert capture["utm_source"] is None
        assert capture["page_url"] is None
