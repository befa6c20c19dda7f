import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Text
from sqlmodel import Field

from inbound.db import JSONType, UTCDateTime, new_id
from inbound.tables import Versioned


class Persona(Versioned, table=True):
    """A buyer persona: who they are, what they want, and how to recognise them."""

    __tablename__ = "personas"
    __table_args__ = (Index("ix_personas_archived_id", "archived", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, sa_type=Text)
    goals: list[str] = Field(default_factory=list, sa_type=JSONType)
    pain_points: list[str] = Field(default_factory=list, sa_type=JSONType)
    rules: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    priority: int = 0
    archived: bool = False
    archived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
