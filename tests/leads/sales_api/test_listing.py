"""The sales lead list: listing, filters, order and pages, and values out of range."""

import base64
import json
from typing import Any

import httpx
import pytest

from inbound.leads.sales.filters import LeadFilter
from tests.conftest import Headers
from tests.leads.sales_api.helpers import emails, listed, new_lead
from tests.problems import assert_names, error_fields, refusing
from tests.support.world import LEADS, World, make_asset

HUGE = 2**70


class TestListing:
    async def test_items_carry_what_a_rep_needs(
        self, client: httpx.AsyncClient, world: World, sales: Headers
    ) -> None:
        await new_lead(client, world, "ana@example.com", job_title="CIO", consent=True,
                       consent_text_version="v1", utm_source="linkedin")  # fmt: skip
        page = await listed(client, sales)
        [item] = page["items"]
        assert item["email"] == "ana@example.com"
        assert item["persona"]["slug"] == "cio"
        assert item["persona"]["explanation"]
        assert [asset["slug"] for asset in item["assets"]] == ["scoring-ebook"]
        assert item["consent"]["given"] is True
        assert item["first_touch"]["utm_source"] == "linkedin"
        assert item["stage"] == "lead"
        assert item["lead_status"] == "new"
        assert item["owner"] is None
        assert item["grade"] in "ABCD"
        assert item["score"] > 0
        assert page["next_cursor"] is None

    async def test_filters_narrow_the_list(
        self, client: httpx.AsyncClient, world: World, sales: Headers
    ) -> None:
        await make_asset(client, world.admin, slug="newsletter-digest", title="Digest")
        cio = await new_lead(client, world, "cio@example.com", job_title="CIO",
                             utm_source="LinkedIn")  # fmt: skip
        other = await new_lead(client, world, "other@example.com", job_title="Intern",
                               asset="newsletter-digest")  # fmt: skip
        response = await client.post(
            f"{LEADS}/{cio}/stage", json={"stage": "sql"}, headers=world.admin
        )
        assert response.status_code == 200, response.text
        await client.post(f"{LEADS}/{other}/claim", json={"owner": "bo"}, headers=sales)

        assert emails(await listed(client, sales, stage="qualified")) == ["cio@example.com"]
        assert emails(await listed(client, sales, stage="lead,sql", sort="recency")) == [
            "other@example.com", "cio@example.com",
        ]  # fmt: skip
        assert emails(await listed(client, sales, persona="cio")) == ["cio@example.com"]
        assert emails(await listed(client, sales, persona="none")) == ["other@example.com"]
        assert emails(await listed(client, sales, owner="unowned")) == ["cio@example.com"]
        assert emails(await listed(client, sales, owner="bo")) == ["other@example.com"]
        assert emails(await listed(client, sales, source="linkedin")) == ["cio@example.com"]
        assert emails(await listed(client, sales, min_score=1000)) == []
        assert emails(await listed(client, sales, first_asset="scoring-ebook")) == [
            "cio@example.com"
        ]
        assert len((await listed(client, sales, site=world.site_id))["items"]) == 2

    async def test_pages_follow_the_cursor_in_every_sort(
        self, client: httpx.AsyncClient, world: World, sales: Headers
    ) -> None:
        for n in range(7):
            await new_lead(client, world, f"lead{n}@example.com", job_title="CIO" if n % 2 else "")
        for sort in ("updated", "recency", "score", "grade"):
            seen: list[str] = []
            cursor = None
            while True:
                params = {"sort": sort, "limit": 3} | ({"cursor": cursor} if cursor else {})
                page = await listed(client, sales, **params)
                seen += emails(page)
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert sorted(seen) == sorted(f"lead{n}@example.com" for n in range(7)), sort
            assert len(seen) == 7, sort

    @pytest.mark.parametrize(
        ("params", "field"),
        # Unknown values, then numbers and dates out of range.
        refusing(
            stage=["nope"], persona=["ghost"], first_asset=["ghost"], min_grade=["E"],
            limit=[501, HUGE, -HUGE], sort=["name"], cursor=["garbage"], min_score=[-1, "nan"],
            updated_since=[
                "2026-01-01T00:00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
            ],
        ),
    )  # fmt: skip
    async def test_bad_parameters_are_named(
        self,
        client: httpx.AsyncClient,
        world: World,
        sales: Headers,
        params: dict[str, Any],
        field: str,
    ) -> None:
        assert_names(await client.get(LEADS, params=params, headers=sales), field)

    @pytest.mark.parametrize(
        ("sort", "key", "as_of"),
        [
            ("updated", [1], None),
            ("score", [1.0, "01a20c4a-c977-72f1-b9e6-5e758768b236"], "2026-01-01T00:00:00"),
            ("recency", ["2026-01-01T00:00:00", "01a20c4a-c977-72f1-b9e6-5e758768b236"], None),
            ("grade", ["A", "high", "01a20c4a-c977-72f1-b9e6-5e758768b236"], None),
        ],
    )
    async def test_a_forged_cursor_is_refused(
        self,
        client: httpx.AsyncClient,
        sales: Headers,
        sort: str,
        key: list[Any],
        as_of: str | None,
    ) -> None:
        forged = forged_cursor(sort, key, as_of)
        response = await client.get(LEADS, params={"sort": sort, "cursor": forged}, headers=sales)
        assert response.status_code == 400, response.text
        assert error_fields(response) == ["cursor"]

    async def test_a_cursor_is_refused_with_other_filters(
        self, client: httpx.AsyncClient, world: World, sales: Headers
    ) -> None:
        for n in range(3):
            await new_lead(client, world, f"lead{n}@example.com")
        page = await listed(client, sales, limit=1)
        response = await client.get(
            LEADS, params={"limit": 1, "cursor": page["next_cursor"], "stage": "mql"},
            headers=sales,
        )  # fmt: skip
        assert response.status_code == 400
        assert error_fields(response) == ["cursor"]


