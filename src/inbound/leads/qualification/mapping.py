"""Persona mapping: which persona a contact is, how sure we are, and why (pure functions)."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from inbound.content.service import AssetRelevance
from inbound.leads.qualification.settings import MappingSettings
from inbound.personas.service import MatchablePersona

MAX_RELEVANCE = 3


@dataclass(frozen=True, slots=True)
class Profile:
    """The contact fields that rules look at."""

    job_title: str | None = None
    industry: str | None = None
    company_size: int | None = None
    country: str | None = None
    seniority: str | None = None
    topics: Sequence[str] = ()
    custom_fields: Mapping[str, Any] = field(default_factory=dict)

    def values(self, name: str) -> list[Any]:
        """The values a rule on ``name`` tests; empty when the contact has none."""
        if name == "topic":
            return list(self.topics)
        if name.startswith("form."):
            value = self.custom_fields.get(name.removeprefix("form."))
        else:
            value = getattr(self, name, None)
        if value is None or value == "":
            return []
        return list(value) if isinstance(value, list) else [value]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One persona's evidence for a contact."""

    persona: MatchablePersona
    confidence: float
    rule_strength: float | None
    content_affinity: float | None
    matched_rules: list[dict[str, Any]]
    assets: list[dict[str, Any]]

    def explain(self) -> dict[str, Any]:
        return {
            "persona": self.persona.slug,
            "confidence": round(self.confidence, 4),
            "rule_strength": _round(self.rule_strength),
            "content_affinity": _round(self.content_affinity),
            "matched_rules": self.matched_rules,
            "assets": self.assets,
        }


@dataclass(frozen=True, slots=True)
class PersonaMatch:
    """The outcome: the chosen persona (or none), every candidate, and what to store as why."""

    chosen: Candidate | None
    candidates: Sequence[Candidate]
    explanation: dict[str, Any]

    def strength_of(self, persona_id: uuid.UUID | None) -> float:
        """The rule strength behind ``persona_id`` (0 when it has no rules or is unknown)."""
        for candidate in self.candidates:
            if candidate.persona.id == persona_id:
                return candidate.rule_strength or 0.0
        return 0.0


def map_persona(
    profile: Profile,
    touches: Mapping[str, float],
    personas: Sequence[MatchablePersona],
    assets: Mapping[uuid.UUID, AssetRelevance],
    settings: MappingSettings,
) -> PersonaMatch:
    """Pick the strongest persona above the minimum confidence; ties go to higher priority."""
    candidates = [_candidate(p, profile, touches, assets, settings) for p in personas]
    ranked = sorted(
        candidates, key=lambda c: (-round(c.confidence, 9), -c.persona.priority, c.persona.slug)
    )
    best = ranked[0] if ranked else None
    # Some evidence is needed even when the minimum confidence is 0.
    chosen = best if best and best.confidence >= max(settings.min_confidence, 1e-9) else None
    explanation: dict[str, Any] = {
        "persona": chosen.persona.slug if chosen else None,
        "min_confidence": settings.min_confidence,
        "candidates": [c.explain() for c in ranked[:3] if c.confidence > 0],
    }
    if chosen is None:
        explanation["reason"] = (
            "no persona reached the minimum confidence" if personas else "there are no personas"
        )
    elif len(ranked) > 1 and round(ranked[1].confidence, 9) == round(chosen.confidence, 9):
        explanation["reason"] = (
            "tied on confidence and priority; the first by slug won"
            if ranked[1].persona.priority == chosen.persona.priority
            else "tied on confidence; the higher priority won"
        )
    else:
        explanation["reason"] = "the strongest persona above the minimum confidence"
    return PersonaMatch(chosen=chosen, candidates=candidates, explanation=explanation)


def _candidate(
    persona: MatchablePersona,
    profile: Profile,
    touches: Mapping[str, float],
    assets: Mapping[uuid.UUID, AssetRelevance],
    settings: MappingSettings,
) -> Candidate:
    matched = [
        {"field": rule["field"], "operator": rule["operator"], "weight": rule["weight"],
         "value": hit}
        for rule in persona.rules
        if (hit := _match(rule, profile.values(rule["field"]))) is not None
    ]  # fmt: skip
    total_weight = sum(rule["weight"] for rule in persona.rules)
    strength = sum(m["weight"] for m in matched) / total_weight if total_weight else None

    total_touch = sum(touches.values())
    affinity = None
    counted: list[dict[str, Any]] = []
    if total_touch > 0:
        score = 0.0
        for asset_id, weight in touches.items():
            tags = assets.get(uuid.UUID(asset_id))
            relevance = tags.relevance.get(persona.id, 0) if tags else 0
            if relevance:
                score += weight * relevance / MAX_RELEVANCE
                counted.append(
                    {"asset": tags.slug if tags else asset_id, "relevance": relevance,
                     "weight": round(weight / total_touch, 4)}
                )  # fmt: skip
        affinity = score / total_touch

    parts = [
        (settings.rules_weight, strength),
        (settings.content_weight, affinity),
    ]
    weight_known = sum(w for w, value in parts if value is not None)
    confidence = (
        sum(w * value for w, value in parts if value is not None) / weight_known
        if weight_known
        else 0.0
    )
    return Candidate(persona, confidence, strength, affinity, matched, counted)


def _match(rule: Mapping[str, Any], values: list[Any]) -> Any:
    """The contact value that satisfies ``rule``, or None."""
    operator = rule["operator"]
    for value in values:
        if operator == "between":
            number = _number(value)
            low, high = rule.get("min"), rule.get("max")
            if (
                number is not None
                and (low is None or number >= low)
                and (high is None or number <= high)
            ):
                return value
            continue
        text = str(value).casefold()
        if operator == "contains_any" and any(t.casefold() in text for t in rule["values"]):
            return value
        if operator == "equals" and text == str(rule["value"]).casefold():
            return value
        if operator == "one_of" and text in {t.casefold() for t in rule["values"]}:
            return value
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
