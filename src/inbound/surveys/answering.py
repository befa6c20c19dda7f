"""Answering a survey: the hot path, a few lean statements.

Who answers is a contact when the caller names one we know (a signed link's contact, an
email, or a browser id linked to a contact), else nobody we know: the answer is then stored
anonymous, with the browser id when one was given. A respondent answers once per survey
window: the claim of its window is one upsert that only an ended window gives way to, so two
answers racing from the same respondent cannot both be stored.

Only a signed link proves who answers. A page's answer that names a contact (by email or by a
browser id linked to it) is taken at its word only until the contact's own link answers: a
link's answer takes the window over from a page's, and the page's answers of that window then
count as nobody's (they keep their place in the figures, not in the contact's), and the
cases they opened are resolved (`case_takeover`). Once a link has answered, a page's answer
naming the contact is refused until the window ends.

A negative answer of a known contact opens its follow-up case in the answer's transaction.
Who answers is read first, on its own; only an answer that writes more than itself (a known
contact's negative or link answer) then takes a transaction.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inbound.db import new_id
from inbound.errors import Conflict, Unprocessable
from inbound.leads.capture.reference import CaptureReference
from inbound.leads.events import LOCK_LEAD
from inbound.lean_sql import LeanTransaction
from inbound.surveys.answer_sql import (
    CLAIM_AND_INSERT,
    CLAIM_AND_INSERT_WITH_CASE,
    CLAIM_OF,
    CLAIM_WINDOW,
    CONTACT_BY_ID,
    CONTACT_OF,
    DETACH_PAGE_ANSWERS,
    INSERT_ANSWER,
    WINDOW_OF,
)
from inbound.surveys.case_opening import OpenedCase, lock_lead, opened_case, store_case
from inbound.surveys.case_takeover import close_taken_over_cases
from inbound.surveys.follow_up import is_negative
from inbound.surveys.links import LinkNotFound
from inbound.surveys.models import AnswerSource
from inbound.surveys.reference import Surveyed, survey_to_answer
from inbound.surveys.service import SurveyClosed, SurveyNotFound


class ScoreOffScale(Unprocessable, problem="score-off-scale"): ...


class AlreadyAnswered(Conflict, problem="already-answered"):
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
    *,
    wait_for_flush: bool = False,
) -> dict[str, Any]:
    """Store an answer; the row stored. Refused when the survey is unknown (404) or archived
    (410), the score is off its scale (422), or the respondent answered inside its window
    (409, naming when the window ends). On PostgreSQL the answer is taken before its commit
    reaches the disk unless ``wait_for_flush`` (see `answer_sql`)."""
    survey = await survey_taking(reference, survey_ref, answer.score)
    low, high = survey["scale_min"], survey["scale_max"]
    async with LeanTransaction.reading(bind) as statements:
        contact = await _contact(statements, respondent)
        if respondent.contact_id is not None and contact is None:
            raise LinkNotFound("the contact this link was for is gone")
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
        stored = row | {"synchronous_commit": None if wait_for_flush else "off"}
        key = _respondent_key(contact, respondent.visitor_id)
        if key is None:  # nobody we can tell apart: not limited
            await statements.execute(INSERT_ANSWER, stored)
        elif contact is not None and _writes_more_than_once(survey, answer):
            async with statements.atomic() as transaction:
                await _store_with_follow_up(transaction, survey, answer, contact, key, stored)
        else:  # the window's claim with the answer: one statement, atomic on its own
            window_start = now - timedelta(days=survey["window_days"])
            if not await _claim_window_and_insert(statements, key, window_start, stored):
                raise await _refusal(statements, survey, key, now)
    return row


async def _store_with_follow_up(
    transaction: LeanTransaction,
    survey: Surveyed,
    answer: Answer,
    contact: dict[str, Any],
    key: str,
    row: dict[str, Any],
) -> None:
    """A known contact's answer that writes more than once: a negative one opens its
    follow-up case, a link's takes the page's answers of the window it takes over off the
    contact, and closes the cases they opened."""
    now = row["answered_at"]
    window_start = now - timedelta(days=survey["window_days"])
    opened = None
    # The lead is locked first, before the respondent's window, in the order every writer of
    # a lead takes its locks: a negative answer opens a case, a link's answer may close one.
    if _opens_case(survey, answer):
        lead = await lock_lead(transaction, contact["id"], now)
        if lead is not None:
            opened = opened_case(survey, row, lead)
    else:
        await transaction.first(LOCK_LEAD, {"lead_id": contact["id"]})
    page_window = None
    if answer.source is AnswerSource.LINK:
        current = await transaction.first(CLAIM_OF, {"survey_id": survey["id"], "respondent": key})
        if (
            current
            and current["source"] == AnswerSource.PUBLIC
            and current["answered_at"] > window_start
        ):
            page_window = current["answered_at"]
    if not await _claim_window_and_insert(transaction, key, window_start, row, opened):
        raise await _refusal(transaction, survey, key, now)
    if page_window is not None:
        # Only the window taken over: a window that ended, or that resolving a case freed,
        # keeps its answers the contact's.
        await close_taken_over_cases(transaction, contact["id"], survey["id"], page_window, now)
        detach = {"contact": contact["id"], "survey": survey["id"], "since": page_window}
        await transaction.execute(DETACH_PAGE_ANSWERS, detach)


def _writes_more_than_once(survey: Surveyed, answer: Answer) -> bool:
    """Whether a known contact's answer writes more than itself: a negative one opens its
    follow-up case, a link's takes the page's answers of its window off the contact."""
    return answer.source is AnswerSource.LINK or _opens_case(survey, answer)


def _opens_case(survey: Surveyed, answer: Answer) -> bool:
    """Whether a known contact's answer opens a follow-up case."""
    return is_negative(survey["metric"], answer.score, survey["scale_min"], survey["scale_max"])


