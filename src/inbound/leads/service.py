"""The team's view of leads: read one, move its stage, set its persona; and the lead settings."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inbound.content.service import AssetService
from inbound.db import utcnow
from inbound.errors import NotFound, Unprocessable
from inbound.leads.evaluation import MANUAL, LeadSettings, evaluate
from inbound.leads.lifecycle import move_to, promote_if_qualified
from inbound.leads.models import Capture, LeadSetting, ScoreEvent, StageChange
from inbound.leads.repository import LeadRepository
from inbound.leads.settings import MappingSettings, ScoringSettings
from inbound.leads.stages import LifecycleStage, StageCause, is_regression
from inbound.personas.models import Persona
from inbound.personas.service import PersonaService

TIMELINE_LIMIT = 200
SCORING, MAPPING = "scoring", "mapping"


class LeadNotFound(NotFound):
    problem = "lead-not-found"


class StageRegression(Unprocessable):
    problem = "stage-regression"


class InconsistentSettings(Unprocessable):
    problem = "inconsistent-settings"


class CaptureNotFound(NotFound):
    problem = "capture-not-found"


@dataclass(frozen=True, slots=True)
class LeadView:
    """A contact with its persona and its recent history."""

    contact: dict[str, Any]
    persona: Persona | None
    captures: Sequence[Capture]
    score_events: Sequence[ScoreEvent]
    stage_changes: Sequence[StageChange]


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


class LeadService:
    """What the sales and marketing teams do with one lead."""

    def __init__(self, session: AsyncSession) -> None:
        self.leads = LeadRepository(session)
        self.personas = PersonaService(session)
        self.assets = AssetService(session)
        self.settings = LeadSettingsService(session)

    async def view(self, contact_id: uuid.UUID) -> LeadView:
        """A lead with its persona and the newest entries of its history."""
        contact = await self.leads.contact(contact_id)
        if contact is None:
            raise LeadNotFound(f"no lead {contact_id}")
        persona = None
        if contact["persona_id"] is not None:
            persona = await self.personas.get(str(contact["persona_id"]))
        history = await self.leads.timeline(contact_id, TIMELINE_LIMIT)
        return LeadView(
            contact=dict(contact),
            persona=persona,
            captures=history["capture"],
            score_events=history["score"],
            stage_changes=history["stage"],
        )

    async def move_stage(
        self,
        contact_id: uuid.UUID,
        stage: LifecycleStage,
        *,
        reason: str | None,
        allow_regression: bool,
        actor: str,
    ) -> None:
        """Move a lead to ``stage``; backwards only when the caller says so."""
        state = await self._lock(contact_id)
        current = LifecycleStage(state["stage"])
        if is_regression(current, stage) and not allow_regression:
            raise StageRegression(
                f"the lead is at {current.value}; moving it back to {stage.value} needs "
                "`allow_regression: true`",
                field="stage",
            )
        now = utcnow()
        rows = move_to(
            state, stage, cause=StageCause.SALES, now=now, actor=actor, reason=reason,
            allow_regression=True,
        )  # fmt: skip
        if rows:  # already there: nothing changes, not even the version
            await self._save(state, rows)

    async def assign_persona(
        self, contact_id: uuid.UUID, persona_ref: str, *, reason: str | None, actor: str
    ) -> None:
        """Set a lead's persona by hand; automatic mapping leaves it alone from now on."""
        state = await self._lock(contact_id)
        persona = await self.personas.get(persona_ref)
        state.update(
            persona_id=persona.id,
            persona_source=MANUAL,
            persona_confidence=None,
            persona_explanation={
                "persona": persona.slug,
                "reason": reason or "assigned by hand",
                "assigned_by": actor,
                "assigned_at": utcnow().isoformat(),
            },
        )
        await self._reevaluate_and_save(state, actor)

    async def clear_persona(self, contact_id: uuid.UUID, *, actor: str) -> None:
        """Return a lead to automatic mapping, and map it now."""
        state = await self._lock(contact_id)
        state["persona_source"] = None
        await self._reevaluate_and_save(state, actor)

    async def capture(self, capture_id: uuid.UUID) -> Capture:
        """One stored capture."""
        capture = await self.leads.get_capture(capture_id)
        if capture is None:
            raise CaptureNotFound(f"no capture {capture_id}")
        return capture

    async def _lock(self, contact_id: uuid.UUID) -> dict[str, Any]:
        row = await self.leads.lock_contact(contact_id)
        if row is None:
            raise LeadNotFound(f"no lead {contact_id}")
        return dict(row)

    async def _reevaluate_and_save(self, state: dict[str, Any], actor: str) -> None:
        settings = await self.settings.current()
        personas = await self.personas.matchable()
        touched = {uuid.UUID(asset_id) for asset_id in state["touches"]}
        relevance = await self.assets.relevance(touched)
        state.update(evaluate(state, personas, relevance, settings))
        rows = promote_if_qualified(state, settings, now=utcnow(), actor=actor)
        await self._save(state, rows)

    async def _save(self, state: dict[str, Any], stage_changes: list[dict[str, Any]]) -> None:
        state["updated_at"] = utcnow()
        state["version"] += 1
        contact_id = state.pop("id")
        await self.leads.update_contact(contact_id, state)
        await self.leads.insert_stage_changes(stage_changes)
