"""The churn risk score (0-100): a sum of weighted signals, each with its points, a plain reason
and the evidence behind it. Pure functions; the facts come from `inbound.churn.facts`.

Every weight is here, and the README states them: change both together.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from inbound.leads.stages import LifecycleStage

# Who can churn: open opportunities and customers (evangelists are customers too).
ELIGIBLE_STAGES = (LifecycleStage.OPPORTUNITY, LifecycleStage.CUSTOMER, LifecycleStage.EVANGELIST)
MAX_SCORE = 100
TOP_REASONS = 3

# Falling engagement: ledger points of the last 30 days against the 30 days before.
WINDOW = timedelta(days=30)
FALLING_MAX_POINTS = 30  # given when engagement fell to nothing; a smaller fall, its share
FALLING_MIN_DROP = 0.25  # a smaller dip is the noise of an ordinary month
FALLING_MIN_BEFORE = 10.0  # with less than this before, there was no engagement to lose
# Silence: no engagement at all for this long (or since the contact was created).
SILENT_AFTER = timedelta(days=60)
SILENT_POINTS = 25
# A negative survey answer (NPS detractor; CES or CSAT at the bottom of its scale) lately.
ANSWERS_WITHIN = timedelta(days=90)
NEGATIVE_ANSWER_POINTS = 35
FURTHER_NEGATIVE_POINTS = 5  # each further negative answer in the period...
FURTHER_NEGATIVE_MAX = 10  # ...up to this much more
# Feedback cases not resolved yet; an overdue one weighs double.
CASE_POINTS = 10
OVERDUE_CASE_POINTS = 20
CASES_MAX_POINTS = 40

# The highest score on each scale that counts as negative, by metric and top of the scale.
NPS_DETRACTOR_MAX = 6
CES_NEGATIVE_MAX = {5: 2, 7: 3}
CSAT_NEGATIVE_MAX = 2


class SignalName(StrEnum):
    """The signals, in the order they are shown (and break ties in points)."""

    ENGAGEMENT_FALLING = "engagement_falling"
    ENGAGEMENT_SILENT = "engagement_silent"
    NEGATIVE_ANSWER = "negative_answer"
    FEEDBACK_CASES = "feedback_cases"


FALLING, SILENT, NEGATIVE_ANSWER, FEEDBACK_CASES = SignalName
SIGNALS = tuple(SignalName)


@dataclass(frozen=True, slots=True)
class Answer:
    """A negative survey answer of the contact's."""

    metric: str
    score: int
    scale_max: int
    answered_at: datetime
    touchpoint: str


@dataclass(slots=True)
class Facts:
    """What the signals of one contact are computed from."""

    created_at: datetime
    recent_points: float = 0.0  # ledger points of the last 30 days
    earlier_points: float = 0.0  # of the 30 days before those
    last_engaged_at: datetime | None = None  # the last ledger row that earned points
    negative_answers: list[Answer] = field(default_factory=list)  # in the last 90 days
    unresolved_cases: int = 0
    overdue_cases: int = 0
    overdue_since: datetime | None = None  # the earliest due time among the overdue


@dataclass(frozen=True, slots=True)
class Signal:
    """One signal's contribution: points (0 when it says nothing is wrong) and why."""

    signal: SignalName
    points: int
    reason: str
    evidence: dict[str, Any]

    def brief(self) -> dict[str, Any]:
        """What the stored reasons and the webhooks keep of it."""
        return {"signal": self.signal.value, "points": self.points, "reason": self.reason}

    def detail(self) -> dict[str, Any]:
        """All of it, as a single lead's risk shows it."""
        return self.brief() | {"evidence": self.evidence}


@dataclass(frozen=True, slots=True)
class Risk:
    """A contact's score, every signal, and the reasons (signals with points, most first)."""

    score: int
    signals: tuple[Signal, ...]

    @property
    def reasons(self) -> list[Signal]:
        scoring = [s for s in self.signals if s.points > 0]
        return sorted(scoring, key=lambda s: (-s.points, SIGNALS.index(s.signal)))

    def top_reasons(self) -> list[dict[str, Any]]:
        return [s.brief() for s in self.reasons[:TOP_REASONS]]


