"""Fit grade and engagement score (pure functions; the ledger lives in `score_events`)."""

import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from inbound.leads.qualification.settings import GRADES, ActivityPoints, Grade, ScoringSettings

PROFILE_FIELDS = (
    "first_name", "last_name", "company", "job_title", "phone", "country", "industry",
    "company_size",
)  # fmt: skip
SECONDS_PER_DAY = 86_400.0
SCORE_DECIMALS = 2


def decayed(value: float, since: datetime | None, now: datetime, half_life_days: float) -> float:
    """``value`` as it stood at ``since``, halved once per half-life elapsed until ``now``."""
    if since is None or value == 0:
        return value
    elapsed_days = max((now - since).total_seconds(), 0.0) / SECONDS_PER_DAY
    return value * math.pow(0.5, elapsed_days / half_life_days)


def completeness(profile: Mapping[str, Any]) -> float:
    """The share of the profile fields that are filled in."""
    return filled_share(profile.get(name) for name in PROFILE_FIELDS)


def filled_share(values: Iterable[Any]) -> float:
    """The share of the profile fields filled in, given their values."""
    return sum(1 for value in values if value not in (None, "")) / len(PROFILE_FIELDS)


def fit(rule_strength: float, completeness: float, settings: ScoringSettings) -> float:
    """How well a contact fits its persona, from 0 to 1: a weighted mean of its rules' strength
    and its profile's `completeness`."""
    weights = settings.rule_strength_weight + settings.completeness_weight
    return (
        settings.rule_strength_weight * rule_strength + settings.completeness_weight * completeness
    ) / weights


def grade(fit_value: float, settings: ScoringSettings) -> Grade:
    """A for the best fit, D for the worst."""
    thresholds = settings.grades
    for letter, least in (("A", thresholds.A), ("B", thresholds.B), ("C", thresholds.C)):
        if fit_value >= least - 1e-9:
            return letter  # type: ignore[return-value]
    return "D"


def points_for(kind: str, earned_in_period: float, settings: ScoringSettings) -> tuple[float, bool]:
    """Points an activity of ``kind`` earns now, and whether its cap cut them down."""
    rule: ActivityPoints = getattr(settings.activities, kind)
    if rule.cap is None or rule.points <= 0:
        return rule.points, False
    room = max(rule.cap - earned_in_period, 0.0)
    return (rule.points, False) if rule.points <= room else (room, True)


def is_mql(grade_value: Grade, score: float, settings: ScoringSettings) -> bool:
    """True when fit and engagement both reach the MQL thresholds.

    The score is compared as shown (two decimals), so that a lead shown at 100 with a
    threshold of 100 qualifies although decay has taken a few millionths off it.
    """
    return (
        GRADES.index(grade_value) <= GRADES.index(settings.mql.min_grade)
        and round(score, SCORE_DECIMALS) >= settings.mql.min_score
    )
