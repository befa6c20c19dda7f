"""The touchpoints, surveys and answers the survey report tests read, known to the test.

Rows go straight into the tables through the models (the answering API is not what these
tests are about); the answers are drawn at random from a fixed seed, with a few placed on the
edges of days, months and time zones on purpose.
"""

import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.surveys.models import Survey, SurveyAnswer, Touchpoint
from tests.conftest import Headers
from tests.support.world import make_persona

# slug: (kind, stage or channel)
TOUCHPOINTS = {
    "onboarding": ("stage", "customer"),
    "support": ("channel", "support"),
    "pricing": ("channel", "pricing-call"),
    "events": ("channel", "events"),  # an NPS survey nobody answered
    "webinar": ("channel", "webinar"),  # no survey at all
}
# slug: (touchpoint, metric, scale_max)
SURVEYS = {
    "nps-onboarding": ("onboarding", "nps", 10),
    "nps-support": ("support", "nps", 10),
    "nps-events": ("events", "nps", 10),
    "ces-support": ("support", "ces", 5),
    "ces7-support": ("support", "ces", 7),
    "ces7-onboarding": ("onboarding", "ces", 7),
    "csat-support": ("support", "csat", 5),
    "csat-pricing": ("pricing", "csat", 5),
}
ANSWERED = [s for s in SURVEYS if s != "nps-events"]
PERSONAS = ("cio", "cfo")
STAGES = ("lead", "customer", "evangelist")
# Around the turn of January in New York (UTC-5) and in UTC.
EDGES = [
    datetime(2026, 1, 1, 2, tzinfo=UTC),  # 31 December in New York
    datetime(2026, 1, 1, 5, tzinfo=UTC),  # midnight in New York: 1 January
    datetime(2026, 2, 1, 3, tzinfo=UTC),  # still January in New York
    datetime(2026, 2, 1, 4, 59, 59, 999999, tzinfo=UTC),  # the last instant of it there
    datetime(2026, 2, 1, 5, tzinfo=UTC),  # February there too
    datetime(2026, 1, 4, 23, 59, tzinfo=UTC),  # Sunday, end of ISO week 1 in UTC
    datetime(2026, 1, 5, 0, 0, tzinfo=UTC),  # Monday, week 2 in UTC, still week 1 in New York
]
START = datetime(2025, 12, 20, tzinfo=UTC)
DAYS = 80


@dataclass(frozen=True)
class Answer:
    survey: str
    score: int
    at: datetime
    persona: str | None
    stage: str | None
    source: str = "public"

    @property
    def touchpoint(self) -> str:
        return SURVEYS[self.survey][0]

    @property
    def metric(self) -> str:
        return SURVEYS[self.survey][1]

    @property
    def scale_max(self) -> int:
        return SURVEYS[self.survey][2]


@dataclass
class SurveyWorld:
    answers: list[Answer]
    touchpoint_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    survey_ids: dict[str, uuid.UUID] = field(default_factory=dict)
    persona_ids: dict[str, uuid.UUID] = field(default_factory=dict)

    def among(self, first: date, last: date, tz: str = "UTC", **where: Any) -> list[Answer]:
        """The answers given in the days first to last in ``tz``, with these attributes."""
        zone = ZoneInfo(tz)
        return [
            a for a in self.answers
            if first <= a.at.astimezone(zone).date() <= last
            and all(getattr(a, name) == value for name, value in where.items())
        ]  # fmt: skip


def draw_answers(count: int = 700, seed: int = 14) -> list[Answer]:
    rng = random.Random(seed)

    def score(scale_max: int) -> int:
        low = 0 if scale_max == 10 else 1
        # Leaning high, as satisfied customers do, with a long tail of unhappy ones.
        return min(scale_max, max(low, round(rng.triangular(low, scale_max + 0.5, scale_max))))

    def one(at: datetime, survey: str | None = None) -> Answer:
        survey = survey or rng.choice(ANSWERED)
        return Answer(survey, score(SURVEYS[survey][2]), at, rng.choice([*PERSONAS, None]),
                      rng.choice([*STAGES, None]))  # fmt: skip

    answers = [one(START + timedelta(seconds=rng.uniform(0, DAYS * 86400))) for _ in range(count)]
    answers += [one(at, survey) for at in EDGES for survey in ANSWERED]
    # A third through signed links, drawn apart so that the answers above stay as they were.
    doors = random.Random(seed + 1)
    return [replace(a, source="link") if doors.random() < 1 / 3 else a for a in answers]


async def make_survey_world(
    client: httpx.AsyncClient, admin: Headers, db: AsyncSession, answers: Iterable[Answer]
) -> SurveyWorld:
    world = SurveyWorld(list(answers))
    for slug in PERSONAS:
        world.persona_ids[slug] = uuid.UUID((await make_persona(client, admin, slug))["id"])
    for slug, (kind, value) in TOUCHPOINTS.items():
        place = Touchpoint(
            slug=slug,
            name=slug.title(),
            kind=kind,
            stage=value if kind == "stage" else None,
            channel=value if kind == "channel" else None,
        )
        db.add(place)
        world.touchpoint_ids[slug] = place.id
    await db.flush()
    for slug, (touchpoint, metric, scale_max) in SURVEYS.items():
        survey = Survey(
            slug=slug,
            touchpoint_id=world.touchpoint_ids[touchpoint],
            metric=metric,
            question=f"{metric} at {touchpoint}?",
            scale_min=0 if metric == "nps" else 1,
            scale_max=scale_max,
        )
        db.add(survey)
        world.survey_ids[slug] = survey.id
    await db.flush()
    db.add_all(_row(world, answer) for answer in world.answers)
    await db.commit()
    return world


def _row(world: SurveyWorld, answer: Answer) -> SurveyAnswer:
    return SurveyAnswer(
        survey_id=world.survey_ids[answer.survey],
        touchpoint_id=world.touchpoint_ids[answer.touchpoint],
        metric=answer.metric,
        score=answer.score,
        scale_min=0 if answer.metric == "nps" else 1,
        scale_max=answer.scale_max,
        persona_id=world.persona_ids[answer.persona] if answer.persona else None,
        stage=answer.stage,
        source=answer.source,
        answered_at=answer.at,
    )


def calendar_buckets(first: date, last: date, trend: str) -> list[tuple[str, date, date]]:
    """The trend's buckets, worked out day by day: (label, first day, last day)."""
    label: Callable[[date], str] = (
        (lambda d: f"{d.isocalendar()[0]}-W{d.isocalendar()[1]:02d}")
        if trend == "week"
        else (lambda d: f"{d.year}-{d.month:02d}")
    )
    days: dict[str, list[date]] = {}
    day = first
    while day <= last:
        days.setdefault(label(day), []).append(day)
        day += timedelta(days=1)
    return [(name, min(ds), max(ds)) for name, ds in days.items()]
