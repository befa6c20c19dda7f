"""Lean statements behave as SQLAlchemy would: same values, same errors, all or nothing."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from inbound.leads.capture_sql import INSERT_STAGE_CHANGE
from inbound.leads.repository import (
    SETTINGS,
    STAGE_CHANGES,  # noqa: F401  (the table the test writes)
)
from inbound.lean_sql import LeanStatement, LeanTransaction

INSERT_SETTING = LeanStatement(
    insert(SETTINGS).values(
        name=bindparam("name"), value=bindparam("value"), version=bindparam("version"),
        updated_at=bindparam("updated_at"),
    )
)  # fmt: skip
SETTING = LeanStatement(
    select(SETTINGS.c.value, SETTINGS.c.updated_at, SETTINGS.c.version).where(
        SETTINGS.c.name == bindparam("name")
    )
)
WHEN = datetime(2026, 11, 24, 12, 30, tzinfo=UTC)


class Failure(Exception):
    pass


async def test_values_go_in_and_come_back_as_python_values(connection: AsyncConnection) -> None:
    document = {"weights": [1, 2.5], "label": "ação"}
    async with LeanTransaction.begin(connection) as transaction:
        await transaction.execute(
            INSERT_SETTING,
            {"name": "probe", "value": document, "version": 3, "updated_at": WHEN},
        )
        row = await transaction.first(SETTING, {"name": "probe"})
        missing = await transaction.first(SETTING, {"name": "absent"})
    assert row == {"value": document, "updated_at": WHEN, "version": 3}
    assert missing is None


async def test_a_failure_in_the_block_leaves_nothing(connection: AsyncConnection) -> None:
    async def write_then_fail() -> None:
        async with LeanTransaction.begin(connection) as transaction:
            await transaction.execute(
                INSERT_SETTING, {"name": "probe", "value": {}, "version": 1, "updated_at": WHEN}
            )
            raise Failure

    with pytest.raises(Failure):
        await write_then_fail()
    async with LeanTransaction.begin(connection) as transaction:
        assert await transaction.first(SETTING, {"name": "probe"}) is None


async def test_a_refused_write_raises_the_error_sqlalchemy_would(
    connection: AsyncConnection,
) -> None:
    orphan = {
        "id": uuid.uuid4(), "contact_id": uuid.uuid4(), "from_stage": None, "to_stage": "lead",
        "cause": "capture", "actor": None, "reason": None, "capture_id": None,
        "changed_at": WHEN,
    }  # fmt: skip

    async def write_orphans() -> None:
        async with LeanTransaction.begin(connection) as transaction:
            await transaction.execute_many(INSERT_STAGE_CHANGE, [orphan, orphan])

    with pytest.raises(IntegrityError):
        await write_orphans()
