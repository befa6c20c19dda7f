"""Lead capture: a form post becomes a contact, a capture, a stage, a score and a persona.

Everything one capture writes happens in the request's one transaction, so either all of it
is there or none of it is.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inbound.content.models import AssetKind
from inbound.content.service import AssetRelevance, AssetService, CaptureTarget
from inbound.db import new_id, utcnow
from inbound.errors import FieldError, Unprocessable
from inbound.leads.evaluation import LeadSettings, evaluate
from inbound.leads.lifecycle import move_to, promote_if_qualified
from inbound.leads.repository import LeadRepository
from inbound.leads.schemas import CaptureAccepted, CaptureCreate
from inbound.leads.scoring import decayed, points_for
from inbound.leads.service import LeadSettingsService
from inbound.leads.stages import LifecycleStage, StageCause
from inbound.personas.service import MatchablePersona, PersonaService

IDEMPOTENCY_WINDOW = timedelta(hours=24)
FORM_CAPTURE = "form_capture"
MAX_TOPICS = 100
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


class UnknownAsset(Unprocessable):
    problem = "unknown-asset"


class MissingFormFields(Unprocessable):
    problem = "missing-fields"


@dataclass(frozen=True, slots=True)
class CaptureSource:
    """Where a capture came from: the site and key that posted it, and the client."""

    site_id: uuid.UUID
    key_id: uuid.UUID
    ip_prefix: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True, slots=True)
class Submission:
    """One form post for one asset, as the capture will record it."""

    form: CaptureCreate
    target: CaptureTarget
    capture_id: uuid.UUID
    now: datetime
    actor: str


@dataclass(frozen=True, slots=True)
class Evidence:
    """What persona mapping weighs: the personas and the relevance of the assets touched."""

    personas: Sequence[MatchablePersona]
    relevance: Mapping[uuid.UUID, AssetRelevance]


@dataclass(slots=True)
class CaptureOutcome:
    """The rows one capture writes besides the capture itself."""

    contact: dict[str, Any]
    changes: dict[str, Any]
    stage_changes: list[dict[str, Any]] = field(default_factory=list)
    score_events: list[dict[str, Any]] = field(default_factory=list)


class CaptureService:
    """Turns form posts into contacts and captures."""

    def __init__(self, session: AsyncSession) -> None:
        self.leads = LeadRepository(session)
        self.assets = AssetService(session)
        self.personas = PersonaService(session)
        self.settings = LeadSettingsService(session)

    async def capture(
        self,
        form: CaptureCreate,
        *,
        posted: dict[str, Any],
        source: CaptureSource,
        idempotency_key: str | None,
    ) -> tuple[CaptureAccepted, bool]:
        """Record a form post; a replayed idempotency key answers as the first post did.

        The flag says whether the answer is such a replay.
        """
        target = await self.assets.capture_target(form.asset)
        if target is None:
            raise UnknownAsset(f"no asset {form.asset!r}", field="asset")
        _check_required_fields(target, form)
        now = utcnow()
        capture_id = new_id()
        if idempotency_key is not None:
            replay = await self._replay(source.site_id, idempotency_key, capture_id, now)
            if replay is not None:
                return replay, True
        contact_id = await self._record_contact(form, target, source, capture_id, now)
        await self.leads.insert_capture(
            {
                "id": capture_id,
                "contact_id": contact_id,
                "asset_id": target.id,
                "site_id": source.site_id,
                "fields": posted,
                "consent": form.consent,
                "consent_text_version": form.consent_text_version,
                **{name: getattr(form, name) for name in UTM_FIELDS},
                "referrer": form.referrer,
                "page_url": form.page_url,
                "user_agent": source.user_agent,
                "ip_prefix": source.ip_prefix,
                "visitor_id": form.visitor_id,
                "idempotency_key": idempotency_key,
                "created_at": now,
            }
        )
        accepted = CaptureAccepted(
            contact_id=contact_id, capture_id=capture_id, delivery_url=target.delivery_url
        )
        return accepted, False

    async def _replay(
        self, site_id: uuid.UUID, key: str, capture_id: uuid.UUID, now: datetime
    ) -> CaptureAccepted | None:
        if await self.leads.claim_idempotency_key(
            site_id, key, capture_id, now, now - IDEMPOTENCY_WINDOW
        ):
            return None
        first = await self.leads.replayed_capture(site_id, key)
        if first is None:  # the first capture was erased since: this one takes the key
            await self.leads.take_over_idempotency_key(site_id, key, capture_id, now)
            return None
        asset = await self.assets.capture_target(str(first["asset_id"]))
        return CaptureAccepted(
            contact_id=first["contact_id"],
            capture_id=first["id"],
            delivery_url=asset.delivery_url if asset else None,
        )

    async def _record_contact(
        self,
        form: CaptureCreate,
        target: CaptureTarget,
        source: CaptureSource,
        capture_id: uuid.UUID,
        now: datetime,
    ) -> uuid.UUID:
        """Create or update the contact behind ``form``; return its id.

        The contact is locked first. When it does not exist yet and a concurrent capture
        creates it first, the insert does nothing and the second pass updates it instead.
        """
        personas = await self.personas.matchable()
        settings = await self.settings.current()
        for _ in range(2):
            existing = await self.leads.lock_contact_by_email(form.email)
            earned = 0.0
            if existing is not None:
                cap_period = settings.scoring.activities.form_capture.cap_period_days
                since = now - timedelta(days=cap_period)
                earned = await self.leads.points_since(existing["id"], FORM_CAPTURE, since)
            state = (
                dict(existing) if existing is not None else _new_contact(form, target, source, now)
            )
            touched = {uuid.UUID(asset_id) for asset_id in state["touches"]} | {target.id}
            relevance = await self.assets.relevance(touched)
            outcome = _apply_capture(
                state,
                Submission(form, target, capture_id, now, actor=f"key:{source.key_id}"),
                settings,
                Evidence(personas, relevance),
                earned=earned,
            )
            if existing is not None:
                await self.leads.update_contact(existing["id"], outcome.changes)
            elif not await self.leads.insert_contact(outcome.contact):
                continue  # created meanwhile by a concurrent capture: update it instead
            await self.leads.insert_stage_changes(outcome.stage_changes)
            await self.leads.insert_score_events(outcome.score_events)
            contact_id: uuid.UUID = outcome.contact["id"]
            return contact_id
        raise RuntimeError(f"contact {form.email!r} neither inserted nor found")


def _check_required_fields(target: CaptureTarget, form: CaptureCreate) -> None:
    """Refuse a post that leaves out a field the asset's form requires."""
    missing = [
        FieldError(field=spec["name"], message="this asset's form requires it")
        for spec in target.form_fields
        if spec.get("required", True) and not _answered(form, spec["name"])
    ]
    if missing:
        raise MissingFormFields("the form leaves out required fields", errors=missing)


