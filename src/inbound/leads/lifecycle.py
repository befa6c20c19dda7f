"""Stage moves applied to a contact's state, each returning the stage-change row to record."""

import uuid
from collections.abc import Mapping, MutableMapping
from datetime import datetime
from typing import Any

from inbound.db import new_id
from inbound.leads.qualification.evaluation import LeadSettings
from inbound.leads.qualification.scoring import decayed, is_mql
from inbound.leads.stages import LifecycleStage, StageCause, plan_move
from inbound.leads.state import StageChangeRow


def move_to(
    state: MutableMapping[str, Any],
    target: LifecycleStage,
    *,
    cause: StageCause,
    now: datetime,
    actor: str | None,
    reason: str | None = None,
    capture_id: uuid.UUID | None = None,
    allow_regression: bool = False,
) -> list[StageChangeRow]:
    """Move the contact to ``target``; backwards only when allowed. The rows to record."""
    current = LifecycleStage(state["stage"]) if state.get("stage") else None
    move = plan_move(current, target, state, at=now, allow_regression=allow_regression)
    if move is None:
        return []
    state.update(move.reached, stage=target.value, stage_changed_at=now)
    return [
        StageChangeRow(
            id=new_id(),
            contact_id=state["id"],
            from_stage=current.value if current else None,
            to_stage=target.value,
            cause=cause.value,
            actor=actor,
            reason=reason,
            capture_id=capture_id,
            changed_at=now,
        )
    ]


def mql_score(state: Mapping[str, Any], settings: LeadSettings, *, now: datetime) -> float | None:
    """The lead's score now if its fit and engagement both qualify it as an MQL; else None.

    Only leads qualify this way: a subscriber has not asked for anything yet, and a contact
    past MQL stays where sales put it.
    """
    if state.get("stage") != LifecycleStage.LEAD:
        return None
    score = decayed(state["score"], state["score_at"], now, settings.scoring.half_life_days)
    return score if is_mql(state["grade"], score, settings.scoring) else None


def promote_if_qualified(
    state: MutableMapping[str, Any],
    settings: LeadSettings,
    *,
    now: datetime,
    actor: str | None,
    capture_id: uuid.UUID | None = None,
) -> list[StageChangeRow]:
    """Make a lead an MQL, with cause `score`, once `mql_score` says it qualifies."""
    score = mql_score(state, settings, now=now)
    if score is None:
        return []
    return move_to(
        state, LifecycleStage.MQL, cause=StageCause.SCORE, now=now, actor=actor,
        reason=f"grade {state['grade']} and score {score:.1f} reached the MQL thresholds",
        capture_id=capture_id,
    )  # fmt: skip
