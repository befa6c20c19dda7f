"""Lean statements behave as SQLAlchemy would: same values, same errors, all or nothing."""

import asyncio
import contextlib
import re
import tomllib
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import Float, bindparam, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from inbound.db import create_engine
from inbound.leads.capture.statements import INSERT_STAGE_CHANGE
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


async def cancel_midway(write: Coroutine[Any, Any, None]) -> None:
    """Start ``write`` and cancel it half a second in."""
    task = asyncio.create_task(write)
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def assert_no_transaction_left_open(engine: AsyncEngine) -> None:
    """The pool lends a connection again; what it writes is committed, the cancelled write is
    not, and no session is left idle in a transaction."""
    async with LeanTransaction.begin(engine) as transaction:
        await transaction.execute(INSERT_SETTING, probe("probe-after"))
    async with engine.connect() as connection:
        assert (await connection.execute(PROBES)).scalars().all() == ["probe-after"]
        assert await open_transactions(connection) == 0


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


async def test_a_column_left_out_takes_its_default(connection: AsyncConnection) -> None:
    without_version = LeanStatement(
        insert(SETTINGS).values(
            name=bindparam("name"), value=bindparam("value"), updated_at=bindparam("updated_at")
        )
    )
    async with LeanTransaction.begin(connection) as transaction:
        await transaction.execute(
            without_version, {"name": "probe", "value": {}, "updated_at": WHEN}
        )
        row = await transaction.first(SETTING, {"name": "probe"})
    assert row is not None
    assert row["version"] == 1


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


SLEEP = LeanStatement(select(func.pg_sleep(bindparam("seconds", type_=Float))))
PROBES = select(SETTINGS.c.name).where(SETTINGS.c.name.like("probe%")).order_by(SETTINGS.c.name)


def probe(name: str) -> dict[str, object]:
    return {"name": name, "value": {}, "version": 1, "updated_at": WHEN}


SLOW_COMMIT_SETUP = (
    "CREATE TABLE slow_commits (id integer)",
    "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN PERFORM pg_sleep(30); RETURN NULL; END $$",
    "CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON slow_commits "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit()",
)
INSERT_SLOWLY_COMMITTED = LeanStatement(text("INSERT INTO slow_commits VALUES (1)"))


async def open_transactions(connection: AsyncConnection) -> int:
    """Sessions of this database other than ``connection``'s, idle inside a transaction."""
    found = await connection.execute(
        text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
        )
    )
    return int(found.scalar_one())


