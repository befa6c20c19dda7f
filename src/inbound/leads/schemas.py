import re
import unicodedata
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    Strict,
    StringConstraints,
    field_validator,
    model_validator,
)

from inbound.field_messages import describe_pattern
from inbound.leads.qualification.settings import Grade
from inbound.leads.stages import LifecycleStage
from inbound.schemas import (
    JSON_INTEGER,
    NO_NUL,
    NOT_BLANK,
    HttpUrl,
    RequestSchema,
    ResponseSchema,
    ShortText,
)
from inbound.surveys.case_schemas import CaseRead

# Characters that cannot be seen, or that reorder what is seen: controls, soft hyphens, zero
# width and direction marks, line separators, the byte order mark. In an email they make one
# address look like another, and two spellings of one person two contacts.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
# Unicode's other default-ignorable characters, which show nothing either: the combining
# grapheme joiner, Hangul fillers, Khmer inherent vowels, variation selectors, and the
# reserved ones of that property.
_IGNORABLE = r"\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0\ufff0-\ufff8"
_IGNORABLE_CHARACTER = re.compile(f"[{_IGNORABLE}\U000e0000-\U000e0fff]")
_INVISIBLE = (
    r"\x00-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u200b-\u200f"
    r"\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb" + _IGNORABLE
)
# Syntax only, and stated whole by the pattern so that the contract says exactly what passes:
# a local part without spaces or invisible characters, and a domain of dot-separated DNS
# labels (IDNs in punycode).
EMAIL_PATTERN = describe_pattern(
    rf"^\s*[^@\s{_INVISIBLE}\"<>(),;:\[\]\\]{{1,64}}@"
    r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+\s*$",
    "must be an email address (name@example.com) without spaces, quotes, brackets or "
    "invisible characters",
)
CUSTOM_FIELD_NAME = describe_pattern(
    r"^[a-z][a-z0-9_]{0,63}$",
    "must start with a lowercase letter and hold only lowercase letters, digits and _ (at most 64)",
)


def _visible(email: object) -> object:
    # Also before trimming, which would quietly drop the controls Python counts as spaces,
    # and beyond the pattern, for the characters a JSON Schema pattern cannot name.
    if isinstance(email, str) and any(
        unicodedata.category(c) in INVISIBLE_CATEGORIES or _IGNORABLE_CHARACTER.match(c)
        for c in email.strip(" \t\r\n")
    ):
        raise ValueError("an email cannot hold control, zero-width or direction characters")
    return email


def normalise_email(email: str) -> str:
    """Emails compare trimmed and lower-cased: ` Ana@Example.COM ` is `ana@example.com`."""
    return email.strip().lower()


Email = Annotated[
    str,
    StringConstraints(max_length=320, pattern=EMAIL_PATTERN),
    Field(examples=["ana@example.com"]),
    BeforeValidator(_visible),
]
Text100 = Annotated[str, StringConstraints(max_length=100, pattern=NO_NUL)]
Text200 = Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)]
CustomValue = (
    Annotated[str, StringConstraints(max_length=2000, pattern=NO_NUL)] | int | float | bool
)
CustomFields = Annotated[
    dict[Annotated[str, Field(pattern=CUSTOM_FIELD_NAME)], CustomValue],
    Field(
        max_length=50,
        description="Any other fields the form asks for.",
        # Names outside the pattern are refused; say so, or the contract would allow them.
        json_schema_extra={"additionalProperties": False},
    ),
]
Url = Annotated[HttpUrl, Field(examples=["https://www.example.com/ebooks/scoring"])]
VISIBLE_ASCII = describe_pattern(
    r"^[\x21-\x7e]+$", "must hold only visible ASCII characters (no spaces)"
)
# What events take as `anonymousId`: a browser id tracked as such must tie its form to it.
VISITOR_ID = VISIBLE_ASCII
VisitorId = Annotated[str, StringConstraints(max_length=100, pattern=VISITOR_ID)]
IdempotencyKey = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=VISIBLE_ASCII)
]


# The control fields every public form (captures, survey answers) may post beside its own.
FormSiteKey = Annotated[
    str | None,
    Field(
        alias="_key",
        max_length=200,
        description="The site's public key, for forms that cannot send `Authorization`.",
    ),
]
Honeypot = Annotated[
    Annotated[str, StringConstraints(max_length=2000)] | None,
    Field(
        alias="_hp",
        description="Leave empty: a field hidden from people, so that only bots fill it in.",
    ),
]


