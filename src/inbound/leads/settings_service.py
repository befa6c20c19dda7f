"""The lead settings: scoring and mapping documents, stored or at their defaults."""

from sqlalchemy.ext.asyncio import AsyncSession

from inbound.db import utcnow
from inbound.errors import Unprocessable
from inbound.leads.models import LeadSetting
from inbound.leads.qualification.evaluation import LeadSettings
from inbound.leads.qualification.settings import MappingSettings, ScoringSettings
from inbound.leads.repository import LeadRepository

SCORING, MAPPING = "scoring", "mapping"


class InconsistentSettings(Unprocessable, problem="inconsistent-settings"): ...


class LeadSettingsService:
    """Scoring and mapping settings: stored documents, or the defaults until an admin sets them."""

    def __init__(self, session: AsyncSession) -> None:
        self.leads = LeadRepository(session)

    async def current(self) -> LeadSettings:
        """Both documents as they stand, in one query."""
        stored = await self.leads.settings()
        scoring, scoring_version = stored.get(SCORING, ({}, 0))
        mapping, mapping_version = stored.get(MAPPING, ({}, 0))
        return LeadSettings(
            scoring=ScoringSettings.model_validate(scoring),
            mapping=MappingSettings.model_validate(mapping),
            versions=(scoring_version, mapping_version),
        )

    async def lock(self, name: str) -> LeadSetting:
        """The stored document ``name`` (version 0 until first set), locked for a replace."""
        return await self.leads.lock_setting(name)

    async def replace(self, row: LeadSetting, document: ScoringSettings | MappingSettings) -> int:
        """Store a whole settings document in its locked row; return its new version."""
        if problems := document.problems():
            raise InconsistentSettings("these settings contradict each other", errors=problems)
        row.value = document.model_dump(mode="json")
        row.updated_at = utcnow()
        row.version += 1
        await self.leads.session.flush()
        return row.version
