"""What the follow-up cases API takes and answers, and what case events carry."""

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import Field, Strict, StringConstraints

from inbound.schemas import NOT_BLANK, ResponseSchema, UpdateSchema
from inbound.surveys.models import CaseStatus, Metric

Status = Annotated[CaseStatus, Strict(False)]
CaseOwner = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=NOT_BLANK),
    Field(description="Who follows the case up: a rep's email or CRM user id.",
          examples=["ana@acme.example"]),
]  # fmt: skip
CaseNote = Annotated[
    str,
    StringConstraints(min_length=1, max_length=10_000, pattern=NOT_BLANK),
    Field(description="What was done, in the owner's words; it replaces the last one."),
]


class CaseAnswerRead(ResponseSchema):
    """The negative answer a case follows up."""

    id: uuid.UUID
    metric: Annotated[Metric, Strict(False)]
    score: int
    scale_min: int
    scale_max: int
    comment: str | None
    survey_id: uuid.UUID
    survey: str = Field(description="The survey's slug.")
    touchpoint_id: uuid.UUID
    touchpoint: str = Field(description="The touchpoint's slug.")
    answered_at: datetime


class CaseRead(ResponseSchema):
    """The follow-up of one negative answer."""

    id: uuid.UUID
    status: Status = Field(description="`open`, `contacted` or `resolved`; it moves forward only.")
    owner: str | None = Field(description="Who follows it up; at first, the lead's owner.")
    note: str | None
    contact_id: uuid.UUID
    email: str = Field(description="The contact's email, to reach the respondent.")
    answer: CaseAnswerRead
    opened_at: datetime
    due_at: datetime = Field(description="The answer's time plus its touchpoint's `sla_hours`.")
    overdue: bool = Field(description="Not resolved, and due before now.")
    contacted_at: datetime | None
    resolved_at: datetime | None
    updated_at: datetime
    version: int


class CaseUpdate(UpdateSchema):
    """Fields to change; the others stay as they are."""

    nullable: ClassVar[frozenset[str]] = frozenset({"owner", "note"})

    status: Status | None = Field(
        default=None,
        description="Forward only: `open` → `contacted` → `resolved` (or `open` → `resolved`).",
    )
    owner: CaseOwner | None = None
    note: CaseNote | None = None


class CaseList(ResponseSchema):
    items: list[CaseRead]
    next_cursor: str | None = Field(description="Null on the last page.")


def case_read(row: dict[str, Any], now: datetime) -> CaseRead:
    """A case as the API shows it, from a row of the case with its answer, survey, touchpoint
    and contact (see `case_repository.CASE_COLUMNS`)."""
    return CaseRead(
        id=row["id"], status=row["status"], owner=row["owner"], note=row["note"],
        contact_id=row["contact_id"], email=row["email"],
        answer=CaseAnswerRead(
            id=row["answer_id"], metric=row["metric"], score=row["score"],
            scale_min=row["scale_min"], scale_max=row["scale_max"], comment=row["comment"],
            survey_id=row["survey_id"], survey=row["survey_slug"],
            touchpoint_id=row["touchpoint_id"], touchpoint=row["touchpoint_slug"],
            answered_at=row["answered_at"],
        ),
        opened_at=row["opened_at"], due_at=row["due_at"],
        overdue=row["status"] != CaseStatus.RESOLVED and row["due_at"] < now,
        contacted_at=row["contacted_at"], resolved_at=row["resolved_at"],
        updated_at=row["updated_at"], version=row["version"],
    )  # fmt: skip
