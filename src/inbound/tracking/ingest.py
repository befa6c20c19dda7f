"""From the events a site sent to the rows to store: each event checked on its own, its time
corrected for the client's clock, its asset found, its ids kept or dropped by consent.

Each event's bytes are decoded and checked in `decoding.py`.

Nothing here touches the database or HTTP; `controller.py` reads requests and `writer.py`
stores the rows.
"""

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import uuid_utils
from asyncpg.pgproto import pgproto

from inbound.tracking.assets import AssetIndex
from inbound.tracking.consent import keeps_identity
from inbound.tracking.decoding import (
    MAX_MESSAGE_ID,
    InvalidEvent,
    check_shared_context,
    decode_event,
    message_id_of,
    refusal_of,
)
from inbound.tracking.hooks import IDENTIFY_EMAIL, traits_email
from inbound.tracking.schemas import EVENT_TYPES, EventIn, Rejected

# The controller takes the whole path from a request's events to rows from here.
__all__ = [
    "Envelope", "InvalidEvent", "Prepared", "check_shared_context", "decode_event", "event_row",
    "occurred_at", "prepare_batch", "refusal_of",
]  # fmt: skip
# A client clock may run this far ahead before its times are taken as the time received.
FUTURE_TOLERANCE = timedelta(minutes=1)
VISITOR_ID = re.compile(r"[!-~]{1,100}")
MAX_USER_ID = 200
MAX_NAME = 200
MAX_TITLE = 500
# The device ids and other sites' ids that tie a visitor's events together like a cookie.
DEVICE_IDS = ("id", "advertisingId", "token")


def event_id() -> uuid.UUID:
    """A time-ordered id for an event, made about ten times faster than `db.new_id`: asyncpg's
    own `uuid.UUID` subclass, built from uuid_utils' bytes (a hot path at thousands a second)."""
    return pgproto.UUID(uuid_utils.uuid7().bytes)  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Envelope:
    """What every event of one request shares."""

    site_id: uuid.UUID
    consent: str
    received_at: datetime
    retention: timedelta
    assets: AssetIndex
    gpc: bool = False
    sent_at: datetime | None = None
    context: dict[str, Any] | None = None
    default_type: str = "track"


@dataclass(slots=True)
class Prepared:
    """A request's rows to store, whether each can be deduplicated, and its refused events."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    dedupe: list[bool] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def prepare_batch(events: list[msgspec.Raw], envelope: Envelope) -> Prepared:
    """Check each event of a batch on its own; the good ones become rows, the others reasons."""
    prepared = Prepared()
    for index, raw in enumerate(events):
        try:
            event = decode_event(raw)
            row, dedupe = event_row(event, envelope)
        except InvalidEvent as refusal:
            message_id = message_id_of(raw)
            prepared.rejected.append(
                Rejected(
                    index=index, message_id=message_id, field=refusal.field, reason=refusal.reason
                )
            )
            continue
        prepared.rows.append(row)
        prepared.dedupe.append(dedupe)
    return prepared


def event_row(event: EventIn, envelope: Envelope) -> tuple[dict[str, Any], bool]:
    """The row to store for a decoded event, and whether its message id can be deduplicated."""
    kind = event.type if event.type is not None else envelope.default_type
    if kind not in EVENT_TYPES:
        raise InvalidEvent("type", "must be page, track or identify")
    message_id, dedupe = _message_id(event.messageId)
    anonymous_id, user_id = _visitor_ids(event)
    name = _name(kind, event)
    context = _context(envelope.context, event.context)
    properties = event.properties if event.properties is not None else {}
    page = context.get("page")
    page = page if isinstance(page, dict) else {}
    url = _text(properties, page, "url", None)
    title = _text(properties, page, "title", MAX_TITLE)
    referrer = _text(properties, page, "referrer", None)
    keeps = keeps_identity(envelope.consent, context, gpc=envelope.gpc)
    if not keeps:
        anonymous_id = user_id = None
        _drop_visitor_ids(context)
    email = None
    if kind == "identify":
        properties, email = {}, _take_traits(event, context, keeps=keeps)
    row: dict[str, Any] = {
        "id": event_id(),
        "occurred_at": occurred_at(event, envelope),
        "received_at": envelope.received_at,
        "site_id": envelope.site_id,
        "message_id": message_id,
        "type": kind,
        "event": name,
        "anonymous_id": anonymous_id,
        "user_id": user_id,
        "url": url,
        "referrer": referrer,
        "title": title,
        "asset_id": envelope.assets.resolve(properties.get("asset"), url),
        "properties": properties,
        "context": context,
    }
    if email is not None:
        row[IDENTIFY_EMAIL] = email
    return row, dedupe


def _message_id(sent: str | None) -> tuple[str, bool]:
    if sent is None:
        return str(uuid_utils.uuid7()), False  # made up here, so it cannot be a retry
    if not 0 < len(sent) <= MAX_MESSAGE_ID:
        raise InvalidEvent("messageId", f"must be 1 to {MAX_MESSAGE_ID} characters")
    return sent, True


def _visitor_ids(event: EventIn) -> tuple[str | None, str | None]:
    anonymous_id, user_id = event.anonymousId, event.userId
    if anonymous_id is None and user_id is None:
        raise InvalidEvent("anonymousId", "send anonymousId or userId (or both)")
    if anonymous_id is not None and VISITOR_ID.fullmatch(anonymous_id) is None:
        raise InvalidEvent("anonymousId", "must be 1 to 100 visible ASCII characters")
    if user_id is not None and not 0 < len(user_id) <= MAX_USER_ID:
        raise InvalidEvent("userId", f"must be 1 to {MAX_USER_ID} characters")
    return anonymous_id, user_id


def _name(kind: str, event: EventIn) -> str | None:
    if kind == "track":
        if not event.event:
            raise InvalidEvent("event", "a track call names its event")
        if len(event.event) > MAX_NAME:
            raise InvalidEvent("event", f"must be at most {MAX_NAME} characters")
        return event.event
    if event.name is not None and len(event.name) > MAX_NAME:
        raise InvalidEvent("name", f"must be at most {MAX_NAME} characters")
    return event.name if kind == "page" else None


def _take_traits(event: EventIn, context: dict[str, Any], *, keeps: bool) -> str | None:
    """Leave an identify call's traits out of what is stored; the email they name, when the
    call may link. Traits (an email, a phone, a name) are not stored, so that erasing a lead
    leaves them nowhere: the email travels in the worker's task only."""
    context_traits = context.pop("traits", None)
    return traits_email(event.traits, context_traits) if keeps else None


