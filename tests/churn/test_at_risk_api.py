"""`GET /api/v1/churn/at-risk`: flagged contacts only, highest score first, keyset pages that
neither repeat nor skip, filters, and refusals of bad parameters."""

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from inbound.churn.schemas import RiskStage
from inbound.churn.signals import ELIGIBLE_STAGES
from inbound.leads.repository import CONTACTS
from inbound.personas.models import Persona
from tests.churn.world import Churn
from tests.conftest import Headers
from tests.problems import assert_names, body_of, refusing

AT_RISK = "/api/v1/churn/at-risk"


async def flagged(churn: Churn, email: str, *, answers: int = 1, cases: int = 1,
                  **fields: Any) -> uuid.UUID:  # fmt: skip
    """A customer at risk: 35 + 5 per further answer, 20 per overdue case."""
    lead = await churn.contact(email, **fields)
    await churn.points(lead, 5, days_ago=2)
    for days in range(answers):
        await churn.answer(lead, "nps", 1, days_ago=days + 1)
    for _ in range(cases):
        await churn.case(lead, due_in_days=-1)
    return lead


async def listing(client: httpx.AsyncClient, headers: Headers, **params: Any) -> dict[str, Any]:
    response = await client.get(AT_RISK, params=params, headers=headers)
    return body_of(response)


def the_stages_agree() -> None:
    assert [s.value for s in RiskStage] == [s.value for s in ELIGIBLE_STAGES]


async def test_flagged_contacts_highest_score_first(
    client: httpx.AsyncClient, sales: Headers, churn: Churn
) -> None:
    the_stages_agree()
    top = await flagged(churn, "top@example.com", answers=3, cases=2)  # 45 + 40
    middle = await flagged(churn, "middle@example.com", answers=2)  # 40 + 20
    low = await flagged(churn, "low@example.com", company="Acme")  # 35 + 20
    below = await churn.contact("below@example.com")
    await churn.answer(below, "nps", 1)  # 35: under the threshold
    await churn.recompute()
    page = await listing(client, sales)
    assert [i["lead_id"] for i in page["items"]] == [str(top), str(middle), str(low)]
    assert [i["score"] for i in page["items"]] == [85, 60, 55]
    assert page["next_cursor"] is None
    item = page["items"][2]
    assert (item["email"], item["company"], item["stage"]) == ("low@example.com", "Acme",
                                                               "customer")  # fmt: skip
    assert [r["signal"] for r in item["reasons"]] == ["negative_answer", "feedback_cases"]
    assert item["reasons"][1]["reason"].startswith("1 unresolved feedback case, 1 overdue since")
    assert item["at_risk_since"] is not None
    assert item["computed_at"] is not None


async def test_pages_walk_every_flagged_contact_once(
    client: httpx.AsyncClient, sales: Headers, churn: Churn
) -> None:
    leads = [await flagged(churn, f"p{i}@example.com", answers=1 + i % 2) for i in range(7)]
    await churn.recompute()
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = await listing(client, sales, **params)
        assert len(page["items"]) <= 2
        seen += [i["lead_id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(str(lead) for lead in leads)
    scores = [(await listing(client, sales, limit=500))["items"][i]["score"] for i in range(7)]
    assert scores == sorted(scores, reverse=True)


async def test_filters_narrow_the_list(
    client: httpx.AsyncClient, sales: Headers, churn: Churn
) -> None:
    persona = Persona(slug="cfo", name="CFO")
    churn.db.add(persona)
    await churn.db.commit()
    ana = await flagged(churn, "ana@example.com", owner="ana", persona_id=persona.id)
    opportunity = await flagged(churn, "opp@example.com", stage="opportunity", cases=2)
    evangelist = await flagged(churn, "fan@example.com", stage="evangelist", answers=3)
    await churn.recompute()

    def ids(page: dict[str, Any]) -> list[str]:
        return [i["lead_id"] for i in page["items"]]

    assert ids(await listing(client, sales, stage="opportunity")) == [str(opportunity)]
    assert ids(await listing(client, sales, owner="ana")) == [str(ana)]
    assert ids(await listing(client, sales, owner="unowned")) == [str(opportunity),
                                                                  str(evangelist)]  # fmt: skip
    assert ids(await listing(client, sales, persona="cfo")) == [str(ana)]
    assert ids(await listing(client, sales, persona=str(persona.id))) == [str(ana)]
    assert str(ana) not in ids(await listing(client, sales, persona="none"))
    assert ids(await listing(client, sales, min_score=65)) == [str(opportunity), str(evangelist)]
    assert ids(await listing(client, sales, min_score=100)) == []


async def test_a_contact_that_left_the_eligible_stages_is_not_listed_before_the_next_pass(
    client: httpx.AsyncClient, sales: Headers, churn: Churn
) -> None:
    lead = await flagged(churn, "back@example.com")
    await churn.recompute()
    await churn.db.execute(update(CONTACTS).where(CONTACTS.c.id == lead).values(stage="sql"))
    await churn.db.commit()
    assert (await listing(client, sales))["items"] == []


# A stage before opportunity, min scores over 100, negative and in words, a garbled and a
# short cursor, an unknown persona, an owner with a NUL, and two unknown parameters.
@pytest.mark.parametrize(
    ("params", "field"),
    refusing(
        stage=["lead", "null"], min_score=["101", "-1", "high"], limit=["0", "501"],
        cursor=["nope", "A" * 22], persona=["nobody"], owner=["a\x00b"], score=["50"],
        sort=["score"],
    ),
)  # fmt: skip
async def test_bad_parameters_are_a_400_naming_the_field(
    client: httpx.AsyncClient, sales: Headers, params: dict[str, str], field: str
) -> None:
    assert_names(await client.get(AT_RISK, params=params, headers=sales), field)


async def test_listing_needs_leads_read(
    client: httpx.AsyncClient, reader: Headers, admin: Headers
) -> None:
    assert (await client.get(AT_RISK)).status_code == 401
    assert (await client.get(AT_RISK, headers=reader)).status_code == 403
    assert (await client.get(AT_RISK, headers=admin)).status_code == 200
