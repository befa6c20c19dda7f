"""The merge log: which ids a lead has, every link made or refused, and undoing a link.

Undoing a link removes it, takes back the points its events brought (their ledger rows are
deleted and their value as of now leaves the score) and marks the log entry undone; the id can
be linked again later, to this contact or another. Events are never rewritten: an event
belongs to whoever its id belongs to at the time it is read.
"""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from inbound.db import utcnow
from inbound.errors import Conflict, NotFound, Unprocessable
from inbound.leads.service import LeadNotFound, LeadSettingsService
from inbound.pagination import PageRequest, encode_cursor
from inbound.tracking.engagement import CONTACTS, take_back
from inbound.tracking.identity_sql import IDENTITIES, MERGES, MergeOutcome

# The newest merge-log entries a lead's identities show.
MERGES_SHOWN = 200


class MergeNotFound(NotFound, problem="merge-not-found"): ...


class MergeAlreadyUndone(Conflict, problem="merge-already-undone"): ...


class MergeNotLinked(Unprocessable, problem="merge-not-linked"): ...


class MergeService:
    """Reads and undoes identity links."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _connection(self) -> AsyncConnection:
        return await self.session.connection()

    async def identities(
        self, contact_id: uuid.UUID
    ) -> tuple[Sequence[RowMapping], Sequence[RowMapping]]:
        """A lead's linked ids, and its newest merge-log entries."""
        connection = await self._connection()
        exists = select(CONTACTS.c.id).where(CONTACTS.c.id == contact_id)
        if (await connection.execute(exists)).first() is None:
            raise LeadNotFound(f"no lead {contact_id}")
        ids = select(IDENTITIES).where(IDENTITIES.c.contact_id == contact_id)
        ids = ids.order_by(IDENTITIES.c.linked_at.desc(), IDENTITIES.c.external_id)
        log = (
            select(MERGES)
            .where(MERGES.c.contact_id == contact_id)
            .order_by(MERGES.c.id.desc())
            .limit(MERGES_SHOWN)
        )
        return (
            (await connection.execute(ids)).mappings().all(),
            (await connection.execute(log)).mappings().all(),
        )

    async def page(
        self, page: PageRequest, *, contact_id: uuid.UUID | None, outcome: MergeOutcome | None
    ) -> tuple[Sequence[RowMapping], str | None]:
        """Merge-log entries in the order they were made, filtered."""
        statement = select(MERGES).order_by(MERGES.c.id).limit(page.limit + 1)
        if contact_id is not None:
            statement = statement.where(MERGES.c.contact_id == contact_id)
        if outcome is not None:
            statement = statement.where(MERGES.c.outcome == outcome)
        if page.after is not None:
            statement = statement.where(MERGES.c.id > page.after)
        rows = (await (await self._connection()).execute(statement)).mappings().all()
        if len(rows) <= page.limit:
            return rows, None
        return rows[: page.limit], encode_cursor(rows[page.limit - 1]["id"])

    async def undo(self, merge_id: uuid.UUID, *, actor: str) -> dict[str, Any]:
        """Undo a link: remove it and the points it brought; the log entry as it now stands."""
        connection = await self._connection()
        statement = select(MERGES).where(MERGES.c.id == merge_id).with_for_update()
        found = (await connection.execute(statement)).mappings().one_or_none()
        if found is None:
            raise MergeNotFound(f"no identity merge {merge_id}")
        merge = dict(found)
        if merge["outcome"] != MergeOutcome.LINKED:
            raise MergeNotLinked("a refused link has nothing to undo", field="merge_id")
        if merge["undone_at"] is not None:
            raise MergeAlreadyUndone(f"the link was undone at {merge['undone_at'].isoformat()}")
        now = utcnow()
        settings = await LeadSettingsService(self.session).current()
        await take_back(connection, merge["contact_id"], merge_id, settings, now)
        await connection.execute(
            IDENTITIES.delete().where(
                IDENTITIES.c.kind == merge["kind"],
                IDENTITIES.c.external_id == merge["external_id"],
                IDENTITIES.c.merge_id == merge_id,
            )
        )
        merge.update(undone_at=now, undone_by=actor)
        await connection.execute(
            MERGES.update().where(MERGES.c.id == merge_id).values(undone_at=now, undone_by=actor)
        )
        return merge