def forged_cursor(sort: str, key: list[Any], as_of: str | None = None, **extra: Any) -> str:
    document = {"s": sort, "k": key, "t": as_of, "f": LeadFilter().fingerprint(), **extra}
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


LEAD_ID = "01a20c4a-c977-72f1-b9e6-5e758768b236"


class TestOutOfRange:
    @pytest.mark.parametrize(
        ("sort", "key", "extra"),
        [
            ("updated", [HUGE, LEAD_ID], {}),
            ("updated", [-HUGE, LEAD_ID], {}),
            ("updated", [1, LEAD_ID], {"w": [HUGE, []]}),
            ("updated", [1, LEAD_ID], {"w": [10, [-HUGE]]}),
            ("updated", [1, LEAD_ID], {"x": [HUGE, [1]]}),
            ("updated", [1, LEAD_ID], {"x": [10, [HUGE]]}),
            ("score", [10**400, LEAD_ID], {}),
            ("score", [1e999, LEAD_ID], {}),
            ("grade", ["A", 10**400, LEAD_ID], {}),
            ("grade", ["A\u0000", 1.0, LEAD_ID], {}),
            # The id's place holds a number, or something else that is no id.
            ("updated", [1, HUGE], {}),
            ("updated", [1, 1.5], {}),
            ("recency", ["2026-01-01T00:00:00+00:00", HUGE], {}),
            ("score", [1.0, True], {}),
            ("grade", ["A", 1.0, [LEAD_ID]], {}),
            ("recency", [HUGE, LEAD_ID], {}),
        ],
    )
    async def test_a_cursor_key_beyond_its_type_is_refused(
        self,
        client: httpx.AsyncClient,
        world: World,
        sales: Headers,
        sort: str,
        key: list[Any],
        extra: dict[str, Any],
    ) -> None:
        await new_lead(client, world, "ana@example.com")
        # json.dumps writes 1e999 as Infinity, which is no JSON: either way, not a cursor.
        as_of = "2026-01-01T00:00:00+00:00" if sort in ("score", "grade") else None
        cursor = forged_cursor(sort, key, as_of, **extra)
        response = await client.get(LEADS, params={"sort": sort, "cursor": cursor}, headers=sales)
        assert response.status_code == 400, response.text
        assert error_fields(response) == ["cursor"]

    @pytest.mark.parametrize("sort", ["updated", "recency", "score", "grade"])
    @pytest.mark.parametrize(
        "as_of",
        [
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-14:00",
            # The calendar's very ends: PostgreSQL's infinities through asyncpg, and a moment
            # SQLite's julianday() rounds into the year 10000.
            "0001-01-01T00:00:00+00:00",
            "9999-12-31T23:59:59.999999+00:00",
        ],
    )
    async def test_a_cursor_time_beyond_the_calendar_is_refused(
        self, client: httpx.AsyncClient, world: World, sales: Headers, sort: str, as_of: str
    ) -> None:
        await new_lead(client, world, "ana@example.com")
        key: dict[str, list[Any]] = {
            "updated": [1, LEAD_ID], "recency": [as_of, LEAD_ID], "score": [1.0, LEAD_ID],
            "grade": ["A", 1.0, LEAD_ID],
        }  # fmt: skip
        cursor = forged_cursor(sort, key[sort], as_of)
        response = await client.get(LEADS, params={"sort": sort, "cursor": cursor}, headers=sales)
        assert response.status_code == 400, response.text
        assert error_fields(response) == ["cursor"]

    @pytest.mark.parametrize("as_of", ["1900-01-01T00:00:00+00:00", "2999-01-01T00:00:00+00:00"])
    async def test_a_cursor_far_from_the_scores_still_reads(
        self, client: httpx.AsyncClient, world: World, sales: Headers, as_of: str
    ) -> None:
        await new_lead(client, world, "ana@example.com")
        cursor = forged_cursor("score", [1e300, LEAD_ID], as_of)
        page = await listed(client, sales, sort="score", cursor=cursor)
        assert emails(page) == ["ana@example.com"]

    @pytest.mark.parametrize("min_score", [HUGE, "1e308", "inf"])
    async def test_a_huge_min_score_matches_nothing(
        self, client: httpx.AsyncClient, world: World, sales: Headers, min_score: Any
    ) -> None:
        await new_lead(client, world, "ana@example.com")
        for sort in ("updated", "score"):
            assert emails(await listed(client, sales, min_score=min_score, sort=sort)) == []
