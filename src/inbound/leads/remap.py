"""Background re-mapping: when personas, asset tags or settings change, contacts follow.

A pass starts when the fingerprint of everything mapping reads differs from the last finished
pass's. It walks contacts in id order, a batch per short transaction, and writes only the
contacts whose persona, fit or grade changed, each guarded by its version so that a capture
committed meanwhile is never overwritten with an older picture.
"""

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import bindparam, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.content.service import AssetRelevance, AssetService
from inbound.db import utcnow
from inbound.leads.evaluation import LeadSettings, evaluate
from inbound.leads.lifecycle import promote_if_qualified
from inbound.leads.models import RemapRun
from inbound.leads.repository import CONTACTS, LeadRepository
from inbound.leads.service import LeadSettingsService
from inbound.personas.service import MatchablePersona, PersonaService

logger = structlog.get_logger(__name__)

BATCH_SIZE = 1000
EVALUATED = ("persona_id", "persona_source", "persona_confidence", "persona_explanation",
             "fit", "grade")  # fmt: skip
ADVISORY_LOCK = 0x1B0A_7D  # any constant shared by every process of this service
ACTOR = "remap"


@dataclass(frozen=True, slots=True)
class MappingInputs:
    """Everything mapping reads besides the contact itself."""

    personas: list[MatchablePersona]
    relevance: dict[uuid.UUID, AssetRelevance]
    settings: LeadSettings

    def fingerprint(self) -> str:
        """Changes exactly when some contact's mapping could change."""
        document = [
            [[str(p.id), p.priority, p.rules] for p in self.personas],
            sorted(
                [str(a), str(p), r]
                for a, entry in self.relevance.items()
                for p, r in entry.relevance.items()
            ),
            list(self.settings.versions),
        ]
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


async def load_inputs(session: AsyncSession) -> MappingInputs:
    """Personas, every asset's tags and the settings, as they stand."""
    return MappingInputs(
        personas=await PersonaService(session).matchable(),
        relevance=await AssetService(session).relevance(),
        settings=await LeadSettingsService(session).current(),
    )


async def remap_if_changed(
    sessionmaker: async_sessionmaker[AsyncSession], *, force: bool = False
) -> RemapRun | None:
    """Run one pass when mapping inputs changed since the last one (or `force`); else None."""
    async with _exclusive(sessionmaker) as acquired:
        if not acquired:
            return None  # another process is on it
        async with sessionmaker() as session:
            inputs = await load_inputs(session)
            fingerprint = inputs.fingerprint()
            last = await LeadRepository(session).last_remap_fingerprint()
            if last == fingerprint and not force:
                return None
            run = RemapRun(fingerprint=fingerprint)
            session.add(run)
            await session.commit()
        return await _remap_all(sessionmaker, inputs, run)


async def _remap_all(
    sessionmaker: async_sessionmaker[AsyncSession], inputs: MappingInputs, run: RemapRun
) -> RemapRun:
    after: uuid.UUID | None = None
    while True:
        async with sessionmaker() as session:
            rows = await LeadRepository(session).contacts_after(after, BATCH_SIZE)
            if not rows:
                break
            changed = await _remap_batch(session, [dict(row) for row in rows], inputs)
            await session.commit()
        run.checked += len(rows)
        run.changed += changed
        after = rows[-1]["id"]
        await asyncio.sleep(0)  # let requests in between batches
    async with sessionmaker() as session:
        run.finished_at = utcnow()
        await session.merge(run)
        await session.commit()
    logger.info("contacts re-mapped", checked=run.checked, changed=run.changed)
    return run


async def _remap_batch(
    session: AsyncSession, contacts: list[dict[str, Any]], inputs: MappingInputs
) -> int:
    """Re-evaluate one batch; write the contacts whose mapping changed. How many did."""
    now = utcnow()
    plain: list[dict[str, Any]] = []
    promoted: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for contact in contacts:
        columns = evaluate(contact, inputs.personas, inputs.relevance, inputs.settings)
        if all(contact.get(name) == value for name, value in columns.items()):
            continue
        seen_version = contact["version"]
        contact.update(columns)
        stage_changes = promote_if_qualified(contact, inputs.settings, now=now, actor=ACTOR)
        if stage_changes:
            promoted.append((contact | {"seen_version": seen_version}, stage_changes))
        else:
            plain.append(
                {f"new_{name}": contact[name] for name in EVALUATED}
                | {"contact_id": contact["id"], "seen_version": seen_version}
            )
    repository = LeadRepository(session)
    if plain:
        statement = (
            update(CONTACTS)
            .where(
                CONTACTS.c.id == bindparam("contact_id"),
                CONTACTS.c.version == bindparam("seen_version"),
            )
            .values(
                {name: bindparam(f"new_{name}") for name in EVALUATED}
                | {"version": CONTACTS.c.version + 1, "updated_at": now}
            )
        )
        connection = await session.connection()
        await connection.execute(statement, plain)
    for contact, stage_changes in promoted:
        values = {k: v for k, v in contact.items() if k not in {"id", "seen_version"}}
        values |= {"version": contact["seen_version"] + 1, "updated_at": now}
        if await repository.update_contact_if_version(
            contact["id"], contact["seen_version"], values
        ):
            await repository.insert_stage_changes(stage_changes)
    return len(plain) + len(promoted)


@asynccontextmanager
async def _exclusive(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[bool]:
    """Hold PostgreSQL's advisory lock for the pass, so one process re-maps at a time.

    SQLite serves one machine's processes, and a second pass there only repeats work.
    """
    async with sessionmaker() as session:
        if session.get_bind().dialect.name != "postgresql":
            yield True
            return
        connection = await session.connection()
        acquired = bool(
            (
                await connection.execute(text(f"SELECT pg_try_advisory_lock({ADVISORY_LOCK})"))
            ).scalar_one()
        )
        await session.commit()
        try:
            yield acquired
        finally:
            if acquired:
                await connection.execute(text(f"SELECT pg_advisory_unlock({ADVISORY_LOCK})"))
                await session.commit()


async def remap_forever(
    sessionmaker: async_sessionmaker[AsyncSession], interval_seconds: float
) -> None:
    """Look for mapping changes every ``interval_seconds`` until cancelled."""
    while True:
        try:
            await remap_if_changed(sessionmaker)
        except Exception:
            logger.exception("re-mapping failed; trying again later")
        await asyncio.sleep(interval_seconds)
