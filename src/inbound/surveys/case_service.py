"""Following up negative answers: reading cases, and moving them forward.

A change to a case is a change of its lead: the lead is locked first (the order in which
every writer of a lead takes its locks), takes a new version, and the case's event takes its
place among the lead's events.
"""

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inbound.db import utcnow
from inbound.errors import NotFound
from inbound.leads.events import INSERT_LEAD_EVENT, LOCK_LEAD, RECORD_LEAD_CHANGE, LeadEventType
from inbound.lean_sql import LeanStatement
from inbound.surveys.case_events import case_event
from inbound.surveys.case_repository import CaseFilter, CasePage, CaseRepository
from inbound.surveys.case_schemas import CaseRead, case_read
from inbound.surveys.follow_up import check_move
from inbound.surveys.models import CaseStatus

# The fields a change may touch, in the order events name them.
CHANGEABLE = ("status", "owner", "note")
# A version check against the case's current version (412 when it fails).
Precondition = Callable[[int], None]
# The signed link that asks a contact a survey again: (survey, contact) -> its document.
LinkMaker = Callable[[uuid.UUID, uuid.UUID], dict[str, Any]]


class CaseNotFound(NotFound, problem="case-not-found"): ...


class CaseService:
    """The follow-up cases of negative answers."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.cases = CaseRepository(session)

    async def get(self, case_id: uuid.UUID) -> CaseRead:
        row = await self.cases.get(case_id)
        if row is None:
            raise CaseNotFound(f"no case {case_id}")
        return case_read(row, utcnow())

    async def list_page(
        self, filters: CaseFilter, page: CasePage
    ) -> tuple[list[CaseRead], str | None]:
        """Cases matching every filter, the earliest due first."""
        rows, next_cursor = await self.cases.page(filters, page)
        now = utcnow()
        return [case_read(row, now) for row in rows], next_cursor

    async def open_of_contact(self, contact_id: uuid.UUID, limit: int) -> list[CaseRead]:
        """A contact's cases not yet resolved, the earliest due first."""
        cases, _ = await self.list_page(
            CaseFilter(contact_id=contact_id, unresolved=True), CasePage(limit=limit)
        )
        return cases

    async def update(
        self,
        case_id: uuid.UUID,
        changes: dict[str, Any],
        *,
        precondition: Precondition,
        make_link: LinkMaker,
    ) -> CaseRead:
        """Apply a partial change: the status forward only (422 otherwise), the owner, the
        note. Resolving frees the contact's survey window and asks it again (the link rides
        on `case.resolved`). A change that changes nothing writes nothing."""
        contact_id = await self.cases.contact_of(case_id)
        if contact_id is None:
            raise CaseNotFound(f"no case {case_id}")
        await self._run(LOCK_LEAD, {"lead_id": contact_id})
        case = await self.cases.lock(case_id)
        if case is None:  # erased with its lead meanwhile
            raise CaseNotFound(f"no case {case_id}")
        precondition(case["version"])
        now = utcnow()
        values = _new_values(case, changes, now)
        if not values:
            return await self.get(case_id)
        moved = [name for name in CHANGEABLE if name in values]
        values |= {"updated_at": now, "version": case["version"] + 1}
        await self.cases.write(case_id, values)
        lead = await self._run(RECORD_LEAD_CHANGE, {"lead_id": contact_id, "now": now})
        resolved = values.get("status") == CaseStatus.RESOLVED
        link = None
        if resolved:
            await self.cases.free_window(case["survey_id"], contact_id)
            if await self.cases.survey_takes_answers(case["survey_id"]):
                link = make_link(case["survey_id"], contact_id)
        shown = await self.get(case_id)
        kind = LeadEventType.CASE_RESOLVED if resolved else LeadEventType.CASE_UPDATED
        event = case_event(kind, shown, lead, now, changes=moved, survey_link=link)
        await self._run(INSERT_LEAD_EVENT, event)
        return shown

    async def _run(self, statement: LeanStatement, params: dict[str, Any]) -> dict[str, Any]:
        """A lead statement on this session's transaction; the row it returns, if any."""
        connection = await self.session.connection()
        result = await connection.execute(statement.statement(connection.dialect), params)
        row = result.mappings().one_or_none() if result.returns_rows else None
        return dict(row) if row else {}


def _new_values(case: dict[str, Any], changes: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The columns a change moves; the fields sent with the values they have are left out."""
    values: dict[str, Any] = {}
    if "status" in changes:
        current, wanted = CaseStatus(case["status"]), CaseStatus(changes["status"])
        check_move(current, wanted)
        if wanted != current:
            values["status"] = wanted.value
            values["contacted_at" if wanted == CaseStatus.CONTACTED else "resolved_at"] = now
    for name in ("owner", "note"):
        if name in changes and changes[name] != case[name]:
            values[name] = changes[name]
    return values
