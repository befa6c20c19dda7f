"""What HubSpot reports back: contact changes and deletions from its webhooks, checked and
applied.

HubSpot signs each webhook request (v3: HMAC-SHA256 of method, URL, body and timestamp, keyed
with the app's client secret) and may send an event more than once, late, or out of order.
Taken are: changes of the lifecycle stage and the owner, each applied only if it is newer than
the last change of that property we applied, and written with origin `crm`, so that the sync
never sends it back; a contact's deletion there (we forget its HubSpot id and stop sending its
changes, see `queue.unlink`); its GDPR deletion there (we erase the lead here too).

An event that is not what HubSpot sends (an id that is not a number, a time that is not one)
is skipped and named in the answer, and the others are applied: HubSpot sends a request again
until it gets a 2xx, so a 400 for one bad event would hold up the good ones with it for a day.
"""

import base64
import hashlib
import hmac
import math
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.crm import queue
from inbound.crm.mapping import STAGE_OF_LIFECYCLE
from inbound.crm.models import CrmInboundMark
from inbound.db import dialect_insert_for, table_of
from inbound.errors import BadRequest, InboundError, NotFound, Unauthorized
from inbound.leads.service import LeadService

MARKS = table_of(CrmInboundMark)
APPLIED = frozenset({"lifecyclestage", "hubspot_owner_id"})
CHANGE, DELETION, PRIVACY_DELETION = "change", "deletion", "privacy_deletion"
KINDS = {
    "contact.propertyChange": CHANGE, "object.propertyChange": CHANGE,
    "contact.deletion": DELETION, "object.deletion": DELETION,
    "contact.privacyDeletion": PRIVACY_DELETION, "object.privacyDeletion": PRIVACY_DELETION,
}  # fmt: skip
MAX_EVENTS = 1000
# HubSpot's window for a signed request, either way: its clock and ours may differ a little.
MAX_SKEW_MS = 5 * 60 * 1000
LONGEST_ID = 19  # digits of the largest 64-bit integer


class WebhooksNotConfigured(InboundError, status=503, problem="crm-webhooks-not-configured"): ...


class BadSignature(Unauthorized, problem="bad-signature"): ...


class BadEvents(BadRequest, problem="bad-events"): ...


@dataclass(frozen=True, slots=True)
class Event:
    """An event we take: what happened (`CHANGE`, `DELETION`, `PRIVACY_DELETION`) to which
    HubSpot contact, when, and for a change, the property and its new value."""

    kind: str
    crm_id: str
    occurred_at: datetime
    name: str = ""
    value: str | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """An event skipped because it is not what HubSpot sends: its place, the field, why."""

    index: int
    field: str
    message: str


class _Malformed(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def verify(
    *,
    secret: str | None,
    method: str,
    url: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
) -> None:
    """Refuse a request HubSpot did not sign, or signed more than five minutes from now."""
    if not secret:
        raise WebhooksNotConfigured(
            "HubSpot webhooks cannot be verified: set INBOUND_HUBSPOT_CLIENT_SECRET"
        )
    if not signature or not timestamp:
        raise BadSignature(
            "a HubSpot webhook carries X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp"
        )
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 16):
        raise BadSignature("X-HubSpot-Request-Timestamp must be a time in Unix milliseconds")
    # A request stamped ahead of our clock could be replayed for longer than five minutes.
    if abs(time.time() * 1000 - int(timestamp)) > MAX_SKEW_MS:
        raise BadSignature(
            "the request's X-HubSpot-Request-Timestamp is more than five minutes from now"
        )
    signed = method.encode() + url.encode() + body + timestamp.encode()
    expected = base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest())
    # Headers arrive as Latin-1 text: a character beyond ASCII is no base64, and no match.
    if not signature.isascii() or not hmac.compare_digest(expected, signature.encode()):
        raise BadSignature("the signature does not match the request")


def parse(body: bytes) -> list[dict[str, Any]]:
    """The events of a webhook request: a JSON array of objects."""
    try:
        events = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise BadEvents("the body is not JSON", field="body") from None
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        raise BadEvents("the body must be a JSON array of event objects", field="body")
    if len(events) > MAX_EVENTS:
        raise BadEvents(f"at most {MAX_EVENTS} events per request", field="body")
    return events


