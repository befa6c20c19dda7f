"""The survey an answer names, kept in memory for a few seconds like a capture's site and asset.

Every answer reads its survey's scale, window and archived flag, which change a few times a
year. Each process keeps them for `INBOUND_CACHE_SECONDS` (`inbound.leads.capture.reference`):
a change through this process's API (archiving, a new window) counts at once here, and, with
`INBOUND_REDIS_URL` set, in every process as soon as it hears; without Redis, within the cache
time.
"""

import uuid
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.leads.capture.reference import CaptureReference
from inbound.schemas import parse_ref
from inbound.surveys.answer_sql import SURVEY_COLUMNS, SURVEY_FROM, SURVEYS

Surveyed = Mapping[str, Any]


async def survey_to_answer(reference: CaptureReference, ref: str | uuid.UUID) -> Surveyed | None:
    """The survey's id, slug, touchpoint (with its slug and SLA), metric, scale, window and
    archived flag, by id or slug; None when there is no such survey. Shared by every answer:
    read-only."""
    key = ref if isinstance(ref, uuid.UUID) else parse_ref(ref)

    async def load(session: AsyncSession) -> Surveyed | None:
        column = SURVEYS.c.id if isinstance(key, uuid.UUID) else SURVEYS.c.slug
        statement = select(*SURVEY_COLUMNS).select_from(SURVEY_FROM).where(column == key)
        found = (await session.execute(statement)).first()
        return None if found is None else MappingProxyType(dict(found._mapping))

    return await reference.remember(("survey", key), load)
