"""What the webhooks API takes and gives."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, Strict, StringConstraints, field_validator

from inbound.field_messages import describe_pattern
from inbound.leads.events import LeadEventType
from inbound.schemas import RequestSchema, ResponseSchema, ShortText, UpdateSchema

# Standard Webhooks secrets: `whsec_` and the base64 of 24 to 64 random bytes.
SECRET_PATTERN = describe_pattern(
    r"^whsec_[A-Za-z0-9+/]{32,88}={0,2}$",
    "must be whsec_ followed by the base64 of 24 to 64 random bytes",
)

EventTypes = Annotated[
    list[Annotated[LeadEventType, Strict(False)]],
    Field(
        min_length=1,
        max_length=len(LeadEventType),
        description="The events to hear of, each once.",
        json_schema_extra={"uniqueItems": True},
    ),
]
Secret = Annotated[
    str,
    StringConstraints(pattern=SECRET_PATTERN),
    Field(description="`whsec_` and the base64 of 24 to 64 random bytes; made for you when "
          "left out.", examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]),
]  # fmt: skip
# An http(s) URL naming its host or an IP address (IPv6 in brackets); which hosts may be named
# is the service's rule (a 422), since it depends on the server's settings.
WebhookUrl = Annotated[
    str,
    StringConstraints(
        max_length=2048,
        pattern=describe_pattern(
            r"^https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?"
            r"([/?#][^\x00-\x20\x7f-\x9f]*)?$",
            "must be an http:// or https:// URL with a host name or an IP address, without "
            "user name, spaces or control characters",
        ),
    ),
    Field(
        description="Where deliveries are POSTed: a public http(s) address.",
        examples=["https://crm.example.com/hooks/inbound"],
    ),
]
DeliveryStatus = Literal["pending", "succeeded", "dead"]


class SubscriptionCreate(RequestSchema):
    """An endpoint to send lead events to."""

    url: WebhookUrl
    events: EventTypes
    secret: Secret | None = None
    description: ShortText | None = None

    @field_validator("events")
    @classmethod
    def _once_each(cls, events: list[LeadEventType]) -> list[LeadEventType]:
        if len(set(events)) != len(events):
            raise ValueError("each event may be named once")
        return events


class SubscriptionUpdate(UpdateSchema):
    """Fields to change; the others stay as they are."""

    nullable = frozenset({"description"})

    url: WebhookUrl | None = None
    events: EventTypes | None = None
    active: bool | None = Field(default=None, description="false pauses deliveries.")
    description: ShortText | None = None

    @field_validator("events")
    @classmethod
    def _once_each(cls, events: list[LeadEventType] | None) -> list[LeadEventType] | None:
        if events is not None and len(set(events)) != len(events):
            raise ValueError("each event may be named once")
        return events


class SubscriptionRead(ResponseSchema):
    id: uuid.UUID
    url: str
    events: list[LeadEventType]
    description: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    version: int


class SubscriptionCreated(SubscriptionRead):
    """The subscription, with its signing secret: shown this once."""

    secret: str


class AttemptRead(ResponseSchema):
    """One try at sending, as the receiver answered it."""

    attempted_at: datetime
    status_code: int | None = Field(description="null when no answer came.")
    error: str | None
    response_body: str | None = Field(description="The answer's first 1,000 characters.")
    duration_ms: float


class DeliveryRead(ResponseSchema):
    """One event on its way to one subscription."""

    id: uuid.UUID
    event_id: uuid.UUID = Field(description="Sent as `webhook-id`: the same on every retry.")
    event_type: LeadEventType
    lead_id: uuid.UUID
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None = Field(description="null once delivered or dead.")
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


class DeliveryDetail(DeliveryRead):
    """A delivery with every attempt at it."""

    attempt_log: list[AttemptRead]


class DeliveryList(ResponseSchema):
    items: list[DeliveryRead]
    next_cursor: str | None = Field(description="Null on the last page.")
