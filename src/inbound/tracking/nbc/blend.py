"""The next-best-content ranking: pinned rules first, then a transparent weighted blend.

Pure (no I/O): the API and the offline evaluation both call :func:`rank` with the same
inputs, so a suggestion can be replayed and explained. Each component is a number in
[0, 1] multiplied by its weight; a suggestion carries every weighted contribution and a
sentence naming the strongest ones.
"""

import heapq
import math
import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations

PHASES: tuple[str, ...] = ("attract", "convert", "close", "delight")
# Lifecycle stage -> funnel phase (a customer is in close: its next phase is delight).
STAGE_PHASE: Mapping[str, str] = {
    "subscriber": "attract",
    "lead": "convert",
    "mql": "convert",
    "sql": "close",
    "opportunity": "close",
    "customer": "close",
    "evangelist": "delight",
}
ANONYMOUS_STAGE = "anonymous"  # the rule stage of a visitor who is no contact yet
# Stage progression: the next phase scores highest, the same phase next, earlier phases low.
NEXT_PHASE, SAME_PHASE, LATER_PHASE, EARLIER_PHASE = 1.0, 0.6, 0.3, 0.1
# Pairs counted per history at most: a crawler's thousand views must not cost a million pairs.
MAX_ASSETS_PER_HISTORY = 100
Ctr = Mapping[tuple[str, uuid.UUID], tuple[int, int]]  # (slot, asset) -> (shown, clicked)
COMPONENTS = ("persona_fit", "topic_affinity", "stage_progression", "covisitation", "exploration")


@dataclass(frozen=True, slots=True)
class View:
    """One content view; a visitor's views are oldest first."""

    asset_id: uuid.UUID
    at: datetime


@dataclass(frozen=True, slots=True)
class Visitor:
    """What is known about the visitor being answered."""

    views: Sequence[View]
    captured: frozenset[uuid.UUID] = frozenset()
    persona_id: uuid.UUID | None = None
    stage: str | None = None  # lifecycle stage; None = anonymous
    campaign: str | None = None  # utm_campaign of the latest visit


@dataclass(frozen=True, slots=True)
class CatalogAsset:
    """A content asset that may be suggested (archived assets are never in the catalog)."""

    id: uuid.UUID
    slug: str
    title: str
    kind: str
    stage: str  # funnel phase the asset serves
    topics: frozenset[str]
    personas: Mapping[uuid.UUID, int]  # persona -> relevance 1..3
    public_url: str | None
    gated: bool


@dataclass(frozen=True, slots=True)
class PinRule:
    """Pin an asset first when every condition set on the rule holds (unset = any)."""

    id: uuid.UUID
    asset_id: uuid.UUID
    slot: str | None = None
    persona_id: uuid.UUID | None = None
    stages: frozenset[str] = frozenset()  # lifecycle stages, or "anonymous"
    campaign: str | None = None
    viewed_asset_id: uuid.UUID | None = None
    priority: int = 0  # higher first
    active: bool = True


@dataclass(frozen=True, slots=True)
class Signals:
    """Aggregates recomputed in the background from everyone's behaviour."""

    covisits: Mapping[uuid.UUID, Mapping[uuid.UUID, float]]  # a -> b -> lift
    ctr: Mapping[tuple[str, uuid.UUID], tuple[int, int]]  # (slot, asset) -> (shown, clicked)
    rules: Sequence[PinRule]


@dataclass(frozen=True, slots=True)
class Weights:
    """How much each component counts, and how fast topic interest fades."""

    persona_fit: float
    topic_affinity: float
    stage_progression: float
    covisitation: float
    exploration: float
    topic_half_life_days: float


