"""The journey report's survey side: the answers given at each lifecycle stage, counted.

SQL only counts: answers per (metric, stage, scale, score) inside the period, in one pass over
the period's answers of the three metrics. The figures (NPS, CES, CSAT and their intervals)
come from those histograms through `inbound.surveys.figures`, as in the survey report.
"""

import uuid
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.leads.repository import CONTACTS
from inbound.leads.stages import STAGES
from inbound.reports.daily.read import AnswerCounts, answer_counts
from inbound.reports.query import where_given
from inbound.reports.survey_query import ANSWERS
from inbound.surveys.models import Metric

STAGE_VALUES = [stage.value for stage in STAGES]


@dataclass(frozen=True, slots=True)
class AnswerScope:
    """Which answers the journey's figures count."""

    start: datetime
    end: datetime  # exclusive
    persona_id: uuid.UUID | None = None  # the persona the contact had when answering
    site_id: uuid.UUID | None = None  # the contact's first-touch site


# (metric, stage) -> scale_max -> score -> answers
StageHistograms = dict[tuple[Metric, str], dict[int, Counter[int]]]


def stage_answers_statement(scope: AnswerScope) -> Select[Any]:
    """Answers per (metric, stage, scale, score) given inside the period at a funnel stage.

    Each metric's answers are one range of the (metric, answered_at) index, which holds the
    stage, persona, scale and score: PostgreSQL reads them from the index alone. An answer
    without a stage (a visitor not yet a contact) stands at no stage of the journey.
    """
    keys = [ANSWERS.c.metric, ANSWERS.c.stage, ANSWERS.c.scale_max, ANSWERS.c.score]
    statement = select(*keys, func.count()).where(
        ANSWERS.c.metric.in_([metric.value for metric in Metric]),
        ANSWERS.c.answered_at >= scope.start,
        ANSWERS.c.answered_at < scope.end,
        ANSWERS.c.stage.in_(STAGE_VALUES),
    )
    statement = where_given(statement, (ANSWERS.c.persona_id, scope.persona_id))
    if scope.site_id is not None:
        # First touch never changes: the site the contact came from then is its site now.
        came_from_site = select(CONTACTS.c.id).where(
            CONTACTS.c.id == ANSWERS.c.contact_id, CONTACTS.c.first_site_id == scope.site_id
        )
        statement = statement.where(came_from_site.exists())
    return statement.group_by(*keys)


async def count_stage_answers(session: AsyncSession, scope: AnswerScope) -> StageHistograms:
    """The histograms of the period's answers, per metric and the stage they were given at:
    from the day tables where they hold them (they know no site), else from the answers."""
    answered: AnswerCounts
    if scope.site_id is None:
        answered = await answer_counts(
            session, scope.start, scope.end, scope.persona_id,
            lambda low, high: stage_answers_statement(replace(scope, start=low, end=high)),
        )  # fmt: skip
    else:
        rows = (await session.execute(stage_answers_statement(scope))).all()
        answered = Counter({(str(m), str(st), int(high), int(sc)): int(n)
                            for m, st, high, sc, n in rows})  # fmt: skip
    counts: StageHistograms = {}
    for (metric, stage, scale_max, score), answers in answered.items():
        by_scale = counts.setdefault((Metric(metric), str(stage)), {})
        by_scale.setdefault(int(scale_max), Counter())[int(score)] += int(answers)
    return counts
