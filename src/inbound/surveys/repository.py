"""Named queries over touchpoints, surveys and answers."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlmodel import col

from inbound.db import table_of
from inbound.pagination import PageRequest, fetch_page
from inbound.repository import SluggedRepository
from inbound.surveys.models import (
    AnswerSource,
    Survey,
    SurveyAnswer,
    SurveyRespondent,
    Touchpoint,
)

ANSWERS = table_of(SurveyAnswer)
SURVEYS = table_of(Survey)


class TouchpointRepository(SluggedRepository[Touchpoint]):
    model = Touchpoint
    noun = "touchpoint"

    async def list_page(
        self, page: PageRequest, *, kind: str | None, archived: bool
    ) -> tuple[Sequence[Touchpoint], str | None]:
        """Touchpoints in creation order, of one kind or any."""
        statement = self.select().where(col(Touchpoint.archived) == archived)
        if kind is not None:
            statement = statement.where(col(Touchpoint.kind) == kind)
        return await self.page(statement, page)

    async def has_surveys(self, touchpoint_id: uuid.UUID) -> bool:
        """Whether any survey, archived or not, asks at this touchpoint."""
        statement = select(exists().where(col(Survey.touchpoint_id) == touchpoint_id))
        return bool((await self.session.execute(statement)).scalar_one())


class SurveyRepository(SluggedRepository[Survey]):
    model = Survey
    noun = "survey"

    async def list_page(
        self,
        page: PageRequest,
        *,
        touchpoint_id: uuid.UUID | None,
        metric: str | None,
        archived: bool,
    ) -> tuple[Sequence[Survey], str | None]:
        """Surveys in creation order matching every given filter."""
        statement = self.select().where(col(Survey.archived) == archived)
        if touchpoint_id is not None:
            statement = statement.where(col(Survey.touchpoint_id) == touchpoint_id)
        if metric is not None:
            statement = statement.where(col(Survey.metric) == metric)
        return await self.page(statement, page)

    async def has_answers(self, survey_id: uuid.UUID) -> bool:
        statement = select(exists().where(ANSWERS.c.survey_id == survey_id))
        return bool((await self.session.execute(statement)).scalar_one())

    async def answers_page(
        self,
        survey_id: uuid.UUID,
        page: PageRequest,
        *,
        contact_id: uuid.UUID | None,
        since: datetime | None,
        source: AnswerSource | None = None,
    ) -> tuple[Sequence[SurveyAnswer], str | None]:
        """A survey's answers in the order they came."""
        statement = select(SurveyAnswer).where(col(SurveyAnswer.survey_id) == survey_id)
        if contact_id is not None:
            statement = statement.where(col(SurveyAnswer.contact_id) == contact_id)
        if source is not None:
            statement = statement.where(col(SurveyAnswer.source) == source.value)
        if since is not None:
            statement = statement.where(col(SurveyAnswer.answered_at) >= since)
        return await fetch_page(self.session, statement, key=SurveyAnswer.id, page=page)  # type: ignore[arg-type]

    async def answers_of_contact(self, contact_id: uuid.UUID, limit: int) -> Sequence[Any]:
        """A contact's newest answers, with their survey's slug."""
        statement = (
            select(ANSWERS, SURVEYS.c.slug.label("survey_slug"))
            .join(SURVEYS, SURVEYS.c.id == ANSWERS.c.survey_id)
            .where(ANSWERS.c.contact_id == contact_id)
            .order_by(ANSWERS.c.answered_at.desc(), ANSWERS.c.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(statement)).mappings().all()

    async def window_began(self, survey_id: uuid.UUID, contact_id: uuid.UUID) -> datetime | None:
        """When the contact's latest window on the survey began, if a signed link of its own
        answered it (a page's answer naming the contact does not keep the link from
        answering)."""
        statement = select(col(SurveyRespondent.answered_at)).where(
            col(SurveyRespondent.survey_id) == survey_id,
            col(SurveyRespondent.respondent) == f"contact:{contact_id}",
            col(SurveyRespondent.source) == AnswerSource.LINK.value,
        )
        began: datetime | None = (await self.session.execute(statement)).scalar_one_or_none()
        return began
