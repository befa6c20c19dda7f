"""Working leads through the sales API: the score as shown, claims, lead status, notes, If-Match
and CSV export."""

import csv
import io
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.db import utcnow
from tests.conftest import Headers
from tests.leads.helpers import set_contact
from tests.leads.sales_api.helpers import emails, listed, new_lead
from tests.problems import error_fields
from tests.support.world import LEADS, World, make_asset
from tests.support.world import make_world as make_site


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
