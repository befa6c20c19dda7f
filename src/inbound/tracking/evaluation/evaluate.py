"""Scoring recommenders on a replay: HR@k and MRR per recommender, with bootstrap intervals,
and each one's difference from the popularity baseline on the same visitors."""

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from inbound.tracking.evaluation.metrics import (
    Interval,
    bootstrap,
    difference,
    popularity,
    resamples,
    scores,
)
from inbound.tracking.evaluation.replay import Case, Replay

# What a recommender answers for a visitor: asset ids, the best first, at most k of them.
Recommender = Callable[[Case, int], Sequence[uuid.UUID]]
POPULARITY = "popularity"


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    hit_rate: Interval
    mrr: Interval
    # Against popularity, per visitor: None for popularity itself.
    hit_rate_lift: Interval | None
    mrr_lift: Interval | None


@dataclass(frozen=True, slots=True)
class Evaluation:
    k: int
    cutoff: datetime
    last_view: datetime
    visitors: int  # scored: a content view before the cutoff and one after
    training_visitors: int  # with a content view before the cutoff
    targets_seen_before: int  # scored visitors whose next view was of an asset seen already
    resamples: int
    seed: int
    results: list[Result]


def popular(replay: Replay) -> Recommender:
    """The baseline: the assets viewed most before the cutoff, less those the visitor saw."""
    catalog = {asset.id for asset in replay.catalog}
    viewed = [asset for asset in popularity(replay.view_counts) if asset in catalog]
    never_viewed = [asset.id for asset in replay.catalog if asset.id not in replay.view_counts]
    ranked = viewed + never_viewed

    def recommend(case: Case, k: int) -> list[uuid.UUID]:
        seen = case.seen
        return [asset for asset in ranked if asset not in seen][:k]

    return recommend


def evaluate(
    replay: Replay,
    recommenders: Mapping[str, Recommender],
    *,
    k: int,
    bootstrap_resamples: int,
    seed: int,
) -> Evaluation:
    """Each recommender's HR@k and MRR over the replay's cases, with 95% percentile intervals
    from resampling visitors (the same resamples for every recommender)."""
    cases = replay.cases
    targets = [case.target for case in cases]
    drawn = resamples(len(cases), count=bootstrap_resamples, seed=seed)
    scored = {
        name: scores(targets, [recommend(case, k) for case in cases], k)
        for name, recommend in recommenders.items()
    }
    baseline = scored.get(POPULARITY)
    results = []
    for name, figures in scored.items():
        compare = baseline is not None and name != POPULARITY
        results.append(
            Result(
                name=name,
                hit_rate=bootstrap(figures.hits, drawn),
                mrr=bootstrap(figures.reciprocal_ranks, drawn),
                hit_rate_lift=difference(figures.hits, baseline.hits, drawn)
                if compare and baseline
                else None,
                mrr_lift=difference(figures.reciprocal_ranks, baseline.reciprocal_ranks, drawn)
                if compare and baseline
                else None,
            )
        )
    return Evaluation(
        k=k,
        cutoff=replay.cutoff,
        last_view=replay.last_view,
        visitors=len(cases),
        training_visitors=len(replay.histories),
        targets_seen_before=sum(1 for case in cases if case.target in case.seen),
        resamples=bootstrap_resamples,
        seed=seed,
        results=results,
    )
