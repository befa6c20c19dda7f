import uuid
from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from inbound.db import JSONType, UTCDateTime, new_id, utcnow


class ApiKey(SQLModel, table=True):
    """A key a client sends as ``Authorization: Bearer``; only its hash is kept."""

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_revoked_at_id", "revoked_at", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16)
    key_hash: str = Field(max_length=64, unique=True)
    scopes: list[str] = Field(sa_type=JSONType)
    site_id: uuid.UUID | None = Field(
        default=None, foreign_key="sites.id", ondelete="CASCADE", index=True
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DashboardSession(SQLModel, table=True):
    """A browser signed in to the dashboard: it holds a random token, the server its hash and
    the key it signed in with, never the key itself."""

    __tablename__ = "dashboard_sessions"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    key_id: uuid.UUID = Field(foreign_key="api_keys.id", ondelete="CASCADE", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
