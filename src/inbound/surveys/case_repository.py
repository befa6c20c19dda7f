"""Named queries over follow-up cases: each read with its answer, survey, touchpoint and contact."""

import base64
import binascii
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, delete, literal_column, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.errors import BadRequest
from inbound.leads.repository import CONTACTS
from inbound.surveys.answer_sql import ANSWERS, CASES, RESPONDENTS, SURVEYS, TOUCHPOINTS
from inbound.surveys.models import CaseStatus

CASE_COLUMNS = (
    CASES.c.id, CASES.c.status, CASES.c.owner, CASES.c.note, CASES.c.contact_id,
    CONTACTS.c.email, CASES.c.answer_id, ANSWERS.c.metric, ANSWERS.c.score,
    ANSWERS.c.scale_min, ANSWERS.c.scale_max, ANSWERS.c.comment, ANSWERS.c.answered_at,
    CASES.c.survey_id, SURVEYS.c.slug.label("survey_slug"), CASES.c.touchpoint_id,
    TOUCHPOINTS.c.slug.label("touchpoint_slug"), CASES.c.opened_at, CASES.c.due_at,
    CASES.c.contacted_at, CASES.c.resolved_at, CASES.c.updated_at, CASES.c.version,
)  # fmt: skip
CASE_FROM = (
    CASES.join(ANSWERS, ANSWERS.c.id == CASES.c.answer_id)
    .join(SURVEYS, SURVEYS.c.id == CASES.c.survey_id)
    .join(TOUCHPOINTS, TOUCHPOINTS.c.id == CASES.c.touchpoint_id)
    .join(CONTACTS, CONTACTS.c.id == CASES.c.contact_id)
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = struct.Struct(">q16s")
EARLIEST_MICROS = (datetime(1, 1, 2, tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)
LATEST_MICROS = (datetime(9999, 12, 30, tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class CaseFilter:
    """What a list of cases keeps; every given filter must hold."""

    status: CaseStatus | None = None
    owner: str | None = None
    survey_id: uuid.UUID | None = None
    touchpoint_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    overdue_at: datetime | None = None  # not resolved and due before this time
    on_time_at: datetime | None = None  # resolved, or not due before this time
    unresolved: bool = False


@dataclass(frozen=True, slots=True)
class CasePage:
    """Where a page of cases, in due order, starts and how long it is."""

    limit: int
    after: tuple[datetime, uuid.UUID] | None = None


def encode_case_cursor(due: datetime, case_id: uuid.UUID) -> str:
    """An opaque cursor just past this case, in due order."""
    micros = (due - EPOCH) // timedelta(microseconds=1)
    return base64.urlsafe_b64encode(_CURSOR.pack(micros, case_id.bytes)).rstrip(b"=").decode()


def decode_case_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """Read a cursor made by ``encode_case_cursor``; anything else is the client's error."""
    try:
        micros, case_id = _CURSOR.unpack(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        )
    except (binascii.Error, ValueError, struct.error):
        raise BadRequest("not a cursor this API returned", field="cursor") from None
    # Like an id cursor, any cursor of the right shape is a place in the order: one past the
    # times a database holds is the start or the end of the list.
    micros = min(max(micros, EARLIEST_MICROS), LATEST_MICROS)
    return EPOCH + timedelta(microseconds=micros), uuid.UUID(bytes=case_id)


class CaseRepository:
    """Cases, for the team's API; the answer path opens them through `case_opening`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, case_id: uuid.UUID) -> dict[str, Any] | None:
        """One case with what it shows, if it exists."""
        statement = select(*CASE_COLUMNS).select_from(CASE_FROM).where(CASES.c.id == case_id)
        row = (await self.session.execute(statement)).mappings().one_or_none()
        return dict(row) if row else None

    async def contact_of(self, case_id: uuid.UUID) -> uuid.UUID | None:
        """Whose case it is (which never changes), read without a lock."""
        statement = select(CASES.c.contact_id).where(CASES.c.id == case_id)
        found: uuid.UUID | None = (await self.session.execute(statement)).scalar_one_or_none()
        return found

    async def lock(self, case_id: uuid.UUID) -> dict[str, Any] | None:
        """The case's own row, locked until the commit."""
        statement = select(CASES).where(CASES.c.id == case_id).with_for_update()
        row = (await self.session.execute(statement)).mappings().one_or_none()
        return dict(row) if row else None

    async def write(self, case_id: uuid.UUID, values: dict[str, Any]) -> None:
        """Write these columns of one case."""
        await self.session.execute(update(CASES).where(CASES.c.id == case_id).values(values))

    async def survey_takes_answers(self, survey_id: uuid.UUID) -> bool:
        """Whether the survey is still asked (not archived)."""
        statement = select(SURVEYS.c.archived).where(SURVEYS.c.id == survey_id)
        return not (await self.session.execute(statement)).scalar_one()

    async def free_window(self, survey_id: uuid.UUID, contact_id: uuid.UUID) -> None:
        """Forget when the contact last answered the survey: its next answer is taken at once."""
        await self.session.execute(
            delete(RESPONDENTS).where(
                RESPONDENTS.c.survey_id == survey_id,
                RESPONDENTS.c.respondent == f"contact:{contact_id}",
            )
        )

    async def page(
        self, filters: CaseFilter, page: CasePage
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Cases matching every filter, the earliest due first."""
        statement = _filtered(select(*CASE_COLUMNS).select_from(CASE_FROM), filters)
        if page.after is not None:
            due, case_id = page.after
            statement = statement.where(
                or_(CASES.c.due_at > due, and_(CASES.c.due_at == due, CASES.c.id > case_id))
            )
        statement = statement.order_by(CASES.c.due_at, CASES.c.id).limit(page.limit + 1)
        rows = [dict(row) for row in (await self.session.execute(statement)).mappings()]
        if len(rows) <= page.limit:
            return rows, None
        last = rows[page.limit - 1]
        return rows[: page.limit], encode_case_cursor(last["due_at"], last["id"])

    async def of_contact(self, contact_id: uuid.UUID, limit: int) -> Sequence[dict[str, Any]]:
        """A contact's cases, the latest opened first, for its timeline."""
        statement = (
            select(*CASE_COLUMNS)
            .select_from(CASE_FROM)
            .where(CASES.c.contact_id == contact_id)
            .order_by(CASES.c.opened_at.desc(), CASES.c.id.desc())
            .limit(limit)
        )
        return [dict(row) for row in (await self.session.execute(statement)).mappings()]


def _filtered(statement: Select[Any], filters: CaseFilter) -> Select[Any]:
    if filters.status is not None:
        statement = statement.where(CASES.c.status == filters.status.value)
    if filters.owner is not None:
        statement = statement.where(CASES.c.owner == filters.owner)
    if filters.survey_id is not None:
        statement = statement.where(CASES.c.survey_id == filters.survey_id)
    if filters.touchpoint_id is not None:
        statement = statement.where(CASES.c.touchpoint_id == filters.touchpoint_id)
    if filters.contact_id is not None:
        statement = statement.where(CASES.c.contact_id == filters.contact_id)
    if filters.unresolved:
        statement = statement.where(CASES.c.status != literal_column("'resolved'"))
    if filters.overdue_at is not None:
        # Written as the partial index on unresolved cases by due time states it (a literal,
        # not a parameter), so that PostgreSQL can use it.
        statement = statement.where(
            CASES.c.status != literal_column("'resolved'"), CASES.c.due_at < filters.overdue_at
        )
    if filters.on_time_at is not None:
        statement = statement.where(
            or_(CASES.c.status == "resolved", CASES.c.due_at >= filters.on_time_at)
        )
    return statement
