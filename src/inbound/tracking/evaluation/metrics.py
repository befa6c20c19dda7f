"""Hit rate and mean reciprocal rank at k, with bootstrap intervals over visitors.

Each visitor has one target (the content it viewed next); a ranking hits when the target is in
its first k. Pure functions: the same inputs and seed, the same figures.
"""

import math
import random
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

Item = TypeVar("Item", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Interval:
    """A mean over visitors, with the bounds of its percentile bootstrap interval (none
    without resamples)."""

    value: float
    low: float | None
    high: float | None


@dataclass(frozen=True, slots=True)
class Scores:
    """Per-visitor scores of one recommender: a hit (1 or 0) and a reciprocal rank each."""

    hits: Sequence[float]
    reciprocal_ranks: Sequence[float]


def rank_of(target: Item, ranked: Sequence[Item], k: int) -> int | None:
    """The 1-based place of ``target`` among the first ``k`` of ``ranked``; None if not there."""
    for place, item in enumerate(ranked[:k], start=1):
        if item == target:
            return place
    return None


def scores(targets: Sequence[Item], rankings: Sequence[Sequence[Item]], k: int) -> Scores:
    """Each visitor's hit and reciprocal rank (0 when the target is not in the top ``k``)."""
    if len(targets) != len(rankings):
        raise ValueError("one ranking per target")
    ranks = [rank_of(target, ranked, k) for target, ranked in zip(targets, rankings, strict=True)]
    return Scores(
        hits=[0.0 if rank is None else 1.0 for rank in ranks],
        reciprocal_ranks=[0.0 if rank is None else 1.0 / rank for rank in ranks],
    )


def mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else 0.0


def percentile(ordered: Sequence[float], share: float) -> float:
    """The ``share`` percentile of sorted values, interpolating linearly between neighbours."""
    if not ordered:
        raise ValueError("no values")
    position = share * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def resamples(visitors: int, *, count: int, seed: int) -> list[list[int]]:
    """``count`` resamples of visitor positions, drawn with replacement; shared by every
    series so that recommenders are compared on the same resampled visitors."""
    rng = random.Random(seed)
    population = range(visitors)
    return [rng.choices(population, k=visitors) for _ in range(count)]


def bootstrap(
    values: Sequence[float], drawn: Sequence[Sequence[int]], *, confidence: float = 0.95
) -> Interval:
    """The mean of ``values`` and its percentile interval over the resamples ``drawn``."""
    if not values:
        return Interval(0.0, 0.0, 0.0)
    pick = values.__getitem__
    means = sorted(math.fsum(map(pick, sample)) / len(sample) for sample in drawn)
    tail = (1 - confidence) / 2
    if not means:
        return Interval(mean(values), None, None)
    return Interval(mean(values), percentile(means, tail), percentile(means, 1 - tail))


def difference(
    first: Sequence[float],
    second: Sequence[float],
    drawn: Sequence[Sequence[int]],
    *,
    confidence: float = 0.95,
) -> Interval:
    """``first`` minus ``second`` (paired, per visitor), with its bootstrap interval."""
    return bootstrap([a - b for a, b in zip(first, second, strict=True)], drawn,
                     confidence=confidence)  # fmt: skip


def popularity(counts: Mapping[Item, int]) -> list[Item]:
    """Items by how often they were viewed, the most first; ties by the item's own order."""
    return sorted(counts, key=lambda item: (-counts[item], str(item)))
