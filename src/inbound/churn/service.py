"""Reading churn risks: one lead's, computed on request, and the list of flagged contacts."""

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.churn.facts import Contacts, eligible, read_facts
from inbound.churn.recompute import RISKS
from inbound.churn.schemas import AtRiskList, AtRiskRead, LeadRiskRead, RiskStage
from inbound.churn.signals import ELIGIBLE_STAGES, assess
from inbound.errors import BadRequest
from inbound.leads.repository import CONTACTS
from inbound.leads.service import LeadNotFound
from inbound.leads.stages import LifecycleStage


@dataclass(frozen=True, slots=True)
class AtRiskFilter:
    """Which flagged contacts the list shows; every filter narrows it."""

    stage: RiskStage | None = None
    owner: str | None = None
    unowned: bool = False
    persona_id: uuid.UUID | None = None
    without_persona: bool = False
    min_score: int | None = None


async def lead_risk(
    session: AsyncSession, lead_id: uuid.UUID, *, threshold: int, now: datetime
) -> LeadRiskRead:
    """A lead's risk computed now from its facts, beside the flag the worker last stored."""
    c, r = CONTACTS.c, RISKS.c
    found = (
        await session.execute(
            select(c.stage, r.at_risk, r.crossed_at)
            .outerjoin(RISKS, r.contact_id == c.id)
            .where(c.id == lead_id)
        )
    ).first()
    if found is None:
        raise LeadNotFound(f"no lead {lead_id}")
    flagged = bool(found.at_risk)
    common = {"lead_id": lead_id, "stage": found.stage, "threshold": threshold,
              "computed_at": now, "flagged": flagged,
              "flagged_since": found.crossed_at if flagged else None}  # fmt: skip
    if LifecycleStage(found.stage) not in ELIGIBLE_STAGES:
        return LeadRiskRead(
            **common, eligible=False, score=None, above_threshold=None, reasons=[], signals=[]
        )
    facts = await read_facts(session, Contacts.one(lead_id), now)
    risk = assess(facts[lead_id], now)
    return LeadRiskRead.model_validate(
        {
            **common,
            "eligible": True,
            "score": risk.score,
            "above_threshold": risk.score >= threshold,
            "reasons": risk.top_reasons(),
            "signals": [signal.detail() for signal in risk.signals],
        }
    )


async def at_risk_page(
    session: AsyncSession, filters: AtRiskFilter, *, limit: int, cursor: str | None
) -> AtRiskList:
    """A page of the flagged contacts, highest score first (ties: by id, descending)."""
    c, r = CONTACTS.c, RISKS.c
    statement = (
        select(
            r.contact_id, r.score, r.reasons, r.crossed_at, r.computed_at, c.email,
            c.first_name, c.last_name, c.company, c.stage, c.owner, c.persona_id,
        )
        .join(CONTACTS, c.id == r.contact_id)
        .where(r.at_risk, eligible(), *_narrowed(filters))
        .order_by(r.score.desc(), r.contact_id.desc())
        .limit(limit + 1)
    )  # fmt: skip
    if cursor is not None:
        score, last_id = decode_cursor(cursor)
        statement = statement.where(
            or_(r.score < score, and_(r.score == score, r.contact_id < last_id))
        )
    rows = (await session.execute(statement)).all()
    items = [
        AtRiskRead(
            lead_id=row.contact_id, email=row.email, first_name=row.first_name,
            last_name=row.last_name, company=row.company, stage=RiskStage(row.stage),
            owner=row.owner, persona_id=row.persona_id, score=row.score,
            reasons=row.reasons, at_risk_since=row.crossed_at, computed_at=row.computed_at,
        )
        for row in rows[:limit]
    ]  # fmt: skip
    last = items[-1] if len(rows) > limit else None
    return AtRiskList(
        items=items, next_cursor=encode_cursor(last.score, last.lead_id) if last else None
    )


def _narrowed(filters: AtRiskFilter) -> list[ColumnElement[bool]]:
    c, r = CONTACTS.c, RISKS.c
    conditions: list[ColumnElement[bool]] = []
    if filters.stage is not None:
        conditions.append(c.stage == filters.stage.value)
    if filters.unowned:
        conditions.append(c.owner.is_(None))
    elif filters.owner is not None:
        conditions.append(c.owner == filters.owner)
    if filters.without_persona:
        conditions.append(c.persona_id.is_(None))
    elif filters.persona_id is not None:
        conditions.append(c.persona_id == filters.persona_id)
    if filters.min_score is not None:
        conditions.append(r.score >= filters.min_score)
    return conditions


def encode_cursor(score: int, last_id: uuid.UUID) -> str:
    """An opaque cursor just past the row with this score and id."""
    return base64.urlsafe_b64encode(bytes([score]) + last_id.bytes).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[int, uuid.UUID]:
    """Read a cursor made by ``encode_cursor``; anything else is the client's error."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    # Any position is a place in the order, even one no page ends at (a score above 100).
    if len(raw) != 17:
        raise BadRequest("not a cursor this API returned", field="cursor")
    return raw[0], uuid.UUID(bytes=raw[1:])
