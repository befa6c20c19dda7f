"""The typed contact state keeps up with the contacts table."""

import uuid

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
