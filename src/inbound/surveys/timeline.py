"""A lead's survey answers, as entries of its timeline."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inbound.surveys.repository import SurveyRepository


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
