"""Background re-mapping: when personas, asset tags or settings change, contacts follow.

A pass starts when the fingerprint of everything mapping reads differs from the last finished
pass's. It walks contacts in id order, a batch per short transaction, and writes only the
contacts whose persona, fit or grade changed, each guarded by its version so that a capture
committed meanwhile is never overwritten with an older picture.
"""

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.db import utcnow
from inbound.leads.events import before_change, lead_events
from inbound.leads.lifecycle import mql_score, promote_if_qualified
from inbound.leads.models import RemapRun
from inbound.leads.qualification.evaluation import evaluate
from inbound.leads.qualification.inputs import MappingInputs, load_inputs
from inbound.leads.qualification.scoring import decayed
from inbound.leads.repository import MAPPING_COLUMNS, LeadRepository
from inbound.leads.state import ContactState, LeadEventRow, StageChangeRow
from inbound.outage import OutageWatch, schema_missing, unavailability

logger = structlog.get_logger(__name__)

BATCH_SIZE = 500
ADVISORY_LOCK = 0x1B0A_7D  # any constant shared by every process of this service
STALE_AFTER = timedelta(minutes=2)
ACTOR = "remap"
_mapping_values = attrgetter(*MAPPING_COLUMNS)


def settle_seconds(cache_seconds: float) -> float:
    """How long a pass waits before it walks, when capturing processes keep their inputs
    for ``cache_seconds``: that long, and a second for the captures in flight."""
    return cache_seconds + 1.0 if cache_seconds > 0 else 0.0


async def remap_if_changed(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    force: bool = False,
    gentle: bool = False,
    settle: float = 0.0,
) -> RemapRun | None:
    """Run one pass when mapping inputs changed since the last one (or `force`); else None.

    Also None while another process's pass is alive: passes never overlap. A `gentle` pass
    rests between batches, for a process that also serves requests.

    Processes that capture keep mapping inputs in memory for a while: a pass that walked at
    once could pass a contact that a capture then maps with the old inputs, and nothing would
    correct it. So the pass waits ``settle`` seconds (see `settle_seconds`) after claiming
    its turn, then reads the inputs as they stand.
    """
    async with sessionmaker() as session:
        await _serialize(session)
        repository = LeadRepository(session)
        now = utcnow()
        if await repository.remap_in_progress(now - STALE_AFTER):
            return None
        inputs = await load_inputs(session)
        fingerprint = inputs.fingerprint()
        if not force and await repository.last_remap_fingerprint() == fingerprint:
            return None
        run = RemapRun(fingerprint=fingerprint, started_at=now, heartbeat_at=now)
        session.add(run)
        await session.commit()
    if settle > 0:
        await asyncio.sleep(settle)
        async with sessionmaker() as session:
            inputs = await load_inputs(session)
        run.fingerprint = inputs.fingerprint()
    return await _remap_all(sessionmaker, inputs, run, gentle=gentle)


async def _serialize(session: AsyncSession) -> None:
    """Make deciding whether to start a pass one process at a time, until the commit.

    SQLite transactions here begin with `BEGIN IMMEDIATE`, which already queues writers.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK})"))


async def _remap_all(
    sessionmaker: async_sessionmaker[AsyncSession],
    inputs: MappingInputs,
    run: RemapRun,
    *,
    gentle: bool,
) -> RemapRun:
    after: uuid.UUID | None = None
    while True:
        started = time.perf_counter()
        async with sessionmaker() as session:
            repository = LeadRepository(session)
            rows = await repository.contacts_after(after, BATCH_SIZE)
            if rows:
                run.checked += len(rows)
                run.changed += await _remap_batch(
                    session, [ContactState.of(row) for row in rows], inputs
                )
                after = rows[-1]["id"]
            else:
                run.finished_at = utcnow()
            run.heartbeat_at = utcnow()
            await repository.save_remap_run(run)
            await session.commit()
        if run.finished_at is not None:
            break
        # Resting as long as the batch took leaves the requests this process serves at
        # least half of its time; 100,000 contacts still take well under a minute.
        await asyncio.sleep(time.perf_counter() - started if gentle else 0)
    logger.info("contacts re-mapped", checked=run.checked, changed=run.changed)
    return run


@dataclass(slots=True)
class BatchChanges:
    """What re-mapping one batch changes: plain re-mappings, and promotions to MQL, each with
    the events it makes."""

    remapped: list[dict[str, Any]] = field(default_factory=list)
    remapped_events: list[LeadEventRow] = field(default_factory=list)
    promoted: list[tuple[ContactState, int, list[StageChangeRow], list[LeadEventRow]]] = field(
        default_factory=list
    )

    def __len__(self) -> int:
        return len(self.remapped) + len(self.promoted)


async def _remap_batch(
    session: AsyncSession, contacts: list[ContactState], inputs: MappingInputs
) -> int:
    """Re-evaluate one batch; write the contacts whose mapping changed. How many did."""
    now = utcnow()
    changes = _reevaluate(contacts, inputs, now)
    repository = LeadRepository(session)
    await repository.write_mappings(changes.remapped, now)
    await repository.insert_events_if_written(changes.remapped_events)
    for contact, seen_version, stage_changes, events in changes.promoted:
        values = contact.columns()
        del values["id"]
        if await repository.update_contact_if_version(contact.id, seen_version, values):
            await repository.insert_stage_changes(stage_changes)
            await repository.insert_events(events)
    return len(changes)


def _reevaluate(contacts: list[ContactState], inputs: MappingInputs, now: datetime) -> BatchChanges:
    changes = BatchChanges()
    half_life = inputs.settings.scoring.half_life_days
    for contact in contacts:
        columns = evaluate(contact, inputs.personas, inputs.relevance, inputs.settings)
        remapped = any(getattr(contact, name) != value for name, value in columns.items())
        # Lowered MQL thresholds promote leads whose mapping did not change at all. Most
        # contacts of a pass change in neither way, and are passed before the copy that
        # their events would compare against.
        if not remapped and mql_score(contact, inputs.settings, now=now) is None:
            continue
        before = before_change(contact)
        seen_version = contact.version
        contact.update(columns)
        stage_changes = promote_if_qualified(contact, inputs.settings, now=now, actor=ACTOR)
        if not remapped and not stage_changes:
            continue
        contact.version, contact.updated_at = seen_version + 1, now
        score = decayed(contact.score, contact.score_at, now, half_life)
        events = lead_events(before, contact, score=score, at=now, stage_changes=stage_changes)
        if stage_changes:
            changes.promoted.append((contact, seen_version, stage_changes, events))
        else:
            mapping = dict(zip(MAPPING_COLUMNS, _mapping_values(contact), strict=True))
            changes.remapped.append(mapping | {"id": contact.id, "version": seen_version})
            changes.remapped_events.extend(events)
    return changes


async def remap_forever(
    sessionmaker: async_sessionmaker[AsyncSession],
    interval_seconds: float,
    *,
    gentle: bool,
    settle: float = 0.0,
) -> None:
    """Look for mapping changes every ``interval_seconds`` until cancelled."""
    watch = OutageWatch(task="remap", base_seconds=interval_seconds, max_seconds=30.0)
    while True:
        wait = interval_seconds
        try:
            await remap_if_changed(sessionmaker, gentle=gentle, settle=settle)
            watch.succeeded()
        except Exception as error:
            # A database that is away fails every pass alike: logged when it goes and comes.
            reason = unavailability(error) or schema_missing(error)
            if reason is None:
                logger.exception("re-mapping failed; trying again later")
            else:
                wait = max(interval_seconds, watch.failed(reason))
        await asyncio.sleep(wait)
