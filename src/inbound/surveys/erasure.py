"""What erasing a lead takes from the survey tables beyond its own answers (which go with the
contact): the anonymous answers of the browser ids linked to it, and their windows."""

import uuid

from sqlalchemy import delete, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.surveys.answer_sql import ANSWERS, RESPONDENTS
from inbound.tracking.identity_sql import IDENTITIES, IdKind


async def erase_browser_answers(session: AsyncSession, contact_id: uuid.UUID) -> None:
    """Delete the answers given without a contact by the lead's browser ids, and the windows
    they took; run it while the links still say which ids are the lead's."""
    browsers = select(IDENTITIES.c.external_id).where(
        IDENTITIES.c.contact_id == contact_id, IDENTITIES.c.kind == IdKind.ANONYMOUS.value
    )
    anonymous = (ANSWERS.c.contact_id.is_(None), ANSWERS.c.visitor_id.in_(browsers))
    # By the answers' surveys: the windows' key begins with the survey.
    windows = select(ANSWERS.c.survey_id, literal("visitor:") + ANSWERS.c.visitor_id).where(
        *anonymous
    )
    connection = await session.connection()
    await connection.execute(
        delete(RESPONDENTS).where(
            tuple_(RESPONDENTS.c.survey_id, RESPONDENTS.c.respondent).in_(windows)
        )
    )
    await connection.execute(delete(ANSWERS).where(*anonymous))
