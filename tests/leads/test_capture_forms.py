"""Plain HTML forms, posted without JavaScript as application/x-www-form-urlencoded: the key
and answer, redirects and the consent checkbox."""

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.leads.models import Capture, Contact
from tests.leads.helpers import count_rows, ebook_form, post_form, stored_capture
from tests.problems import assert_problem, error_fields
from tests.support.world import CAPTURES, ORIGIN, World, get_lead, make_asset

DELIVERY_URL = "https://cdn.example.com/scoring.pdf"


class TestKeyAndAnswer:
    async def test_a_form_with_its_key_field_gets_201_json(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await post_form(client, ebook_form(world))
        assert response.status_code == 201, response.text
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert body["delivery_url"] == DELIVERY_URL
        assert response.headers["location"] == f"{CAPTURES}/{body['capture_id']}"
        stored = await stored_capture(client, world, body["capture_id"])
        assert stored["contact_id"] == body["contact_id"]
        assert "_key" not in stored["fields"]

    async def test_a_form_without_a_key_is_401(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        fields = ebook_form(world)
        del fields["_key"]
        response = await post_form(client, fields)
        assert_problem(response, 401)
        assert await count_rows(db, Contact) == 0

    @pytest.mark.parametrize("key", ["inb_pk_unknown", "", "   "])
    async def test_a_form_with_an_unknown_or_blank_key_is_401(
        self, client: httpx.AsyncClient, world: World, key: str
    ) -> None:
        response = await post_form(client, ebook_form(world, _key=key))
        assert response.status_code == 401, response.text

    async def test_a_key_field_with_spaces_around_it_is_read(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await post_form(client, ebook_form(world, _key=f"  {world.public_key} "))
        assert response.status_code == 201, response.text

    async def test_a_declared_charset_and_non_ascii_values_are_read(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        content = "&".join(
            (
                f"_key={world.public_key}",
                "asset=scoring-ebook",
                "email=jose%40example.com",
                "first_name=Jos%C3%A9",
                "company=M%C3%BCller+%26+S%C3%B6hne",
            )
        )
        response = await client.post(
            CAPTURES,
            content=content,
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
        )
        assert response.status_code == 201, response.text
        lead = await get_lead(client, world, response.json()["contact_id"])
        assert (lead["first_name"], lead["company"]) == ("José", "Müller & Söhne")


class TestRedirect:
    async def test_a_redirect_gets_303_with_the_capture_and_the_delivery_url(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        redirect = f"{ORIGIN}/thanks?from=ebook#download"
        response = await post_form(client, ebook_form(world, _redirect=redirect))
        assert response.status_code == 303, response.text
        location = httpx.URL(response.headers["location"])
        assert (location.scheme, location.host, location.path) == (
            "https",
            "www.example.com",
            "/thanks",
        )
        assert location.fragment == "download"
        assert location.params["from"] == "ebook"
        assert location.params["delivery_url"] == DELIVERY_URL
        stored = await stored_capture(client, world, location.params["capture_id"])
        assert "_redirect" not in stored["fields"]
        lead = await get_lead(client, world, stored["contact_id"])
        assert lead["email"] == "ana@example.com"

    async def test_a_redirect_for_an_asset_without_a_delivery_url_names_only_the_capture(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        await make_asset(
            client, world.admin, slug="webinar", title="Webinar", kind="webinar",
            gated=False, delivery_url=None,
        )  # fmt: skip
        response = await post_form(
            client, ebook_form(world, asset="webinar", _redirect=f"{ORIGIN}/see-you")
        )
        assert response.status_code == 303, response.text
        params = httpx.URL(response.headers["location"]).params
        assert set(params) == {"capture_id"}
        await stored_capture(client, world, params["capture_id"])

    async def test_a_blank_redirect_is_no_redirect(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await post_form(client, ebook_form(world, _redirect=""))
        assert response.status_code == 201, response.text

    @pytest.mark.parametrize(
        "redirect", ["https://evil.example/thanks", "https://www.example.com:444/thanks"]
    )
    async def test_a_redirect_off_the_sites_origins_is_422_and_stores_nothing(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession, redirect: str
    ) -> None:
        response = await post_form(client, ebook_form(world, _redirect=redirect))
        assert response.status_code == 422
        assert error_fields(response) == ["_redirect"]
        assert await count_rows(db, Capture) == 0

    async def test_a_form_posted_twice_with_its_idem_field_gets_the_same_303(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        fields = ebook_form(world, _idem="form-7f3a", _redirect=f"{ORIGIN}/thanks")
        first = await post_form(client, fields)
        again = await post_form(client, fields)
        assert first.status_code == again.status_code == 303
        assert again.headers["location"] == first.headers["location"]
        assert again.headers["idempotent-replayed"] == "true"
        assert await count_rows(db, Capture) == 1
        capture_id = httpx.URL(first.headers["location"]).params["capture_id"]
        stored = await stored_capture(client, world, capture_id)
        assert stored["idempotency_key"] == "form-7f3a"
        assert "_idem" not in stored["fields"]


class TestConsentCheckbox:
    @pytest.mark.parametrize(
        ("value", "given"),
        [("on", True), ("ON", True), ("true", True), ("1", True), ("yes", True),
         ("off", False), ("false", False), ("0", False), ("no", False)],
    )  # fmt: skip
    async def test_a_checkbox_value_is_read_as_the_answer(
        self, client: httpx.AsyncClient, world: World, value: str, given: bool
    ) -> None:
        fields = ebook_form(world, consent=value, consent_text_version="2026-01")
        response = await post_form(client, fields)
        assert response.status_code == 201, response.text
        stored = await stored_capture(client, world, response.json()["capture_id"])
        assert stored["consent"] is given
        consent = (await get_lead(client, world, response.json()["contact_id"]))["consent"]
        assert (consent["given"], consent["text_version"]) == (given, "2026-01")
        assert consent["capture_id"] == response.json()["capture_id"]

    async def test_an_unticked_checkbox_sends_nothing_and_records_nothing(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await post_form(client, ebook_form(world, consent_text_version="2026-01"))
        assert response.status_code == 201, response.text
        stored = await stored_capture(client, world, response.json()["capture_id"])
        assert stored["consent"] is None
        consent = (await get_lead(client, world, response.json()["contact_id"]))["consent"]
        assert consent["given"] is None
        assert consent["capture_id"] is None

    async def test_an_unreadable_checkbox_value_is_400(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await post_form(
            client, ebook_form(world, consent="maybe", consent_text_version="v")
        )
        assert response.status_code == 400
        assert error_fields(response) == ["consent"]

    async def test_a_ticked_checkbox_without_its_text_version_is_400(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        response = await post_form(client, ebook_form(world, consent="on"))
        assert response.status_code == 400
        assert "consent_text_version" in response.json()["detail"]
        assert await count_rows(db, Contact) == 0
