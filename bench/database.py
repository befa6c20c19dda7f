"""A PostgreSQL database for a bench run: dropped and made afresh, filled with plain SQL.

Every bench measures against a database of its own; these are the few things they all do to
it: recreate it, run a handful of statements, issue an API key, copy the template contact.
"""

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg
from sqlalchemy import make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

import inbound.models  # noqa: F401  (maps every table before the first flush)
from inbound import migrate
from inbound.auth.scopes import Scope
from inbound.auth.service import ApiKeyService
from inbound.db import create_sessionmaker
from inbound.leads.repository import CONTACTS

EMAIL_DOMAIN = "bench.example"
TEMPLATE_EMAIL = f"template@{EMAIL_DOMAIN}"  # the contact a bench captures first, then copies
# Ids that pgbench and the fills make in SQL: time-ordered like the service's UUIDv7, from a
# random seed.
BENCH_UUID = """
CREATE OR REPLACE FUNCTION bench_uuid(seed bigint) RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT (lpad(to_hex((extract(epoch FROM now()) * 1000)::bigint), 12, '0') || '7'
          || lpad(to_hex(seed), 19, '0'))::uuid
$$"""


def midnight_utc() -> datetime:
    """The start of today in UTC: where a synthetic history ends, the same all day."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def plain_engine(url: str) -> AsyncEngine:
    """An engine that keeps no idle connections, so that it takes none from the load."""
    return create_async_engine(url, poolclass=NullPool)


def dsn_of(url: str) -> str:
    """The URL as asyncpg takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def recreate_database(url: URL) -> None:
    engine = plain_engine(url.set(database="postgres").render_as_string(hide_password=False))
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    await engine.dispose()


async def fresh_schema(url: str) -> None:
    """Drop and recreate the database, then migrate it to the newest schema."""
    await recreate_database(make_url(url))
    await asyncio.to_thread(migrate.upgrade, url)


async def issue_key(url: str, scope: Scope) -> str:
    """A new API key with ``scope``, in plain text."""
    engine = plain_engine(url)
    async with create_sessionmaker(engine)() as session, session.begin():
        _, plain = await ApiKeyService(session).issue(name="bench", scopes=[scope])
    await engine.dispose()
    return plain


async def prepare_database(url: str) -> str:
    """Add the id function pgbench uses; issue and return an admin key."""
    engine = plain_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text(BENCH_UUID))
    await engine.dispose()
    return await issue_key(url, Scope.ADMIN)


async def run_sql(url: str, *statements: str, autocommit: bool = False) -> list[Any]:
    """Run statements in order; return the first column of each one's first row, if any."""
    engine = plain_engine(url)
    found: list[Any] = []
    async with engine.connect() as conn:
        if autocommit:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
        for statement in statements:
            result = await conn.execute(text(statement))
            row = result.first() if result.returns_rows else None
            found.append(row[0] if row is not None else None)
        if not autocommit:
            await conn.commit()
    await engine.dispose()
    return found


async def count_or_none(url: str, sql: str) -> int | None:
    """The count ``sql`` selects, or None while the database or its table does not exist."""
    try:
        [count] = await run_sql(url, sql)
    except Exception:  # no such database or table yet
        return None
    return int(count)


async def fetch(url: str, sql: str) -> list[Any]:
    """The rows of one query, through asyncpg."""
    connection = await asyncpg.connect(dsn_of(url))
    try:
        return list(await connection.fetch(sql))
    finally:
        await connection.close()


def copy_contact_sql(count: int, overrides: dict[str, str] | None = None) -> str:
    """INSERT ``count`` copies of the template contact as c1..c<count>@bench.example;
    ``overrides`` gives some columns an SQL expression of their own (``i`` is the copy's
    number)."""
    overrides = overrides or {}
    names = ", ".join(c.name for c in CONTACTS.columns if c.name not in ("id", "email", *overrides))
    own = "".join(f"{column}, " for column in overrides)
    values = "".join(f"{value}, " for value in overrides.values())
    return (
        f"INSERT INTO contacts (id, email, {own}{names}) "
        f"SELECT bench_uuid(i), 'c' || i || '@{EMAIL_DOMAIN}', {values}{names} "
        f"FROM contacts, generate_series(1, {count}) AS i WHERE email = '{TEMPLATE_EMAIL}'"
    )
