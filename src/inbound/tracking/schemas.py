"""What the tracking endpoints take and give.

Ingest: Segment's HTTP API shapes, decoded with msgspec. Segment's field names are camelCase
(`anonymousId`, `messageId`, `sentAt`); they are kept as sent, so that analytics.js and
analytics-node work unchanged when pointed at us. A batch is decoded in two steps: the envelope
first, with each event left as raw JSON, then each event on its own, so that one bad event is
reported and the others are stored.

Identity: what the identity, merge-log and activity endpoints answer.
"""

import uuid
from datetime import datetime
from typing import Any, Literal

import msgspec
from pydantic import BaseModel, ConfigDict, Field

from inbound.schemas import ResponseSchema

MAX_EVENT_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_BATCH_EVENTS = 100
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
class EventDoc(BaseModel):
    """A Segment `page`, `track` or `identify` call; fields as Segment's HTTP API names them."""

    model_config = ConfigDict(extra="allow")

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
        default=None, max_length=200, description="The site's own id of a signed-in user."
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


class BatchDoc(BaseModel):
    """Segment's batch: up to 100 events of at most 32 KB each, 500 KB in all."""

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


class IdentityRead(ResponseSchema):
    """An id a lead's pages sent, linked to the lead."""

    kind: Literal["anonymous", "user"] = Field(
        description="`anonymous`: a browser's anonymous id; `user`: the site's own user id."
    )
    external_id: str
    linked_at: datetime
    merge_id: uuid.UUID | None = Field(description="The merge-log entry that made the link.")


class MergeRead(ResponseSchema):
    """One attempt to link an id to a lead: linked or refused (with why), perhaps undone."""

    id: uuid.UUID
    contact_id: uuid.UUID
    kind: Literal["anonymous", "user"]
    external_id: str
    cause: Literal["capture", "identify"]
    capture_id: uuid.UUID | None
    message_id: str | None
    outcome: Literal["linked", "refused"]
    reason: str | None
    created_at: datetime
    scored_at: datetime | None = Field(
        description="When the id's earlier events were scored for the lead."
    )
    undone_at: datetime | None
    undone_by: str | None


class LeadIdentities(ResponseSchema):
    """A lead's linked ids, and its newest merge-log entries (newest first, at most 200)."""

    identities: list[IdentityRead]
    merges: list[MergeRead]


class MergeList(ResponseSchema):
    items: list[MergeRead]
    next_cursor: str | None = Field(description="Null on the last page.")


class ActivityRead(ResponseSchema):
    """One behaviour event of a lead, with the id it came from."""

    id: uuid.UUID
    type: Literal["page", "track", "identify"]
    event: str | None
    occurred_at: datetime
    received_at: datetime
    site_id: uuid.UUID
    anonymous_id: str | None
    user_id: str | None
    url: str | None
    referrer: str | None
    title: str | None
    asset_id: uuid.UUID | None
    properties: dict[str, Any]


class ActivityList(ResponseSchema):
    items: list[ActivityRead]
    next_cursor: str | None = Field(description="Null on the last page.")
