"""`_redirect`, the page a plain HTML form lands on: only an http(s) URL on one of the site's
origins, read as a browser reads it, and sent percent-encoded."""

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.leads.models import Capture
from tests.leads.helpers import count_rows, ebook_form, post_form
from tests.leads.refusals import assert_refused, nothing_written
from tests.problems import assert_problem, error_fields
from tests.support.world import ORIGIN, World, capture

FOREIGN_REDIRECTS = [
    "https://evil.example\\@www.example.com/",
    "https://evil.example\\.www.example.com/",
    "https:\\\\evil.example/thanks",
    "https://www.example.com@evil.example/",
    "https://user:pass@www.example.com/thanks",
    "https://user@www.example.com/thanks",
    "https://www.example.com/thanks\\..\\evil",
    "https://www.exa\tmple.com/thanks",
    "https://www.example.com/thanks\r\nSet-Cookie: stolen=1",
    "https://www.example.com/thanks\x00",
    " https://www.example.com/thanks",
    "https://www.example.com%2eevil.example/",
    "//www.example.com/thanks",
    "https:www.example.com/thanks",
    "javascript://www.example.com/%0aalert(1)",
    "ftp://www.example.com/thanks",
    "https://www.example.com:99999/thanks",
    "https://WWW.EXAMPLE.COM.evil.example/",
    "",
]


class TestRedirectSafety:
    @pytest.mark.parametrize("redirect", FOREIGN_REDIRECTS)
    async def test_a_redirect_that_a_browser_could_read_as_elsewhere_is_refused(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession, redirect: str
    ) -> None:
        response = await capture(client, world, _redirect=redirect)
        await assert_refused(response, db, "_redirect")

    @pytest.mark.parametrize("redirect", FOREIGN_REDIRECTS)
    async def test_a_honeypot_post_never_redirects_off_the_site(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession, redirect: str
    ) -> None:
        response = await capture(client, world, _hp="bot", _redirect=redirect)
        assert_problem(response, {400, 422})
        assert error_fields(response) == ["_redirect"]
        assert "location" not in response.headers
        assert await nothing_written(db)

    async def test_a_honeypot_form_with_a_backslash_redirect_is_refused(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        fields = ebook_form(
            world, email="bot@example.com", _hp="Buy now",
            _redirect="https://evil.example\\@www.example.com/",
        )  # fmt: skip
        response = await post_form(client, fields)
        await assert_refused(response, db, "_redirect")

    async def test_a_redirect_with_any_characters_is_percent_encoded_and_replays(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        redirect = f"{ORIGIN}/merci/日本-ü?from=€uro&x=a%20b#téléchargé"
        key = {"Idempotency-Key": "unicode-redirect"}
        first = await capture(client, world, headers=key, _redirect=redirect)
        assert first.status_code == 303, first.text
        raw_location = first.headers["location"]
        assert raw_location.isascii()
        location = httpx.URL(raw_location)
        assert (location.scheme, location.host) == ("https", "www.example.com")
        assert location.path == "/merci/日本-ü"
        assert location.params["from"] == "€uro"
        assert location.params["x"] == "a b"
        assert location.fragment == "téléchargé"
        assert location.params["capture_id"]
        again = await capture(client, world, headers=key, _redirect=redirect)
        assert again.status_code == 303, again.text
        assert again.headers["location"] == raw_location
        assert await count_rows(db, Capture) == 1

    async def test_an_allowed_host_is_matched_whatever_its_case_and_default_port(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await capture(client, world, _redirect="https://WWW.Example.COM:443/thanks")
        assert response.status_code == 303, response.text
        location = httpx.URL(response.headers["location"])
        assert (location.host, location.path) == ("www.example.com", "/thanks")
