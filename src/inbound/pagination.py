"""Keyset pagination with opaque cursors: pages stay stable while rows are inserted or deleted."""

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from litestar.params import Parameter
from pydantic import BaseModel, Field
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from inbound.errors import BadRequest
from inbound.field_messages import describe_pattern

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

T = TypeVar("T")
RowT = TypeVar("RowT")

LimitParam = Annotated[
    int,
    Parameter(ge=1, le=MAX_LIMIT, description=f"Items per page, at most {MAX_LIMIT}."),
]
CursorParam = Annotated[
    str | None,
    Parameter(
        pattern=describe_pattern(
            r"^[A-Za-z0-9_-]{22}$", "must be a next_cursor this list answered, unchanged"
        ),
        description="`next_cursor` of the previous page; opaque.",
    ),
]


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` back as `cursor` for the next one."""

    items: list[T]
    next_cursor: str | None = Field(description="Null on the last page.")


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Where a page starts and how long it is."""

    limit: int = DEFAULT_LIMIT
    after: uuid.UUID | None = None

    @classmethod
    def parse(cls, *, limit: int, cursor: str | None) -> "PageRequest":
        """Read the `limit` and `cursor` query parameters."""
        return cls(limit=limit, after=decode_cursor(cursor) if cursor else None)


def encode_cursor(last_id: uuid.UUID) -> str:
    """An opaque cursor pointing just past the row with this id."""
    return base64.urlsafe_b64encode(last_id.bytes).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> uuid.UUID:
    """Read a cursor made by ``encode_cursor``; anything else is the client's error."""
    try:
        return uuid.UUID(bytes=base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise BadRequest("not a cursor this API returned", field="cursor") from None


async def fetch_page(
    session: AsyncSession,
    statement: Select[RowT],
    *,
    key: InstrumentedAttribute[uuid.UUID],
    page: PageRequest,
) -> tuple[Sequence[RowT], str | None]:
    """Run ``statement`` ordered by ``key`` (a time-ordered UUID) from the page's start."""
    if page.after is not None:
        statement = statement.where(key > page.after)
    statement = statement.order_by(key).limit(page.limit + 1)
    rows: Sequence[Any] = (await session.execute(statement)).scalars().all()
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[: page.limit]
    return rows, encode_cursor(getattr(rows[-1], key.key))
