"""The sales list's keyset cursors: where a page starts, for one sort and one set of filters."""

import base64
import binascii
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import msgspec

from inbound.errors import BadRequest
from inbound.leads.sales.feed import MAX_RUNNING, Committed, Shown, in_bigint
from inbound.leads.sales.filters import LeadFilter

GRADES = ("A", "B", "C", "D")
FIRST_MOMENT = datetime(1, 1, 2, tzinfo=UTC)
LAST_MOMENT = datetime(9999, 12, 30, tzinfo=UTC)


class LeadSort(StrEnum):
    """The orders the list comes in."""

    UPDATED = "updated"
    RECENCY = "recency"
    SCORE = "score"
    GRADE = "grade"


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page starts: the sort key of the last row before it."""

    sort: LeadSort
    key: tuple[Any, ...]
    # The moment scores are decayed to, fixed for a whole walk so that pages agree.
    as_of: datetime | None = None
    filters: str = ""
    # In `updated` order: set on a plain walk's pages, or on the feed that took over from one.
    committed: Committed | None = None
    shown: Shown | None = None

    def encode(self) -> str:
        document = {
            "s": self.sort.value,
            "k": [str(value) if isinstance(value, uuid.UUID | datetime) else value
                  for value in self.key],
            "t": self.as_of.isoformat() if self.as_of else None,
            "f": self.filters,
        }  # fmt: skip
        if self.committed is not None:
            document["w"] = _relative(self.committed.xmax, self.committed.running)
        if self.shown is not None:
            document["x"] = _relative(self.shown.through, self.shown.running)
        return base64.urlsafe_b64encode(msgspec.json.encode(document)).rstrip(b"=").decode()

    @classmethod
    def decode(cls, cursor: str, sort: LeadSort, filters: LeadFilter) -> "Position":
        """Read a cursor made for this sort and these filters; anything else is refused."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            document = msgspec.json.decode(raw, type=dict[str, Any])
            made_for = LeadSort(document["s"])
            as_of = _moment(document["t"]) if document["t"] else None
            key = _typed_key(made_for, document["k"])
            fingerprint = str(document["f"])
            committed = Committed(*_absolute(document["w"])) if "w" in document else None
            shown = Shown(*_absolute(document["x"])) if "x" in document else None
        except (binascii.Error, msgspec.DecodeError, IndexError, KeyError, TypeError, ValueError,
                OverflowError):  # fmt: skip
            raise BadRequest("not a cursor this API returned", field="cursor") from None
        if made_for is not sort or fingerprint != filters.fingerprint():
            raise BadRequest(
                "the cursor was made for another sort or other filters: send the same ones",
                field="cursor",
            )
        return cls(sort, key, as_of, fingerprint, committed, shown)


def _relative(base: int, running: tuple[int, ...]) -> list[Any]:
    """Transaction ids as their distance below ``base``: short in a cursor."""
    return [base, [base - xid for xid in running]]


def _absolute(document: list[Any]) -> tuple[int, tuple[int, ...]]:
    base, below = in_bigint(int(document[0])), document[1]
    if not isinstance(below, list) or len(below) > MAX_RUNNING:
        raise ValueError("not a list of transactions")
    running = tuple(in_bigint(base - in_bigint(int(gap))) for gap in below)
    if any(gap < 0 for gap in below):
        raise ValueError("a running transaction above the base")
    return base, running


def _typed_key(sort: LeadSort, values: list[Any]) -> tuple[Any, ...]:
    match sort:
        case LeadSort.UPDATED:
            return (in_bigint(int(values[0])), _id(values[1]))
        case LeadSort.RECENCY:
            return (_moment(values[0]), _id(values[1]))
        case LeadSort.SCORE:
            return (_finite(values[0]), _id(values[1]))
        case LeadSort.GRADE:
            if values[0] not in GRADES:
                raise ValueError("not a grade")
            return (values[0], _finite(values[1]), _id(values[2]))


def _id(value: Any) -> uuid.UUID:
    """A lead's id from a cursor, written as the cursor writes it."""
    if not isinstance(value, str):
        raise ValueError("not an id")
    return uuid.UUID(value)


def _finite(value: Any) -> float:
    """A score from a cursor: a number a float column can compare with."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _moment(value: Any) -> datetime:
    """A moment from a cursor, in UTC, with a day to spare at either end of the calendar:
    asyncpg sends its very ends as PostgreSQL's infinities, and SQLite's julianday() rounds
    the last milliseconds of 9999 into a year it cannot name."""
    if not isinstance(value, str):
        raise ValueError("not a time")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("a cursor's moments carry their zone")
    moment = moment.astimezone(UTC)  # OverflowError beyond year 1 to 9999 in UTC
    if not FIRST_MOMENT <= moment <= LAST_MOMENT:
        raise ValueError("too near the end of the calendar")
    return moment
