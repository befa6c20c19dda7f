"""Lead capture: a form post becomes a contact, a capture, a stage, a score and a persona.

Everything one capture writes happens in the request's one transaction, so either all of it
is there or none of it is.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inbound.content.models import AssetKind
from inbound.content.service import AssetRelevance, CaptureTarget
from inbound.db import new_id, utcnow
from inbound.errors import FieldError, Unprocessable, is_foreign_key_violation
from inbound.leads.capture.idempotency import IdempotencyKey
from inbound.leads.capture.reference import CaptureReference
from inbound.leads.capture.statements import (
    CLAIM_IDEMPOTENCY_KEY,
    CONTACT_COLUMNS,
    INSERT_CAPTURE,
    INSERT_CONTACT,
    INSERT_SCORE_EVENT,
    INSERT_STAGE_CHANGE,
    LOCK_CONTACT_BY_EMAIL,
    POINTS_SINCE,
    REPLAYED_CAPTURE,
    TAKE_OVER_IDEMPOTENCY_KEY,
    UPDATE_CONTACT,
)
from inbound.leads.custom_fields import CustomFieldLimits
from inbound.leads.events import INSERT_LEAD_EVENT, capture_detail, lead_events
from inbound.leads.lifecycle import move_to, promote_if_qualified
from inbound.leads.qualification.evaluation import LeadSettings, evaluate
from inbound.leads.qualification.inputs import MappingInputs
from inbound.leads.qualification.scoring import decayed, points_for
from inbound.leads.schemas import CaptureAccepted, CaptureCreate
from inbound.leads.stages import LifecycleStage, StageCause
from inbound.lean_sql import LeanTransaction
from inbound.personas.service import MatchablePersona
from inbound.tracking.identity_sql import link_capture_visitor

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
    # False for a site whose tracking is `cookieless`: its visitor ids are linked to no one.
    links_visitors: bool = True


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
    """The rows one capture writes besides the capture itself."""

    contact: dict[str, Any]
    stage_changes: list[dict[str, Any]] = field(default_factory=list)
    score_events: list[dict[str, Any]] = field(default_factory=list)


class CaptureService:
    """Turns form posts into contacts and captures.

    Everything a capture reads besides the contact comes from ``reference``; its writes are
    lean statements in one transaction of their own.
    """

    def __init__(
        self,
        bind: AsyncEngine | AsyncConnection,
        reference: CaptureReference,
        field_limits: CustomFieldLimits | None = None,
    ) -> None:
        self.bind = bind
        self.reference = reference
        self.field_limits = field_limits or CustomFieldLimits()

    async def capture(
        self,
        form: CaptureCreate,
        *,
        posted: dict[str, Any],
        source: CaptureSource,
        idempotency_key: IdempotencyKey | None,
    ) -> tuple[CaptureAccepted, bool]:
        """Record a form post; a replayed idempotency key answers as the first post did.

        The flag says whether the answer is such a replay.
        """
        try:
            return await self._capture_once(form, posted, source, idempotency_key)
        except IntegrityError as exc:
            if not is_foreign_key_violation(exc):
                raise
            # The cached asset or personas name a row deleted through another process since:
            # read them again rather than lose the lead.
            self.reference.forget()
            return await self._capture_once(form, posted, source, idempotency_key)

    async def _capture_once(
        self,
        form: CaptureCreate,
        posted: dict[str, Any],
        source: CaptureSource,
        idempotency_key: IdempotencyKey | None,
    ) -> tuple[CaptureAccepted, bool]:
        target = await self.reference.target(form.asset)
        if target is None:
            raise UnknownAsset(f"no asset {form.asset!r}", field="asset")
        _check_required_fields(target, form)
        inputs = await self.reference.inputs(covering=target)
        submission = Submission(
            form, target, new_id(), utcnow(), actor=f"key:{source.key_id}",
            field_limits=self.field_limits,
        )  # fmt: skip
        recorded, replayed = await self._write(submission, source, inputs, posted, idempotency_key)
        if replayed:
            # Read once the transaction is over: on SQLite it would wait for its own lock.
            asset = await self.reference.target(str(recorded["asset_id"]))
            delivery_url = asset.delivery_url if asset else None
        else:
            delivery_url = target.delivery_url
        accepted = CaptureAccepted(
            contact_id=recorded["contact_id"], capture_id=recorded["id"], delivery_url=delivery_url
        )
        return accepted, replayed

    async def _write(
        self,
        submission: Submission,
        source: CaptureSource,
        inputs: MappingInputs,
        posted: dict[str, Any],
        idempotency_key: IdempotencyKey | None,
    ) -> tuple[dict[str, Any], bool]:
        """Write one capture in a transaction of its own; return the capture's id, contact and
        asset, and whether they are those of an earlier post with the same idempotency key."""
        async with LeanTransaction.begin(self.bind) as transaction:
            if idempotency_key is not None:
                first = await _claim(
                    transaction, source.site_id, idempotency_key, submission.capture_id,
                    utcnow(),
                )  # fmt: skip
                if first is not None:
                    return first, True
            capture = _capture_row(submission, source, posted, idempotency_key)
            contact_id, at = await _record_contact(transaction, submission, source, inputs, capture)
            await transaction.execute(
                INSERT_CAPTURE, capture | {"contact_id": contact_id, "created_at": at}
            )
            visitor_id = submission.form.visitor_id
            if visitor_id is not None and source.links_visitors:
                await link_capture_visitor(
                    transaction, contact_id=contact_id, visitor_id=visitor_id,
                    capture_id=submission.capture_id, now=at,
                )  # fmt: skip
        recorded = {
            "id": submission.capture_id,
            "contact_id": contact_id,
            "asset_id": submission.target.id,
        }
        return recorded, False


def _capture_row(
    submission: Submission,
    source: CaptureSource,
    posted: dict[str, Any],
    idempotency_key: IdempotencyKey | None,
) -> dict[str, Any]:
    """The capture to store, but for its contact."""
    form = submission.form
    return {
        "id": submission.capture_id,
        "asset_id": submission.target.id,
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
        "idempotency_key": idempotency_key.key if idempotency_key else None,
        "created_at": submission.now,
    }


async def _claim(
    transaction: LeanTransaction,
    site_id: uuid.UUID,
    idempotency: IdempotencyKey,
    capture_id: uuid.UUID,
    now: datetime,
) -> dict[str, Any] | None:
    """Take an idempotency key for this capture; when a live one holds it, its first capture,
    unless it was made from another request (refused).

    A concurrent post with the same key waits here until the first one commits.
    """
    key, request_hash = idempotency.key, idempotency.request_hash
    claim = {"site_id": site_id, "key": key, "capture_id": capture_id, "created_at": now,
             "request_hash": request_hash}  # fmt: skip
    expired = now - IDEMPOTENCY_WINDOW
    if await transaction.first(CLAIM_IDEMPOTENCY_KEY, {**claim, "expired": expired}):
        return None
    first = await transaction.first(REPLAYED_CAPTURE, {"site_id": site_id, "key": key})
    if first is None:  # the first capture was erased since: this one takes the key
        await transaction.execute(
            TAKE_OVER_IDEMPOTENCY_KEY,
            {"b_site_id": site_id, "b_key": key, "capture_id": capture_id, "created_at": now,
             "request_hash": request_hash},
        )  # fmt: skip
    else:
        idempotency.check_replay(first["request_hash"])
    return first


async def _record_contact(
    transaction: LeanTransaction,
    submission: Submission,
    source: CaptureSource,
    inputs: MappingInputs,
    capture: Mapping[str, Any],
) -> tuple[uuid.UUID, datetime]:
    """Create or update the contact behind the submission, with its events; return its id
    and the capture's time.

    The contact is locked first. When it does not exist yet and a concurrent capture creates
    it first, the insert does nothing and the second pass updates it instead.
    """
    settings = inputs.settings
    cap_period = timedelta(days=settings.scoring.activities.form_capture.cap_period_days)
    evidence = Evidence(inputs.personas, inputs.relevance)
    for _ in range(2):
        existing = await transaction.first(LOCK_CONTACT_BY_EMAIL, {"email": submission.form.email})
        # Timed only now: a capture that waited for this lock (or lost the race to create the
        # contact) comes after the one it waited for, so the contact's first touch, its
        # `created_at` and its stage changes follow the order the captures committed in.
        submission = replace(submission, now=utcnow())
        capture = {**capture, "created_at": submission.now}
        if existing is not None:
            since = submission.now - cap_period
            window = {"contact_id": existing["id"], "kind": FORM_CAPTURE, "since": since}
            summed = await transaction.first(POINTS_SINCE, window)
            earned = float(summed["earned"]) if summed else 0.0
            state, before = existing, dict(existing)
        else:
            earned, state, before = 0.0, _new_contact(submission, source), None
        outcome = _apply_capture(state, submission, settings, evidence, earned=earned)
        if existing is not None:
            await transaction.execute(UPDATE_CONTACT, {"b_id": state["id"], **state})
        elif not await transaction.first(
            INSERT_CONTACT, {name: state.get(name) for name in CONTACT_COLUMNS}
        ):
            continue  # created meanwhile by a concurrent capture: update it instead
        await transaction.execute_many(INSERT_STAGE_CHANGE, outcome.stage_changes)
        await transaction.execute_many(INSERT_SCORE_EVENT, outcome.score_events)
        events = lead_events(
            before, state, score=state["score"], at=submission.now,
            stage_changes=outcome.stage_changes, capture=capture_detail(capture),
        )  # fmt: skip
        await transaction.execute_many(INSERT_LEAD_EVENT, events)
        contact_id: uuid.UUID = state["id"]
        return contact_id, submission.now
    raise RuntimeError(f"contact {submission.form.email!r} neither inserted nor found")


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


def _new_contact(submission: Submission, source: CaptureSource) -> dict[str, Any]:
    """A contact that is not there yet, with its first touch."""
    form, target, now = submission.form, submission.target, submission.now
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
        "lead_status": "new",
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
    state.update(form.profile())
    custom = {k: v for k, v in form.fields.items() if v is not None and v != ""}
    state["custom_fields"] = submission.field_limits.merge(state["custom_fields"], custom)
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
         "capped": capped, "capture_id": capture_id, "event_id": None, "merge_id": None,
         "created_at": now}
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
    return CaptureOutcome(contact=state, stage_changes=stage_changes, score_events=score_events)
