"""Leads as CSV for a sales team's spreadsheet, streamed a page of the list at a time."""

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from inbound.db import utcnow
from inbound.leads.sales.cursor import LeadSort
from inbound.leads.sales.filters import LeadFilter
from inbound.leads.sales.listing import LeadPage, list_leads
from inbound.spreadsheet import defused

CSV = "text/csv"
EXPORT_PAGE = 1000
# The list row's columns, but for `persona` (its slug) and `assets` (their slugs).
COLUMNS = (
    "id", "email", "first_name", "last_name", "company", "job_title", "phone", "country",
    "industry", "company_size", "seniority", "stage", "lead_status", "owner", "persona",
    "persona_source", "grade", "fit", "score", "consent", "consent_at", "first_utm_source",
    "first_utm_medium", "first_utm_campaign", "first_asset_id", "first_site_id", "assets",
    "created_at", "updated_at", "version",
)  # fmt: skip


async def export_csv(
    sessionmaker: async_sessionmaker[AsyncSession],
    connection: AsyncConnection,
    filters: LeadFilter,
    sort: LeadSort,
    half_life_days: float,
) -> AsyncIterator[str]:
    """Every matching lead as CSV, a page at a time, each page after the first read in its
    own short transaction so that a long download holds no snapshot open."""
    now = utcnow()

    async def page_on(connection: AsyncConnection, cursor: str | None) -> LeadPage:
        return await list_leads(
            connection, filters, sort=sort, limit=EXPORT_PAGE, cursor=cursor,
            half_life_days=half_life_days, now=now,
        )  # fmt: skip

    async def page_after(cursor: str) -> LeadPage:
        async with sessionmaker() as session:
            return await page_on(await session.connection(), cursor)

    # Read before the answer starts, on the request's own connection (on SQLite a second one
    # would wait for its write lock until the request ends): a database that cannot be
    # reached then answers 503, not a 200 whose body breaks off.
    first = await page_on(connection, None)

    async def lines() -> AsyncIterator[str]:
        yield _lines([list(COLUMNS)])
        page = first
        while True:
            yield _lines([_cells(row, page) for row in page.rows])
            if page.next_cursor is None:
                return
            page = await page_after(page.next_cursor)

    return lines()


def _cells(row: dict[str, Any], page: LeadPage) -> list[str]:
    """One lead in the header's columns."""
    taken = page.assets.get(row["id"], [])
    values = {
        **row,
        "persona": row["persona_slug"],
        "assets": " ".join(asset["slug"] for asset in taken),
    }
    return [_cell(values.get(name)) for name in COLUMNS]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return str(value.isoformat()).replace("+00:00", "Z")
    return defused(value) if isinstance(value, str) else str(value)


def _lines(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()