async def _refusal(
    statements: LeanTransaction, survey: Surveyed, key: str, now: datetime
) -> AlreadyAnswered:
    """The refusal of an answer whose respondent's window is taken, naming when it ends."""
    began = await statements.first(WINDOW_OF, {"survey_id": survey["id"], "respondent": key})
    ends = (began["answered_at"] if began else now) + timedelta(days=survey["window_days"])
    return AlreadyAnswered(ends, survey["id"])


async def survey_taking(reference: CaptureReference, ref: str | uuid.UUID, score: int) -> Surveyed:
    """The survey ``ref`` names, if it takes this score: refused when it is unknown (404) or
    archived (410), or the score is off its scale (422)."""
    survey = await survey_to_answer(reference, ref)
    if survey is None:
        raise SurveyNotFound(f"no survey {ref}")
    if survey["archived"]:
        raise SurveyClosed(f"survey {survey['slug']!r} no longer takes answers")
    low, high = survey["scale_min"], survey["scale_max"]
    if not low <= score <= high:
        raise ScoreOffScale(f"this survey's scale is {low} to {high}", field="score")
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
    transaction: LeanTransaction,
    key: str,
    window_start: datetime,
    row: dict[str, Any],
    opened: OpenedCase | None = None,
) -> bool:
    """Take the respondent's window and store the answer, with its follow-up case when one is
    ``opened``, or do none of it (False: the window is taken). One statement on PostgreSQL;
    its portable twin runs two, and two more for a case."""
    claim = {name: row[name] for name in ("survey_id", "contact_id", "answered_at", "source")}
    claim |= {"respondent": key, "window_start": window_start}
    if transaction.dialect.name == "postgresql":
        if opened is None:
            return await transaction.first(CLAIM_AND_INSERT, row | claim) is not None
        case = {f"case_{name}": value for name, value in opened.case.items()}
        event = {f"event_{name}": value for name, value in opened.event.items()}
        params = row | claim | case | event
        return await transaction.first(CLAIM_AND_INSERT_WITH_CASE, params) is not None
    if await transaction.first(CLAIM_WINDOW, claim) is None:
        return False
    await transaction.execute(INSERT_ANSWER, row)
    if opened is not None:
        await store_case(transaction, opened)
    return True


def _respondent_key(contact: dict[str, Any] | None, visitor_id: str | None) -> str | None:
    """Whose window an answer counts against; None for an answer of nobody we can tell."""
    if contact is not None:
        return f"contact:{contact['id']}"
    if visitor_id is not None:
        return f"visitor:{visitor_id}"
    return None
