"""What the identity, merge-log and activity endpoints answer."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from inbound.schemas import ResponseSchema


class IdentityRead(ResponseSchema):
    """An id a lead's pages sent, linked to the lead."""

    kind: Literal["anonymous", "user"] = Field(
        description="`anonymous`: a browser's anonymous id; `user`: a signed-in user's id, "
        "the same person on every site."
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
