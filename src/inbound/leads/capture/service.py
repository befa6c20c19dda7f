"""Lead capture: a form post becomes a contact, a capture, a stage, a score and a persona.

Everything one capture writes happens in the request's one transaction, so either all of it
is there or none of it is.
"""

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inbound.content.service import CaptureTarget
from inbound.db import new_id, utcnow
from inbound.errors import FieldError, Unprocessable, is_foreign_key_violation
from inbound.leads.capture.fold import (
    FORM_CAPTURE,
    UTM_FIELDS,
    Evidence,
    Submission,
    fold_capture,
    new_contact,
)
from inbound.leads.capture.idempotency import IdempotencyKey
from inbound.leads.capture.reference import CaptureReference
from inbound.leads.capture.repository import CaptureWrites
from inbound.leads.custom_fields import CustomFieldLimits
from inbound.leads.events import before_change, capture_detail, lead_events
from inbound.leads.qualification.inputs import MappingInputs
from inbound.leads.schemas import CaptureAccepted, CaptureCreate


class UnknownAsset(Unprocessable, problem="unknown-asset"): ...


class MissingFormFields(Unprocessable, problem="missing-fields"): ...


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
class Post:
    """A form post as it came: its fields, where from, and its idempotency key."""

    form: CaptureCreate
    posted: dict[str, Any]
    source: CaptureSource
    idempotency_key: IdempotencyKey | None


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
        post = Post(form, posted, source, idempotency_key)
        try:
            return await self._capture_once(post)
        except IntegrityError as exc:
            if not is_foreign_key_violation(exc):
                raise
            # The cached asset or personas name a row deleted through another process since:
            # read them again rather than lose the lead.
            self.reference.forget()
            return await self._capture_once(post)

    async def _capture_once(self, post: Post) -> tuple[CaptureAccepted, bool]:
        form = post.form
        target = await self.reference.target(form.asset)
        if target is None:
            raise UnknownAsset(f"no asset {form.asset!r}", field="asset")
        _check_required_fields(target, form)
        inputs = await self.reference.inputs(covering=target)
        submission = Submission(
            form, target, new_id(), utcnow(), actor=f"key:{post.source.key_id}",
            field_limits=self.field_limits,
        )  # fmt: skip
        recorded, replayed = await self._write(post, submission, inputs)
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
        self, post: Post, submission: Submission, inputs: MappingInputs
    ) -> tuple[dict[str, Any], bool]:
        """Write one capture in a transaction of its own; return the capture's id, contact and
        asset, and whether they are those of an earlier post with the same idempotency key."""
        source = post.source
        async with CaptureWrites.begin(self.bind) as writes:
            if post.idempotency_key is not None:
                first = await writes.claim_key(
                    source.site_id, post.idempotency_key, submission.capture_id, utcnow()
                )
                if first is not None:
                    return first, True
            capture = _capture_row(submission, post)
            contact_id, at = await _record_contact(writes, submission, source, inputs, capture)
            await writes.insert_capture(capture | {"contact_id": contact_id, "created_at": at})
            visitor_id = submission.form.visitor_id
            if visitor_id is not None and source.links_visitors:
                await writes.link_visitor(
                    contact_id=contact_id, visitor_id=visitor_id,
                    capture_id=submission.capture_id, now=at,
                )  # fmt: skip
        recorded = {
            "id": submission.capture_id,
            "contact_id": contact_id,
            "asset_id": submission.target.id,
        }
        return recorded, False


def _capture_row(submission: Submission, post: Post) -> dict[str, Any]:
    """The capture to store, but for its contact."""
    form, source, idempotency_key = submission.form, post.source, post.idempotency_key
    return {
        "id": submission.capture_id,
        "asset_id": submission.target.id,
        "site_id": source.site_id,
        "fields": post.posted,
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


async def _record_contact(
    writes: CaptureWrites,
    submission: Submission,
    source: CaptureSource,
    inputs: MappingInputs,
    capture: dict[str, Any],
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
        existing = await writes.lock_contact(submission.form.email)
        # Timed only now: a capture that waited for this lock (or lost the race to create the
        # contact) comes after the one it waited for, so the contact's first touch, its
        # `created_at` and its stage changes follow the order the captures committed in.
        submission = replace(submission, now=utcnow())
        capture = {**capture, "created_at": submission.now}
        if existing is not None:
            since = submission.now - cap_period
            earned = await writes.points_since(existing.id, FORM_CAPTURE, since)
            state, before = existing, before_change(existing)
        else:
            earned, state, before = 0.0, new_contact(submission, source.site_id), None
        outcome = fold_capture(state, submission, settings, evidence, earned=earned)
        if existing is not None:
            await writes.update_contact(state)
        elif not await writes.insert_contact(state):
            continue  # created meanwhile by a concurrent capture: update it instead
        events = lead_events(
            before, state, score=state.score, at=submission.now,
            stage_changes=outcome.stage_changes, capture=capture_detail(capture),
        )  # fmt: skip
        await writes.insert_history(outcome.stage_changes, outcome.score_events, events)
        return state.id, submission.now
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