class CaptureCreate(RequestSchema):
    """A visitor's form submission in exchange for an asset.

    Plain HTML forms send the same names as `application/x-www-form-urlencoded`; there, any
    other field name becomes a custom field, checkboxes read `on`/`true`/`1` as true, and
    numbers may be given as text.
    """

    asset: Annotated[
        str,
        StringConstraints(min_length=1, max_length=64, pattern=NOT_BLANK),
        Field(description="The asset's id or slug.", examples=["lead-scoring-ebook"]),
    ]
    email: Email
    first_name: Text100 | None = None
    last_name: Text100 | None = None
    company: Text200 | None = None
    job_title: Text200 | None = None
    phone: Annotated[str, StringConstraints(max_length=50, pattern=NO_NUL)] | None = None
    country: Text100 | None = None
    industry: Text100 | None = None
    company_size: Annotated[int, Field(ge=0, le=10_000_000), JSON_INTEGER] | None = None
    seniority: Text100 | None = None
    consent: bool | None = Field(
        default=None,
        description="The visitor's answer to the consent question; leave out when not asked.",
    )
    consent_text_version: (
        Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NOT_BLANK)] | None
    ) = Field(default=None, description="Which consent text was shown; needed with `consent`.")
    fields: CustomFields = Field(default_factory=dict)
    utm_source: Text200 | None = None
    utm_medium: Text200 | None = None
    utm_campaign: Text200 | None = None
    utm_term: Text200 | None = None
    utm_content: Text200 | None = None
    referrer: Url | None = None
    page_url: Url | None = None
    visitor_id: VisitorId | None = None
    key: FormSiteKey = None
    redirect: Url | None = Field(
        default=None,
        alias="_redirect",
        description="Answer `303 See Other` to this URL (on one of the site's origins).",
    )
    idempotency_key: IdempotencyKey | None = Field(
        default=None, alias="_idem", description="Same as the `Idempotency-Key` header."
    )
    honeypot: Honeypot = None

    @field_validator("email")
    @classmethod
    def _normalise(cls, email: str) -> str:
        return normalise_email(email)

    @model_validator(mode="after")
    def _consent_has_its_text(self) -> "CaptureCreate":
        if self.consent is not None and self.consent_text_version is None:
            raise ValueError("`consent` needs `consent_text_version`: the text the visitor saw")
        return self

    def profile(self) -> dict[str, Any]:
        """The submitted contact fields, blanks left out: a blank never erases what we know."""
        names = (
            "first_name", "last_name", "company", "job_title", "phone", "country", "industry",
            "company_size", "seniority",
        )  # fmt: skip
        values = {name: getattr(self, name) for name in names}
        return {k: v for k, v in values.items() if v is not None and v != ""}


class CaptureAccepted(ResponseSchema):
    """The answer to a capture: who the contact is, and where the asset is."""

    contact_id: uuid.UUID
    capture_id: uuid.UUID
    delivery_url: str | None = Field(description="Where the visitor gets the asset.")


class CaptureRead(ResponseSchema):
    """A stored capture, as submitted."""

    id: uuid.UUID
    contact_id: uuid.UUID
    asset_id: uuid.UUID
    site_id: uuid.UUID
    fields: dict[str, Any]
    consent: bool | None
    consent_text_version: str | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_term: str | None
    utm_content: str | None
    referrer: str | None
    page_url: str | None
    user_agent: str | None
    ip_prefix: str | None
    visitor_id: str | None
    idempotency_key: str | None
    created_at: datetime


Stage = Annotated[LifecycleStage, Strict(False)]


class StageMoveRequest(RequestSchema):
    """Move a lead to another lifecycle stage."""

    stage: Stage
    reason: ShortText | None = None
    allow_regression: bool = Field(
        default=False, description="Needed to move a lead back to an earlier stage."
    )


class PersonaAssign(RequestSchema):
    """Assign a persona by hand; it stays until the assignment is deleted."""

    persona: Annotated[
        str,
        StringConstraints(min_length=1, max_length=64, pattern=NOT_BLANK),
        Field(description="The persona's id or slug.", examples=["it-director"]),
    ]
    reason: ShortText | None = None


class LeadPersonaRead(ResponseSchema):
    id: uuid.UUID
    slug: str
    name: str
    source: Literal["rules", "content", "manual"]
    confidence: float | None


class ConsentRead(ResponseSchema):
    given: bool | None = Field(description="null when never asked.")
    at: datetime | None
    text_version: str | None
    capture_id: uuid.UUID | None


class FirstTouchRead(ResponseSchema):
    site_id: uuid.UUID | None
    asset_id: uuid.UUID | None
    utm_source: str | None
    utm_medium: str | None
    utm_campaign: str | None
    utm_term: str | None
    utm_content: str | None
    referrer: str | None


class TimelineEntry(ResponseSchema):
    """One thing that happened to a lead."""

    type: Literal[
        "capture", "score", "stage", "page_view", "content_view", "click", "answer",
        "case_opened", "case_contacted", "case_resolved",
    ]  # fmt: skip
    at: datetime
    id: uuid.UUID
    detail: dict[str, Any]


class LeadProfileRead(ResponseSchema):
    """Who a lead is: the profile fields a lead and a listed lead both start with."""

    id: uuid.UUID
    email: str
    first_name: str | None
    last_name: str | None
    company: str | None
    job_title: str | None
    phone: str | None
    country: str | None
    industry: str | None
    company_size: int | None
    seniority: str | None


class LeadRead(LeadProfileRead):
    """A contact as the team sees it: profile, persona and why, grade, score, stage, history."""

    custom_fields: dict[str, Any]
    topics: list[str]
    stage: LifecycleStage
    stage_changed_at: datetime
    reached_at: dict[LifecycleStage, datetime | None] = Field(
        description="The first time each stage, or a later one, was reached."
    )
    persona: LeadPersonaRead | None
    persona_explanation: dict[str, Any] | None
    fit: float
    grade: Grade
    score: float = Field(description="Engagement now, decayed since the last activity.")
    consent: ConsentRead
    first_touch: FirstTouchRead
    owner: str | None = Field(description="Who works the lead; null while nobody claimed it.")
    owned_at: datetime | None
    lead_status: str = Field(
        description="How working the lead goes: `new`, `attempting`, `connected`, "
        "`unqualified` or `bad_timing`; apart from its lifecycle stage."
    )
    lead_status_at: datetime | None
    open_cases: list[CaseRead] = Field(
        description="The follow-up cases of its negative survey answers not yet resolved, the "
        "earliest due first (at most 50; `/leads/{id}/cases` lists them all)."
    )
    timeline: list[TimelineEntry] = Field(
        description="Newest first; at most 200 entries: captures, scores, stage changes, the "
        "page views, content views and clicks of the lead's linked ids, survey answers, and "
        "the opening, contact and resolution of their follow-up cases."
    )
    created_at: datetime
    updated_at: datetime
    version: int
