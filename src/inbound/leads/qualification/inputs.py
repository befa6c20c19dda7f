"""What persona mapping and scoring read besides the contact: personas, tags and settings."""

import hashlib
import json
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from inbound.content.service import AssetRelevance, AssetService
from inbound.leads.qualification.evaluation import LeadSettings
from inbound.leads.settings_service import LeadSettingsService
from inbound.personas.service import MatchablePersona, PersonaService


@dataclass(frozen=True, slots=True)
class MappingInputs:
    """Everything mapping reads besides the contact itself."""

    personas: list[MatchablePersona]
    relevance: dict[uuid.UUID, AssetRelevance]
    settings: LeadSettings

    def fingerprint(self) -> str:
        """Changes exactly when some contact's mapping could change."""
        document = [
            [[str(p.id), p.priority, p.rules] for p in self.personas],
            sorted(
                [str(a), str(p), r]
                for a, entry in self.relevance.items()
                for p, r in entry.relevance.items()
            ),
            list(self.settings.versions),
        ]
        return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


async def load_inputs(session: AsyncSession) -> MappingInputs:
    """Personas, every asset's tags and the settings, as they stand."""
    return MappingInputs(
        personas=await PersonaService(session).matchable(),
        relevance=await AssetService(session).relevance(),
        settings=await LeadSettingsService(session).current(),
    )
