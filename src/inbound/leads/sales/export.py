"""Leads as CSV for a sales team's spreadsheet."""

import csv
import io
from collections.abc import Iterable
from typing import Any

from inbound.spreadsheet import defused

CSV = "text/csv"
COLUMNS = (
    "id", "email", "first_name", "last_name", "company", "job_title", "phone", "country",
    "industry", "company_size", "seniority", "stage", "lead_status", "owner", "persona",
    "persona_source", "grade", "fit", "score", "consent", "consent_at", "first_utm_source",
    "first_utm_medium", "first_utm_campaign", "first_asset_id", "first_site_id", "assets",
    "created_at", "updated_at", "version",
)  # fmt: skip


def csv_header() -> str:
    return _lines([list(COLUMNS)])


def csv_rows(leads: Iterable[dict[str, Any]]) -> str:
    """One line per lead, in the header's columns."""
    return _lines([_cells(lead) for lead in leads])


def _cells(lead: dict[str, Any]) -> list[str]:
    persona = lead["persona"]
    values: dict[str, Any] = {
        **lead,
        "persona": persona["slug"] if persona else None,
        "consent": lead["consent"]["given"],
        "consent_at": lead["consent"]["at"],
        "first_utm_source": lead["first_touch"]["utm_source"],
        "first_utm_medium": lead["first_touch"]["utm_medium"],
        "first_utm_campaign": lead["first_touch"]["utm_campaign"],
        "first_asset_id": lead["first_touch"]["asset_id"],
        "first_site_id": lead["first_touch"]["site_id"],
        "assets": " ".join(asset["slug"] for asset in lead["assets"]),
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
