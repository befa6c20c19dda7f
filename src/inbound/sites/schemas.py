import uuid
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from inbound.field_messages import describe_pattern
from inbound.schemas import Name, RequestSchema, ResponseSchema, UpdateSchema


def _origin(value: str) -> str:
    """An origin exactly as browsers send it: scheme, host and an optional port; nothing else."""
    parts = urlsplit(value.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError("an origin is http(s)://host[:port]")
    if parts.path not in {"", "/"} or parts.query or parts.fragment or parts.username:
        raise ValueError("an origin has no path, query, fragment or credentials")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the port is not a number from 0 to 65535") from None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


# Scheme, host and an optional port up to 65535; the pattern lets the contract say so.
ORIGIN_PATTERN = describe_pattern(
    r"^\s*https?://[A-Za-z0-9.-]*[A-Za-z0-9]"
    r"(:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?/?\s*$",
    "must be an origin: http:// or https://, a host name, and an optional port "
    "(https://www.example.com:8443), with no path",
)
Origin = Annotated[str, Field(max_length=300, pattern=ORIGIN_PATTERN), AfterValidator(_origin)]
Origins = Annotated[
    list[Origin],
    Field(max_length=50, examples=[["https://www.example.com"]]),
    AfterValidator(lambda origins: list(dict.fromkeys(origins))),
]


TrackingConsent = Literal["required", "cookieless", "granted"]
TRACKING_CONSENT_DESCRIPTION = (
    "How the site's events may keep the ids that tie them to a visitor. `required` (the "
    "default): an event keeps its `anonymousId` and `userId` only when it carries the "
    "visitor's consent to analytics (`context.consent.categoryPreferences.analytics` or "
    "`context.consent.analytics` true); otherwise it is stored cookieless, without ids, "
    "traits, device ids (`context.device.id`, `advertisingId`, `token`) and "
    "`context.externalIds`. `cookieless`: every event is stored so. `granted`: the site "
    "gathers consent itself; events are stored as sent. Global Privacy Control (`Sec-GPC: 1` "
    "or `context.gpc` true), or an event saying the visitor refused analytics (the same "
    "fields false), makes an event cookieless in every mode."
)


class SiteCreate(RequestSchema):
    """A marketing site and the origins its forms are posted from."""

    name: Name
    allowed_origins: Origins = Field(default_factory=list)
    tracking_consent: TrackingConsent = Field(
        default="required", description=TRACKING_CONSENT_DESCRIPTION
    )


class SiteUpdate(UpdateSchema):
    """Fields to change; the others stay as they are."""

    name: Name | None = None
    allowed_origins: Origins | None = None
    tracking_consent: TrackingConsent | None = Field(
        default=None, description=TRACKING_CONSENT_DESCRIPTION
    )


class SiteKeyRead(ResponseSchema):
    """One of a site's public keys, as lists show it."""

    id: uuid.UUID
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class SiteRead(ResponseSchema):
    id: uuid.UUID
    name: str
    allowed_origins: list[str]
    tracking_consent: TrackingConsent = Field(description=TRACKING_CONSENT_DESCRIPTION)
    keys: list[SiteKeyRead]
    created_at: datetime
    updated_at: datetime
    version: int


class SiteCreated(SiteRead):
    """A site just made, with its first public key shown once."""

    public_key: str = Field(
        description="Key with only the `ingest` scope, for the site's pages. Shown only once."
    )


class SiteKeyCreated(SiteKeyRead):
    """A new public key for a site, shown once."""

    key: str
