"""Top paths into capture: the report against the same paths worked out here from the events the
test wrote, through every kind of id a visitor has; its refusals; its CSV; its dashboard table."""

import csv
import io
import re
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.leads.repository import CAPTURES
from inbound.tracking.models import VisitorIdentity
from inbound.tracking.repository import insert_events
from tests.conftest import Headers
from tests.problems import assert_problem
from tests.reports.helpers import read_report
from tests.reports.people import JANUARY, PEOPLE, Ids, at, bounds
from tests.reports.test_dashboard_sessions import page

IDENTITIES = VisitorIdentity.__table__  # type: ignore[attr-defined]
PRICING = ("https://www.example.com/pricing", "Pricing")
ABOUT = ("https://www.example.com/about", "About us")
LOOKBACK = timedelta(days=90)


def view(when: datetime, what: str | tuple[str, str], **ids: str) -> dict[str, Any]:
    """A page view of an asset (by slug) or of a page (url, title), under ``ids``."""
    url, title = what if isinstance(what, tuple) else (f"https://www.example.com/{what}", None)
    return {"at": when, "asset": what if isinstance(what, str) else None, "url": url,
            "title": title, "type": "page", **ids}  # fmt: skip


# Who had which ids: (person, anonymous ids linked, user ids linked, visitor id on captures).
IDS = [
    (0, ["a0"], [], "a0"),
    (1, ["a1-second-browser"], ["u1"], None),
    (2, [], [], "a2"),  # never linked: only its captures name its browser
    (4, ["a4"], [], None),
]
VIEWS = [
    view(datetime(2025, 9, 1, tzinfo=UTC), "unused", anonymous="a0"),  # beyond the lookback
    view(datetime(2025, 12, 20, tzinfo=UTC), PRICING, anonymous="a0"),
    view(datetime(2025, 12, 28, tzinfo=UTC), "guide", anonymous="a0"),
    view(datetime(2025, 12, 28, 0, 1, tzinfo=UTC), "guide", anonymous="a0"),  # again: once
    view(at(1), "checklist", anonymous="a0"),
    view(at(2), PRICING, anonymous="a0"),
    view(at(3, 11), "guide", anonymous="a0"),
    view(at(4, 10), "checklist", user="u1"),
    view(at(4, 11), "guide", anonymous="a1-second-browser"),
    view(at(5), ABOUT, user="u1", anonymous="a1-second-browser"),  # under both of its ids
    view(at(9, 9), "guide", anonymous="a2"),
    {**view(at(9, 9) + timedelta(minutes=1), "guide", anonymous="a2"), "type": "track"},
    view(at(10, 11), "checklist", anonymous="a2"),
    view(at(5), "guide", anonymous="stranger"),  # nobody's
    view(at(31, 22), PRICING, anonymous="a4"),
    view(at(1, 1, month=2), "guide", anonymous="a4"),  # after its capture
]


@pytest.fixture
async def behaviour(db: AsyncSession, ids: Ids) -> Ids:
    for number, anonymous, users, visitor in IDS:
        person = PEOPLE[number]
        links = [("anonymous", a) for a in anonymous] + [("user", u) for u in users]
        for kind, external in links:
            link = {"kind": kind, "external_id": external, "contact_id": person.id}
            await db.execute(insert(IDENTITIES).values(**link, linked_at=at(1)))
        if visitor:
            await db.execute(update(CAPTURES).where(CAPTURES.c.contact_id == person.id)
                             .values(visitor_id=visitor))  # fmt: skip
    rows = [
        {"id": uuid.uuid4(), "occurred_at": v["at"], "received_at": v["at"], "site_id": ids.site,
         "message_id": str(uuid.uuid4()), "type": v["type"],
         "event": "Recommendation Clicked" if v["type"] == "track" else None,
         "anonymous_id": v.get("anonymous"), "user_id": v.get("user"), "url": v["url"],
         "referrer": None, "title": v["title"],
         "asset_id": ids.assets[v["asset"]] if v["asset"] else None,
         "properties": {}, "context": {}}
        for v in VIEWS
    ]  # fmt: skip
    await insert_events(await db.connection(), rows)
    await db.commit()
    return ids


