import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Field, SQLModel

from inbound.db import JSONType, UTCDateTime
from inbound.tables import partial_index

AT_RISK_ONLY = text("at_risk")


class ContactRisk(SQLModel, table=True):
    """A contact's churn risk as the worker last computed it, and whether it is flagged."""

    __tablename__ = "contact_risks"
    __table_args__ = (
        # The at-risk list: flagged contacts, highest score first, then by id.
        partial_index("ix_contact_risks_flagged_score", "score", "contact_id", where=AT_RISK_ONLY),
    )

    contact_id: uuid.UUID = Field(foreign_key="contacts.id", ondelete="CASCADE", primary_key=True)
    score: int
    # The signals that gave points, most points first: [{signal, points, reason}, ...].
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    # Whether the score stood at or above the threshold at the last flip: `lead.at_risk` was
    # sent when it became true, `lead.risk_cleared` when it became false again.
    at_risk: bool = False
    computed_at: datetime = Field(sa_type=UTCDateTime)
    # When `at_risk` last flipped: for a flagged contact, since when it is at risk.
    crossed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
