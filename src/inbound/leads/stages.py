"""Lifecycle stages and the rules for moving between them (see the funnel in the design), and
the lead status that sales keeps beside the stage."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class LifecycleStage(StrEnum):
    """Where a contact stands in the funnel, in funnel order."""

    SUBSCRIBER = "subscriber"
    LEAD = "lead"
    MQL = "mql"
    SQL = "sql"
    OPPORTUNITY = "opportunity"
    CUSTOMER = "customer"
    EVANGELIST = "evangelist"

    @property
    def rank(self) -> int:
        return STAGES.index(self)

    @property
    def reached_column(self) -> str:
        """The contact column keeping the first time this stage (or a later one) was reached."""
        return f"{self.value}_at"


STAGES: tuple[LifecycleStage, ...] = tuple(LifecycleStage)


class StageCause(StrEnum):
    """Why a contact's stage changed."""

    CAPTURE = "capture"
    SCORE = "score"
    SALES = "sales"
    CRM = "crm"
    MANUAL = "manual"
    IMPORT = "import"


class LeadStatus(StrEnum):
    """How working a lead goes, kept apart from its lifecycle stage as CRMs do."""

    NEW = "new"
    ATTEMPTING = "attempting"
    CONNECTED = "connected"
    UNQUALIFIED = "unqualified"
    BAD_TIMING = "bad_timing"


@dataclass(frozen=True, slots=True)
class StageMove:
    """A stage change to record, and the `reached_at` values it fills in."""

    from_stage: LifecycleStage | None
    to_stage: LifecycleStage
    reached: dict[str, datetime]


def plan_move(
    current: LifecycleStage | None,
    target: LifecycleStage,
    reached: Mapping[str, datetime | None],
    *,
    at: datetime,
    allow_regression: bool = False,
) -> StageMove | None:
    """The move from ``current`` to ``target``, or None when there is nothing to do.

    A move backwards is only made when asked for; without that it is not a move at all
    (callers that must refuse it check `is_regression` first). Every stage up to the target
    that was never reached counts as reached now: skipped stages were passed through.
    """
    if current == target:
        return None
    if current is not None and target.rank < current.rank and not allow_regression:
        return None
    filled = {
        stage.reached_column: at
        for stage in STAGES[: target.rank + 1]
        if reached.get(stage.reached_column) is None
    }
    return StageMove(from_stage=current, to_stage=target, reached=filled)


def is_regression(current: LifecycleStage | None, target: LifecycleStage) -> bool:
    """True when ``target`` lies before ``current`` in the funnel."""
    return current is not None and target.rank < current.rank
