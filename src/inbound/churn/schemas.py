"""What the churn API answers."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from inbound.churn.signals import SignalName
from inbound.schemas import ResponseSchema


class RiskStage(StrEnum):
    """The stages whose contacts have a churn risk."""

    OPPORTUNITY = "opportunity"
    CUSTOMER = "customer"
    EVANGELIST = "evangelist"


class RiskReasonRead(ResponseSchema):
    """A signal that gave points, in a sentence."""

    signal: SignalName
    points: int = Field(ge=1, le=100)
    reason: str = Field(
        description="What the signal saw, with its evidence, e.g. `NPS 3 on 2026-11-20 at "
        "touchpoint onboarding`."
    )


class RiskSignalRead(ResponseSchema):
    """One signal, whether it gave points or not."""

    signal: SignalName
    points: int = Field(ge=0, le=100, description="0 when the signal sees nothing wrong.")
    reason: str
    evidence: dict[str, Any] = Field(
        description="The figures behind the reason: `engagement_falling`: `last_30_days`, "
        "`previous_30_days`, `drop` (0-1); `engagement_silent`: `last_engaged_at` (null: "
        "never), `silent_days`; `negative_answer`: `answers` (in 90 days) and the latest's "
        "`metric`, `score`, `scale_max`, `answered_at`, `touchpoint`; `feedback_cases`: "
        "`unresolved`, `overdue`, `overdue_since`."
    )


class LeadRiskRead(ResponseSchema):
    """A lead's churn risk computed at `computed_at`, and its flag as webhooks know it."""

    lead_id: uuid.UUID
    stage: str
    eligible: bool = Field(
        description="False for a lead before `opportunity`: it has no churn risk, and "
        "`score` is null and `signals` empty."
    )
    score: int | None = Field(
        ge=0, le=100, description="The sum of the signals' points, at most 100."
    )
    threshold: int = Field(description="The score at which a lead is flagged at risk.")
    above_threshold: bool | None = Field(
        description="`score` >= `threshold`; null if not eligible."
    )
    reasons: list[RiskReasonRead] = Field(description="The top 3 signals by points.")
    signals: list[RiskSignalRead] = Field(description="Every signal, in a fixed order.")
    computed_at: datetime = Field(description="Now: this answer is computed on request.")
    flagged: bool = Field(
        description="Whether the worker's last pass flagged it at risk (and sent `lead.at_risk`)."
    )
    flagged_since: datetime | None = Field(description="When it was flagged; null if not flagged.")


class AtRiskRead(ResponseSchema):
    """A contact flagged at risk, as the worker's last pass scored it."""

    lead_id: uuid.UUID
    email: str
    first_name: str | None
    last_name: str | None
    company: str | None
    stage: RiskStage
    owner: str | None
    persona_id: uuid.UUID | None
    score: int = Field(ge=0, le=100)
    reasons: list[RiskReasonRead] = Field(description="The top 3 signals by points.")
    at_risk_since: datetime = Field(description="When the score last reached the threshold.")
    computed_at: datetime = Field(description="When the worker last computed the score.")


class AtRiskList(ResponseSchema):
    items: list[AtRiskRead]
    next_cursor: str | None = Field(description="Null on the last page.")