def expected(start: datetime, end: datetime) -> tuple[int, Counter[str]]:
    """The paths as this test reads its own arrangement: (captures with views, path counts)."""
    names = {"guide": "Guide", "checklist": "Checklist", "unused": "Unused"}
    ids_of: dict[uuid.UUID, set[tuple[str, str]]] = {}
    visitor_of: dict[uuid.UUID, str | None] = {}
    for number, anonymous, users, visitor in IDS:
        person = PEOPLE[number]
        ids_of[person.id] = {("anonymous", a) for a in anonymous} | {("user", u) for u in users}
        visitor_of[person.id] = visitor
    counts: Counter[str] = Counter()
    for person in PEOPLE:
        for slug, captured_at in person.captures:
            if not start <= captured_at < end:
                continue
            mine = set(ids_of.get(person.id, set()))
            if visitor_of.get(person.id):
                mine.add(("anonymous", visitor_of[person.id] or ""))
            seen = [
                v for v in VIEWS
                if (("anonymous", v.get("anonymous")) in mine or ("user", v.get("user")) in mine)
                and captured_at - LOOKBACK <= v["at"] < captured_at
            ]  # fmt: skip
            steps: list[str] = []
            for v in sorted(seen, key=lambda v: v["at"]):
                label = names[v["asset"]] if v["asset"] else v["title"]
                if not steps or steps[-1] != label:
                    steps.append(label)
            if steps:
                counts[" → ".join([*steps[-3:], f"capture of {names[slug]}"])] += 1
    return sum(counts.values()), counts


paths = partial(read_report, "/api/v1/reports/paths")


