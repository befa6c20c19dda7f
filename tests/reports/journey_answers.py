"""Survey answers of the report tests' contacts (`people.py`), at known stages and personas,
for the journey report; drawn from a fixed seed, with a few on the edges of the period."""

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from inbound.surveys.models import Survey, SurveyAnswer, Touchpoint
from tests.reports.people import PEOPLE, STAGE_NAMES, Ids

# slug: (metric, scale_max)
SURVEYS = {"nps": ("nps", 10), "ces5": ("ces", 5), "ces7": ("ces", 7), "csat": ("csat", 5)}
START = datetime(2025, 12, 25, tzinfo=UTC)
DAYS = 50
EDGES = [
    datetime(2026, 1, 1, 0, tzinfo=UTC),  # the first instant of January in UTC
    datetime(2026, 1, 1, 4, 59, tzinfo=UTC),  # still December in New York
    datetime(2026, 1, 31, 23, 59, tzinfo=UTC),  # the last minute of January in UTC
    datetime(2026, 2, 1, 0, tzinfo=UTC),  # February in UTC, January in New York
]


@dataclass(frozen=True)
class JourneyAnswer:
    survey: str
    score: int
    at: datetime
    stage: str | None
    persona: str | None
    person: int | None  # index into PEOPLE; None: a visitor not known as a contact

    @property
    def metric(self) -> str:
        return SURVEYS[self.survey][0]

    @property
    def scale_max(self) -> int:
        return SURVEYS[self.survey][1]


@dataclass
class JourneyAnswers:
    answers: list[JourneyAnswer]
    survey_ids: dict[str, uuid.UUID] = field(default_factory=dict)


def draw(count: int = 400, seed: int = 7) -> list[JourneyAnswer]:
    rng = random.Random(seed)

    def one(at: datetime, survey: str) -> JourneyAnswer:
        metric, scale_max = SURVEYS[survey]
        low = 0 if metric == "nps" else 1
        score = min(scale_max, max(low, round(rng.triangular(low, scale_max + 0.5, scale_max))))
        person = rng.choice([*range(len(PEOPLE)), None])
        stage = rng.choice([*STAGE_NAMES, None]) if person is not None else None
        persona = rng.choice(["cio", "cfo", None]) if person is not None else None
        return JourneyAnswer(survey, score, at, stage, persona, person)

    answers = [
        one(START + timedelta(seconds=rng.uniform(0, DAYS * 86400)), rng.choice(list(SURVEYS)))
        for _ in range(count)
    ]
    answers += [one(at, survey) for at in EDGES for survey in SURVEYS]
    return answers


async def insert_answers(
    db: AsyncSession, ids: Ids, answers: list[JourneyAnswer]
) -> JourneyAnswers:
    world = JourneyAnswers(answers)
    place = Touchpoint(slug="journey", name="Journey", kind="channel", channel="email")
    db.add(place)
    await db.flush()
    # A CES survey on each scale, answered or not: a stage shows both scales.
    for slug, (metric, scale_max) in SURVEYS.items():
        survey = Survey(slug=slug, touchpoint_id=place.id, metric=metric, question=f"{slug}?",
                        scale_min=0 if metric == "nps" else 1, scale_max=scale_max)  # fmt: skip
        db.add(survey)
        world.survey_ids[slug] = survey.id
    await db.flush()
    db.add_all(
        SurveyAnswer(
            survey_id=world.survey_ids[a.survey],
            touchpoint_id=place.id,
            metric=a.metric,
            score=a.score,
            scale_min=0 if a.metric == "nps" else 1,
            scale_max=a.scale_max,
            contact_id=None if a.person is None else PEOPLE[a.person].id,
            persona_id=ids.personas[a.persona] if a.persona else None,
            stage=a.stage,
            source="public" if a.person is None else "link",
            answered_at=a.at,
        )
        for a in answers
    )
    await db.commit()
    return world
