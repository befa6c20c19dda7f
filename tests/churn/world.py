"""Builders for churn tests: contacts at a stage, ledger points on given days, negative answers
and feedback cases, written straight into the tables (the case-opening code lives elsewhere)."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from inbound.churn.recompute import Recomputed, recompute_risks
from inbound.db import utcnow
from inbound.leads.models import Contact, ScoreEvent
from inbound.leads.repository import LEAD_EVENTS
from inbound.surveys.models import FeedbackCase, Survey, SurveyAnswer, Touchpoint

SCALES = {"nps": (0, 10), "ces": (1, 5), "csat": (1, 5)}
HALF_LIFE = 30.0
RISK_EVENTS = ("lead.at_risk", "lead.risk_cleared")


@dataclass
class Churn:
    """A session to arrange with, and a clock the assertions agree on."""

    db: AsyncSession
    connection: AsyncConnection
    now: datetime = field(default_factory=utcnow)
    _touchpoints: dict[str, Touchpoint] = field(default_factory=dict)
    _surveys: dict[tuple[str, str, int], Survey] = field(default_factory=dict)

    def ago(self, days: float) -> datetime:
        return self.now - timedelta(days=days)

    async def contact(
        self, email: str, *, stage: str = "customer", created_days_ago: float = 10, **fields: Any
    ) -> uuid.UUID:
        contact = Contact(email=email, stage=stage, created_at=self.ago(created_days_ago),
                          **fields)  # fmt: skip
        self.db.add(contact)
        await self.db.commit()
        return contact.id

    async def falling_off(self, email: str, *, created_days_ago: float) -> uuid.UUID:
        """A contact whose engagement fell: 38 points 40 days ago, 4 points 5 days ago."""
        contact_id = await self.contact(email, created_days_ago=created_days_ago)
        await self.points(contact_id, 38, days_ago=40)
        await self.points(contact_id, 4, days_ago=5)
        return contact_id

    async def points(self, contact_id: uuid.UUID, points: float, days_ago: float) -> None:
        """Ledger points the contact earned ``days_ago``."""
        self.db.add(ScoreEvent(contact_id=contact_id, kind="page_view", points=points,
                               created_at=self.ago(days_ago)))  # fmt: skip
        await self.db.commit()

    async def answer(
        self,
        contact_id: uuid.UUID,
        metric: str,
        score: int,
        *,
        days_ago: float = 5,
        scale_max: int | None = None,
        touchpoint: str = "onboarding",
    ) -> SurveyAnswer:
        scale_min, top = SCALES[metric]
        top = scale_max or top
        survey = await self._survey(metric, touchpoint, top)
        answer = SurveyAnswer(
            survey_id=survey.id, touchpoint_id=survey.touchpoint_id, metric=metric, score=score,
            scale_min=scale_min, scale_max=top, contact_id=contact_id, source="link",
            answered_at=self.ago(days_ago),
        )  # fmt: skip
        self.db.add(answer)
        await self.db.commit()
        return answer

    async def case(
        self, contact_id: uuid.UUID, *, due_in_days: float, status: str = "open"
    ) -> FeedbackCase:
        """A feedback case (on an answer of its own) due ``due_in_days`` from now."""
        answer = await self.answer(contact_id, "csat", 1, days_ago=120, touchpoint="support")
        case = FeedbackCase(
            answer_id=answer.id, contact_id=contact_id, survey_id=answer.survey_id,
            touchpoint_id=answer.touchpoint_id, status=status,
            opened_at=self.ago(3), due_at=self.now + timedelta(days=due_in_days),
        )  # fmt: skip
        self.db.add(case)
        await self.db.commit()
        return case

    async def recompute(self, *, threshold: int = 50, at: datetime | None = None) -> Recomputed:
        return await recompute_risks(
            self.connection, threshold=threshold, half_life_days=HALF_LIFE, now=at or self.now
        )

    async def events(self, contact_id: uuid.UUID) -> list[Any]:
        """The contact's risk events, oldest first."""
        e = LEAD_EVENTS.c
        rows = await self.db.execute(
            select(e.type, e.data, e.lead_version, e.ordinal)
            .where(e.lead_id == contact_id, e.type.in_(RISK_EVENTS))
            .order_by(e.seq)
        )
        return list(rows.all())

    async def _survey(self, metric: str, slug: str, top: int) -> Survey:
        touchpoint = self._touchpoints.get(slug)
        if touchpoint is None:
            touchpoint = Touchpoint(slug=slug, name=slug.title(), kind="channel", channel=slug)
            self.db.add(touchpoint)
            await self.db.flush()
            self._touchpoints[slug] = touchpoint
        key = (metric, slug, top)
        survey = self._surveys.get(key)
        if survey is None:
            scale_min = SCALES[metric][0]
            survey = Survey(slug=f"{slug}-{metric}-{top}", touchpoint_id=touchpoint.id,
                            metric=metric, question="How was it?", scale_min=scale_min,
                            scale_max=top)  # fmt: skip
            self.db.add(survey)
            await self.db.flush()
            self._surveys[key] = survey
        return survey
