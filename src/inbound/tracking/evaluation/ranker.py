"""The next-best-content ranking as a recommender for the replay, and its rules-only twin.

The ranking learns what it learns in production (co-visitation over the signal window,
click-through per slot) from the replay's training side only, and answers at the cutoff.
"""

import random
import uuid
from dataclasses import replace
from datetime import timedelta

from inbound.tracking.evaluation.evaluate import Recommender
from inbound.tracking.evaluation.replay import Case, Replay
from inbound.tracking.nbc.blend import Signals, View, Visitor, Weights, covisitation, rank


def rules_only(weights: Weights) -> Weights:
    """The funnel-stage and persona rules without the learned signals."""
    return replace(weights, covisitation=0.0, topic_affinity=0.0, exploration=0.0)


def ranked(
    replay: Replay, weights: Weights, *, seed: int, window_days: float, min_together: int
) -> Recommender:
    """The ranking with ``weights``, its signals learned before the cutoff."""
    since = replay.cutoff - timedelta(days=window_days)
    recent = ([asset for asset, at in history if at >= since] for history in replay.histories)
    signals = Signals(
        covisits=covisitation(recent, min_together=min_together) if weights.covisitation else {},
        ctr=replay.ctr,
        rules=replay.snapshot.signals.rules,
    )
    rng = random.Random(seed) if weights.exploration > 0 else None
    catalog = replay.catalog

    def recommend(case: Case, k: int) -> list[uuid.UUID]:
        visitor = Visitor(
            views=[View(asset, at) for asset, at in case.views],
            captured=case.captured,
            persona_id=case.persona_id,
            stage=case.stage,
        )
        suggestions = rank(visitor, catalog, signals, slot=replay.slot, k=k, now=replay.cutoff,
                           weights=weights, rng=rng)  # fmt: skip
        return [suggestion.asset.id for suggestion in suggestions]

    return recommend
