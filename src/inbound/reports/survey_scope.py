"""What a survey report is about: the touchpoint or survey its filters name, the groups it
shows (every one, answered or not) and the CES scales it keeps apart."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.db import table_of
from inbound.leads.stages import STAGES
from inbound.personas.models import Persona
from inbound.reports.period import InvalidReportParameter
from inbound.reports.query import where_given
from inbound.reports.survey_query import SurveyBreakdown, SurveyQuery
from inbound.schemas import parse_ref
from inbound.surveys.figures import CSAT_SCALE, NPS_SCALE
from inbound.surveys.models import Metric, Survey, Touchpoint

TOUCHPOINTS = table_of(Touchpoint)
SURVEYS = table_of(Survey)
PERSONAS = table_of(Persona)
NO_PERSONA = "no persona"
NO_STAGE = "no stage"


@dataclass(frozen=True, slots=True)
class GroupLabel:
    value: Any  # what the answers' column holds: an id, a stage, or None
    key: str | None  # slug or stage; None for answers without a persona or stage
    label: str


async def filtered_touchpoint_id(session: AsyncSession, ref: str | None) -> uuid.UUID | None:
    """The touchpoint a filter names, by id or slug; naming none is a 400."""
    if ref is None:
        return None
    found = (await session.execute(_by_ref(TOUCHPOINTS, ref, TOUCHPOINTS.c.id))).scalar()
    if found is None:
        raise InvalidReportParameter(f"no touchpoint {ref!r}", field="touchpoint")
    return uuid.UUID(str(found))


async def filtered_survey_id(
    session: AsyncSession, ref: str | None, metric: Metric
) -> uuid.UUID | None:
    """The survey a filter names, by id or slug; none, or one asking another metric, is a 400."""
    if ref is None:
        return None
    statement = _by_ref(SURVEYS, ref, SURVEYS.c.id, SURVEYS.c.metric)
    found = (await session.execute(statement)).first()
    if found is None:
        raise InvalidReportParameter(f"no survey {ref!r}", field="survey")
    if found.metric != metric.value:
        raise InvalidReportParameter(
            f"survey {ref!r} asks {found.metric}, not {metric.value}", field="survey"
        )
    return uuid.UUID(str(found.id))


def _by_ref(table: Any, ref: str, *columns: Any) -> Any:
    key = parse_ref(ref)
    column = table.c.id if isinstance(key, uuid.UUID) else table.c.slug
    return select(*columns).where(column == key)


def _surveys_in_scope(query: SurveyQuery) -> Any:
    """The surveys of the report's metric its touchpoint and survey filters keep."""
    return where_given(
        select(SURVEYS.c.id).where(SURVEYS.c.metric == query.metric.value),
        (SURVEYS.c.touchpoint_id, query.touchpoint_id),
        (SURVEYS.c.id, query.survey_id),
    )


async def scales(session: AsyncSession, query: SurveyQuery, answered: Iterable[int]) -> list[int]:
    """The scales (by their top point) the report keeps apart: NPS and CSAT have one; CES
    those its surveys ask on, and any its answers were given on."""
    if query.metric is Metric.NPS:
        return [NPS_SCALE[1]]
    if query.metric is Metric.CSAT:
        return [CSAT_SCALE[1]]
    statement = select(SURVEYS.c.scale_max).where(SURVEYS.c.id.in_(_surveys_in_scope(query)))
    asked = {int(s) for s in (await session.execute(statement.distinct())).scalars()}
    return sorted(asked | set(answered))


async def group_labels(
    session: AsyncSession, query: SurveyQuery, answered: Iterable[Any]
) -> list[GroupLabel]:
    """Every group of the breakdown, in display order, answered or not: the touchpoints and
    surveys asking the metric (those the filters keep), every persona or stage with a group
    for answers without one. Groups only answers know of (a survey moved elsewhere since)
    are shown too."""
    answered = set(answered)
    match query.by:
        case SurveyBreakdown.TOUCHPOINT:
            scope = select(SURVEYS.c.touchpoint_id).where(
                SURVEYS.c.id.in_(_surveys_in_scope(query))
            )
            statement = select(TOUCHPOINTS.c.id, TOUCHPOINTS.c.slug, TOUCHPOINTS.c.name).where(
                or_(TOUCHPOINTS.c.id.in_(scope), TOUCHPOINTS.c.id.in_(answered))
            )
            return await _labels(
                session, statement.order_by(TOUCHPOINTS.c.name, TOUCHPOINTS.c.slug)
            )
        case SurveyBreakdown.SURVEY:
            statement = select(SURVEYS.c.id, SURVEYS.c.slug, SURVEYS.c.question).where(
                or_(SURVEYS.c.id.in_(_surveys_in_scope(query)), SURVEYS.c.id.in_(answered))
            )
            return await _labels(session, statement.order_by(SURVEYS.c.slug))
        case SurveyBreakdown.PERSONA:
            statement = select(PERSONAS.c.id, PERSONAS.c.slug, PERSONAS.c.name)
            if query.persona_id is not None:
                statement = statement.where(PERSONAS.c.id == query.persona_id)
            groups = await _labels(session, statement.order_by(PERSONAS.c.name, PERSONAS.c.slug))
            return groups if query.persona_id else [*groups, GroupLabel(None, None, NO_PERSONA)]
        case SurveyBreakdown.STAGE:
            known = [s.value for s in STAGES if query.stage is None or s is query.stage]
            # A stage only answers know of (a stage since renamed) still shows, after the rest.
            others = sorted(s for s in answered if s is not None and s not in known)
            groups = [GroupLabel(stage, stage, stage) for stage in [*known, *others]]
            return groups if query.stage else [*groups, GroupLabel(None, None, NO_STAGE)]
        case _:
            return []


async def _labels(session: AsyncSession, statement: Any) -> list[GroupLabel]:
    rows = (await session.execute(statement)).all()
    return [GroupLabel(row[0], str(row[1]), str(row[2])) for row in rows]
