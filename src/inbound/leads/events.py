"""What happened to a lead, as events for the outbox: built from the state before and after a
change, and written in the transaction that made the change (see `LeadEvent`)."""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from operator import attrgetter
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from inbound.db import new_id
from inbound.leads.repository import CONTACTS, LEAD_EVENTS
from inbound.leads.stages import LifecycleStage
from inbound.leads.state import ContactState, LeadEventRow, StageChangeRow
from inbound.lean_sql import LeanStatement


class LeadEventType(StrEnum):
    """Every event a lead's changes produce; webhook subscriptions choose among them."""

    CREATED = "lead.created"
    UPDATED = "lead.updated"
    STAGE_CHANGED = "lead.stage_changed"
    QUALIFIED = "lead.qualified"
    CLAIMED = "lead.claimed"
    CAPTURE_CREATED = "capture.created"
    # The follow-up of a negative survey answer (see `surveys/follow_up.py`).
    CASE_OPENED = "case.opened"
    CASE_UPDATED = "case.updated"
    CASE_RESOLVED = "case.resolved"
    # A customer's or opportunity's churn risk crossed the threshold (see `churn/`).
    AT_RISK = "lead.at_risk"
    RISK_CLEARED = "lead.risk_cleared"


# Events of a lead's follow-up cases.
CASE_EVENTS = frozenset(
    {LeadEventType.CASE_OPENED, LeadEventType.CASE_UPDATED, LeadEventType.CASE_RESOLVED}
)
# Events of what is ours alone (follow-up cases, churn risk): nothing HubSpot holds changed.
NOT_FOR_CRM = CASE_EVENTS | {LeadEventType.AT_RISK, LeadEventType.RISK_CLEARED}


# The origin of changes the CRM reported: the CRM sync does not send them back.
CRM_ORIGIN = "crm"
# A lead's events leave in the order they happened: version first, then this many per change.
EVENTS_PER_CHANGE = 8
# The fields of a lead an event reports, and whose change makes a `lead.updated`.
SUMMARY_FIELDS = (
    "email", "first_name", "last_name", "company", "job_title", "phone", "country",
    "industry", "company_size", "seniority", "stage", "lead_status", "owner", "persona_id",
    "persona_source", "fit", "grade", "consent",
)  # fmt: skip
QUALIFIED_AT = LifecycleStage.MQL.reached_column
_reported_attributes = attrgetter(*SUMMARY_FIELDS)
# What `lead_events` reads of the lead as it was before a change.
COMPARED_FIELDS = (*SUMMARY_FIELDS, QUALIFIED_AT)
_compared_attributes = attrgetter(*COMPARED_FIELDS)

EVENT_COLUMNS = (
    "id", "type", "lead_id", "lead_version", "ordinal", "data", "occurred_at", "origin",
)  # fmt: skip
INSERT_LEAD_EVENT = LeanStatement(
    insert(LEAD_EVENTS).values({name: bindparam(name) for name in EVENT_COLUMNS})
)

# The lead of a change another domain is about to record on it, locked until the commit.
LOCK_LEAD = LeanStatement(
    select(CONTACTS.c.id, CONTACTS.c.email, CONTACTS.c.owner, CONTACTS.c.version)
    .where(CONTACTS.c.id == bindparam("lead_id"))
    .with_for_update()
)
# A change another domain records on a lead (a follow-up case opened or moved): the lead, locked
# until the commit, takes a new version, so that the change's event takes its place in the
# lead's order and the lead's ETag (which shows its open cases) changes. Returns what the
# event reports of the lead.
RECORD_LEAD_CHANGE = LeanStatement(
    update(CONTACTS)
    .where(CONTACTS.c.id == bindparam("lead_id"))
    .values(version=CONTACTS.c.version + 1, updated_at=bindparam("now"))
    .returning(CONTACTS.c.id, CONTACTS.c.email, CONTACTS.c.owner, CONTACTS.c.version)
)


