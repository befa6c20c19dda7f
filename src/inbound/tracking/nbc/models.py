"""Next-best-content tables: pinned rules, the weights document, and the recomputed signals.

The signals (co-visitation lift, click-through counts) are replaced whole by each refresh;
requests read them from the in-process cache, never row by row.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from inbound.db import JSONType, UTCDateTime, new_id
from inbound.tables import Revised, Versioned


class NbcRule(Versioned, table=True):
    """Pin an asset first in a slot for visitors meeting every condition set on the rule."""

    __tablename__ = "nbc_rules"
    __table_args__ = (CheckConstraint("priority BETWEEN -1000 AND 1000", name="priority_range"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    # None: every slot.
    slot: str | None = Field(default=None, max_length=64)
    asset_id: uuid.UUID = Field(foreign_key="content_assets.id", ondelete="CASCADE", index=True)
    persona_id: uuid.UUID | None = Field(
        default=None, foreign_key="personas.id", ondelete="CASCADE", index=True
    )
    # Lifecycle stages (or "anonymous"); empty: any stage.
    stages: list[str] = Field(default_factory=list, sa_type=JSONType)
    campaign: str | None = Field(default=None, max_length=200)
    viewed_asset_id: uuid.UUID | None = Field(
        default=None, foreign_key="content_assets.id", ondelete="CASCADE", index=True
    )
    priority: int = 0
    active: bool = True


class NbcSetting(Revised, table=True):
    """The ranking's weights, a document an admin replaces through the API."""

    __tablename__ = "nbc_settings"

    name: str = Field(max_length=32, primary_key=True)
    value: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)


class NbcCovisit(SQLModel, table=True):
    """How much more likely visitors who viewed ``asset_id`` are to view ``other_id`` (lift)."""

    __tablename__ = "nbc_covisits"

    asset_id: uuid.UUID = Field(primary_key=True)
    other_id: uuid.UUID = Field(primary_key=True)
    lift: float
    together: int
    computed_at: datetime = Field(sa_type=UTCDateTime)


class NbcClickThrough(SQLModel, table=True):
    """How often an asset was shown in a slot and clicked there."""

    __tablename__ = "nbc_click_through"

    slot: str = Field(max_length=64, primary_key=True)
    asset_id: uuid.UUID = Field(primary_key=True)
    shown: int
    clicked: int
    computed_at: datetime = Field(sa_type=UTCDateTime)
