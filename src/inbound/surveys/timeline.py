"""A lead's survey answers and the follow-up of the negative ones, as entries of its
timeline."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inbound.surveys.case_repository import CaseRepository
from inbound.surveys.repository import SurveyRepository

# What each step of a case shows as on the timeline, and the time it took place.
CASE_STEPS = (("case_opened", "opened_at"), ("case_contacted", "contacted_at"),
              ("case_resolved", "resolved_at"))  # fmt: skip


async def answer_timeline(
    session: AsyncSession, contact_id: uuid.UUID, limit: int
) -> list[dict[str, Any]]:
    """The contact's newest answers: metric, score on its scale, survey, comment."""
    rows = await SurveyRepository(session).answers_of_contact(contact_id, limit)
    return [
        {
            "type": "answer",
            "at": row["answered_at"],
            "id": row["id"],
            "detail": {
                "survey_id": str(row["survey_id"]),
                "survey": row["survey_slug"],
                "metric": row["metric"],
                "score": row["score"],
                "scale_min": row["scale_min"],
                "scale_max": row["scale_max"],
                "comment": row["comment"],
                "source": row["source"],
            },
        }
        for row in rows
    ]


async def case_timeline(
    session: AsyncSession, contact_id: uuid.UUID, limit: int
) -> list[dict[str, Any]]:
    """The opening, contact and resolution of the contact's newest cases, each an entry."""
    entries = []
    for row in await CaseRepository(session).of_contact(contact_id, limit):
        detail = {
            "case_id": str(row["id"]),
            "survey": row["survey_slug"],
            "metric": row["metric"],
            "score": row["score"],
            "scale_max": row["scale_max"],
            "status": row["status"],
            "owner": row["owner"],
            "due_at": row["due_at"].isoformat().replace("+00:00", "Z"),
        }
        for kind, column in CASE_STEPS:
            if row[column] is not None:
                entries.append({"type": kind, "at": row[column], "id": row["id"],
                                "detail": detail})  # fmt: skip
    return entries
