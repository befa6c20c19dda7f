"""Folding one form submission into a contact's state: profile, touches, consent, score,
persona and stage, with the rows the capture records besides itself."""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from inbound.content.models import AssetKind
from inbound.content.service import AssetRelevance, CaptureTarget
from inbound.db import new_id
from inbound.leads.custom_fields import CustomFieldLimits
from inbound.leads.lifecycle import move_to, promote_if_qualified
from inbound.leads.qualification.evaluation import LeadSettings, evaluate
from inbound.leads.qualification.scoring import decayed, points_for
from inbound.leads.schemas import CaptureCreate
from inbound.leads.stages import LifecycleStage, StageCause
from inbound.leads.state import ContactState, ScoreEventRow, StageChangeRow
from inbound.personas.service import MatchablePersona

FORM_CAPTURE = "form_capture"
MAX_TOPICS = 100
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


@dataclass(frozen=True, slots=True)
class Submission:
    """One form post for one asset, as the capture will record it.

    ``now`` is the capture's time: taken again once the contact is locked, so that a
    contact's captures and stage changes are in the order their transactions committed.
    """

    form: CaptureCreate
    target: CaptureTarget
    capture_id: uuid.UUID
    now: datetime
    actor: str
    field_limits: CustomFieldLimits


@dataclass(frozen=True, slots=True)
class Evidence:
    """What persona mapping weighs: the personas and the relevance of the assets touched."""

    personas: Sequence[MatchablePersona]
    relevance: Mapping[uuid.UUID, AssetRelevance]


@dataclass(slots=True)
class CaptureOutcome:
    """The rows one capture writes besides the capture and the contact."""

    stage_changes: list[StageChangeRow] = field(default_factory=list)
    score_events: list[ScoreEventRow] = field(default_factory=list)


def new_contact(submission: Submission, site_id: uuid.UUID) -> ContactState:
    """A contact that is not there yet, with its first touch."""
    form = submission.form
    return ContactState(
        id=new_id(),
        email=form.email,
        first_site_id=site_id,
        first_asset_id=submission.target.id,
        first_referrer=form.referrer,
        created_at=submission.now,
        **{f"first_{name}": getattr(form, name) for name in UTM_FIELDS},
    )


def fold_capture(
    state: ContactState,
    submission: Submission,
    settings: LeadSettings,
    evidence: Evidence,
    *,
    earned: float,
) -> CaptureOutcome:
    """Fold one capture into a contact's state; return what to write besides it."""
    form, target, now = submission.form, submission.target, submission.now
    _take_profile(state, submission, settings.mapping.content_half_life_days)
    if form.consent is not None:
        state.consent, state.consent_at = form.consent, now
        state.consent_text_version = form.consent_text_version
        state.consent_capture_id = submission.capture_id
    score_event = _score(state, submission, settings, earned=earned)
    state.update(evaluate(state, evidence.personas, evidence.relevance, settings))
    entry = (
        LifecycleStage.SUBSCRIBER if target.kind == AssetKind.NEWSLETTER else LifecycleStage.LEAD
    )
    stage_changes = move_to(
        state, entry, cause=StageCause.CAPTURE, now=now, actor=submission.actor,
        capture_id=submission.capture_id,
    )  # fmt: skip
    stage_changes += promote_if_qualified(
        state, settings, now=now, actor=submission.actor, capture_id=submission.capture_id
    )
    state.updated_at = now
    state.version += 1
    return CaptureOutcome(stage_changes, [score_event])


def _take_profile(state: ContactState, submission: Submission, half_life_days: float) -> None:
    """The submitted fields, the asset's topics and a fresh touch of the asset."""
    form, target, now = submission.form, submission.target, submission.now
    state.update(form.profile())
    custom = {k: v for k, v in form.fields.items() if v is not None and v != ""}
    state.custom_fields = submission.field_limits.merge(state.custom_fields, custom)
    state.topics = list(dict.fromkeys([*(state.topics or []), *target.topics]))[:MAX_TOPICS]
    touches = {
        asset_id: decayed(weight, state.touches_at, now, half_life_days)
        for asset_id, weight in (state.touches or {}).items()
    }
    touches[str(target.id)] = touches.get(str(target.id), 0.0) + 1.0
    state.touches, state.touches_at = touches, now


def _score(
    state: ContactState, submission: Submission, settings: LeadSettings, *, earned: float
) -> ScoreEventRow:
    """The capture's points, within its cap, added to the decayed score."""
    now = submission.now
    points, capped = points_for(FORM_CAPTURE, earned, settings.scoring)
    current = decayed(state.score, state.score_at, now, settings.scoring.half_life_days)
    state.score, state.score_at = current + points, now
    return ScoreEventRow(
        id=new_id(), contact_id=state.id, kind=FORM_CAPTURE, points=points, capped=capped,
        capture_id=submission.capture_id, event_id=None, merge_id=None, created_at=now,
    )  # fmt: skip