DEFAULT_WEIGHTS = Weights(persona_fit=1.0, topic_affinity=1.0, stage_progression=0.6,
                          covisitation=0.8, exploration=0.3, topic_half_life_days=14.0)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One suggested asset, its score and why."""

    asset: CatalogAsset
    score: float
    pinned: bool
    components: Mapping[str, float]  # each component's weighted contribution
    reason: str


@dataclass(frozen=True, slots=True)
class _Profile:
    """The visitor seen through the catalog: persona, topics, phase, latest asset."""

    persona_id: uuid.UUID | None
    persona_inferred: bool
    topics: Mapping[str, float]  # topic -> share of decayed interest (sums to 1)
    phase: int
    latest: uuid.UUID | None
    seen: frozenset[uuid.UUID]


def _decay(at: datetime, now: datetime, half_life_days: float) -> float:
    age_days = max((now - at).total_seconds(), 0.0) / 86400.0
    return math.pow(0.5, age_days / half_life_days) if half_life_days > 0 else 1.0


def _profile(
    visitor: Visitor, by_id: Mapping[uuid.UUID, CatalogAsset], now: datetime, weights: Weights
) -> _Profile:
    topics: dict[str, float] = defaultdict(float)
    personas: dict[uuid.UUID, float] = defaultdict(float)
    phase = PHASES.index("attract")
    for view in visitor.views:
        asset = by_id.get(view.asset_id)
        if asset is None:
            continue
        decay = _decay(view.at, now, weights.topic_half_life_days)
        for topic in asset.topics:
            topics[topic] += decay
        for tagged, relevance in asset.personas.items():
            personas[tagged] += relevance * decay
        if asset.stage in PHASES:
            phase = max(phase, PHASES.index(asset.stage))
    if visitor.stage is not None:
        phase = PHASES.index(STAGE_PHASE.get(visitor.stage, "attract"))
    total = sum(topics.values())
    persona_id = visitor.persona_id
    if persona_id is None and personas:
        # Strongest decayed relevance wins; ties go to the smaller id, so answers are stable.
        persona_id = min(personas, key=lambda p: (-personas[p], str(p)))
    return _Profile(
        persona_id=persona_id,
        persona_inferred=visitor.persona_id is None and persona_id is not None,
        topics={t: w / total for t, w in topics.items()} if total > 0 else {},
        phase=phase,
        latest=visitor.views[-1].asset_id if visitor.views else None,
        seen=frozenset(v.asset_id for v in visitor.views) | visitor.captured,
    )


def _stage_score(asset_stage: str, visitor_phase: int) -> float:
    if asset_stage not in PHASES:
        return 0.0
    step = PHASES.index(asset_stage) - visitor_phase
    return {1: NEXT_PHASE, 0: SAME_PHASE}.get(step, LATER_PHASE if step > 1 else EARLIER_PHASE)


def _parts(
    asset: CatalogAsset, profile: _Profile, stage_of: Mapping[str, float],
    neighbours: Mapping[uuid.UUID, float], top: float,
) -> tuple[float, float, float, float]:  # fmt: skip
    """Persona fit, topic affinity, stage progression and co-visitation, each in [0, 1]."""
    persona, topics = profile.persona_id, profile.topics
    return (
        asset.personas.get(persona, 0) / 3.0 if persona is not None else 0.0,
        sum([topics.get(t, 0.0) for t in asset.topics]) if topics else 0.0,
        stage_of.get(asset.stage, 0.0),
        neighbours.get(asset.id, 0.0) / top if top > 0 else 0.0,
    )


def _rule_matches(rule: PinRule, visitor: Visitor, profile: _Profile, slot: str) -> bool:
    stage = visitor.stage if visitor.stage is not None else ANONYMOUS_STAGE
    campaign = (visitor.campaign or "").casefold()
    return (
        rule.active
        and rule.slot in (None, slot)
        and rule.persona_id in (None, profile.persona_id)
        and (not rule.stages or stage in rule.stages)
        and (rule.campaign is None or rule.campaign.casefold() == campaign)
        and (rule.viewed_asset_id is None or rule.viewed_asset_id in profile.seen)
    )


def _reason(
    pinned: PinRule | None,
    weighted: Mapping[str, float],
    asset: CatalogAsset,
    profile: _Profile,
    by_id: Mapping[uuid.UUID, CatalogAsset],
) -> str:
    if pinned is not None:
        return f"Pinned by a rule (priority {pinned.priority}) whose conditions this visitor meets."
    latest = by_id.get(profile.latest) if profile.latest is not None else None
    step = _stage_score(asset.stage, profile.phase)
    phrases = {
        "persona_fit": "it is relevant to the persona "
        + ("suggested by what the visitor read" if profile.persona_inferred else "of the contact"),
        "topic_affinity": "it covers topics the visitor read about recently ("
        + ", ".join(sorted(t for t in asset.topics if t in profile.topics))
        + ")",
        "stage_progression": (
            f"it is the next funnel step ({asset.stage})"
            if step == NEXT_PHASE
            else f"it suits the visitor's funnel stage ({asset.stage})"
            if step == SAME_PHASE
            else f"it serves the {asset.stage} stage"
        ),
        "covisitation": "visitors who viewed "
        + (latest.slug if latest is not None else "the latest asset")
        + " often viewed it too",
        "exploration": "it is being tried out to learn what visitors click",
    }
    strongest = sorted((c for c in COMPONENTS if weighted[c] > 0), key=lambda c: -weighted[c])
    if not strongest and not profile.seen:
        return "Suggested as a starting point for a new visitor."
    if not strongest:
        return "Suggested in the catalog's order: no part of the blend puts another asset first."
    return "Suggested because " + " and ".join(phrases[c] for c in strongest[:2]) + "."


def rank(
    visitor: Visitor,
    catalog: Sequence[CatalogAsset],
    signals: Signals,
    *,
    slot: str,
    k: int,
    now: datetime,
    weights: Weights,
    rng: random.Random | None,
) -> list[Suggestion]:
    """Up to k assets for the visitor in this slot: matching pinned rules first, then the blend.

    Candidates are ordered by their score without exploration (ties: the better click-through
    in the slot, then the slug). With ``rng`` and a weight above 0, each then draws one
    Beta(1 + clicked, 1 + shown - clicked) sample in that order, until no later one could
    enter the top k; with ``rng=None`` the answer is deterministic.
    """
    by_id = {asset.id: asset for asset in catalog}
    profile = _profile(visitor, by_id, now, weights)
    neighbours = signals.covisits.get(profile.latest, {}) if profile.latest is not None else {}
    top = max(neighbours.values(), default=0.0)
    pins: dict[uuid.UUID, PinRule] = {}
    matching = [r for r in signals.rules if _rule_matches(r, visitor, profile, slot)]
    for rule in sorted(matching, key=lambda r: (-r.priority, str(r.id))):
        if rule.asset_id in by_id and rule.asset_id not in pins and len(pins) < k:
            pins[rule.asset_id] = rule
    fixed = wp, wt, ws, wc = (weights.persona_fit, weights.topic_affinity,
                              weights.stage_progression, weights.covisitation)  # fmt: skip
    stage_of = {phase: _stage_score(phase, profile.phase) for phase in PHASES}
    chosen = [
        (by_id[a], (*_parts(by_id[a], profile, stage_of, neighbours, top), 0.0)) for a in pins
    ]
    candidates: list[_Candidate] = []
    for asset in catalog:
        if asset.id in profile.seen or asset.id in pins:
            continue
        parts = _parts(asset, profile, stage_of, neighbours, top)
        score = wp * parts[0] + wt * parts[1] + ws * parts[2] + wc * parts[3]
        shown, clicked = signals.ctr.get((slot, asset.id), (0, 0))
        candidates.append((-score, -(1 + clicked) / (2 + shown), asset.slug, asset, parts))
    candidates.sort()  # slugs are unique: the asset itself is never compared
    draw = rng if weights.exploration > 0 else None
    chosen += _explore(candidates, k - len(chosen), weights.exploration, draw, signals.ctr, slot)
    every, suggestions = (*fixed, weights.exploration), []
    for asset, raw in chosen:  # reasons are worded for the chosen few only
        weighted = {c: w * v for c, w, v in zip(COMPONENTS, every, raw, strict=True)}
        reason = _reason(pins.get(asset.id), weighted, asset, profile, by_id)
        score, pinned = sum(weighted.values()), asset.id in pins
        suggestions.append(Suggestion(asset, score, pinned, weighted, reason))
    return suggestions


_Candidate = tuple[float, float, str, CatalogAsset, tuple[float, float, float, float]]
_Chosen = tuple[CatalogAsset, tuple[float, float, float, float, float]]


def _explore(candidates: Sequence[_Candidate], room: int, weight: float,
             draw: random.Random | None, ctr: Ctr, slot: str) -> list[_Chosen]:  # fmt: skip
    """The best ``room`` candidates (sorted by their score without exploration) once each has
    its Thompson draw; draws stop when no later candidate could enter, even drawing 1."""
    if room <= 0:
        return []
    if draw is None:
        return [(asset, (*parts, 0.0)) for *_, asset, parts in candidates[:room]]
    best: list[tuple[float, int, _Chosen]] = []
    for index, (negative, _, _, asset, parts) in enumerate(candidates):
        if len(best) == room and -negative + weight <= best[0][0]:
            break
        shown, clicked = ctr.get((slot, asset.id), (0, 0))
        sample = draw.betavariate(1 + clicked, 1 + max(shown - clicked, 0))
        entry = (-negative + weight * sample, -index, (asset, (*parts, sample)))
        (heapq.heappush if len(best) < room else heapq.heappushpop)(best, entry)
    return [chosen for _, _, chosen in sorted(best, key=lambda e: e[:2], reverse=True)]


def covisitation(
    histories: Iterable[Sequence[uuid.UUID]], *, min_together: int = 2
) -> dict[uuid.UUID, dict[uuid.UUID, float]]:
    """Lift P(b | a) / P(b) between assets viewed by the same visitors.

    Each history is one visitor's content views (repeats count once). With N visitors who
    viewed anything, n(a) who viewed a and n(a, b) who viewed both, the lift is
    n(a, b) * N / (n(a) * n(b)); pairs seen together by fewer than ``min_together`` visitors
    are left out. Only a history's latest ``MAX_ASSETS_PER_HISTORY`` distinct assets count.
    """
    visitors = 0
    alone: Counter[uuid.UUID] = Counter()
    together: Counter[tuple[uuid.UUID, uuid.UUID]] = Counter()
    for history in histories:
        distinct = list(dict.fromkeys(reversed(history)))[:MAX_ASSETS_PER_HISTORY]
        if not distinct:
            continue
        visitors += 1
        alone.update(distinct)
        ordered = sorted(distinct, key=str)
        together.update(combinations(ordered, 2))
    lift: dict[uuid.UUID, dict[uuid.UUID, float]] = defaultdict(dict)
    for (a, b), both in together.items():
        if both < min_together:
            continue
        value = both * visitors / (alone[a] * alone[b])
        lift[a][b] = value
        lift[b][a] = value
    return dict(lift)
