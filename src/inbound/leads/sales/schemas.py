"""What the sales API takes and gives: lead lists, claims, lead status and notes."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, Strict, StringConstraints

from inbound.leads.qualification.settings import Grade
from inbound.leads.schemas import ConsentRead, FirstTouchRead, LeadProfileRead
from inbound.leads.stages import LeadStatus, LifecycleStage
from inbound.schemas import NOT_BLANK, RequestSchema, ResponseSchema

Owner = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=NOT_BLANK),
    Field(description="Who works the lead: a rep's email or CRM user id.",
          examples=["ana@acme.example"]),
]  # fmt: skip


class ListedPersona(ResponseSchema):
    id: uuid.UUID
    slug: str
    name: str
    source: Literal["rules", "content", "manual"] | None
    confidence: float | None
    explanation: dict[str, Any] | None = Field(description="Why this persona: rules, assets.")


class TakenAsset(ResponseSchema):
    """An asset the lead captured."""

    id: uuid.UUID
    slug: str
    title: str
    kind: str
    first_taken_at: datetime
    times: int


class LeadListItem(LeadProfileRead):
    """What a rep needs to call a lead well."""

    stage: LifecycleStage
    lead_status: LeadStatus
    owner: str | None
    owned_at: datetime | None
    persona: ListedPersona | None
    fit: float
    grade: Grade
    score: float = Field(description="Engagement now, decayed since the last activity.")
    consent: ConsentRead
    first_touch: FirstTouchRead
    assets: list[TakenAsset] = Field(description="The assets the lead took, first taken first.")
    created_at: datetime
    updated_at: datetime
    version: int


class LeadList(ResponseSchema):
    """One page of leads."""

    items: list[LeadListItem]
    next_cursor: str | None = Field(description="Null on the last page.")
    poll_cursor: str | None = Field(
        description="In `updated` order: send it as `cursor` on the next poll to get exactly "
        "the changes made since (on every page; on the last one it moves past every change "
        "the walk showed). Null in other orders."
    )


class ClaimRequest(RequestSchema):
    """Claim a lead for an owner."""

    owner: Owner


class LeadWork(RequestSchema):
    """How working the lead goes, apart from its lifecycle stage."""

    lead_status: Annotated[LeadStatus, Strict(False)] = Field(
        description="`new`, `attempting`, `connected`, `unqualified` or `bad_timing`."
    )


class NoteCreate(RequestSchema):
    """A note on a lead."""

    body: Annotated[str, StringConstraints(min_length=1, max_length=10_000, pattern=NOT_BLANK)]


class NoteRead(ResponseSchema):
    id: uuid.UUID
    body: str
    author: str | None
    created_at: datetime


class NoteList(ResponseSchema):
    items: list[NoteRead]
    next_cursor: str | None = Field(description="Null on the last page.")
