"""Migrations build the schema from nothing, match the models, and go down and up again."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, make_url, text

from inbound import migrate
from inbound.db import create_engine
from inbound.models import metadata
from tests.conftest import _base_url


@pytest.fixture
def empty_database(worker_id: str, tmp_path: Path) -> Iterator[str]:
    """A database with no tables, dropped afterwards."""
    base = make_url(_base_url())
    if base.drivername.startswith("sqlite"):
        yield base.set(database=str(tmp_path / "stairway.db")).render_as_string(False)
        return
    name = f"inbound_stairway_{worker_id}"
    asyncio.run(_admin(base.set(database="postgres").render_as_string(False), name, create=True))
    yield base.set(database=name).render_as_string(False)
    asyncio.run(_admin(base.set(database="postgres").render_as_string(False), name, create=False))


async def _admin(admin_url: str, name: str, *, create: bool) -> None:
    engine = create_engine(admin_url)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    await engine.dispose()
    return names - {"alembic_version"}


def test_models_and_migrations_agree(database_url: str) -> None:
    # Raises when autogenerate would still find something to do.
    command.check(migrate.alembic_config(database_url))


def test_upgrade_builds_every_table_from_nothing(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    assert asyncio.run(_tables(empty_database)) == set(metadata.tables)


def test_stairway_down_and_up_one_revision_at_a_time(empty_database: str) -> None:
    config = migrate.alembic_config(empty_database)
    revisions = list(ScriptDirectory.from_config(config).walk_revisions("base", "heads"))
    for revision in reversed(revisions):
        command.upgrade(config, revision.revision)
        command.downgrade(config, "-1")
        command.upgrade(config, revision.revision)
    assert asyncio.run(_tables(empty_database)) == set(metadata.tables)
    command.downgrade(config, "base")
    assert asyncio.run(_tables(empty_database)) == set()


def test_migration_files_are_named_by_date_time_and_subject() -> None:
    versions = Path(migrate.migrations_dir()) / "versions"
    names = [p.name for p in versions.glob("*.py")]
    assert names
    for name in names:
        date, _, subject = name.partition("_")
        assert len(date) == len("2026-11-24-0641"), name
        assert subject.endswith(".py"), name
        assert len(subject) > len(".py"), name
