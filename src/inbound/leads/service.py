"""The team's view of leads: read one, move its stage, set its persona, claim it, note it."""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inbound.content.service import AssetService
from inbound.db import utcnow
from inbound.errors import Conflict, NotFound, Unprocessable
from inbound.leads.events import CRM_ORIGIN, lead_events
from inbound.leads.lifecycle import move_to, promote_if_qualified
from inbound.leads.models import Capture, LeadNote, ScoreEvent, StageChange
from inbound.leads.qualification.evaluation import MANUAL, LeadSettings, evaluate
from inbound.leads.qualification.scoring import decayed
from inbound.leads.repository import CaptureRepository, LeadRepository, NoteRepository

# Imported from here by the domains that read the lead settings.
from inbound.leads.settings_service import LeadSettingsService as LeadSettingsService
from inbound.leads.stages import LeadStatus, LifecycleStage, StageCause, is_regression
from inbound.leads.state import ContactState, StageChangeRow
from inbound.pagination import PageRequest
from inbound.personas.models import Persona
from inbound.personas.service import PersonaService

TIMELINE_LIMIT = 200


class LeadNotFound(NotFound, problem="lead-not-found"): ...


class StageRegression(Unprocessable, problem="stage-regression"): ...


class CaptureNotFound(NotFound, problem="capture-not-found"): ...


class NoteNotFound(NotFound, problem="note-not-found"): ...


class LeadClaimed(Conflict, problem="lead-claimed"): ...


# Called with the locked lead's version before a write: `If-Match` refuses a stale one there.
Precondition = Callable[[int], None]


# Who made the changes the CRM reported, as stage changes record it.
CRM_ACTOR = "crm:hubspot"


def _anything(version: int) -> None:
    """No precondition."""


@dataclass(frozen=True, slots=True)
class LeadView:
    """A contact with its persona and its recent history."""

    contact: dict[str, Any]
    persona: Persona | None
    captures: Sequence[Capture]
    score_events: Sequence[ScoreEvent]
    stage_changes: Sequence[StageChange]


