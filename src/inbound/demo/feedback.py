"""The demo's surveys: NPS, CES and CSAT at three touchpoints, the answers of the contacts who
reached them, and the follow-up cases of the negative answers.

Answers are written as the answer path writes them: with the contact's persona and the stage
it stood at when it answered, its window claimed, and a case for each negative answer, due by
the touchpoint's SLA. How contacts feel depends on their persona and improves over the year,
so that the figures by persona and the trend have something to show. Everything follows from
one seed and the contacts already written.
"""

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inbound.db import create_sessionmaker
from inbound.leads.repository import CONTACTS
from inbound.leads.stages import STAGES, LifecycleStage
from inbound.surveys.follow_up import is_negative
from inbound.surveys.models import CaseStatus
from inbound.surveys.schemas import SurveyCreate, TouchpointCreate
from inbound.surveys.service import SurveyService, TouchpointService


@dataclass(frozen=True, slots=True)
class DemoSurvey:
    """A touchpoint at a stage, the one question asked there, and who answers it."""

    touchpoint: str
    touchpoint_name: str
    stage: LifecycleStage
    sla_hours: int
    survey: str
    metric: str
    question: str
    scale: int | None
    answering: float  # the share of contacts at the stage who answer
    after_days: float  # how long after reaching the stage they answer, at most


SURVEYS: tuple[DemoSurvey, ...] = (
    DemoSurvey("first-download", "First download", LifecycleStage.LEAD, 72, "download-csat",
               "csat", "How useful was what you downloaded?", None, 0.15, 3),
    DemoSurvey("quarterly-pulse", "Quarterly pulse", LifecycleStage.MQL, 72, "pulse-nps", "nps",
               "How likely are you to recommend us to a colleague?", None, 0.35, 60),
    DemoSurvey("first-sales-call", "First sales call", LifecycleStage.SQL, 24, "sales-call-ease",
               "ces", "How easy was it to get your questions answered?", 7, 0.45, 5),
    DemoSurvey("onboarding", "Onboarding", LifecycleStage.CUSTOMER, 48, "customer-nps", "nps",
               "How likely are you to recommend us to a colleague?", None, 0.6, 30),
    DemoSurvey("advocacy", "Customer advocacy", LifecycleStage.EVANGELIST, 72,
               "advocate-csat", "csat", "How satisfied are you with the product?", None, 0.7,
               14),
)  # fmt: skip
# How each persona leans, in tenths of the survey's range (the developer is harder to please).
MOOD = {"it-director": 1.0, "developer": -2.0, "cfo": 0.0, "marketing-ops": 1.5}
IMPROVEMENT = 2.0  # tenths of the range gained over the year, as complaints are followed up
COMMENTS = {
    "negative": ("Too many steps before I could try it.", "Nobody answered my billing question.",
                 "The setup guide skipped the part I needed.", "Pricing was not clear."),
    "positive": ("Quick and to the point.", "The team knew our stack.",
                 "Saved us a week of work.", "Clear answers, no pressure."),
}  # fmt: skip
OWNERS = ("ana@demo", "ben@demo", "chloe@demo")


@dataclass(slots=True)
class Feedback:
    """Rows for `survey_answers`, `survey_respondents` and `feedback_cases`."""

    answers: list[dict[str, Any]] = field(default_factory=list)
    respondents: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)


async def create_surveys(engine: AsyncEngine) -> dict[str, dict[str, Any]]:
    """The touchpoints and surveys, made through the services as the API would; each survey's
    row by slug, with its touchpoint's SLA."""
    made: dict[str, dict[str, Any]] = {}
    async with create_sessionmaker(engine)() as session, session.begin():
        for spec in SURVEYS:
            touchpoint = await TouchpointService(session).create(
                TouchpointCreate.model_validate({
                    "slug": spec.touchpoint, "name": spec.touchpoint_name, "kind": "stage",
                    "stage": spec.stage.value, "sla_hours": spec.sla_hours,
                }).model_dump(mode="json", exclude_none=True)
            )  # fmt: skip
            survey = await SurveyService(session).create(
                SurveyCreate.model_validate({
                    "slug": spec.survey, "touchpoint": spec.touchpoint, "metric": spec.metric,
                    "scale": spec.scale, "question": spec.question,
                    "comment_prompt": "What is the one thing we should change?",
                }).model_dump(mode="json", exclude_none=True)
            )  # fmt: skip
            made[spec.survey] = {
                "id": survey.id, "touchpoint_id": touchpoint.id, "metric": survey.metric,
                "scale_min": survey.scale_min, "scale_max": survey.scale_max,
                "sla_hours": touchpoint.sla_hours, "window_days": survey.window_days,
            }  # fmt: skip
    return made