class TestThePaths:
    @pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
    async def test_they_are_the_paths_worked_out_from_the_events(
        self, client: httpx.AsyncClient, reader: Headers, behaviour: Ids, tz: str
    ) -> None:
        body = await paths(client, reader, **JANUARY, tz=tz, limit=100)
        start, end = bounds(datetime(2026, 1, 1).date(), datetime(2026, 1, 31).date(), tz)
        with_behaviour, counts = expected(start, end)
        assert body["with_behaviour"] == with_behaviour
        assert body["captures"] == sum(
            1 for p in PEOPLE for _, when in p.captures if start <= when < end
        )
        assert Counter({p["path"]: p["count"] for p in body["paths"]}) == counts
        assert [p["count"] for p in body["paths"]] == sorted(counts.values(), reverse=True)
        for path in body["paths"]:
            assert path["share"] == round(path["count"] / with_behaviour, 4)

    async def test_each_kind_of_id_leads_to_the_views_before(
        self, client: httpx.AsyncClient, reader: Headers, behaviour: Ids
    ) -> None:
        shown = {p["path"] for p in (await paths(client, reader, **JANUARY))["paths"]}
        # Its captures' visitor id only; a click and the page it opened count once.
        assert "Guide → Checklist → capture of Checklist" in shown
        # A user id and a second browser's anonymous id, merged in time.
        assert "Checklist → Guide → capture of Guide" in shown
        # The lookback leaves out September; views after the capture are not before it.
        assert "Checklist → Pricing → Guide → capture of Guide" in shown
        assert "Pricing → capture of Checklist" in shown
        assert not any("Unused →" in path for path in shown)

    async def test_steps_name_assets_and_pages(
        self, client: httpx.AsyncClient, reader: Headers, behaviour: Ids
    ) -> None:
        body = await paths(client, reader, **JANUARY)
        [path] = [p for p in body["paths"] if p["path"] == "Pricing → capture of Checklist"]
        assert path["steps"] == [{"asset_id": None, "slug": None,
                                  "url": PRICING[0], "title": "Pricing"}]  # fmt: skip
        assert path["captured"]["slug"] == "checklist"
        assert path["captured"]["asset_id"] == str(behaviour.assets["checklist"])

    async def test_limit_keeps_the_most_frequent(
        self, client: httpx.AsyncClient, reader: Headers, behaviour: Ids
    ) -> None:
        whole = await paths(client, reader, **JANUARY, limit=100)
        top = await paths(client, reader, **JANUARY, limit=1)
        assert len(whole["paths"]) > 1
        assert top["paths"] == whole["paths"][:1]
        assert top["with_behaviour"] == whole["with_behaviour"]

    async def test_a_period_without_behaviour_has_no_paths(
        self, client: httpx.AsyncClient, reader: Headers, behaviour: Ids
    ) -> None:
        body = await paths(client, reader, **{"from": "2026-03-01", "to": "2026-03-31"})
        assert body == {**body, "captures": 0, "with_behaviour": 0, "paths": []}

    async def test_as_csv(self, client: httpx.AsyncClient, reader: Headers, behaviour: Ids) -> None:
        body = await paths(client, reader, **JANUARY)
        response = await client.get(
            "/api/v1/reports/paths", params={**JANUARY, "format": "csv"}, headers=reader
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [(r["path"], int(r["count"])) for r in rows] == [
            (p["path"], p["count"]) for p in body["paths"]
        ]
        pricing = next(r for r in rows if r["path"] == "Pricing → capture of Checklist")
        assert (pricing["step_1"], pricing["step_2"], pricing["step_3"]) == ("", "", PRICING[0])
        assert pricing["captured"] == "checklist"


class TestRefusals:
    @pytest.mark.parametrize(
        ("params", "field"),
        [({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"), ({"limit": "ten"}, "limit"),
         ({"tz": "Mars/Base"}, "tz"), ({"tz": "localtime"}, "tz"), ({"tz": "Factory"}, "tz"),
         ({"to": "2025-12-31"}, "to"), ({"colour": "red"}, "colour")],
    )  # fmt: skip
    async def test_bad_parameters_are_a_400_naming_them(
        self, client: httpx.AsyncClient, reader: Headers, params: dict[str, str], field: str
    ) -> None:
        response = await client.get(
            "/api/v1/reports/paths", params={**JANUARY, **params}, headers=reader
        )
        assert_problem(response, 400)
        assert field in response.text

    async def test_a_key_without_reports_read_is_refused(
        self, client: httpx.AsyncClient, admin: Headers, editor: Headers
    ) -> None:
        anonymous = await client.get("/api/v1/reports/paths", params=JANUARY)
        assert anonymous.status_code == 401
        response = await client.get("/api/v1/reports/paths", params=JANUARY, headers=editor)
        assert response.status_code == 403


class TestOnTheDashboard:
    async def test_the_table_shows_the_reports_paths(
        self,
        client: httpx.AsyncClient,
        reader: Headers,
        behaviour: Ids,
        token: str,
    ) -> None:
        body = await paths(client, reader, **JANUARY)
        response = await page(client, token, "?from=2026-01-01&to=2026-01-31")
        assert response.status_code == 200, response.text
        section = response.text.split('data-testid="paths-section"')[1]
        rows = re.findall(
            r'data-testid="steps">([^<]*)</td>\s*<td data-testid="count">(\d+)</td>', section
        )
        assert [(html_text(steps), int(count)) for steps, count in rows] == [
            (p["path"], p["count"]) for p in body["paths"]
        ]
        assert f'data-testid="with_behaviour">{body["with_behaviour"]}<' in section

    async def test_a_period_without_any_says_so(
        self,
        client: httpx.AsyncClient,
        token: str,
    ) -> None:
        response = await page(client, token, "?from=2026-01-01&to=2026-01-31")
        assert response.status_code == 200, response.text
        assert "No captures with tracked views before them" in response.text


def html_text(shown: str) -> str:
    return shown.replace("&amp;", "&").replace("&#39;", "'").replace("&quot;", '"')


class TestTheEndsOfTime:
    @pytest.mark.parametrize(
        "period", [{"from": "0001-01-01", "to": "0001-01-31"},
                   {"from": "9999-12-01", "to": "9999-12-30"}],
    )  # fmt: skip
    async def test_a_period_at_the_calendars_ends_has_no_paths(
        self, client: httpx.AsyncClient, reader: Headers, behaviour: Ids, period: dict[str, str]
    ) -> None:
        body = await paths(client, reader, **period, tz="America/New_York")
        assert (body["captures"], body["with_behaviour"], body["paths"]) == (0, 0, [])