def is_negative(metric: str, score: int, scale_max: int) -> bool:
    """An NPS detractor, or a CES or CSAT answer at the bottom of its scale."""
    if metric == "nps":
        return score <= NPS_DETRACTOR_MAX
    if metric == "ces":
        return score <= CES_NEGATIVE_MAX.get(scale_max, 0)
    return metric == "csat" and score <= CSAT_NEGATIVE_MAX


def assess(facts: Facts, now: datetime) -> Risk:
    """The contact's risk from its facts as of ``now``."""
    signals = (
        falling_engagement(facts),
        silence(facts, now),
        negative_answer(facts),
        feedback_cases(facts),
    )
    return Risk(min(MAX_SCORE, sum(s.points for s in signals)), signals)


def falling_engagement(facts: Facts) -> Signal:
    recent, earlier = facts.recent_points, facts.earlier_points
    reason = (
        f"engagement {_number(recent)} points in the last 30 days against "
        f"{_number(earlier)} in the 30 before"
    )
    drop = (earlier - max(recent, 0.0)) / earlier if earlier >= FALLING_MIN_BEFORE else 0.0
    # Halves round up, as people (and PostgreSQL's round) do, not to even.
    points = math.floor(FALLING_MAX_POINTS * drop + 0.5) if drop >= FALLING_MIN_DROP else 0
    evidence = {"last_30_days": round(recent, 2), "previous_30_days": round(earlier, 2),
                "drop": round(drop, 4)}  # fmt: skip
    return Signal(FALLING, points, reason, evidence)


def silence(facts: Facts, now: datetime) -> Signal:
    last = facts.last_engaged_at
    # A contact that never engaged has been silent since it was created.
    since = last or facts.created_at
    days = max((now - since).days, 0)
    points = SILENT_POINTS if now - since >= SILENT_AFTER else 0
    if last is None:
        reason = (
            f"no engagement recorded since it became a contact on {_day(since)}, {days} days ago"
        )
    elif points:
        reason = f"no engagement for {days} days, the last on {_day(last)}"
    else:
        reason = f"last engagement on {_day(last)}, {days} days ago"
    evidence = {"last_engaged_at": _moment(last), "silent_days": days}
    return Signal(SILENT, points, reason, evidence)


def negative_answer(facts: Facts) -> Signal:
    answers = sorted(facts.negative_answers, key=lambda a: a.answered_at, reverse=True)
    if not answers:
        return Signal(NEGATIVE_ANSWER, 0, "no negative survey answer in the last 90 days",
                      {"answers": 0})  # fmt: skip
    latest, further = answers[0], len(answers) - 1
    reason = f"{_answer(latest)} on {_day(latest.answered_at)} at touchpoint {latest.touchpoint}"
    if further:
        reason += f", and {further} more negative answer{'s' * (further > 1)} in 90 days"
    points = NEGATIVE_ANSWER_POINTS + min(FURTHER_NEGATIVE_MAX, FURTHER_NEGATIVE_POINTS * further)
    evidence = {
        "answers": len(answers), "metric": latest.metric, "score": latest.score,
        "scale_max": latest.scale_max, "answered_at": _moment(latest.answered_at),
        "touchpoint": latest.touchpoint,
    }  # fmt: skip
    return Signal(NEGATIVE_ANSWER, points, reason, evidence)


def feedback_cases(facts: Facts) -> Signal:
    total, overdue = facts.unresolved_cases, facts.overdue_cases
    evidence = {"unresolved": total, "overdue": overdue,
                "overdue_since": _moment(facts.overdue_since)}  # fmt: skip
    if not total:
        return Signal(FEEDBACK_CASES, 0, "no unresolved feedback case", evidence)
    reason = f"{total} unresolved feedback case{'s' * (total > 1)}"
    if overdue:
        reason += f", {overdue} overdue since {_day(facts.overdue_since)}"
    points = CASE_POINTS * (total - overdue) + OVERDUE_CASE_POINTS * overdue
    return Signal(FEEDBACK_CASES, min(CASES_MAX_POINTS, points), reason, evidence)


def _answer(answer: Answer) -> str:
    if answer.metric == "ces":
        return f"CES {answer.score} on 1-{answer.scale_max}"
    return f"{answer.metric.upper()} {answer.score}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _day(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment is not None else "?"


def _moment(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")
