"""Closing the cases that a signed link's answer takes away from its contact.

Anyone may type a contact's email into a page: a page's answer that named the contact counts
as theirs only until the contact's own link answers in the same window (see `answering`).
The case such an answer opened then follows up feedback the contact never gave, so the link's
answer resolves it, in its own transaction, with a note that says why. Its `case.resolved`
event tells whoever was told of `case.opened`; the contact is not asked again, having just
answered.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update

from inbound.leads.events import INSERT_LEAD_EVENT, RECORD_LEAD_CHANGE, LeadEventType
from inbound.lean_sql import LeanStatement, LeanTransaction
from inbound.surveys.answer_sql import ANSWERS, CASES
from inbound.surveys.case_events import case_event
from inbound.surveys.case_repository import CASE_COLUMNS, CASE_FROM
from inbound.surveys.case_schemas import case_read
from inbound.surveys.models import AnswerSource, CaseStatus

TAKEN_OVER_NOTE = (
    "Closed without follow-up: the contact answered this survey through their own link, so "
    "the page's answer that opened this case no longer counts as theirs."
)

# The unresolved cases of the contact's page answers from ``since`` on, locked.
CASES_OF_PAGE_ANSWERS = LeanStatement(
    select(*CASE_COLUMNS)
    .select_from(CASE_FROM)
    .where(
        CASES.c.contact_id == bindparam("contact"),
        CASES.c.survey_id == bindparam("survey"),
        CASES.c.status != CaseStatus.RESOLVED.value,
        ANSWERS.c.source == AnswerSource.PUBLIC.value,
        ANSWERS.c.answered_at >= bindparam("since"),
    )
    .order_by(CASES.c.opened_at, CASES.c.id)
    .with_for_update(of=CASES)
)
RESOLVE_CASE = LeanStatement(
    update(CASES)
    .where(CASES.c.id == bindparam("case_id"))
    .values(
        status=CaseStatus.RESOLVED.value,
        note=bindparam("note"),
        resolved_at=bindparam("now"),
        updated_at=bindparam("now"),
        version=CASES.c.version + 1,
    )
)


async def close_taken_over_cases(
    transaction: LeanTransaction,
    contact_id: uuid.UUID,
    survey_id: uuid.UUID,
    since: datetime,
    now: datetime,
) -> int:
    """Resolve the open cases of the contact's page answers of ``survey_id`` from ``since``
    on; how many. The lead must be locked already (every writer of a lead locks it first)."""
    scope = {"contact": contact_id, "survey": survey_id, "since": since}
    cases = await transaction.rows(CASES_OF_PAGE_ANSWERS, scope)
    if not cases:
        return 0
    lead = await transaction.first(RECORD_LEAD_CHANGE, {"lead_id": contact_id, "now": now})
    assert lead is not None, "the lead is locked"
    for ordinal, case in enumerate(cases):
        # The owner's own note, if any, stays below the reason.
        note = TAKEN_OVER_NOTE if not case["note"] else f"{TAKEN_OVER_NOTE}\n\n{case['note']}"
        await transaction.execute(RESOLVE_CASE, {"case_id": case["id"], "note": note, "now": now})
        resolved: dict[str, Any] = case | {
            "status": CaseStatus.RESOLVED.value, "note": note, "resolved_at": now,
            "updated_at": now, "version": case["version"] + 1,
        }  # fmt: skip
        event = case_event(
            LeadEventType.CASE_RESOLVED, case_read(resolved, now), lead, now,
            changes=("status", "note"), survey_link=None,
        )  # fmt: skip
        await transaction.execute(INSERT_LEAD_EVENT, event | {"ordinal": ordinal})
    return len(cases)
