"""What many tables share: the created/updated/version columns, and partial indexes.

A table keeps its own columns in its domain's ``models.py``; these mixins only add the
bookkeeping every editable row carries, so that a change is stamped the same way everywhere.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Index, TextClause, text
from sqlmodel import Field, SQLModel

from inbound.db import UTCDateTime, utcnow


class Revised(SQLModel):
    """A row changed in place: when it last changed, and how many times (its ETag)."""

    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = 1

    def touch(self, now: datetime | None = None) -> None:
        """Stamp a change: a new ``updated_at`` and the next version."""
        self.updated_at = now or utcnow()
        self.version += 1

    def apply(self, changes: Mapping[str, Any]) -> None:
        """Set each changed column and stamp the change."""
        for name, value in changes.items():
            setattr(self, name, value)
        self.touch()


class Versioned(Revised):
    """A row created once and changed in place: `Revised` with its creation time."""

    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def partial_index(name: str, *columns: str, where: str | TextClause, **kwargs: Any) -> Index:
    """An index over only the rows meeting ``where``, on PostgreSQL and SQLite alike."""
    condition = text(where) if isinstance(where, str) else where
    return Index(name, *columns, postgresql_where=condition, sqlite_where=condition, **kwargs)