async def answered_contacts(connection: AsyncConnection) -> list[dict[str, Any]]:
    """The contacts that reached a surveyed stage, with their persona and stage times."""
    reached = [CONTACTS.c[stage.reached_column] for stage in STAGES]
    first = min((spec.stage for spec in SURVEYS), key=lambda stage: stage.rank)
    rows = await connection.execute(
        select(CONTACTS.c.id, CONTACTS.c.persona_id, CONTACTS.c.owner, *reached)
        .where(CONTACTS.c[first.reached_column].is_not(None))
        .order_by(CONTACTS.c.id)
    )
    return [dict(row._mapping) for row in rows]


def feedback(
    contacts: Sequence[dict[str, Any]],
    surveys: dict[str, dict[str, Any]],
    persona_slugs: dict[uuid.UUID, str],
    *,
    now: datetime,
    days: int,
    seed: int,
) -> Feedback:
    """The answers the contacts gave, and the cases their complaints opened."""
    rng = random.Random(seed * 7_919 + 14)
    made = Feedback()
    start = now - timedelta(days=days)
    for contact in contacts:
        mood = MOOD.get(persona_slugs.get(contact["persona_id"], ""), 0.0)
        for spec in SURVEYS:
            reached_at = contact[spec.stage.reached_column]
            if reached_at is None or rng.random() >= spec.answering:
                continue
            answered_at = reached_at + timedelta(days=rng.uniform(0.1, spec.after_days))
            if answered_at >= now:
                continue
            survey = surveys[spec.survey]
            progress = (answered_at - start) / (now - start)
            score = _score(rng, survey, mood + IMPROVEMENT * (progress - 0.5))
            negative = is_negative(
                survey["metric"], score, survey["scale_min"], survey["scale_max"]
            )
            answer = {
                "id": uuid.uuid4(), "survey_id": survey["id"],
                "touchpoint_id": survey["touchpoint_id"], "metric": survey["metric"],
                "score": score, "scale_min": survey["scale_min"],
                "scale_max": survey["scale_max"], "comment": _comment(rng, negative),
                "contact_id": contact["id"], "visitor_id": None,
                "persona_id": contact["persona_id"], "stage": _stage_at(contact, answered_at),
                "source": "link", "site_id": None, "answered_at": answered_at,
            }  # fmt: skip
            made.answers.append(answer)
            made.respondents.append({
                "survey_id": survey["id"], "respondent": f"contact:{contact['id']}",
                "contact_id": contact["id"], "answered_at": answered_at,
                "source": answer["source"],
            })  # fmt: skip
            if negative:
                made.cases.append(_case(rng, answer, survey, contact["owner"], now))
    return made


def _score(rng: random.Random, survey: dict[str, Any], lean: float) -> int:
    """A score around the scale's upper middle, moved by how the respondent leans."""
    low: int = survey["scale_min"]
    high: int = survey["scale_max"]
    centre = low + (high - low) * (0.8 + lean / 10)
    spread = (high - low) / 5
    return max(low, min(high, round(rng.gauss(centre, spread))))


def _comment(rng: random.Random, negative: bool) -> str | None:
    if rng.random() < 0.5:
        return None
    return rng.choice(COMMENTS["negative" if negative else "positive"])


def _stage_at(contact: dict[str, Any], at: datetime) -> str:
    """The latest stage the contact had reached at that time."""
    stage = LifecycleStage.LEAD
    for candidate in STAGES:
        reached = contact[candidate.reached_column]
        if reached is not None and reached <= at:
            stage = candidate
    return stage.value


def _case(
    rng: random.Random,
    answer: dict[str, Any],
    survey: dict[str, Any],
    owner: str | None,
    now: datetime,
) -> dict[str, Any]:
    """The follow-up of a complaint: older ones settled, the newest still open, a few late."""
    opened_at: datetime = answer["answered_at"]
    due_at = opened_at + timedelta(hours=survey["sla_hours"])
    age_days = (now - opened_at).total_seconds() / 86_400
    case: dict[str, Any] = {
        "id": uuid.uuid4(), "answer_id": answer["id"], "contact_id": answer["contact_id"],
        "survey_id": answer["survey_id"], "touchpoint_id": answer["touchpoint_id"],
        "status": CaseStatus.OPEN.value, "owner": owner or rng.choice(OWNERS), "note": None,
        "opened_at": opened_at, "due_at": due_at, "contacted_at": None, "resolved_at": None,
        "updated_at": opened_at, "version": 1,
    }  # fmt: skip
    settled = 0.95 if age_days > 14 else 0.4 if age_days > 3 else 0.1
    contacted_at = opened_at + timedelta(hours=rng.uniform(1, survey["sla_hours"] * 1.3))
    if rng.random() < settled and contacted_at < now:
        case["contacted_at"] = contacted_at
        case["resolved_at"] = contacted_at + timedelta(days=rng.uniform(0.5, 6))
        if case["resolved_at"] < now:
            case.update(status=CaseStatus.RESOLVED.value, note="Called back; fixed the setup.",
                        updated_at=case["resolved_at"], version=3)  # fmt: skip
        else:
            case.update(status=CaseStatus.CONTACTED.value, resolved_at=None,
                        updated_at=case["contacted_at"], version=2)  # fmt: skip
    return case
