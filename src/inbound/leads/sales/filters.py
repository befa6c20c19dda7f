"""Which leads the sales list shows: its filters, as query parameters give them and as SQL."""

import hashlib
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, true

from inbound.errors import BadRequest, FieldError
from inbound.leads.repository import CONTACTS
from inbound.leads.stages import LifecycleStage

QUALIFIED = "qualified"
QUALIFIED_STAGES = (LifecycleStage.MQL, LifecycleStage.SQL)
UNOWNED = "unowned"
NO_PERSONA = "none"


class InvalidLeadFilter(BadRequest, problem="validation"): ...


@dataclass(frozen=True, slots=True)
class LeadFilter:
    """Which leads a list shows; every filter narrows it."""

    stages: tuple[LifecycleStage, ...] = ()
    persona_id: uuid.UUID | None = None
    without_persona: bool = False
    min_grade: str | None = None
    min_score: float | None = None
    owner: str | None = None
    unowned: bool = False
    site_id: uuid.UUID | None = None
    first_asset_id: uuid.UUID | None = None
    source: str | None = None
    updated_since: datetime | None = None

    def fingerprint(self) -> str:
        """A short digest, so that a cursor is only used with the filters it was made for."""
        described = repr(sorted(asdict(self).items())).encode()
        return hashlib.blake2s(described, digest_size=6).hexdigest()

    def conditions(self, shown_score: ColumnElement[float]) -> list[ColumnElement[bool]]:
        """The filters as SQL; ``shown_score``, the score as a listed lead shows it."""
        c = CONTACTS.c
        found: list[ColumnElement[bool]] = []
        if self.stages:
            found.append(c.stage.in_([stage.value for stage in self.stages]))
        if self.without_persona:
            found.append(c.persona_id.is_(None))
        elif self.persona_id is not None:
            found.append(c.persona_id == self.persona_id)
        if self.min_grade is not None:
            found.append(c.grade <= self.min_grade)  # A is the best grade
        if self.min_score is not None:
            # On the score as the item shows it: a lead shown with 50 matches `min_score=50`.
            found.append(shown_score >= self.min_score)
        if self.unowned:
            found.append(c.owner.is_(None))
        elif self.owner is not None:
            found.append(c.owner == self.owner)
        if self.site_id is not None:
            found.append(c.first_site_id == self.site_id)
        if self.first_asset_id is not None:
            found.append(c.first_asset_id == self.first_asset_id)
        if self.source is not None:
            found.append(func.lower(c.first_utm_source) == self.source.lower())
        if self.updated_since is not None:
            found.append(c.updated_at >= self.updated_since)
        return found or [true()]


def parse_stages(given: str | None) -> tuple[LifecycleStage, ...]:
    """`stage` as the stages it names, comma-separated; `qualified` is `mql,sql`."""
    if given is None:
        return ()
    found: list[LifecycleStage] = []
    for name in (part.strip() for part in given.split(",")):
        if name == QUALIFIED:
            found.extend(QUALIFIED_STAGES)
            continue
        try:
            found.append(LifecycleStage(name))
        except ValueError:
            known = ", ".join([QUALIFIED, *LifecycleStage])
            raise InvalidLeadFilter(
                f"unknown stage {name!r}; stages are {known}",
                errors=[FieldError(field="stage", message="unknown stage", source="query")],
            ) from None
    return tuple(dict.fromkeys(found))
