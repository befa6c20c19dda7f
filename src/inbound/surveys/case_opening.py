"""Opening a follow-up case in a negative answer's own transaction, with lean statements.

Only an answer of a known contact opens one: an anonymous answer has nobody to follow up.
"""

from collections.abc import Mapping
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


async def lock_lead(
    transaction: LeanTransaction, contact_id: Any, now: datetime
) -> dict[str, Any] | None:
    """The respondent's lead at the version the case gives it, locked until the commit; taken
    before the respondent's window, in the order every writer of a lead takes its locks."""
    return await transaction.first(RECORD_LEAD_CHANGE, {"lead_id": contact_id, "now": now})


async def open_case(
    transaction: LeanTransaction,
    survey: Mapping[str, Any],
    answer: dict[str, Any],
    lead: dict[str, Any],
) -> dict[str, Any]:
    """Store the case of a negative answer, owned by the lead's owner and due by the
    touchpoint's SLA, and its `case.opened` event; the case stored."""
    now = answer["answered_at"]
    case = {
        "id": new_id(), "answer_id": answer["id"], "contact_id": lead["id"],
        "survey_id": survey["id"], "touchpoint_id": survey["touchpoint_id"],
        "status": CaseStatus.OPEN.value, "owner": lead["owner"], "note": None,
        "opened_at": now, "due_at": due_at(now, survey["sla_hours"]), "contacted_at": None,
        "resolved_at": None, "updated_at": now, "version": 1,
    }  # fmt: skip
    await transaction.execute(INSERT_CASE, case)
    shown = case_read(
        {**answer, **case, "answer_id": answer["id"], "email": lead["email"],
         "survey_slug": survey["slug"], "touchpoint_slug": survey["touchpoint_slug"]},
        now,
    )  # fmt: skip
    event = case_event(LeadEventType.CASE_OPENED, shown, lead, now)
    await transaction.execute(INSERT_LEAD_EVENT, event)
    return case