def lead_sequence(version: int, ordinal: int) -> int:
    """An event's place in its lead's history."""
    return version * EVENTS_PER_CHANGE + ordinal


def before_change(state: ContactState) -> dict[str, Any]:
    """A copy of what `lead_events` compares a change against, taken before the change: the
    reported fields and when the lead qualified (a third of the columns, for a hot path)."""
    return dict(zip(COMPARED_FIELDS, _compared_attributes(state), strict=True))


def summary(state: Mapping[str, Any], score: float) -> dict[str, Any]:
    """The lead as events show it: enough to act on, the rest is one GET away."""
    found: dict[str, Any] = {"id": str(state["id"])}
    for name, value in zip(SUMMARY_FIELDS, _reported(state), strict=True):
        found[name] = str(value) if isinstance(value, uuid.UUID) else value
    found["score"] = round(score, 2)
    found["version"] = state["version"]
    found["updated_at"] = _when(state["updated_at"])
    return found


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The reported fields a change moved, in a fixed order."""
    moved = zip(SUMMARY_FIELDS, _reported(before), _reported(after), strict=True)
    return [name for name, old, new in moved if old != new]


def _reported(state: Mapping[str, Any]) -> tuple[Any, ...]:
    """The reported fields' values; read as attributes from a typed state (a hot path)."""
    if isinstance(state, ContactState):
        return _reported_attributes(state)
    return tuple(map(state.get, SUMMARY_FIELDS))


def lead_events(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    *,
    score: float,
    at: datetime,
    stage_changes: Sequence[StageChangeRow] = (),
    capture: Mapping[str, Any] | None = None,
    claimed_from: str | None = None,
    claimed: bool = False,
    changes: Iterable[str] = (),
    origin: str | None = None,
) -> list[LeadEventRow]:
    """The outbox rows of one change to a lead, in the order a receiver should see them.

    ``changes`` names what changed besides the reported fields (a note, say); ``origin``, the
    outside system the change came from, which is not told of it again.
    """
    lead = summary(after, score)
    found: list[tuple[LeadEventType, dict[str, Any]]] = []
    if before is None:
        found.append((LeadEventType.CREATED, {"lead": lead}))
    else:
        moved = [*changed_fields(before, after), *changes]
        found.append((LeadEventType.UPDATED, {"lead": lead, "changes": moved}))
    if capture is not None:
        found.append((LeadEventType.CAPTURE_CREATED, {"lead": lead, "capture": dict(capture)}))
    for change in stage_changes:
        move = {
            "from": change["from_stage"], "to": change["to_stage"], "cause": change["cause"],
            "actor": change["actor"], "reason": change["reason"],
            "changed_at": _when(change["changed_at"]),
        }  # fmt: skip
        found.append((LeadEventType.STAGE_CHANGED, {"lead": lead, "stage_change": move}))
    if after.get(QUALIFIED_AT) is not None and (before or {}).get(QUALIFIED_AT) is None:
        found.append((LeadEventType.QUALIFIED, {"lead": lead}))
    if claimed:
        found.append((LeadEventType.CLAIMED, {"lead": lead, "previous_owner": claimed_from}))
    lead_id, lead_version = after["id"], after["version"]
    return [
        {
            "id": new_id(),
            "type": kind.value,
            "lead_id": lead_id,
            "lead_version": lead_version,
            "ordinal": ordinal,
            "data": data,
            "occurred_at": at,
            "origin": origin,
        }
        for ordinal, (kind, data) in enumerate(found)
    ]


def capture_detail(row: Mapping[str, Any]) -> dict[str, Any]:
    """A capture as `capture.created` reports it."""
    return {
        "id": str(row["id"]),
        "asset_id": str(row["asset_id"]),
        "site_id": str(row["site_id"]),
        "utm_source": row.get("utm_source"),
        "utm_medium": row.get("utm_medium"),
        "utm_campaign": row.get("utm_campaign"),
        "page_url": row.get("page_url"),
        "created_at": _when(row["created_at"]),
    }


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")
