"""Named queries over contacts and their history; the capture path uses plain Core statements."""

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col

from inbound.db import dialect_insert, table_of, utcnow
from inbound.errors import NotFound
from inbound.leads.models import (
    Capture,
    CaptureIdempotencyKey,
    Contact,
    LeadEvent,
    LeadNote,
    LeadSetting,
    RemapRun,
    ScoreEvent,
    StageChange,
)
from inbound.pagination import PageRequest
from inbound.repository import Repository

CONTACTS = table_of(Contact)
CAPTURES = table_of(Capture)
IDEMPOTENCY_KEYS = table_of(CaptureIdempotencyKey)
STAGE_CHANGES = table_of(StageChange)
SCORE_EVENTS = table_of(ScoreEvent)
SETTINGS = table_of(LeadSetting)
# What persona mapping decides for a contact.
MAPPING_COLUMNS = ("persona_id", "persona_source", "persona_confidence", "persona_explanation",
                   "fit", "grade")  # fmt: skip
REMAP_RUNS = table_of(RemapRun)
LEAD_EVENTS = table_of(LeadEvent)


class LeadRepository(Repository[Contact]):
    """Contacts, captures, stage changes and score events, for the team's API and re-mapping.

    Captures write through their own lean statements (`capture.statements`).
    """

    model = Contact
    noun = "lead"

    async def _connection(self) -> AsyncConnection:
        return await self.session.connection()

    async def update_contact(self, contact_id: uuid.UUID, values: dict[str, Any]) -> None:
        """Write these columns of one contact."""
        statement = update(CONTACTS).where(CONTACTS.c.id == contact_id).values(values)
        await (await self._connection()).execute(statement)

    async def delete_contact(self, contact_id: uuid.UUID) -> None:
        """Delete a contact and, by cascade, everything recorded about it."""
        statement = delete(CONTACTS).where(CONTACTS.c.id == contact_id)
        await (await self._connection()).execute(statement)

    async def update_contact_if_version(
        self, contact_id: uuid.UUID, version: int, values: dict[str, Any]
    ) -> bool:
        """Write these columns unless the contact changed since ``version`` was read."""
        statement = (
            update(CONTACTS)
            .where(CONTACTS.c.id == contact_id, CONTACTS.c.version == version)
            .values(values)
        )
        result = await (await self._connection()).execute(statement)
        return bool(result.rowcount)

    async def insert_stage_changes(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            await (await self._connection()).execute(insert(STAGE_CHANGES), list(rows))

    async def insert_events(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Put a change's events in the outbox."""
        if rows:
            await (await self._connection()).execute(insert(LEAD_EVENTS), list(rows))

    async def insert_events_if_written(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Put events in the outbox, each only if its lead is at the version the event names
        (a guarded write that found the lead changed meanwhile has no events)."""
        if not rows:
            return
        columns = tuple(rows[0])
        written = exists().where(
            CONTACTS.c.id == bindparam("lead_id"), CONTACTS.c.version == bindparam("lead_version")
        )
        values = select(*(bindparam(name, type_=LEAD_EVENTS.c[name].type) for name in columns))
        statement = insert(LEAD_EVENTS).from_select(columns, values.where(written))
        await (await self._connection()).execute(statement, list(rows))

    async def timeline(self, contact_id: uuid.UUID, limit: int) -> dict[str, Sequence[Any]]:
        """The newest captures, score events and stage changes of a contact."""
        found: dict[str, Sequence[Any]] = {}
        for name, model in (("capture", Capture), ("score", ScoreEvent), ("stage", StageChange)):
            statement = (
                select(model)
                .where(col(model.contact_id) == contact_id)
                .order_by(col(model.id).desc())
                .limit(limit)
            )
            found[name] = (await self.session.execute(statement)).scalars().all()
        return found

    async def settings(self) -> dict[str, tuple[dict[str, Any], int]]:
        """Every stored settings document with its version, by name."""
        statement = select(SETTINGS.c.name, SETTINGS.c.value, SETTINGS.c.version)
        rows = (await (await self._connection()).execute(statement)).all()
        return {name: (value, version) for name, value, version in rows}

    async def lock_setting(self, name: str) -> LeadSetting:
        """A settings row, made with version 0 if missing, locked until the commit."""
        create = dialect_insert(self.session)(SETTINGS).values(
            name=name, value={}, version=0, updated_at=utcnow()
        )
        await self.session.execute(create.on_conflict_do_nothing(index_elements=["name"]))
        statement = select(LeadSetting).where(col(LeadSetting.name) == name).with_for_update()
        row: LeadSetting = (await self.session.execute(statement)).scalar_one()
        return row

    async def contact(self, contact_id: uuid.UUID, *, lock: bool = False) -> RowMapping | None:
        """Every column of one contact, if it exists; `lock` holds it until the commit."""
        statement = select(CONTACTS).where(CONTACTS.c.id == contact_id)
        if lock:
            statement = statement.with_for_update()
        return (await (await self._connection()).execute(statement)).mappings().one_or_none()

    async def contact_or_raise(
        self, contact_id: uuid.UUID, missing: type[NotFound], *, lock: bool = False
    ) -> RowMapping:
        """Every column of one contact; ``missing`` (a 404) when there is none."""
        row = await self.contact(contact_id, lock=lock)
        if row is None:
            raise missing(f"no {self.noun} {contact_id}")
        return row

    async def contacts_after(self, after: uuid.UUID | None, limit: int) -> Sequence[RowMapping]:
        """The next ``limit`` contacts in id order, every column."""
        statement = select(CONTACTS).order_by(CONTACTS.c.id).limit(limit)
        if after is not None:
            statement = statement.where(CONTACTS.c.id > after)
        return (await (await self._connection()).execute(statement)).mappings().all()

    async def last_remap_fingerprint(self) -> str | None:
        """What the last finished re-mapping pass was computed from."""
        statement = (
            select(col(RemapRun.fingerprint))
            .where(col(RemapRun.finished_at).is_not(None))
            .order_by(col(RemapRun.id).desc())
            .limit(1)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def remap_in_progress(self, alive_since: datetime) -> bool:
        """True when an unfinished pass renewed its heartbeat after ``alive_since``."""
        statement = select(func.count()).where(
            col(RemapRun.finished_at).is_(None), col(RemapRun.heartbeat_at) > alive_since
        )
        return bool((await self.session.execute(statement)).scalar_one())

    async def save_remap_run(self, run: RemapRun) -> None:
        """Record a pass's progress."""
        statement = (
            update(REMAP_RUNS)
            .where(REMAP_RUNS.c.id == run.id)
            .values(
                fingerprint=run.fingerprint,
                checked=run.checked,
                changed=run.changed,
                heartbeat_at=run.heartbeat_at,
                finished_at=run.finished_at,
            )
        )
        await (await self._connection()).execute(statement)

    async def write_mappings(self, rows: Sequence[dict[str, Any]], now: datetime) -> None:
        """Store re-mapped personas, fits and grades; each row names the version it read.

        A contact whose version moved since was changed by someone else meanwhile (a capture
        maps it itself) and is left as that change left it.
        """
        if not rows:
            return
        statement = (
            update(CONTACTS)
            .where(
                CONTACTS.c.id == bindparam("b_id"),
                CONTACTS.c.version == bindparam("b_version"),
            )
            .values(
                {name: bindparam(f"b_{name}") for name in MAPPING_COLUMNS}
                | {"version": CONTACTS.c.version + 1, "updated_at": now}
            )
        )
        parameters = [{f"b_{name}": value for name, value in row.items()} for row in rows]
        await (await self._connection()).execute(statement, parameters)


class CaptureRepository(Repository[Capture]):
    """Stored captures, as the team reads them."""

    model = Capture
    noun = "capture"


class NoteRepository(Repository[LeadNote]):
    """Reps' notes on leads."""

    model = LeadNote

    async def of_lead(
        self, contact_id: uuid.UUID, page: PageRequest
    ) -> tuple[Sequence[LeadNote], str | None]:
        """A lead's notes, oldest first."""
        return await self.page(self.select().where(col(LeadNote.contact_id) == contact_id), page)
