"""Plain HTML forms, posted without JavaScript: how values are read, blank inputs and custom
fields."""

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.leads.models import Capture, Contact
from tests.leads.helpers import count_rows, ebook_form, post_form, stored_capture
from tests.problems import error_fields
from tests.support.world import ORIGIN, World, get_lead, make_asset


class TestValues:
    async def test_every_known_input_reaches_the_lead_and_the_capture(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        values = {
            "first_name": "Ana", "last_name": "López", "company": "Acme", "job_title": "CTO",
            "phone": "+34 600 000 000", "country": "ES", "industry": "Software",
            "seniority": "executive", "utm_source": "newsletter", "utm_medium": "email",
            "utm_campaign": "spring", "utm_term": "scoring", "utm_content": "hero",
            "referrer": "https://news.example.net/4", "page_url": f"{ORIGIN}/ebooks/scoring",
            "visitor_id": "v-42",
        }  # fmt: skip
        fields = ebook_form(world, email="  Ana@Example.COM ", company_size="250", **values)
        response = await post_form(client, fields)
        assert response.status_code == 201, response.text
        lead = await get_lead(client, world, response.json()["contact_id"])
        assert lead["email"] == "ana@example.com"
        assert lead["company_size"] == 250
        profile = ("first_name", "last_name", "company", "job_title", "phone", "country",
                   "industry", "seniority")  # fmt: skip
        assert {name: lead[name] for name in profile} == {name: values[name] for name in profile}
        assert lead["first_touch"]["utm_campaign"] == "spring"
        stored = await stored_capture(client, world, response.json()["capture_id"])
        for name in ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
                     "referrer", "page_url", "visitor_id"):  # fmt: skip
            assert stored[name] == values[name], name
        assert stored["fields"]["company_size"] == 250

    @pytest.mark.parametrize(("text", "number"), [("250", 250), (" 1200 ", 1200), ("0", 0)])
    async def test_company_size_may_be_text(
        self, client: httpx.AsyncClient, world: World, text: str, number: int
    ) -> None:
        response = await post_form(client, ebook_form(world, company_size=text))
        assert response.status_code == 201, response.text
        lead = await get_lead(client, world, response.json()["contact_id"])
        assert lead["company_size"] == number

    @pytest.mark.parametrize("text", ["lots", "-5", "2.5", "1e3", "20000000", "²", "٣", "9" * 5000])
    async def test_company_size_that_is_no_count_is_400(
        self, client: httpx.AsyncClient, world: World, text: str
    ) -> None:
        response = await post_form(client, ebook_form(world, company_size=text))
        assert response.status_code == 400, response.text
        assert error_fields(response) == ["company_size"]

    @pytest.mark.parametrize("name", ["email", "company", "consent", "asset", "_key", "_redirect"])
    async def test_a_known_field_given_twice_is_400_naming_it(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession, name: str
    ) -> None:
        twice = {
            "email": ["ana@example.com", "bo@example.com"],
            "company": ["Acme", "Beta"],
            "consent": ["on", "off"],
            "asset": ["scoring-ebook", "scoring-ebook"],
            "_key": [world.public_key, world.public_key],
            "_redirect": [f"{ORIGIN}/a", f"{ORIGIN}/b"],
        }[name]
        fields = ebook_form(world, consent_text_version="v1")
        fields[name] = twice
        response = await post_form(client, fields)
        assert response.status_code == 400, response.text
        assert error_fields(response) == [name]
        assert await count_rows(db, Capture) == 0

    async def test_a_known_input_with_a_nul_is_400(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await post_form(client, ebook_form(world, company="Ac\x00me"))
        assert response.status_code == 400
        assert error_fields(response) == ["company"]


class TestBlankInputs:
    async def test_blank_inputs_are_fields_left_blank(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        names = ("first_name", "last_name", "job_title", "phone", "company_size", "consent",
                 "consent_text_version", "utm_source", "referrer", "page_url", "visitor_id",
                 "budget", "_idem", "_redirect", "_hp")  # fmt: skip
        blanks: dict[str, str | list[str]] = dict.fromkeys(names, "")
        response = await post_form(client, ebook_form(world, company="   ", **blanks))
        assert response.status_code == 201, response.text
        lead = await get_lead(client, world, response.json()["contact_id"])
        assert [lead[n] for n in ("first_name", "company", "company_size", "phone")] == [None] * 4
        assert lead["custom_fields"] == {}
        assert lead["consent"]["given"] is None
        stored = await stored_capture(client, world, response.json()["capture_id"])
        assert stored["fields"] == {"asset": "scoring-ebook", "email": "ana@example.com"}
        assert stored["idempotency_key"] is None

    async def test_blank_inputs_never_erase_what_a_lead_told_before(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        first = await post_form(
            client,
            ebook_form(world, first_name="Ana", company="Acme", company_size="50", budget="5k"),
        )
        again = await post_form(
            client,
            ebook_form(
                world, first_name="", company=" ", company_size="", budget="", job_title="CTO"
            ),
        )
        assert again.json()["contact_id"] == first.json()["contact_id"]
        lead = await get_lead(client, world, first.json()["contact_id"])
        assert (lead["first_name"], lead["company"], lead["company_size"]) == ("Ana", "Acme", 50)
        assert lead["job_title"] == "CTO"
        assert lead["custom_fields"] == {"budget": "5k"}

    async def test_a_blank_required_input_is_listed_as_missing(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession
    ) -> None:
        await make_asset(
            client, world.admin, slug="pricing-guide", title="Pricing guide",
            form_fields=[{"name": "company"}, {"name": "budget"}, {"name": "phone",
                         "required": False}],
        )  # fmt: skip
        fields = ebook_form(world, asset="pricing-guide", company="", budget=" ", phone="")
        response = await post_form(client, fields)
        assert response.status_code == 422, response.text
        assert sorted(error_fields(response)) == ["budget", "company"]
        assert await count_rows(db, Contact) == 0
        answered = ebook_form(world, asset="pricing-guide", company="Acme", budget="10k")
        assert (await post_form(client, answered)).status_code == 201


class TestCustomFields:
    async def test_other_names_and_bracketed_names_are_custom_fields(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        fields = ebook_form(
            world, budget="10k", **{"fields[team_size]": "12", "fields[region]": "EU"}
        )
        response = await post_form(client, fields)
        assert response.status_code == 201, response.text
        lead = await get_lead(client, world, response.json()["contact_id"])
        assert lead["custom_fields"] == {"budget": "10k", "team_size": "12", "region": "EU"}
        stored = await stored_capture(client, world, response.json()["capture_id"])
        assert stored["fields"]["fields"] == lead["custom_fields"]

    async def test_a_bracketed_known_name_is_a_custom_field_not_the_profile(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await post_form(client, ebook_form(world, **{"fields[company]": "Side project"}))
        assert response.status_code == 201, response.text
        lead = await get_lead(client, world, response.json()["contact_id"])
        assert lead["company"] is None
        assert lead["custom_fields"] == {"company": "Side project"}

    async def test_a_checkbox_group_keeps_every_ticked_value(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await post_form(client, ebook_form(world, interests=["crm", "seo"]))
        assert response.status_code == 201, response.text
        lead = await get_lead(client, world, response.json()["contact_id"])
        assert lead["custom_fields"] == {"interests": "crm, seo"}

    @pytest.mark.parametrize("name", ["Budget", "team-size", "2fa", "fields[Region]"])
    async def test_a_custom_name_outside_the_rule_is_400(
        self, client: httpx.AsyncClient, world: World, db: AsyncSession, name: str
    ) -> None:
        response = await post_form(client, ebook_form(world, **{name: "x"}))
        assert response.status_code == 400, response.text
        assert all(field.startswith("fields") for field in error_fields(response))
        assert await count_rows(db, Capture) == 0

    async def test_more_than_fifty_custom_fields_is_400(
        self, client: httpx.AsyncClient, world: World
    ) -> None:
        response = await post_form(client, ebook_form(world, **{f"q{i}": "x" for i in range(51)}))
        assert response.status_code == 400
        assert error_fields(response) == ["fields"]
