"""A lead shows its unresolved cases, lists all of them, and its timeline tells each case's
opening, contact and resolution."""

import httpx

from tests.conftest import Headers
from tests.leads.helpers import timeline
from tests.problems import error_fields
from tests.support.world import LEADS, World, get_lead
from tests.surveys.cases.helpers import (
    link_answer,
    list_cases,
    new_lead,
    only_case,
    patch_case,
)
from tests.surveys.helpers import make_survey


async def test_a_lead_shows_its_open_cases_and_their_steps_on_its_timeline(
    client: httpx.AsyncClient, world: World, admin: Headers
) -> None:
    lead_id = await new_lead(client, world)
    assert (await get_lead(client, world, lead_id))["open_cases"] == []
    assert (await link_answer(client, admin, lead_id, 5)).status_code == 201
    case = await only_case(client, admin)
    lead = await get_lead(client, world, lead_id)
    assert lead["open_cases"] == [case]
    [opened] = timeline(lead, "case_opened")
    assert (opened["case_id"], opened["survey"], opened["metric"], opened["score"]) == (
        case["id"], "support-nps", "nps", 5,
    )  # fmt: skip
    assert (opened["status"], opened["due_at"]) == ("open", case["due_at"])
    await patch_case(client, admin, case["id"], {"status": "contacted"})
    await patch_case(client, admin, case["id"], {"status": "resolved", "note": "refunded"})
    lead = await get_lead(client, world, lead_id)
    assert lead["open_cases"] == []
    types = [e["type"] for e in lead["timeline"] if e["type"].startswith("case_")]
    assert types == ["case_resolved", "case_contacted", "case_opened"]
    assert timeline(lead, "case_resolved")[0]["status"] == "resolved"


async def test_a_case_changes_the_leads_version(
    client: httpx.AsyncClient, world: World, admin: Headers
) -> None:
    lead_id = await new_lead(client, world)
    etag = (await client.get(f"{LEADS}/{lead_id}", headers=admin)).headers["etag"]
    assert (await link_answer(client, admin, lead_id, 0)).status_code == 201
    # What the lead shows changed (its open cases): an ETag read before is stale.
    stale = await client.patch(
        f"{LEADS}/{lead_id}", json={"lead_status": "attempting"},
        headers={**admin, "If-Match": etag},
    )  # fmt: skip
    assert (stale.status_code, error_fields(stale)) == (412, ["If-Match"])


async def test_a_leads_cases_are_listed_with_its_own_filters(
    client: httpx.AsyncClient, world: World, admin: Headers
) -> None:
    await make_survey(client, admin, slug="support-csat", metric="csat")
    lead_id = await new_lead(client, world)
    other = await new_lead(client, world, "bob@example.com")
    assert (await link_answer(client, admin, lead_id, 0)).status_code == 201
    assert (await link_answer(client, admin, lead_id, 1, survey="support-csat")).status_code == 201
    assert (await link_answer(client, admin, other, 0)).status_code == 201
    path = f"{LEADS}/{lead_id}/cases"
    both = (await list_cases(client, admin, path))["items"]
    assert {c["contact_id"] for c in both} == {lead_id}
    assert len(both) == 2
    await patch_case(client, admin, both[0]["id"], {"status": "resolved"})
    assert [c["id"] for c in (await list_cases(client, admin, path, status="open"))["items"]] == [
        both[1]["id"]
    ]
    assert (await list_cases(client, admin, path, overdue="true"))["items"] == []
    page = await list_cases(client, admin, path, limit=1)
    assert len(page["items"]) == 1
    assert page["next_cursor"] is not None
    unknown = await client.get(f"{LEADS}/01a23b7a-e3c5-73ce-a7ef-1e2180ec859f/cases", headers=admin)
    assert unknown.status_code == 404
    misspelt = await client.get(path, params={"owner": "ana"}, headers=admin)
    assert (misspelt.status_code, error_fields(misspelt)) == (400, ["owner"])