@pytest.mark.committing
class TestOnTheEnginesOwnConnection:
    """Where the service runs them: a connection lent by the pool, committing for real."""

    async def test_a_block_commits_and_a_failing_one_leaves_nothing(
        self, engine: AsyncEngine, committing_app: Litestar
    ) -> None:
        async def write_then_fail() -> None:
            async with LeanTransaction.begin(engine) as transaction:
                await transaction.execute(INSERT_SETTING, probe("probe-lost"))
                raise Failure

        async with LeanTransaction.begin(engine) as transaction:
            await transaction.execute(INSERT_SETTING, probe("probe-kept"))
        with pytest.raises(Failure):
            await write_then_fail()
        async with engine.connect() as connection:
            assert (await connection.execute(PROBES)).scalars().all() == ["probe-kept"]

    async def test_a_cancelled_statement_leaves_no_transaction_open(
        self, engine: AsyncEngine, committing_app: Litestar
    ) -> None:
        if engine.dialect.name != "postgresql":
            pytest.skip("SQLite's statements run to their end")

        async def write_then_wait() -> None:
            async with LeanTransaction.begin(engine) as transaction:
                await transaction.execute(INSERT_SETTING, probe("probe-cancelled"))
                await transaction.first(SLEEP, {"seconds": 30})

        await cancel_midway(write_then_wait())
        await assert_no_transaction_left_open(engine)

    async def test_a_commit_cancelled_midway_leaves_no_transaction_open(
        self, engine: AsyncEngine, committing_app: Litestar
    ) -> None:
        if engine.dialect.name != "postgresql":
            pytest.skip("SQLite commits at once")
        # A deferred trigger that makes COMMIT itself take long enough to be cancelled.
        async with engine.begin() as connection:
            for statement in SLOW_COMMIT_SETUP:
                await connection.execute(text(statement))
        try:

            async def write_slowly_committed() -> None:
                async with LeanTransaction.begin(engine) as transaction:
                    await transaction.execute(INSERT_SLOWLY_COMMITTED, {})

            await cancel_midway(write_slowly_committed())
            await assert_no_transaction_left_open(engine)
        finally:
            async with engine.begin() as connection:
                await connection.execute(text("DROP TABLE slow_commits"))
                await connection.execute(text("DROP FUNCTION slow_commit"))

    async def test_a_cancel_at_any_step_leaves_the_pool_usable(
        self, engine: AsyncEngine, committing_app: Litestar
    ) -> None:
        if engine.dialect.name != "postgresql":
            pytest.skip("SQLite's statements run to their end")

        async def write(name: str) -> None:
            async with LeanTransaction.begin(engine) as transaction:
                await transaction.execute(INSERT_SETTING, probe(name))

        # Each round cancels a little later than the one before: while the pool lends, during
        # BEGIN, the INSERT, COMMIT. Then what the pool lends must commit for real.
        checker = create_async_engine(engine.url, poolclass=NullPool)
        try:
            for step in range(150):
                writing = asyncio.create_task(write(f"probe-cancelled-{step:03}"))
                await asyncio.sleep(step / 50_000)
                writing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writing
                await write(f"probe-after-{step:03}")
                async with checker.connect() as connection:
                    assert await open_transactions(connection) == 0, f"cancelled at {step}"
                    committed = (await connection.execute(PROBES)).scalars().all()
                    assert f"probe-after-{step:03}" in committed, f"cancelled at {step}"
        finally:
            await checker.dispose()

    async def test_a_connection_left_inside_a_transaction_is_not_lent_again(
        self, database_url: str, committing_app: Litestar
    ) -> None:
        if not database_url.startswith("postgresql"):
            pytest.skip("SQLite's driver keeps no transaction of its own")
        # A pool of one: what is returned to it is what it lends next.
        single = create_engine(database_url, pool_size=1)
        try:
            async with single.connect() as connection:
                raw = await connection.get_raw_connection()
                driver = raw.driver_connection
                assert driver is not None
                # A transaction begun behind the pool's back, as an interrupted BEGIN leaves.
                await driver.execute("BEGIN")
                await driver.execute("SELECT 1")
                left_behind = await driver.fetchval("SELECT pg_backend_pid()")
            async with LeanTransaction.begin(single) as transaction:
                await transaction.execute(INSERT_SETTING, probe("probe-after"))
            async with single.connect() as connection:
                lent = await connection.scalar(text("SELECT pg_backend_pid()"))
                assert lent != left_behind
                assert await open_transactions(connection) == 0
                assert (await connection.execute(PROBES)).scalars().all() == ["probe-after"]
        finally:
            await single.dispose()


async def test_reading_runs_each_statement_on_its_own(
    engine: AsyncEngine, connection: AsyncConnection
) -> None:
    await write_probe(connection)
    async with LeanTransaction.reading(connection) as reading:  # the test's own: a savepoint
        assert [row["version"] for row in await reading.rows(SETTING, probe("read-me"))] == [3]
    if engine.dialect.name != "postgresql":
        return  # elsewhere it is `begin`, which the test's open write would keep waiting
    async with LeanTransaction.reading(engine) as reading:
        # Not inside a transaction: no BEGIN or COMMIT round trips.
        assert reading.driver is not None
        assert not reading.driver.is_in_transaction()
        assert await reading.rows(SETTING, probe("read-me")) == []  # not committed: unseen


async def write_probe(connection: AsyncConnection) -> None:
    async with LeanTransaction.begin(connection) as transaction:
        await transaction.execute(INSERT_SETTING, {**probe("read-me"), "version": 3})


def test_only_the_hot_paths_import_lean_sql() -> None:
    """Ruff bans `inbound.lean_sql` but in the modules its per-file ignores name: every one of
    them still uses it, so that the list stays exactly the hot paths'."""
    root = Path(__file__).parent.parent
    ignores = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    allowed = {name for name, rules in ignores["per-file-ignores"].items() if "TID251" in rules}
    importing = {
        str(path.relative_to(root))
        for folder in ("src", "tests")
        for path in (root / folder).rglob("*.py")
        if re.search(r"^from inbound\.lean_sql import", path.read_text(), re.MULTILINE)
    }
    assert importing == {name for name in allowed if not name.startswith("bench/")}
