"""The worker's churn job: every eligible contact's risk recomputed and stored, in batches of
contacts by id, each batch one transaction of a few set-based statements.

A contact is flagged when its score reaches the threshold, and unflagged when it falls below;
each flip writes a lead event (`lead.at_risk`, `lead.risk_cleared`) in the transaction that
stores the score. The flip is one conditional UPDATE (`at_risk` differs from what the score
says), so two workers recomputing at once flip a contact, and announce it, only once.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inbound.churn.facts import Contacts, eligible, read_facts
from inbound.churn.models import ContactRisk
from inbound.churn.signals import Risk, assess
from inbound.db import (
    dialect_insert_for,
    new_id,
    one_pass_at_a_time,
    own_transaction,
    table_of,
    utcnow,
)
from inbound.leads.events import LeadEventType, summary
from inbound.leads.qualification.scoring import decayed
from inbound.leads.repository import CONTACTS, LEAD_EVENTS

RISKS = table_of(ContactRisk)
BATCH = 2000
FIRST_ID = uuid.UUID(int=0)
PASS_LOCK = 0x636875  # "chu": any constant shared by every process of this service


@dataclass(frozen=True, slots=True)
class Recomputed:
    """What one pass did."""

    contacts: int = 0
    flagged: int = 0
    cleared: int = 0
    dropped: int = 0


@dataclass(frozen=True, slots=True)
class Flip:
    """A contact whose flag changed, as the event announcing it tells."""

    contact_id: uuid.UUID
    at_risk: bool
    score: int
    reasons: list[dict[str, Any]]
    eligible: bool = True


async def recompute_risks(
    bind: AsyncEngine | AsyncConnection,
    *,
    threshold: int,
    half_life_days: float,
    now: datetime | None = None,
    batch: int = BATCH,
) -> Recomputed:
    """Recompute, store and announce the risk of every eligible contact; drop the others.
    On PostgreSQL one pass runs at a time: a process finding another's pass under way skips."""
    async with one_pass_at_a_time(bind, PASS_LOCK) as ours:
        if not ours:
            return Recomputed()
        return await _pass(bind, threshold, half_life_days, now or utcnow(), batch)


async def _pass(
    bind: AsyncEngine | AsyncConnection,
    threshold: int,
    half_life_days: float,
    now: datetime,
    batch: int,
) -> Recomputed:
    async with own_transaction(bind) as connection:
        dropped = await drop_ineligible(connection)
        await announce(connection, dropped, threshold, now, half_life_days)
    contacts = flagged = cleared = 0
    after = FIRST_ID
    while True:
        async with own_transaction(bind) as connection:
            last = await _batch_end(connection, after, batch)
            if last is None:
                break
            found = await read_facts(connection, Contacts(after, last), now)
            risks = {contact_id: assess(facts, now) for contact_id, facts in found.items()}
            await store(connection, risks, now, after, last)
            flips = await flip(connection, after, last, threshold, now)
            await announce(connection, flips, threshold, now, half_life_days)
        contacts += len(risks)
        flagged += sum(1 for f in flips if f.at_risk)
        cleared += sum(1 for f in flips if not f.at_risk)
        after = last
    return Recomputed(contacts, flagged, cleared, len(dropped))


async def _batch_end(connection: AsyncConnection, after: uuid.UUID, size: int) -> uuid.UUID | None:
    """The id of the last eligible contact of the batch after ``after``; None past the end."""
    ids = (
        select(CONTACTS.c.id)
        .where(eligible(), CONTACTS.c.id > after)
        .order_by(CONTACTS.c.id)
        .limit(size)
        .subquery()
    )
    last = (await connection.execute(select(ids.c.id).order_by(ids.c.id.desc()).limit(1))).scalar()
    return None if last is None else uuid.UUID(str(last))


