"""The contacts every report test reads: their stage times and captures, known to the test."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from inbound.leads.stages import STAGES

STAGE_NAMES = [s.value for s in STAGES]
JANUARY = {"from": "2026-01-01", "to": "2026-01-31"}
# Periods every report refuses, naming `to`: one that ends before it starts, one too long.
BAD_PERIODS = [
    ({"from": "2026-02-01", "to": "2026-01-01"}, "to"),
    ({"from": "2020-01-01", "to": "2026-01-01"}, "to"),
]


@dataclass
class Person:
    """A contact as the test made it: when it reached each stage, and its touches."""

    reached: dict[str, datetime]
    persona: str | None = None
    first_asset: str | None = None
    source: tuple[str | None, str | None] = (None, None)
    assets: list[str] = field(default_factory=list)
    # Captures besides those made on becoming a lead: (asset, when).
    more: list[tuple[str, datetime]] = field(default_factory=list)
    id: uuid.UUID = field(default_factory=uuid.uuid4)

    @property
    def captures(self) -> list[tuple[str, datetime]]:
        """Every capture, (asset, when), in the order the service would see them."""
        at_lead = [(slug, self.reached["lead"] + timedelta(minutes=n))
                   for n, slug in enumerate(self.assets)]  # fmt: skip
        return sorted(at_lead + self.more, key=lambda capture: capture[1])

    @property
    def touched(self) -> set[str]:
        return {slug for slug, _ in self.captures}


def at(day: int, hour: int = 12, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def journey(*moves: tuple[str, datetime]) -> dict[str, datetime]:
    """Stage times as the service keeps them: a jump fills in every skipped stage."""
    reached: dict[str, datetime] = {}
    for stage, when in moves:
        for earlier in STAGE_NAMES[: STAGE_NAMES.index(stage) + 1]:
            reached.setdefault(earlier, when)
    return reached


PEOPLE = [
    Person(journey(("lead", at(3)), ("mql", at(5)), ("sql", at(20))), "cio", "guide",
           ("linkedin", "social"), ["guide", "checklist"],
           [("checklist", at(8)), ("unused", at(25))]),  # after mql, then after sql
    Person(journey(("lead", at(4)), ("customer", at(9))), "cio", "guide",
           ("linkedin", "social"), ["guide"],
           [("checklist", at(6)), ("guide", at(9))]),  # skipped mql, sql and opportunity
    Person(journey(("lead", at(10)), ("mql", at(28, month=1))), "cfo", "checklist",
           ("newsletter", "email"), ["checklist"]),
    Person(journey(("lead", at(12)), ("mql", at(13))), None, "guide", (None, None),
           ["guide"]),  # no persona
    Person(journey(("lead", at(31, 23))), "cfo", "checklist", ("newsletter", "email"),
           ["checklist"]),  # late on Jan 31 in UTC: January in New York too
    Person(journey(("lead", at(1, 3, month=2)), ("mql", at(2, month=2))), "cio", "guide",
           ("linkedin", "social"), ["guide"]),  # Jan 31, 22:00 in New York
    Person(journey(("subscriber", at(2)), ("lead", at(15, month=2))), "cfo", "checklist",
           ("newsletter", "email"), ["checklist"]),  # became a lead in February
]  # fmt: skip


@dataclass(frozen=True)
class Ids:
    personas: dict[str, uuid.UUID]
    assets: dict[str, uuid.UUID]
    site: uuid.UUID


def bounds(first: date, last: date, tz: str = "UTC") -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    start = datetime(first.year, first.month, first.day, tzinfo=zone)
    end = datetime(last.year, last.month, last.day, tzinfo=zone) + timedelta(days=1)
    return start.astimezone(UTC), end.astimezone(UTC)
