"""The dashboard's journey section: each stage's count and conversion beside its NPS, CES and
CSAT, for the page's period and a persona chosen in the section, from the same report object
`/api/v1/reports/journey` answers with."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.db import table_of
from inbound.personas.models import Persona
from inbound.personas.service import filtered_persona_id
from inbound.reports.journey_report import (
    JOURNEY_ENTRY,
    JourneyQuery,
    journey_report,
    persona_slug,
)
from inbound.reports.journey_schemas import JourneyRead
from inbound.reports.period import InvalidReportParameter, Period
from inbound.reports.query import Mode, ReportQuery
from inbound.reports.survey_schemas import SurveyFiguresRead

PERSONAS = table_of(Persona)
NO_FIGURE = "n/a"  # a figure over no answers
MAX_REF = 64  # as the API's `persona` parameter


@dataclass(frozen=True, slots=True)
class PersonaChoice:
    slug: str
    name: str


async def journey_section(session: AsyncSession, period: Period, persona: str) -> JourneyRead:
    """The cohort journey of the period, narrowed to ``persona`` (a slug) unless it is empty."""
    if len(persona) > MAX_REF or "\x00" in persona:
        # What the API's `persona` refuses by its schema; the database would refuse a NUL.
        raise InvalidReportParameter(
            f"`persona` is a persona's slug or id: at most {MAX_REF} characters, no NUL",
            field="persona",
        )
    persona_id = await filtered_persona_id(session, persona or None, field="persona")
    query = ReportQuery.over(period, mode=Mode.COHORT, entry=JOURNEY_ENTRY, persona_id=persona_id)
    return await journey_report(
        session, JourneyQuery(query, await persona_slug(session, query)), period
    )


async def persona_choices(session: AsyncSession) -> list[PersonaChoice]:
    """What the section's persona filter offers: every persona, by name."""
    rows = await session.execute(
        select(PERSONAS.c.slug, PERSONAS.c.name).order_by(PERSONAS.c.name, PERSONAS.c.slug)
    )
    return [PersonaChoice(str(s), str(n)) for s, n in rows.all()]


def figure(value: float | None, places: int) -> str:
    """A survey figure as the page shows it: fixed decimals, or n/a over no answers."""
    return NO_FIGURE if value is None else f"{value:.{places}f}"


def interval(figures: SurveyFiguresRead, places: int) -> str:
    """The 95% interval as the page shows it, empty when there is none."""
    if figures.low is None or figures.high is None:
        return ""
    return f"{figures.low:.{places}f} to {figures.high:.{places}f}"
