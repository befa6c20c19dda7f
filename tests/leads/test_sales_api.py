"""The sales API: listing leads with filters and sorts, claims, lead status, notes, If-Match,
and CSV export."""

import base64
import csv
import io
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.auth.scopes import Scope
from inbound.db import utcnow
from inbound.leads.sales.filters import LeadFilter
from tests.conftest import Headers, KeyMaker
from tests.leads.helpers import set_contact
from tests.problems import assert_names, body_of, error_fields, refusing
from tests.support.world import LEADS, World, capture, make_asset, make_persona
from tests.support.world import make_world as make_site

HUGE = 2**70
CIO_RULES: list[dict[str, Any]] = [
    {"field": "job_title", "operator": "contains_any", "values": ["CIO"]},
]


@pytest.fixture
async def world(client: httpx.AsyncClient, admin: Headers) -> World:
    """A site, the persona `cio`, and an e-book tagged highly to it."""
    world = await make_site(client, admin)
    await make_persona(client, admin, "cio", rules=CIO_RULES)
    await make_asset(client, admin, personas=[{"persona": "cio", "relevance": 3}])
    return world


@pytest.fixture
async def sales(make_key: KeyMaker) -> Headers:
    return await make_key(Scope.LEADS_WRITE, name="sales")


async def new_lead(client: httpx.AsyncClient, world: World, email: str, **fields: Any) -> str:
    response = await capture(client, world, email=email, **fields)
    found: str = body_of(response, 201)["contact_id"]
    return found


async def listed(client: httpx.AsyncClient, headers: Headers, **params: Any) -> dict[str, Any]:
    response = await client.get(LEADS, params=params, headers=headers)
    return body_of(response)


def emails(page: dict[str, Any]) -> list[str]:
    return [item["email"] for item in page["items"]]


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


class TestScoreAsShown:
    async def test_min_score_matches_the_score_the_item_shows(
        self, client: httpx.AsyncClient, world: World, sales: Headers, db: AsyncSession
    ) -> None:
        lead = await new_lead(client, world, "ana@example.com")
        # 50 points a minute ago: 49.9992 now, shown as 50.
        await set_contact(db, lead, score=50.0, score_at=utcnow() - timedelta(minutes=1))
        [item] = (await listed(client, sales))["items"]
        assert item["score"] == 50.0
        for sort in ("updated", "score", "grade"):
            assert emails(await listed(client, sales, min_score=50, sort=sort)) == [
                "ana@example.com"
            ], sort
            assert emails(await listed(client, sales, min_score=50.01, sort=sort)) == [], sort

    async def test_a_score_decayed_past_a_float_lists_as_zero(
        self, client: httpx.AsyncClient, world: World, sales: Headers, db: AsyncSession
    ) -> None:
        lead = await new_lead(client, world, "ana@example.com")
        # Thousands of half-lives ago: exp() would underflow on PostgreSQL.
        await set_contact(db, lead, score_at=utcnow() - timedelta(days=3650 * 40))
        for sort in ("updated", "score"):
            [item] = (await listed(client, sales, sort=sort))["items"]
            assert item["score"] == 0.0, sort


class TestClaims:
    async def test_the_first_claim_wins_and_the_others_learn_the_owner(
        self, client: httpx.AsyncClient, world: World, sales: Headers
    ) -> None:
        lead = await new_lead(client, world, "ana@example.com")
        first = await client.post(f"{LEADS}/{lead}/claim", json={"owner": "ana"}, headers=sales)
        assert first.status_code == 201, first.text
        assert first.json()["owner"] == "ana"
        again = await client.post(f"{LEADS}/{lead}/claim", json={"owner": "ana"}, headers=sales)
        assert again.status_code == 200
        other = await client.post(f"{LEADS}/{lead}/claim", json={"owner": "bo"}, headers=sales)
        assert other.status_code == 409
        assert other.json()["owner"] == "ana"
        assert "ana" in other.json()["detail"]

    async def test_release_and_reassign(
        self, client: httpx.AsyncClient, world: World, sales: Headers
    ) -> None:
        lead = await new_lead(client, world, "ana@example.com")
        await client.post(f"{LEADS}/{lead}/claim", json={"owner": "ana"}, headers=sales)
        wrong = await client.delete(f"{LEADS}/{lead}/claim", params={"owner": "bo"}, headers=sales)
        assert wrong.status_code == 409
        refused = await client.put(f"{LEADS}/{lead}/claim", json={"owner": "bo"}, headers=sales)
        assert refused.status_code == 403
        moved = await client.put(f"{LEADS}/{lead}/claim", json={"owner": "bo"}, headers=world.admin)
        assert moved.status_code == 200
        assert moved.json()["owner"] == "bo"
        released = await client.delete(f"{LEADS}/{lead}/claim", headers=sales)
        assert released.status_code == 204
        lead_now = await client.get(f"{LEADS}/{lead}", headers=sales)
        assert lead_now.json()["owner"] is None


