"""The typed contact state keeps up with the contacts table."""

import uuid
from datetime import UTC, datetime
from typing import Any
from unittest.mock import ANY

from inbound.leads.events import before_change, lead_events
from inbound.leads.repository import CONTACTS
from inbound.leads.state import COLUMNS, ContactState


def test_the_state_has_every_column_of_the_table_in_its_order() -> None:
    assert tuple(column.name for column in CONTACTS.columns) == COLUMNS


def test_a_copy_of_the_columns_does_not_change_with_the_state() -> None:
    state = ContactState(id=uuid.uuid4(), email="ana@example.com")
    before = state.columns()
    state["stage"] = "lead"
    state.update(owner="bo")
    assert (before["stage"], before["owner"]) == (None, None)
    assert (state.stage, state.get("owner"), state.get("no_such_column")) == ("lead", "bo", None)
    assert ContactState.of(state.columns()).columns() == state.columns()


def test_the_copy_events_compare_against_gives_the_events_of_a_full_copy() -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    state = ContactState(id=uuid.uuid4(), email="ana@example.com", stage="lead", version=1)
    full, compared = state.columns(), before_change(state)
    state.update(job_title="CIO", grade="A", stage="mql", mql_at=now, version=2, updated_at=now)

    def told(before: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        return [(row["type"], row["data"]) for row in lead_events(before, state, score=1, at=now)]

    assert told(compared) == told(full)
    assert told(compared) == [
        ("lead.updated", {"lead": ANY, "changes": ["job_title", "stage", "grade"]}),
        ("lead.qualified", {"lead": ANY}),
    ]
    # Qualified already: the next change is told as an update alone.
    full, compared = state.columns(), before_change(state)
    state.update(job_title="CTO", version=3)
    assert (
        told(compared) == told(full) == [("lead.updated", {"lead": ANY, "changes": ["job_title"]})]
    )