async def store(
    connection: AsyncConnection,
    risks: dict[uuid.UUID, Risk],
    now: datetime,
    after: uuid.UUID,
    last: uuid.UUID,
) -> None:
    """Write the contacts' scores and reasons, and when they were computed; the flag is left to
    `flip`. Most passes find most risks as they were: those get only their time."""
    r = RISKS.c
    in_range = and_(r.contact_id > after, r.contact_id <= last)
    stored = {
        row.contact_id: (row.score, row.reasons)
        for row in await connection.execute(
            select(r.contact_id, r.score, r.reasons).where(in_range)
        )
    }
    rows = []
    for contact_id, risk in risks.items():
        reasons = risk.top_reasons()
        if stored.get(contact_id) != (risk.score, reasons):
            rows.append({"contact_id": contact_id, "score": risk.score, "reasons": reasons,
                         "at_risk": False, "computed_at": now})  # fmt: skip
    if len(rows) < len(risks):
        await connection.execute(update(RISKS).where(in_range).values(computed_at=now))
    if not rows:
        return
    statement = dialect_insert_for(connection, RISKS)
    statement = statement.on_conflict_do_update(
        index_elements=[RISKS.c.contact_id],
        set_={
            "score": statement.excluded.score,
            "reasons": statement.excluded.reasons,
            "computed_at": statement.excluded.computed_at,
        },
    )
    await connection.execute(statement, rows)


async def flip(
    connection: AsyncConnection, after: uuid.UUID, last: uuid.UUID, threshold: int, now: datetime
) -> list[Flip]:
    """Set the flag of the stored risks in the id range whose score now says otherwise; the
    contacts flipped."""
    r = RISKS.c
    above = r.score >= bindparam("threshold")
    result = await connection.execute(
        update(RISKS)
        .where(r.contact_id > after, r.contact_id <= last, r.at_risk != above)
        .values(at_risk=above, crossed_at=now)
        .returning(r.contact_id, r.at_risk, r.score, r.reasons),
        {"threshold": threshold},
    )
    return [Flip(row.contact_id, bool(row.at_risk), row.score, row.reasons) for row in result]


async def drop_ineligible(connection: AsyncConnection) -> list[Flip]:
    """Delete the stored risks of contacts no longer at an eligible stage; the flagged ones
    among them, whose flag is cleared with them."""
    gone = await connection.execute(
        delete(RISKS)
        .where(~exists().where(CONTACTS.c.id == RISKS.c.contact_id, eligible()))
        .returning(RISKS.c.contact_id, RISKS.c.at_risk, RISKS.c.score, RISKS.c.reasons)
    )
    return [
        Flip(row.contact_id, False, row.score, row.reasons, eligible=False)
        for row in gone
        if row.at_risk
    ]


async def announce(
    connection: AsyncConnection,
    flips: Sequence[Flip],
    threshold: int,
    now: datetime,
    half_life_days: float,
) -> None:
    """Write a `lead.at_risk` or `lead.risk_cleared` event for each flip."""
    if not flips:
        return
    # Each flipped lead takes a new version, so that its risk event has a place of its own in
    # the lead's order (an at-risk and a later cleared one never tie), as every other change.
    states = {
        row["id"]: dict(row)
        for row in (
            await connection.execute(
                update(CONTACTS)
                .where(CONTACTS.c.id.in_([f.contact_id for f in flips]))
                .values(version=CONTACTS.c.version + 1, updated_at=now)
                .returning(*CONTACTS.c)
            )
        ).mappings()
    }
    events = [
        risk_event(states[f.contact_id], f, threshold, now, half_life_days)
        for f in flips
        if f.contact_id in states
    ]
    if events:
        await connection.execute(insert(LEAD_EVENTS), events)


def risk_event(
    state: dict[str, Any], flip: Flip, threshold: int, now: datetime, half_life_days: float
) -> dict[str, Any]:
    """The outbox row announcing one flip."""
    score = decayed(state["score"], state["score_at"], now, half_life_days)
    kind = LeadEventType.AT_RISK if flip.at_risk else LeadEventType.RISK_CLEARED
    risk = {"score": flip.score, "threshold": threshold, "eligible": flip.eligible,
            "reasons": flip.reasons}  # fmt: skip
    return {
        "id": new_id(), "type": kind.value, "lead_id": flip.contact_id,
        "lead_version": state["version"], "ordinal": 0,
        "data": {"lead": summary(state, score), "risk": risk}, "occurred_at": now,
        "origin": None,
    }  # fmt: skip