class TestWorkingALead:
    async def test_lead_status_is_kept_apart_from_the_stage(
        self, client: httpx.AsyncClient, world: World, sales: Headers
    ) -> None:
        lead = await new_lead(client, world, "ana@example.com")
        response = await client.patch(
            f"{LEADS}/{lead}", json={"lead_status": "attempting"}, headers=sales
        )
        assert response.status_code == 200, response.text
        assert response.json()["lead_status"] == "attempting"
        assert response.json()["stage"] == "lead"
        bad = await client.patch(f"{LEADS}/{lead}", json={"lead_status": "sold"}, headers=sales)
        assert bad.status_code == 400
        assert error_fields(bad) == ["lead_status"]

    async def test_notes_are_kept_in_order(
        self, client: httpx.AsyncClient, world: World, sales: Headers
    ) -> None:
        lead = await new_lead(client, world, "ana@example.com")
        for body in ("Called, no answer", "Call back Tuesday"):
            response = await client.post(
                f"{LEADS}/{lead}/notes", json={"body": body}, headers=sales
            )
            assert response.status_code == 201, response.text
        note = await client.get(response.headers["location"], headers=sales)
        assert note.json()["body"] == "Call back Tuesday"
        notes = (await client.get(f"{LEADS}/{lead}/notes", headers=sales)).json()["items"]
        assert [n["body"] for n in notes] == ["Called, no answer", "Call back Tuesday"]

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("POST", "/stage", {"stage": "mql"}),
            ("PUT", "/persona", {"persona": "cio"}),
            ("DELETE", "/persona", None),
            ("POST", "/claim", {"owner": "ana"}),
            ("DELETE", "/claim", None),
            ("PATCH", "", {"lead_status": "connected"}),
            ("POST", "/notes", {"body": "hello"}),
        ],
    )
    async def test_a_stale_if_match_is_refused_on_every_write(
        self,
        client: httpx.AsyncClient,
        world: World,
        sales: Headers,
        method: str,
        path: str,
        body: dict[str, Any] | None,
    ) -> None:
        lead = await new_lead(client, world, "ana@example.com")
        etag = (await client.get(f"{LEADS}/{lead}", headers=sales)).headers["etag"]
        await client.patch(f"{LEADS}/{lead}", json={"lead_status": "attempting"}, headers=sales)
        before = (await client.get(f"{LEADS}/{lead}", headers=sales)).json()
        response = await client.request(
            method, f"{LEADS}/{lead}{path}", json=body, headers=sales | {"If-Match": etag}
        )
        assert response.status_code == 412, response.text
        after = (await client.get(f"{LEADS}/{lead}", headers=sales)).json()
        assert after["version"] == before["version"]
        fresh = (await client.get(f"{LEADS}/{lead}", headers=sales)).headers["etag"]
        accepted = await client.request(
            method, f"{LEADS}/{lead}{path}", json=body, headers=sales | {"If-Match": fresh}
        )
        assert accepted.status_code < 300, accepted.text


class TestExport:
    @pytest.mark.committing
    async def test_csv_is_read_beside_the_requests_own_transaction(
        self, committing_client: httpx.AsyncClient, committing_admin: Headers
    ) -> None:
        # On the service's own pool: on SQLite each transaction holds the write lock, so a page
        # read on a second connection while the request's is open would wait for it forever.
        world = await make_site(committing_client, committing_admin)
        await make_asset(committing_client, committing_admin)
        await new_lead(committing_client, world, "ana@example.com")
        response = await committing_client.get(
            LEADS, headers=committing_admin | {"Accept": "text/csv"}
        )
        assert response.status_code == 200, response.text
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [row["email"] for row in rows] == ["ana@example.com"]

    async def test_csv_lists_every_matching_lead_and_defuses_formulas(
        self, client: httpx.AsyncClient, world: World, sales: Headers
    ) -> None:
        await new_lead(client, world, "ana@example.com", first_name='=HYPERLINK("x")')
        await new_lead(client, world, "bo@example.com")
        response = await client.get(
            LEADS, params={"sort": "recency"}, headers=sales | {"Accept": "text/csv"}
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [row["email"] for row in rows] == ["bo@example.com", "ana@example.com"]
        assert rows[1]["first_name"] == '\'=HYPERLINK("x")'
        assert rows[1]["assets"] == "scoring-ebook"
