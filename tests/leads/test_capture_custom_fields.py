"""Custom form fields: bounded on each capture and on each contact, however many captures come."""

import httpx
import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.leads.models import Capture
from tests.conftest import Headers
from tests.leads.helpers import count_rows
from tests.leads.test_capture_spam import (
    client_at,
    unique_address,
)
from tests.problems import assert_problem, error_fields
from tests.support.fixtures import AppMaker
from tests.support.world import (
    CAPTURES,
    World,
    capture,
    get_lead,
    make_ebook_world,
)


def note_fields(prefix: str, count: int, size: int = 8) -> dict[str, str]:
    return {f"{prefix}_{i:03}": "x" * size for i in range(count)}


class TestCustomFieldLimits:
    async def test_a_contact_keeps_at_most_200_custom_fields_and_every_capture_keeps_its_own(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        for batch in range(5):
            response = await capture(client, world, fields=note_fields(f"q{batch}", 50))
            assert response.status_code == 201, response.text
        lead = await get_lead(client, world, response.json()["contact_id"])
        assert len(lead["custom_fields"]) == 200
        assert set(lead["custom_fields"]) == {
            name for batch in range(4) for name in note_fields(f"q{batch}", 50)
        }
        stored = await client.get(
            f"{CAPTURES}/{response.json()['capture_id']}", headers=world.admin
        )
        assert stored.json()["fields"]["fields"] == note_fields("q4", 50)

    async def test_a_full_contact_still_takes_new_answers_to_fields_it_has(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        for batch in range(4):
            await capture(client, world, fields=note_fields(f"q{batch}", 50))
        response = await capture(client, world, fields={"q0_000": "new answer", "extra": "y"})
        assert response.status_code == 201, response.text
        lead = await get_lead(client, world, response.json()["contact_id"])
        assert lead["custom_fields"]["q0_000"] == "new answer"
        assert "extra" not in lead["custom_fields"]

    async def test_a_contacts_custom_fields_stay_under_64_kib(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        for batch in range(3):
            response = await capture(client, world, fields=note_fields(f"n{batch}", 25, 2000))
            assert response.status_code == 201, response.text
        lead = await get_lead(client, world, response.json()["contact_id"])
        assert len(msgspec.json.encode(lead["custom_fields"])) <= 64 * 1024
        assert set(note_fields("n0", 25)) <= set(lead["custom_fields"])
        assert len(lead["custom_fields"]) < 75

    async def test_a_capture_beyond_the_operators_limits_is_422_naming_fields(
        self,
        app_with: AppMaker,
        admin: Headers,
        db: AsyncSession,
    ) -> None:
        async with (
            app_with(custom_fields_per_contact=10, custom_fields_bytes_per_contact=1024,
            ) as app,
            client_at(app, unique_address()) as client,
        ):  # fmt: skip
            world = await make_ebook_world(client, admin)
            too_many = await capture(client, world, fields=note_fields("q", 11))
            too_big = await capture(client, world, fields={"notes": "x" * 1100})
            fits = await capture(client, world, fields=note_fields("q", 10))
        for refused in (too_many, too_big):
            assert assert_problem(refused, 422)["type"] == "urn:inbound:problem:too-many-fields"
            assert error_fields(refused) == ["fields"]
        assert fits.status_code == 201, fits.text
        assert await count_rows(db, Capture) == 1

    async def test_the_limits_are_settings_with_sound_bounds(self) -> None:
        from pydantic import ValidationError

        from inbound.config import Settings

        with pytest.raises(ValidationError):
            Settings(custom_fields_per_contact=0)
        with pytest.raises(ValidationError):
            Settings(custom_fields_bytes_per_contact=10)
