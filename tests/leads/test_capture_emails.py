"""Emails with control, zero-width or direction characters are refused, whatever the form."""

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.leads.helpers import ebook_form, post_form
from tests.leads.refusals import assert_refused
from tests.support.world import World, capture

INVISIBLE_EMAILS = [
    "\u200bana@example.com",
    "ana\u200b@example.com",
    "an\u200ea@example.com",
    "ana\u202e@example.com",
    "\ufeffana@example.com",
    "ana\x00@example.com",
    "ana\x01@example.com",
    "\x1fana@example.com",
    "ana@example.com\x1f",
    "ana\x7f@example.com",
    "ana\u2028@example.com",
    "an\u00ada@example.com",
    "ana\u2066@example.com",
    "ana\U000e0041@example.com",
    "an\u034fa@example.com",
    "ana\u3164@example.com",
    "an\ufe0fa@example.com",
    "ana\u17b4@example.com",
    "ana\uffa0@example.com",
    "ana\U000e0100@example.com",
]


class TestEmailCharacters:
    @pytest.mark.parametrize("email", INVISIBLE_EMAILS)
    async def test_an_email_with_invisible_characters_is_refused_naming_email(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession, email: str
    ) -> None:
        response = await capture(client, world, email=email)
        await assert_refused(response, db, "email")

    @pytest.mark.parametrize("email", INVISIBLE_EMAILS[:3])
    async def test_a_form_with_an_invisible_character_in_its_email_is_refused(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession, email: str
    ) -> None:
        fields = ebook_form(world, email=email)
        response = await post_form(client, fields)
        await assert_refused(response, db, "email")

    @pytest.mark.parametrize(
        "email", [" ana@example.com\n", "\tAna@Example.com ", "josé@example.com"]
    )
    async def test_ordinary_spacing_around_and_letters_are_still_taken(
        self, client: httpx.AsyncClient, world: World, email: str
    ) -> None:
        response = await capture(client, world, email=email)
        assert response.status_code == 201, response.text
