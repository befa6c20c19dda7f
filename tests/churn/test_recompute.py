"""The worker's pass: scores stored for every eligible contact, one `lead.at_risk` when the
threshold is crossed upward and none while it stays above, one `lead.risk_cleared` when it
falls back; contacts leaving the eligible stages, or erased, leave no risk behind."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Row, select, update

from inbound.churn.recompute import RISKS, recompute_risks
from inbound.leads.repository import CONTACTS
from inbound.surveys.answer_sql import CASES
from tests.churn.world import HALF_LIFE, Churn
from tests.conftest import Headers


async def stored(churn: Churn, lead: uuid.UUID) -> Row[Any] | None:
    return (await churn.db.execute(select(RISKS).where(RISKS.c.contact_id == lead))).first()


async def at_risk(churn: Churn, email: str) -> uuid.UUID:
    """A customer scoring 55: a detractor's answer and an overdue case, engaged lately."""
    lead = await churn.contact(email)
    await churn.points(lead, 5, days_ago=2)
    await churn.answer(lead, "nps", 2)
    await churn.case(lead, due_in_days=-1)
    return lead


async def test_every_eligible_contact_is_stored_with_its_reasons(churn: Churn) -> None:
    risky = await at_risk(churn, "risky@example.com")
    calm = await churn.contact("calm@example.com", stage="opportunity")
    await churn.points(calm, 5, days_ago=2)
    lead = await churn.contact("lead@example.com", stage="lead", created_days_ago=300)
    done = await churn.recompute()
    assert (done.contacts, done.flagged, done.cleared, done.dropped) == (2, 1, 0, 0)
    risk = await stored(churn, risky)
    assert risk is not None
    assert (risk.score, risk.at_risk, risk.computed_at) == (55, True, churn.now)
    assert risk.crossed_at == churn.now
    assert [(r["signal"], r["points"]) for r in risk.reasons] == [
        ("negative_answer", 35), ("feedback_cases", 20),
    ]  # fmt: skip
    quiet = await stored(churn, calm)
    assert quiet is not None
    assert (quiet.score, quiet.at_risk, quiet.reasons) == (0, False, [])
    assert await stored(churn, lead) is None


async def test_crossing_up_then_down_announces_each_once(churn: Churn) -> None:
    lead = await at_risk(churn, "flip@example.com")
    await churn.recompute()
    await churn.recompute(at=churn.now + timedelta(minutes=5))
    unchanged = await stored(churn, lead)
    assert unchanged is not None
    assert (unchanged.score, unchanged.computed_at) == (55, churn.now + timedelta(minutes=5))
    assert unchanged.crossed_at == churn.now
    events = await churn.events(lead)
    assert [e.type for e in events] == ["lead.at_risk"]
    data = events[0].data
    assert data["risk"]["score"] == 55
    assert data["risk"]["threshold"] == 50
    assert [r["signal"] for r in data["risk"]["reasons"]] == ["negative_answer", "feedback_cases"]
    assert data["lead"]["id"] == str(lead)
    assert data["lead"]["email"] == "flip@example.com"

    await churn.db.execute(
        update(CASES).where(CASES.c.contact_id == lead).values(status="resolved")
    )
    await churn.db.commit()
    later = churn.now + timedelta(minutes=10)
    done = await churn.recompute(at=later)
    assert (done.flagged, done.cleared) == (0, 1)
    await churn.recompute(at=later + timedelta(minutes=5))
    events = await churn.events(lead)
    assert [e.type for e in events] == ["lead.at_risk", "lead.risk_cleared"]
    assert events[1].data["risk"]["score"] == 35
    # Each flip gave the lead a version of its own: the two events never tie in its order.
    assert events[0].lead_version < events[1].lead_version
    assert events[1].data["lead"]["version"] == events[1].lead_version
    risk = await stored(churn, lead)
    assert risk is not None
    assert (risk.at_risk, risk.crossed_at) == (False, later)


async def test_the_threshold_is_reached_at_equality(churn: Churn) -> None:
    lead = await at_risk(churn, "edge@example.com")
    await churn.recompute(threshold=56)
    assert await churn.events(lead) == []
    await churn.recompute(threshold=55)
    assert [e.type for e in await churn.events(lead)] == ["lead.at_risk"]


async def test_a_second_pass_racing_the_first_announces_nothing_more(churn: Churn) -> None:
    """Two workers' passes in turn on the same state: the flag flips, and is announced, once."""
    lead = await at_risk(churn, "twice@example.com")
    for _ in range(2):
        await recompute_risks(
            churn.connection, threshold=50, half_life_days=HALF_LIFE, now=churn.now
        )
    assert [e.type for e in await churn.events(lead)] == ["lead.at_risk"]


async def test_leaving_the_eligible_stages_drops_the_contact(churn: Churn) -> None:
    flagged = await at_risk(churn, "regressed@example.com")
    calm = await churn.contact("calm@example.com")
    await churn.points(calm, 5, days_ago=2)
    await churn.recompute()
    await churn.db.execute(
        update(CONTACTS).where(CONTACTS.c.id.in_([flagged, calm])).values(stage="sql")
    )
    await churn.db.commit()
    done = await churn.recompute()
    assert done.dropped == 1  # only the flagged one is announced
    assert await stored(churn, flagged) is None
    assert await stored(churn, calm) is None
    events = await churn.events(flagged)
    assert [e.type for e in events] == ["lead.at_risk", "lead.risk_cleared"]
    assert events[1].data["risk"]["eligible"] is False
    assert await churn.events(calm) == []


async def test_erasing_the_contact_erases_its_risk(
    client: httpx.AsyncClient, admin: Headers, churn: Churn
) -> None:
    lead = await at_risk(churn, "erase@example.com")
    await churn.recompute()
    assert await stored(churn, lead) is not None
    response = await client.delete(f"/api/v1/leads/{lead}", headers=admin)
    assert response.status_code == 204, response.text
    assert await stored(churn, lead) is None


@pytest.mark.parametrize("batch", [1, 2, 1000], ids=["batch-1", "batch-2", "batch-1000"])
async def test_batches_cover_every_contact_once(churn: Churn, batch: int) -> None:
    leads = [await at_risk(churn, f"many{i}@example.com") for i in range(5)]
    await churn.contact("early@example.com", stage="mql")
    done = await recompute_risks(
        churn.connection, threshold=50, half_life_days=HALF_LIFE, now=churn.now, batch=batch
    )
    assert (done.contacts, done.flagged) == (5, 5)
    for lead in leads:
        assert [e.type for e in await churn.events(lead)] == ["lead.at_risk"]