def _drop_visitor_ids(context: dict[str, Any]) -> None:
    """Take out of a cookieless event's context what ties it to a visitor: traits, the
    device's ids and ids in other systems."""
    context.pop("traits", None)
    context.pop("externalIds", None)
    device = context.get("device")
    if isinstance(device, dict) and any(name in device for name in DEVICE_IDS):
        # A copy: the device may be the batch's, shared with the batch's other events.
        context["device"] = {k: v for k, v in device.items() if k not in DEVICE_IDS}


def _context(shared: dict[str, Any] | None, own: dict[str, Any] | None) -> dict[str, Any]:
    """The event's context over the batch's; never the client's IP address."""
    context = {**shared, **own} if shared and own else dict(own or shared or {})
    context.pop("ip", None)
    return context


def _text(
    properties: dict[str, Any], page: dict[str, Any], name: str, limit: int | None
) -> str | None:
    """A page's url, title or referrer, from the properties or else from `context.page`."""
    source, where = (properties, "properties") if name in properties else (page, "context.page")
    value = source.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidEvent(f"{where}.{name}", "must be a string")
    if limit is not None and len(value) > limit:
        raise InvalidEvent(f"{where}.{name}", f"must be at most {limit} characters")
    return value


def occurred_at(event: EventIn, envelope: Envelope) -> datetime:
    """When the event happened, by our clock.

    With the client's time of the event and of the sending, the time it took between them is
    taken off the time received (Segment's rule), whatever the client's clock says; with the
    event's time only, that time, but never in the future; with neither, the time received.
    """
    received = envelope.received_at
    client_field = "originalTimestamp" if event.originalTimestamp is not None else "timestamp"
    client = event.originalTimestamp or event.timestamp
    sent = event.sentAt or envelope.sent_at
    for name, value in ((client_field, client), ("sentAt", sent)):
        if value is not None and value.tzinfo is None:
            raise InvalidEvent(name, "must carry a time zone (Z or +hh:mm)")
    if client is None:
        return received
    try:
        at = received - (sent - client) if sent is not None else client
    except OverflowError:
        # Before year 1 or after year 9999: long past the retention period, or in the future.
        if sent is not None and sent > client:
            raise _too_old(_outlier(client_field, client, sent, received), envelope) from None
        at = received
    if at > received + FUTURE_TOLERANCE:
        at = received
    # Compared before moving to UTC: 0001-01-01T00:00:00+14:00 has no UTC time to move to.
    if at < received - envelope.retention:
        raise _too_old(client_field, envelope)
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    return at


def _outlier(client_field: str, client: datetime, sent: datetime, received: datetime) -> str:
    """Which of the event's time and the sending's is the one far off."""
    return "sentAt" if abs(sent - received) > abs(client - received) else client_field


def _too_old(field_name: str, envelope: Envelope) -> InvalidEvent:
    return InvalidEvent(
        field_name,
        f"older than the retention period ({envelope.retention.days} days); not stored",
    )
