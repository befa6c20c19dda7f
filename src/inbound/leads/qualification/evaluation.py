"""A contact's persona, fit and grade as they follow from its profile and what it captured."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from inbound.content.service import AssetRelevance
from inbound.leads.qualification.mapping import Profile, map_persona
from inbound.leads.qualification.scoring import PROFILE_FIELDS, filled_share, fit, grade
from inbound.leads.qualification.settings import MappingSettings, ScoringSettings
from inbound.leads.state import ContactState
from inbound.personas.service import MatchablePersona

MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class LeadSettings:
    """Both settings documents, with the versions that make up a remap's fingerprint."""

    scoring: ScoringSettings
    mapping: MappingSettings
    versions: tuple[int, int] = (0, 0)


_profile_values = attrgetter(*PROFILE_FIELDS)


def evaluate(
    contact: ContactState,
    personas: Sequence[MatchablePersona],
    assets: Mapping[uuid.UUID, AssetRelevance],
    settings: LeadSettings,
) -> dict[str, Any]:
    """The persona, fit and grade columns for ``contact`` as it stands now.

    A persona assigned by hand stays; only its fit is recomputed from that persona's rules.
    """
    profile = Profile(
        job_title=contact.job_title,
        industry=contact.industry,
        company_size=contact.company_size,
        country=contact.country,
        seniority=contact.seniority,
        topics=contact.topics or (),
        custom_fields=contact.custom_fields or {},
    )
    match = map_persona(profile, contact.touches or {}, personas, assets, settings.mapping)
    columns: dict[str, Any] = {}
    # A hand-picked persona that was deleted since leaves the contact to automatic mapping.
    if contact.persona_source == MANUAL and contact.persona_id is not None:
        strength = match.strength_of(contact.persona_id)
    elif match.chosen is None:
        strength = 0.0
        columns = {
            "persona_id": None,
            "persona_source": None,
            "persona_confidence": None,
            "persona_explanation": match.explanation,
        }
    else:
        chosen = match.chosen
        strength = chosen.rule_strength or 0.0
        from_rules = settings.mapping.rules_weight * strength
        from_content = settings.mapping.content_weight * (chosen.content_affinity or 0.0)
        columns = {
            "persona_id": chosen.persona.id,
            "persona_source": "rules" if from_rules >= from_content else "content",
            "persona_confidence": round(chosen.confidence, 4),
            "persona_explanation": match.explanation,
        }
    completeness = filled_share(_profile_values(contact))
    fit_value = round(fit(strength, completeness, settings.scoring), 4)
    return columns | {"fit": fit_value, "grade": grade(fit_value, settings.scoring)}
