"""Answering a survey: the hot path, one short transaction of lean statements.

Who answers is a contact when the caller names one we know (a signed link's contact, an
email, or a browser id linked to a contact), else nobody we know: the answer is then stored
anonymous, with the browser id when one was given. A respondent answers once per survey
window: the claim of its window is one upsert that only an ended window gives way to, so two
answers racing from the same respondent cannot both be stored. A negative answer of a known
contact opens its follow-up case in the same transaction.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inbound.db import new_id
from inbound.errors import Conflict, Unprocessable
from inbound.lean_sql import LeanTransaction
from inbound.schemas import parse_ref
from inbound.surveys.answer_sql import (
    CLAIM_WINDOW,
    CONTACT_BY_EMAIL,
    CONTACT_BY_ID,
    CONTACT_BY_VISITOR,
    INSERT_ANSWER,
    SURVEY_BY_ID,
    SURVEY_BY_SLUG,
    WINDOW_OF,
)
from inbound.surveys.case_opening import lock_lead, open_case
from inbound.surveys.follow_up import is_negative
from inbound.surveys.links import LinkNotFound
from inbound.surveys.models import AnswerSource
from inbound.surveys.service import SurveyClosed, SurveyNotFound


class ScoreOffScale(Unprocessable):
    problem = "score-off-scale"


class AlreadyAnswered(Conflict):
    problem = "already-answered"

    def __init__(self, window_ends_at: datetime) -> None:
        ends = window_ends_at.isoformat().replace("+00:00", "Z")
        super().__init__(
            f"already answered inside the survey's window; it takes the next answer from {ends}",
            extensions={"window_ends_at": ends},
        )
        self.window_ends_at = window_ends_at


@dataclass(frozen=True, slots=True)
class Respondent:
    """Who answers, as far as the caller can tell."""

    email: str | None = None
    visitor_id: str | None = None
    # A signed link's contact: known for certain.
    contact_id: uuid.UUID | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """What was answered, and through which door."""

    score: int
    comment: str | None
    source: AnswerSource
    site_id: uuid.UUID | None = None


async def record_answer(
    bind: AsyncEngine | AsyncConnection,
    survey_ref: str | uuid.UUID,
    respondent: Respondent,
    answer: Answer,
    now: datetime,
) -> dict[str, Any]:
    """Store an answer; the row stored. Refused when the survey is unknown (404) or archived
    (410), the score is off its scale (422), or the respondent answered inside its window
    (409, naming when the window ends)."""
    async with LeanTransaction.begin(bind) as transaction:
        survey = await _survey(transaction, survey_ref)
        if survey["archived"]:
            raise SurveyClosed(f"survey {survey['slug']!r} no longer takes answers")
        low, high = survey["scale_min"], survey["scale_max"]
        if not low <= answer.score <= high:
            raise ScoreOffScale(f"this survey's scale is {low} to {high}", field="score")
        contact = await _contact(transaction, respondent)
        if respondent.contact_id is not None and contact is None:
            raise LinkNotFound("the contact this link was for is gone")
        # A negative answer of a known contact opens a follow-up case; its lead is locked
        # first. Any other answer costs no statement more.
        lead = None
        if contact is not None and is_negative(survey["metric"], answer.score, low, high):
            lead = await lock_lead(transaction, contact["id"], now)
        key = _respondent_key(contact, respondent.visitor_id)
        if key is not None:
            window = timedelta(days=survey["window_days"])
            claim = {"survey_id": survey["id"], "respondent": key, "answered_at": now,
                     "contact_id": contact["id"] if contact else None,
                     "window_start": now - window}  # fmt: skip
            if await transaction.first(CLAIM_WINDOW, claim) is None:
                began = await transaction.first(
                    WINDOW_OF, {"survey_id": survey["id"], "respondent": key}
                )
                raise AlreadyAnswered((began["answered_at"] if began else now) + window)
        row = {
            "id": new_id(),
            "survey_id": survey["id"],
            "touchpoint_id": survey["touchpoint_id"],
            "metric": survey["metric"],
            "score": answer.score,
            "scale_min": low,
            "scale_max": high,
            "comment": answer.comment or None,
            "contact_id": contact["id"] if contact else None,
            "visitor_id": respondent.visitor_id,
            # Where the contact stands now: its figures per persona and stage keep this.
            "persona_id": contact["persona_id"] if contact else None,
            "stage": contact["stage"] if contact else None,
            "source": answer.source.value,
            "site_id": answer.site_id,
            "answered_at": now,
        }
        await transaction.execute(INSERT_ANSWER, row)
        if lead is not None:
            await open_case(transaction, survey, row, lead)
    return row


async def _survey(transaction: LeanTransaction, ref: str | uuid.UUID) -> dict[str, Any]:
    key = ref if isinstance(ref, uuid.UUID) else parse_ref(ref)
    statement = SURVEY_BY_ID if isinstance(key, uuid.UUID) else SURVEY_BY_SLUG
    survey = await transaction.first(statement, {"ref": key})
    if survey is None:
        raise SurveyNotFound(f"no survey {ref}")
    return survey


async def _contact(transaction: LeanTransaction, respondent: Respondent) -> dict[str, Any] | None:
    """The contact who answers: a link's, else the email's, else the browser id's owner."""
    if respondent.contact_id is not None:
        return await transaction.first(CONTACT_BY_ID, {"contact_id": respondent.contact_id})
    if respondent.email is not None:
        found = await transaction.first(CONTACT_BY_EMAIL, {"email": respondent.email})
        if found is not None:
            return found
    if respondent.visitor_id is not None:
        return await transaction.first(CONTACT_BY_VISITOR, {"visitor_id": respondent.visitor_id})
    return None


def _respondent_key(contact: dict[str, Any] | None, visitor_id: str | None) -> str | None:
    """Whose window an answer counts against; None for an answer of nobody we can tell."""
    if contact is not None:
        return f"contact:{contact['id']}"
    if visitor_id is not None:
        return f"visitor:{visitor_id}"
    return None