class LeadService:
    """What the sales and marketing teams do with one lead."""

    def __init__(self, session: AsyncSession) -> None:
        self.leads = LeadRepository(session)
        self.notes_of_leads = NoteRepository(session)
        self.captures = CaptureRepository(session)
        self.personas = PersonaService(session)
        self.assets = AssetService(session)
        self.settings = LeadSettingsService(session)

    async def view(self, contact_id: uuid.UUID) -> LeadView:
        """A lead with its persona and the newest entries of its history."""
        contact = await self.leads.contact_or_raise(contact_id, LeadNotFound)
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

    async def exists(self, contact_id: uuid.UUID) -> bool:
        """Whether the lead is there (not erased, never made up)."""
        return await self.leads.contact(contact_id) is not None

    async def move_stage(
        self,
        contact_id: uuid.UUID,
        stage: LifecycleStage,
        *,
        reason: str | None,
        allow_regression: bool,
        actor: str,
        precondition: Precondition = _anything,
    ) -> None:
        """Move a lead to ``stage``; backwards only when the caller says so."""
        state, before = await self._lock(contact_id, precondition)
        current = state.current_stage
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
            await self._save(before, state, rows)

    async def assign_persona(
        self,
        contact_id: uuid.UUID,
        persona_ref: str,
        *,
        reason: str | None,
        actor: str,
        precondition: Precondition = _anything,
    ) -> None:
        """Set a lead's persona by hand; automatic mapping leaves it alone from now on."""
        state, before = await self._lock(contact_id, precondition)
        persona = await self.personas.get(persona_ref)
        state.persona_id, state.persona_source = persona.id, MANUAL
        state.persona_confidence = None
        state.persona_explanation = {
            "persona": persona.slug,
            "reason": reason or "assigned by hand",
            "assigned_by": actor,
            "assigned_at": utcnow().isoformat(),
        }
        await self._reevaluate_and_save(before, state, actor)

    async def clear_persona(
        self, contact_id: uuid.UUID, *, actor: str, precondition: Precondition = _anything
    ) -> None:
        """Return a lead to automatic mapping, and map it now."""
        state, before = await self._lock(contact_id, precondition)
        state.persona_source = None
        await self._reevaluate_and_save(before, state, actor)

    async def claim(
        self, contact_id: uuid.UUID, owner: str, *, precondition: Precondition = _anything
    ) -> bool:
        """Make ``owner`` the lead's owner unless someone else holds it; True when it is new.

        The row lock decides races: the first claim commits, the others find its owner.
        """
        state, before = await self._lock(contact_id, precondition)
        if state.owner == owner:
            return False
        if state.owner is not None:
            raise LeadClaimed(
                f"the lead is claimed by {state.owner!r}",
                extensions={"owner": state.owner},
            )
        state.owner, state.owned_at = owner, utcnow()
        await self._save(before, state, [], claimed=True)
        return True

    async def reassign(
        self, contact_id: uuid.UUID, owner: str, *, precondition: Precondition = _anything
    ) -> None:
        """Give the lead to ``owner``, whoever holds it now."""
        state, before = await self._lock(contact_id, precondition)
        if state.owner != owner:
            state.owner, state.owned_at = owner, utcnow()
            await self._save(before, state, [], claimed=True)

    async def release(
        self,
        contact_id: uuid.UUID,
        *,
        owner: str | None,
        precondition: Precondition = _anything,
    ) -> None:
        """Let go of the lead's claim; when ``owner`` is named, only if it is theirs."""
        state, before = await self._lock(contact_id, precondition)
        if state.owner is None:
            return
        if owner is not None and state.owner != owner:
            raise LeadClaimed(
                f"the lead is claimed by {state.owner!r}, not {owner!r}",
                extensions={"owner": state.owner},
            )
        state.owner, state.owned_at = None, None
        await self._save(before, state, [])

    async def erase(self, contact_id: uuid.UUID, *, precondition: Precondition = _anything) -> str:
        """Forget a lead for good (the right to erasure): the contact, its captures, stage
        changes, scores, notes and events. Its email, for what must be erased elsewhere."""
        state, _ = await self._lock(contact_id, precondition)
        await self.leads.delete_contact(contact_id)
        return state.email

    async def apply_crm_change(
        self,
        contact_id: uuid.UUID,
        *,
        stage: LifecycleStage | None = None,
        owner: str | None = None,
        owner_changed: bool = False,
    ) -> bool:
        """Apply what the CRM reported changed, with cause `crm`; True when anything changed.

        The stage only moves forward, as in HubSpot: a backward value is our own earlier
        state coming back late, or a reset HubSpot itself makes explicit. The events carry
        origin `crm`, so that the CRM sync does not send the change back.
        """
        state, before = await self._lock(contact_id, _anything)
        now = utcnow()
        rows: list[StageChangeRow] = []
        if stage is not None and stage.rank > state.current_stage.rank:
            rows = move_to(
                state, stage, cause=StageCause.CRM, now=now, actor=CRM_ACTOR,
                reason="changed in the CRM",
            )  # fmt: skip
        claimed = owner_changed and owner != state.owner
        if claimed:
            state.owner, state.owned_at = owner, now if owner is not None else None
        if not rows and not claimed:
            return False
        await self._save(
            before, state, rows, claimed=claimed and owner is not None, origin=CRM_ORIGIN
        )
        return True

    async def set_lead_status(
        self, contact_id: uuid.UUID, status: LeadStatus, *, precondition: Precondition = _anything
    ) -> None:
        """Record how working the lead goes; the lifecycle stage stays where it is."""
        state, before = await self._lock(contact_id, precondition)
        if state.lead_status != status.value:
            state.lead_status, state.lead_status_at = status.value, utcnow()
            await self._save(before, state, [])

    async def add_note(
        self,
        contact_id: uuid.UUID,
        body: str,
        *,
        actor: str,
        precondition: Precondition = _anything,
    ) -> tuple[LeadNote, int]:
        """Keep a rep's note on the lead; the lead's version moves with it. The note, and the
        lead's new version."""
        state, before = await self._lock(contact_id, precondition)
        note = LeadNote(contact_id=contact_id, body=body, author=actor)
        await self.notes_of_leads.add(note)
        await self._save(before, state, [], changes=("notes",))
        return note, state.version

    async def note(self, contact_id: uuid.UUID, note_id: uuid.UUID) -> LeadNote:
        """One note on a lead."""
        note = await self.notes_of_leads.get_or_none(note_id)
        if note is None or note.contact_id != contact_id:
            raise NoteNotFound(f"no note {note_id} on lead {contact_id}")
        return note

    async def notes(
        self, contact_id: uuid.UUID, page: PageRequest
    ) -> tuple[Sequence[LeadNote], str | None]:
        """A lead's notes, oldest first."""
        await self.leads.contact_or_raise(contact_id, LeadNotFound)
        return await self.notes_of_leads.of_lead(contact_id, page)

    async def capture(self, capture_id: uuid.UUID) -> Capture:
        """One stored capture."""
        return await self.captures.get_or_raise(capture_id, CaptureNotFound)

    async def _lock(
        self, contact_id: uuid.UUID, precondition: Precondition
    ) -> tuple[ContactState, dict[str, Any]]:
        """The lead locked until the commit, checked against the caller's precondition: its
        state to change, and a copy of it as it was."""
        row = await self.leads.contact_or_raise(contact_id, LeadNotFound, lock=True)
        precondition(row["version"])
        state = ContactState.of(row)
        return state, state.columns()

    async def _reevaluate_and_save(
        self, before: dict[str, Any], state: ContactState, actor: str
    ) -> None:
        settings = await self.settings.current()
        personas = await self.personas.matchable()
        touched = {uuid.UUID(asset_id) for asset_id in state.touches}
        relevance = await self.assets.relevance(touched)
        state.update(evaluate(state, personas, relevance, settings))
        rows = promote_if_qualified(state, settings, now=utcnow(), actor=actor)
        await self._save(before, state, rows, settings=settings)

    async def _save(
        self,
        before: dict[str, Any],
        state: ContactState,
        stage_changes: list[StageChangeRow],
        *,
        claimed: bool = False,
        changes: Sequence[str] = (),
        settings: LeadSettings | None = None,
        origin: str | None = None,
    ) -> None:
        """Write the lead's new state, its stage changes and its events."""
        now = utcnow()
        state.updated_at = now
        state.version += 1
        settings = settings or await self.settings.current()
        half_life = settings.scoring.half_life_days
        events = lead_events(
            before, state, score=decayed(state.score, state.score_at, now, half_life),
            at=now, stage_changes=stage_changes, claimed=claimed,
            claimed_from=before["owner"], changes=changes, origin=origin,
        )  # fmt: skip
        values = state.columns()
        del values["id"], values["change_seq"]
        await self.leads.update_contact(state.id, values)
        await self.leads.insert_stage_changes(stage_changes)
        await self.leads.insert_events(events)