async def apply(session: AsyncSession, events: list[dict[str, Any]]) -> tuple[int, list[Rejected]]:
    """Apply the events we take among ``events``, oldest first; how many changed a contact,
    and the events skipped as malformed."""
    taken, rejected = read(events)
    if not taken:
        return 0, rejected
    # Every contact the request names, in one query: HubSpot batches up to 100 events.
    named = await session.execute(
        select(queue.QUEUE.c.crm_id, queue.QUEUE.c.contact_id).where(
            queue.QUEUE.c.crm_id.in_({event.crm_id for event in taken})
        )
    )
    ours: dict[str, uuid.UUID] = {row.crm_id: row.contact_id for row in named}
    leads = LeadService(session)
    applied = 0
    for event in sorted(taken, key=lambda event: event.occurred_at):
        contact_id = ours.get(event.crm_id)
        if contact_id is None:
            continue
        if event.kind == CHANGE:
            applied += await _apply_change(session, leads, contact_id, event)
            continue
        # Forgotten or erased: what the request says of it afterwards finds nothing.
        del ours[event.crm_id]
        if event.kind == DELETION:
            applied += await queue.unlink(await session.connection(), event.crm_id)
        else:
            applied += await _erase(leads, contact_id)
    return applied, rejected


def read(events: list[dict[str, Any]]) -> tuple[list[Event], list[Rejected]]:
    """The events we take, and those skipped as malformed; the rest are not for us."""
    taken, rejected = [], []
    for index, event in enumerate(events):
        try:
            found = _read(event)
        except _Malformed as malformed:
            rejected.append(Rejected(index, malformed.field, malformed.message))
            continue
        if found is not None:
            taken.append(found)
    return taken, rejected


def _read(event: dict[str, Any]) -> Event | None:
    """The event, if we take it; raises `_Malformed` for a field HubSpot would not send so."""
    subscription = event.get("subscriptionType")
    if not isinstance(subscription, str):
        raise _Malformed("subscriptionType", "must be a string")
    kind = KINDS.get(subscription)
    if kind is None or event.get("objectTypeId", "0-1") != "0-1":
        return None
    name: Any = ""
    value: Any = None
    if kind == CHANGE:
        name = event.get("propertyName")
        if not isinstance(name, str):
            raise _Malformed("propertyName", "must be a string")
        if name not in APPLIED:
            return None
        value = event.get("propertyValue")
        if value is not None and not isinstance(value, str):
            raise _Malformed("propertyValue", "must be a string or null")
    return Event(kind, _object_id(event.get("objectId")), _occurred_at(event), name, value)


def _object_id(value: Any) -> str:
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit() and len(text) <= LONGEST_ID and int(text) > 0):
        raise _Malformed("objectId", "must be a HubSpot id: a positive whole number")
    return str(int(text))


def _occurred_at(event: dict[str, Any]) -> datetime:
    """When it happened: Unix milliseconds, not ahead of now by more than HubSpot's clock
    can be (a time far ahead would outrank every later change of the property)."""
    value = event.get("occurredAt")
    latest = time.time() * 1000 + MAX_SKEW_MS
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        # An integer is compared as it is: one beyond a float's range has no float to test.
        or (isinstance(value, float) and not math.isfinite(value))
        or not 0 <= value <= latest
    ):
        raise _Malformed("occurredAt", "must be a time in Unix milliseconds, not in the future")
    return datetime.fromtimestamp(value / 1000, UTC)


async def _apply_change(
    session: AsyncSession, leads: LeadService, contact_id: uuid.UUID, event: Event
) -> bool:
    """A lifecycle stage (forward only) or owner changed there, unless a newer change of it
    was applied already."""
    if not await _newest(session, contact_id, event.name, event.occurred_at):
        return False
    if event.name == "lifecyclestage":
        stage = STAGE_OF_LIFECYCLE.get(event.value or "")
        return stage is not None and await leads.apply_crm_change(contact_id, stage=stage)
    return await leads.apply_crm_change(contact_id, owner=event.value or None, owner_changed=True)


async def _erase(leads: LeadService, contact_id: uuid.UUID) -> bool:
    """Erase a lead HubSpot erased (GDPR), as `DELETE /api/v1/leads/{id}` does, without an
    erasure to send back: HubSpot has done it."""
    try:
        await leads.erase(contact_id)
    except NotFound:  # erased here meanwhile
        return False
    return True


async def _newest(
    session: AsyncSession, contact_id: uuid.UUID, name: str, occurred_at: datetime
) -> bool:
    """Note the change as the last one of its property, unless a newer one came first."""
    connection = await session.connection()
    statement = dialect_insert_for(connection, MARKS).values(
        contact_id=contact_id, property=name, occurred_at=occurred_at
    )
    statement = statement.on_conflict_do_update(
        index_elements=["contact_id", "property"],
        set_={"occurred_at": statement.excluded.occurred_at},
        where=MARKS.c.occurred_at < statement.excluded.occurred_at,
    )
    result = await connection.execute(statement)
    return bool(result.rowcount)