def _answered(form: CaptureCreate, name: str) -> bool:
    if name == "consent":
        return form.consent is True
    value = getattr(form, name) if name in CaptureCreate.model_fields else form.fields.get(name)
    return value is not None and value != ""


def _new_contact(
    form: CaptureCreate, target: CaptureTarget, source: CaptureSource, now: datetime
) -> dict[str, Any]:
    """A contact that is not there yet, with its first touch."""
    return {
        "id": new_id(),
        "email": form.email,
        "custom_fields": {},
        "topics": [],
        "stage": None,
        "touches": {},
        "touches_at": None,
        "score": 0.0,
        "score_at": None,
        "persona_source": None,
        "persona_id": None,
        "first_site_id": source.site_id,
        "first_asset_id": target.id,
        **{f"first_{name}": getattr(form, name) for name in UTM_FIELDS},
        "first_referrer": form.referrer,
        "created_at": now,
        "version": 0,
    }


def _apply_capture(
    state: dict[str, Any],
    submission: Submission,
    settings: LeadSettings,
    evidence: Evidence,
    *,
    earned: float,
) -> CaptureOutcome:
    """Fold one capture into a contact's state; return what to write."""
    form, target, capture_id, now = (
        submission.form,
        submission.target,
        submission.capture_id,
        submission.now,
    )
    before = dict(state)
    state.update(form.profile())
    custom = {k: v for k, v in form.fields.items() if v is not None and v != ""}
    state["custom_fields"] = {**(state["custom_fields"] or {}), **custom}
    state["topics"] = list(dict.fromkeys([*(state["topics"] or []), *target.topics]))[:MAX_TOPICS]
    half_life = settings.mapping.content_half_life_days
    touches = {
        asset_id: decayed(weight, state["touches_at"], now, half_life)
        for asset_id, weight in (state["touches"] or {}).items()
    }
    touches[str(target.id)] = touches.get(str(target.id), 0.0) + 1.0
    state["touches"], state["touches_at"] = touches, now
    if form.consent is not None:
        state.update(
            consent=form.consent,
            consent_at=now,
            consent_text_version=form.consent_text_version,
            consent_capture_id=capture_id,
        )

    points, capped = points_for(FORM_CAPTURE, earned, settings.scoring)
    current = decayed(state["score"], state["score_at"], now, settings.scoring.half_life_days)
    state["score"], state["score_at"] = current + points, now
    score_events = [
        {"id": new_id(), "contact_id": state["id"], "kind": FORM_CAPTURE, "points": points,
         "capped": capped, "capture_id": capture_id, "created_at": now}
    ]  # fmt: skip

    state.update(evaluate(state, evidence.personas, evidence.relevance, settings))

    entry = (
        LifecycleStage.SUBSCRIBER if target.kind == AssetKind.NEWSLETTER else LifecycleStage.LEAD
    )
    stage_changes = move_to(
        state, entry, cause=StageCause.CAPTURE, now=now, actor=submission.actor,
        capture_id=capture_id,
    )  # fmt: skip
    stage_changes += promote_if_qualified(
        state, settings, now=now, actor=submission.actor, capture_id=capture_id
    )

    state["updated_at"] = now
    state["version"] = state["version"] + 1
    changes = {k: v for k, v in state.items() if k == "version" or before.get(k) != v}
    return CaptureOutcome(
        contact=state, changes=changes, stage_changes=stage_changes, score_events=score_events
    )
