"""Opening a follow-up case in a negative answer's own transaction, with lean statements.

Only an answer of a known contact opens one: an anonymous answer has nobody to follow up.
On PostgreSQL the case and its event are stored by the statement that stores the answer
(`answer_sql.CLAIM_AND_INSERT_WITH_CASE`); elsewhere by two statements of their own.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inbound.db import new_id
from inbound.leads.events import INSERT_LEAD_EVENT, RECORD_LEAD_CHANGE, LeadEventType
from inbound.lean_sql import LeanTransaction
from inbound.surveys.answer_sql import INSERT_CASE
from inbound.surveys.case_events import case_event
from inbound.surveys.case_schemas import case_read
from inbound.surveys.follow_up import due_at
from inbound.surveys.models import CaseStatus


@dataclass(frozen=True, slots=True)
class OpenedCase:
    """The rows a negative answer adds: its case, and the case's `case.opened` event."""

    case: dict[str, Any]
    event: dict[str, Any]


async def lock_lead(
    transaction: LeanTransaction, contact_id: Any, now: datetime
) -> dict[str, Any] | None:
    """The respondent's lead at the version the case gives it, locked until the commit; taken
    before the respondent's window, in the order every writer of a lead takes its locks."""
    return await transaction.first(RECORD_LEAD_CHANGE, {"lead_id": contact_id, "now": now})


def opened_case(
    survey: Mapping[str, Any], answer: Mapping[str, Any], lead: Mapping[str, Any]
) -> OpenedCase:
    """The case of a negative answer, owned by the lead's owner and due by the touchpoint's
    SLA, and its event at the lead's new version."""
    now = answer["answered_at"]
    case = {
        "id": new_id(), "answer_id": answer["id"], "contact_id": lead["id"],
        "survey_id": survey["id"], "touchpoint_id": survey["touchpoint_id"],
        "status": CaseStatus.OPEN.value, "owner": lead["owner"], "note": None,
        "opened_at": now, "due_at": due_at(now, survey["sla_hours"]), "contacted_at": None,
        "resolved_at": None, "updated_at": now, "version": 1,
    }  # fmt: skip
    shown = case_read(
        {**answer, **case, "answer_id": answer["id"], "email": lead["email"],
         "survey_slug": survey["slug"], "touchpoint_slug": survey["touchpoint_slug"]},
        now,
    )  # fmt: skip
    return OpenedCase(case, case_event(LeadEventType.CASE_OPENED, shown, lead, now))


async def store_case(transaction: LeanTransaction, opened: OpenedCase) -> None:
    """Store a case and its event with statements of their own."""
    await transaction.execute(INSERT_CASE, opened.case)
    await transaction.execute(INSERT_LEAD_EVENT, opened.event)
