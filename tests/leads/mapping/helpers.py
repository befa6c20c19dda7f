"""Personas, rules and tags of the persona mapping tests."""

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from inbound.content.service import AssetRelevance
from inbound.leads.qualification.mapping import PersonaMatch, Profile, map_persona
from inbound.leads.qualification.settings import MappingSettings
from inbound.personas.service import MatchablePersona

DEFAULTS = MappingSettings()
CIO_RULES: list[dict[str, Any]] = [
    {"field": "job_title", "operator": "contains_any", "values": ["CIO", "IT director"],
     "weight": 3},
    {"field": "company_size", "operator": "between", "min": 200, "max": None, "weight": 1},
]  # fmt: skip
GUIDE = uuid.uuid4()
WEBINAR = uuid.uuid4()


def persona(
    slug: str, rules: Sequence[Mapping[str, Any]] = (), priority: int = 0
) -> MatchablePersona:
    return MatchablePersona(id=uuid.uuid4(), slug=slug, priority=priority, rules=list(rules))


def rule(field: str, operator: str, weight: float = 1, **spec: Any) -> dict[str, Any]:
    return {"field": field, "operator": operator, "weight": weight, **spec}


def tags(**relevance: tuple[MatchablePersona, int]) -> dict[uuid.UUID, AssetRelevance]:
    """Asset relevance keyed by asset id: `guide=(persona, 3)` tags GUIDE to persona at 3."""
    ids = {"guide": GUIDE, "webinar": WEBINAR}
    return {
        ids[slug]: AssetRelevance(slug=slug, relevance={p.id: level})
        for slug, (p, level) in relevance.items()
    }


def mapped(
    personas: Sequence[MatchablePersona],
    profile: Profile | None = None,
    touches: Mapping[str, float] | None = None,
    assets: Mapping[uuid.UUID, AssetRelevance] | None = None,
    settings: MappingSettings = DEFAULTS,
) -> PersonaMatch:
    return map_persona(profile or Profile(), touches or {}, personas, assets or {}, settings)
