"""The small base every domain repository builds its named queries on."""

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Select, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from inbound.errors import BadRequest, Conflict, NotFound, Unprocessable, is_unique_violation
from inbound.pagination import PageRequest, fetch_page
from inbound.schemas import parse_ref

ModelT = TypeVar("ModelT", bound=SQLModel)


class SlugTaken(Conflict, problem="slug-taken"):
    """Another row of the table already has the slug asked for."""


class UnknownFilter(BadRequest, problem="validation"):
    """A query filter names a row (by id or slug) that does not exist."""


class UnknownReference(Unprocessable, problem="unknown-reference"):
    """A body names a row (by id or slug) that does not exist or cannot be used."""


class Repository(Generic[ModelT]):
    """Named queries over one table; never commits (the request does, once)."""

    model: ClassVar[type[Any]]
    # What one row is called in messages: "asset", "site"...
    noun: ClassVar[str] = "row"

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_or_none(self, id_: uuid.UUID, *, lock: bool = False) -> ModelT | None:
        """The row with this primary key, if any; `lock` holds it until the commit."""
        row: ModelT | None = await self.session.get(self.model, id_, with_for_update=lock)
        return row

    async def get_or_raise(
        self, id_: uuid.UUID, missing: type[NotFound], *, lock: bool = False
    ) -> ModelT:
        """The row with this primary key; ``missing`` (a 404) when there is none."""
        row = await self.get_or_none(id_, lock=lock)
        if row is None:
            raise missing(f"no {self.noun} {id_}")
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


class SluggedRepository(Repository[ModelT]):
    """A table whose rows are addressed by id or by slug (personas, assets)."""

    async def get_by_ref_or_raise(
        self, ref: str, missing: type[NotFound], *, lock: bool = False
    ) -> ModelT:
        """The row named by an id or a slug; ``missing`` (a 404) when there is none."""
        row = await self.get_by_ref(ref, lock=lock)
        if row is None:
            raise missing(f"no {self.noun} {ref}")
        return row

    async def filter_id(self, ref: str | None, *, field: str) -> uuid.UUID | None:
        """The id of the row a query filter names (by id or slug); naming none is a 400."""
        if ref is None:
            return None
        row = await self.get_by_ref(ref)
        if row is None:
            raise UnknownFilter(f"no {self.noun} {ref!r}", field=field)
        return row.id  # type: ignore[attr-defined,no-any-return]

    async def save(self, row: ModelT) -> ModelT:
        """Insert or flush ``row``; a slug another row has is a 409 naming the field."""
        slug = row.slug  # type: ignore[attr-defined]  # read now: a failed flush expires it
        try:
            return await self.add(row)
        except IntegrityError as exc:
            if is_unique_violation(exc):
                article = "an" if self.noun[0] in "aeiou" else "a"
                message = f"{article} {self.noun} with slug {slug!r} exists"
                raise SlugTaken(message, field="slug") from None
            raise

    async def get_by_ref(self, ref: str, *, lock: bool = False) -> ModelT | None:
        """The row named by an id or a slug, if any; `lock` holds it until the commit."""
        key = parse_ref(ref)
        column = self.model.id if isinstance(key, uuid.UUID) else self.model.slug
        statement = self.select().where(column == key)
        if lock:
            statement = statement.with_for_update()
        row: ModelT | None = (await self.session.execute(statement)).scalar_one_or_none()
        return row

    async def resolve(
        self, refs: Iterable[str], *, lock: bool = False, share: bool = False
    ) -> dict[str, ModelT]:
        """Map each id or slug to its row, in one query; unknown ones are left out.

        `lock` locks the rows for update, `share` only against deletion (for rows that new
        references will point to). Either way they are locked in id order, so that writers
        touching several rows always queue in the same order and never deadlock.
        """
        keys = {ref: parse_ref(ref) for ref in refs}
        if not keys:
            return {}
        ids = {k for k in keys.values() if isinstance(k, uuid.UUID)}
        slugs = {k for k in keys.values() if isinstance(k, str)}
        statement = self.select().where(or_(self.model.id.in_(ids), self.model.slug.in_(slugs)))
        if lock or share:
            statement = statement.order_by(self.model.id).with_for_update(
                read=share, key_share=share
            )
        found = (await self.session.execute(statement)).scalars().all()
        by_key: dict[uuid.UUID | str, ModelT] = {}
        for row in found:
            by_key[row.id] = by_key[row.slug] = row  # type: ignore[attr-defined]
        return {ref: by_key[key] for ref, key in keys.items() if key in by_key}


def id_filter(
    repository: type[SluggedRepository[Any]],
) -> Callable[..., Awaitable[uuid.UUID | None]]:
    """A query filter's resolver for one table: ``(session, ref, *, field)`` to the id of the
    row named by id or slug, None for no filter, and a 400 for a row that does not exist."""

    async def filtered_id(
        session: AsyncSession, ref: str | None, *, field: str
    ) -> uuid.UUID | None:
        return await repository(session).filter_id(ref, field=field)

    return filtered_id
