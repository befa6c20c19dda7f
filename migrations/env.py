"""Alembic runs migrations over the async engine, on PostgreSQL or SQLite."""

import asyncio
from typing import Any, Literal

import sqlalchemy as sa
from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection

import inbound.models
from inbound.config import get_settings
from inbound.db import UTCDateTime, create_engine
from inbound.tracking.partitions import is_partition

config = context.config
target_metadata = inbound.models.metadata


def database_url() -> str:
    """The URL a caller set on the config (tests, the CLI), else INBOUND_DATABASE_URL."""
    return config.get_main_option("sqlalchemy.url") or get_settings().database_url


def render_item(kind: str, obj: Any, autogen: AutogenContext) -> str | Literal[False]:
    """Write our portable types as plain SQLAlchemy, so migrations never import app code."""
    if kind != "type":
        return False
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, sa.JSON):
        autogen.imports.add("from sqlalchemy.dialects import postgresql")
        return 'sa.JSON().with_variant(postgresql.JSONB(), "postgresql")'
    return False


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Leave out what the app makes at run time: the monthly partitions of tracking events."""
    return not (type_ == "table" and name is not None and is_partition(name))


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite rebuilds tables to alter
        compare_type=True,
        render_item=render_item,
        include_name=include_name,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_engine(database_url())
    async with engine.connect() as connection:
        await connection.run_sync(run_migrations)
        await connection.commit()
    await engine.dispose()


def run_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())
