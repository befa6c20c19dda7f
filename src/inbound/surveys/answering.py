"""Answering a survey: the hot path, one short transaction of lean statements.

Who answers is a contact when the caller names one we know (a signed link's contact, an
email, or a browser id linked to a contact), else nobody we know: the answer is then stored
anonymous, with the browser id when one was given. A respondent answers once per survey
window: the claim of its window is one upsert that only an ended window gives way to, so two
answers racing from the same respondent cannot both be stored.

Only a signed link proves who answers. A page's answer that names a contact (by email or by a
browser id linked to it) is taken at its word only until the contact's own link answers: a
link's answer takes the window over from a page's, and the page's answers of that window then
count as nobody's (they keep their place in the figures, not in the contact's). Once a link
has answered, a page's answer naming the contact is refused until the window ends.

A negative answer of a known contact opens its follow-up case in the answer's transaction.
"""

import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inbound.db import new_id
from inbound.errors import Conflict, Unprocessable
from inbound.leads.reference import CaptureReference
from inbound.lean_sql import LeanTransaction
from inbound.surveys.answer_sql import (
    CLAIM_AND_INSERT,
    CLAIM_WINDOW,
    CONTACT_BY_ID,
    CONTACT_OF,
    DETACH_PAGE_ANSWERS,
    INSERT_ANSWER,
    WINDOW_OF,
)
from inbound.surveys.case_opening import lock_lead, open_case
from inbound.surveys.follow_up import is_negative
from inbound.surveys.links import LinkNotFound
from inbound.surveys.models import AnswerSource
from inbound.surveys.reference import Surveyed, survey_to_answer
from inbound.surveys.service import SurveyClosed, SurveyNotFound


class ScoreOffScale(Unprocessable):
    problem = "score-off-scale"


class AlreadyAnswered(Conflict):
    problem = "already-answered"

    def __init__(self, window_ends_at: datetime, survey_id: uuid.UUID) -> None:
        ends = window_ends_at.isoformat().replace("+00:00", "Z")
        super().__init__(
            f"already answered inside the survey's window; it takes the next answer from {ends}",
            extensions={"window_ends_at": ends},
        )
        self.window_ends_at = window_ends_at
        self.survey_id = survey_id


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
    reference: CaptureReference,
    survey_ref: str | uuid.UUID,
    respondent: Respondent,
    answer: Answer,
    now: datetime,
) -> dict[str, Any]:
    """Store an answer; the row stored. Refused when the survey is unknown (404) or archived
    (410), the score is off its scale (422), or the respondent answered inside its window
    (409, naming when the window ends)."""
    survey = await _survey(reference, survey_ref)
    if survey["archived"]:
        raise SurveyClosed(f"survey {survey['slug']!r} no longer takes answers")
    low, high = survey["scale_min"], survey["scale_max"]
    if not low <= answer.score <= high:
        raise ScoreOffScale(f"this survey's scale is {low} to {high}", field="score")
    # A link's answer writes twice (it takes the page's answers of its window off the contact),
    # and so does a negative one of a known contact (its follow-up case); a page's other
    # answers write once, the window's claim with the answer, atomic on its own.
    negative = is_negative(survey["metric"], answer.score, low, high)
    writes_more_than_once = answer.source is AnswerSource.LINK or negative
    async with _transaction(bind, writes_more_than_once) as transaction:
        contact = await _contact(transaction, respondent)
        if respondent.contact_id is not None and contact is None:
            raise LinkNotFound("the contact this link was for is gone")
        # A negative answer of a known contact opens a follow-up case; its lead is locked
        # first, before the respondent's window, in the order every writer of a lead takes its
        # locks. Any other answer costs no statement more.
        lead = None
        if contact is not None and negative:
            lead = await lock_lead(transaction, contact["id"], now)
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
        key = _respondent_key(contact, respondent.visitor_id)
        if key is None:  # nobody we can tell apart: not limited
            await transaction.execute(INSERT_ANSWER, row)
        else:
            window = timedelta(days=survey["window_days"])
            window_start = now - window
            if not await _claim_window_and_insert(transaction, key, window_start, row):
                began = await transaction.first(
                    WINDOW_OF, {"survey_id": survey["id"], "respondent": key}
                )
                ends = (began["answered_at"] if began else now) + window
                raise AlreadyAnswered(ends, survey["id"])
            if contact is not None and answer.source is AnswerSource.LINK:
                detach = {"contact": contact["id"], "survey": survey["id"],
                          "window_start": window_start}  # fmt: skip
                await transaction.execute(DETACH_PAGE_ANSWERS, detach)
        if lead is not None:
            await open_case(transaction, survey, row, lead)
    return row


def _transaction(
    bind: AsyncEngine | AsyncConnection, writes_more_than_once: bool
) -> AbstractAsyncContextManager[LeanTransaction]:
    """A transaction around the answer's statements when it writes more than once; else, on
    PostgreSQL, each statement on its own, without the BEGIN and COMMIT round trips that
    took a fifth of an answer's processor time (elsewhere, always a transaction)."""
    if writes_more_than_once:
        return LeanTransaction.begin(bind)
    return LeanTransaction.reading(bind)


async def _survey(reference: CaptureReference, ref: str | uuid.UUID) -> Surveyed:
    survey = await survey_to_answer(reference, ref)
    if survey is None:
        raise SurveyNotFound(f"no survey {ref}")
    return survey


async def _contact(transaction: LeanTransaction, respondent: Respondent) -> dict[str, Any] | None:
    """The contact who answers: a link's, else the email's, else the browser id's owner."""
    if respondent.contact_id is not None:
        return await transaction.first(CONTACT_BY_ID, {"contact_id": respondent.contact_id})
    if respondent.email is None and respondent.visitor_id is None:
        return None
    named = {"email": respondent.email, "visitor_id": respondent.visitor_id}
    return await transaction.first(CONTACT_OF, named)


async def _claim_window_and_insert(
    transaction: LeanTransaction, key: str, window_start: datetime, row: dict[str, Any]
) -> bool:
    """Take the respondent's window and store the answer, or do neither (False: the window
    is taken). One statement on PostgreSQL; its portable twin runs two."""
    claim = {name: row[name] for name in ("survey_id", "contact_id", "answered_at", "source")}
    claim |= {"respondent": key, "window_start": window_start}
    if transaction.dialect.name == "postgresql":
        return await transaction.first(CLAIM_AND_INSERT, row | claim) is not None
    if await transaction.first(CLAIM_WINDOW, claim) is None:
        return False
    await transaction.execute(INSERT_ANSWER, row)
    return True


def _respondent_key(contact: dict[str, Any] | None, visitor_id: str | None) -> str | None:
    """Whose window an answer counts against; None for an answer of nobody we can tell."""
    if contact is not None:
        return f"contact:{contact['id']}"
    if visitor_id is not None:
        return f"visitor:{visitor_id}"
    return None
