"""The small base every domain repository builds its named queries on."""

import uuid
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from inbound.pagination import PageRequest, fetch_page

ModelT = TypeVar("ModelT", bound=SQLModel)


class Repository(Generic[ModelT]):
    """Named queries over one table; never commits (the request does, once)."""

    model: ClassVar[type[Any]]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_or_none(self, id_: uuid.UUID) -> ModelT | None:
        """The row with this primary key, if any."""
        row: ModelT | None = await self.session.get(self.model, id_)
        return row

    async def add(self, row: ModelT) -> ModelT:
        """Insert ``row`` now, so constraint violations surface here and not at commit."""
        self.session.add(row)
        await self.session.flush()
        return row

    async def delete(self, row: ModelT) -> None:
        """Delete ``row`` now."""
        await self.session.delete(row)
        await self.session.flush()

    def select(self) -> Select[ModelT]:
        """A plain SELECT of this table, for named queries to refine."""
        return select(self.model)

    async def page(
        self, statement: Select[ModelT], page: PageRequest
    ) -> tuple[Sequence[ModelT], str | None]:
        """One keyset page of ``statement``, ordered by the time-ordered id."""
        return await fetch_page(self.session, statement, key=self.model.id, page=page)
