"""A contact's state as a change works on it, every column of its row typed; and the rows a
change records besides it.

Capture, stage moves and persona mapping change a contact in memory and write it back whole.
The state reads by attribute; it also reads and writes by column name (a mutable mapping),
for the helpers that go over columns by name (stage moves, lead events) and are shared with
callers that hold a plain row. Copies are shallow and cheap: capture is a hot path.
"""

import uuid
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from operator import attrgetter
from typing import Any, NamedTuple, TypedDict, cast

from inbound.leads.stages import LifecycleStage

_NOTHING: Mapping[str, Any] = {}


@dataclass(slots=True, kw_only=True, eq=False)
class ContactState(MutableMapping[str, Any]):
    """One contact's columns (see `Contact`), as a change reads and writes them."""

    # First, as in the table: the bookkeeping every editable row has (`Versioned`).
    updated_at: datetime | None = None
    version: int = 0
    created_at: datetime | None = None
    id: uuid.UUID
    email: str
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    job_title: str | None = None
    phone: str | None = None
    country: str | None = None
    industry: str | None = None
    company_size: int | None = None
    seniority: str | None = None
    custom_fields: dict[str, Any] = field(default_factory=dict)
    topics: list[str] = field(default_factory=list)
    # None only for a contact not yet created: its first stage move sets it.
    stage: str | None = None
    stage_changed_at: datetime | None = None
    subscriber_at: datetime | None = None
    lead_at: datetime | None = None
    mql_at: datetime | None = None
    sql_at: datetime | None = None
    opportunity_at: datetime | None = None
    customer_at: datetime | None = None
    evangelist_at: datetime | None = None
    persona_id: uuid.UUID | None = None
    persona_source: str | None = None
    persona_confidence: float | None = None
    persona_explanation: dict[str, Any] | None = None
    touches: dict[str, float] = field(default_factory=dict)
    touches_at: datetime | None = None
    fit: float | None = None
    grade: str | None = None
    score: float = 0.0
    score_at: datetime | None = None
    consent: bool | None = None
    consent_at: datetime | None = None
    consent_text_version: str | None = None
    consent_capture_id: uuid.UUID | None = None
    first_site_id: uuid.UUID | None = None
    first_asset_id: uuid.UUID | None = None
    first_utm_source: str | None = None
    first_utm_medium: str | None = None
    first_utm_campaign: str | None = None
    first_utm_term: str | None = None
    first_utm_content: str | None = None
    first_referrer: str | None = None
    owner: str | None = None
    owned_at: datetime | None = None
    lead_status: str = "new"
    lead_status_at: datetime | None = None
    # Kept by the database (a trigger), never written from here.
    change_seq: int | None = None

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> "ContactState":
        """The state of a contact row as the database returned it."""
        return cls(**row)

    @property
    def current_stage(self) -> LifecycleStage:
        """The stage of a stored contact (every stored contact has one)."""
        return LifecycleStage(cast(str, self.stage))

    def columns(self) -> dict[str, Any]:
        """Every column as a plain dict: a snapshot, or the values to write."""
        return dict(zip(COLUMNS, _values(self), strict=True))

    # The mapping view, by column name.
    def __getitem__(self, name: str) -> Any:
        if name not in _COLUMN_SET:
            raise KeyError(name)
        return getattr(self, name)

    def __setitem__(self, name: str, value: Any) -> None:
        if name not in _COLUMN_SET:
            raise KeyError(name)
        setattr(self, name, value)

    def __delitem__(self, name: str) -> None:
        raise TypeError("a contact's columns cannot be removed")

    def __iter__(self) -> Iterator[str]:
        return iter(COLUMNS)

    def __len__(self) -> int:
        return len(COLUMNS)

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self, name) if name in _COLUMN_SET else default

    def update(self, other: Mapping[str, Any] = _NOTHING, /, **values: Any) -> None:  # type: ignore[override]
        """Set these columns: `MutableMapping.update`, without a call per column."""
        for changes in (other, values):
            for name, value in changes.items():
                if name not in _COLUMN_SET:
                    raise KeyError(name)
                setattr(self, name, value)


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ContactState))
_COLUMN_SET = frozenset(COLUMNS)
_values = attrgetter(*COLUMNS)


class StageChangeRow(TypedDict):
    """A stage change as it is inserted (and as lead events and tests read it: a plain dict)."""

    id: uuid.UUID
    contact_id: uuid.UUID
    from_stage: str | None
    to_stage: str
    cause: str
    actor: str | None
    reason: str | None
    capture_id: uuid.UUID | None
    changed_at: datetime


class LeadEventRow(TypedDict):
    """A lead event for the outbox, as it is inserted (a plain dict, see `StageChangeRow`)."""

    id: uuid.UUID
    type: str
    lead_id: uuid.UUID
    lead_version: int
    ordinal: int
    data: dict[str, Any]
    occurred_at: datetime
    origin: str | None


class ScoreEventRow(NamedTuple):
    """One entry of a contact's score ledger, as it is inserted."""

    id: uuid.UUID
    contact_id: uuid.UUID
    kind: str
    points: float
    capped: bool
    capture_id: uuid.UUID | None
    event_id: uuid.UUID | None
    merge_id: uuid.UUID | None
    created_at: datetime
