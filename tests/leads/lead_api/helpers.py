"""Profiles, rules and builders of the `/api/v1/leads/{id}` tests."""

from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import Headers
from tests.leads.helpers import timeline
from tests.problems import body_of
from tests.support.world import World, capture

UNKNOWN_ID = "01a20c4a-c977-72f1-b9e6-5e758768b236"
CIO_RULES: list[dict[str, Any]] = [
    {"field": "job_title", "operator": "contains_any", "values": ["CIO"]},
    {"field": "company_size", "operator": "between", "min": 100},
]
CFO_RULES: list[dict[str, Any]] = [
    {"field": "job_title", "operator": "contains_any", "values": ["CFO"]},
]
# Both CIO rules and half of the profile: fit 0.7 * 1 + 0.3 * 4/8 = 0.85, grade A.
WELL_FITTING: dict[str, Any] = {
    "job_title": "CIO", "company_size": 500, "first_name": "Ana", "last_name": "Lima",
}  # fmt: skip


@dataclass(frozen=True)
class SalesKey:
    headers: Headers
    actor: str


async def new_lead(client: httpx.AsyncClient, world: World, **fields: Any) -> str:
    response = await capture(client, world, **(WELL_FITTING | fields))
    found: str = body_of(response, 201)["contact_id"]
    return found


def stage_moves(lead: dict[str, Any]) -> list[tuple[str | None, str, str]]:
    return [(d["from"], d["to"], d["cause"]) for d in timeline(lead, "stage")]
