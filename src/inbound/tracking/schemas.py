"""What the ingest endpoints take and give: Segment's HTTP API shapes, decoded with msgspec.

Segment's field names are camelCase (`anonymousId`, `messageId`, `sentAt`); they are kept as
sent, so that analytics.js and analytics-node work unchanged when pointed at us. A batch is
decoded in two steps: the envelope first, with each event left as raw JSON, then each event
on its own, so that one bad event is reported and the others are stored.
"""

from datetime import datetime
from typing import Any

import msgspec
from pydantic import ConfigDict, Field

from inbound.schemas import RequestSchema

MAX_EVENT_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_BATCH_EVENTS = 100
# Levels of objects and lists an event may nest, the event itself being the first: far more
# than any page sends, and well within what a response can give back.
MAX_NESTING = 32
EVENT_TYPES = ("page", "track", "identify")


class EventIn(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One `page`, `track` or `identify` call as a Segment library sends it."""

    type: str | None = None
    messageId: str | None = None  # noqa: N815 (Segment's names, as sent)
    anonymousId: str | None = None  # noqa: N815
    userId: str | None = None  # noqa: N815
    event: str | None = None
    name: str | None = None
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    timestamp: datetime | None = None
    originalTimestamp: datetime | None = None  # noqa: N815
    sentAt: datetime | None = None  # noqa: N815
    # Only a single event posted on its own carries the key in its body.
    writeKey: str | None = None  # noqa: N815


class BatchIn(msgspec.Struct, kw_only=True):
    """A batch: events, with what the library says of all of them."""

    batch: list[msgspec.Raw]
    sentAt: datetime | None = None  # noqa: N815
    writeKey: str | None = None  # noqa: N815
    context: dict[str, Any] | None = None


class Rejected(msgspec.Struct, kw_only=True):
    """An event of a batch that was not stored, and why."""

    index: int
    message_id: str | None
    field: str | None
    reason: str


class BatchAccepted(msgspec.Struct, kw_only=True):
    """What became of a batch: events stored, events already stored before, events refused."""

    success: bool = True
    accepted: int
    duplicates: int
    rejected: list[Rejected]


# For the API contract only: the handlers decode with msgspec, which is much faster.
class EventDoc(RequestSchema):
    """A Segment `page`, `track` or `identify` call; fields as Segment's HTTP API names them.
    Other fields Segment's libraries send (`integrations`, `_metadata`, ...) are ignored."""

    model_config = ConfigDict(extra="allow", strict=True)

    type: str | None = Field(
        default=None, description="`page`, `track` (the default) or `identify`."
    )
    messageId: str | None = Field(  # noqa: N815
        default=None,
        max_length=200,
        description="The sender's id for this event: the same id again within 48 hours is "
        "a retry, counted in `duplicates` and not stored again. Made up when absent.",
    )
    anonymousId: str | None = Field(  # noqa: N815
        default=None,
        description="The browser's id, 1 to 100 visible ASCII characters; this or `userId`.",
    )
    userId: str | None = Field(  # noqa: N815
        default=None,
        max_length=200,
        description="A signed-in user's id: one person on every site of this service "
        "(prefix a site's own numbering to keep sites apart).",
    )
    event: str | None = Field(
        default=None, max_length=200, description="A `track` call's event name (required)."
    )
    name: str | None = Field(default=None, max_length=200, description="A `page` call's name.")
    properties: dict[str, Any] | None = Field(
        default=None,
        description="`url`, `referrer`, `title`; `asset` (an asset's slug or id) ties the "
        "event to a content asset.",
    )
    traits: dict[str, Any] | None = Field(default=None, description="An `identify` call's.")
    context: dict[str, Any] | None = Field(
        default=None,
        description="`page` (url, referrer, title), `campaign`, `locale`, `userAgent`, "
        "`consent.categoryPreferences` (with `analytics`), `gpc`.",
    )
    timestamp: datetime | None = Field(default=None, description="When it happened (client).")
    originalTimestamp: datetime | None = Field(  # noqa: N815
        default=None, description="When it happened by the client's clock."
    )
    sentAt: datetime | None = Field(  # noqa: N815
        default=None, description="When the client sent it, by the same clock."
    )


class BatchDoc(RequestSchema):
    """Segment's batch: up to 100 events of at most 32 KB each, 500 KB in all."""

    model_config = ConfigDict(extra="allow", strict=True)

    batch: list[EventDoc] = Field(max_length=MAX_BATCH_EVENTS)
    sentAt: datetime | None = Field(  # noqa: N815
        default=None, description="When the client sent the batch, by its clock."
    )
    writeKey: str | None = Field(  # noqa: N815
        default=None, description="The site's public key, when not in `Authorization`."
    )
    context: dict[str, Any] | None = Field(
        default=None, description="Merged under each event's own `context`."
    )
