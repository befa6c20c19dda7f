"""Engine, sessions and the column types every domain shares."""

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import msgspec
import uuid_utils.compat as uuid_compat
from litestar.datastructures import State
from sqlalchemy import JSON, DateTime, Table, event, func, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

from inbound.outage import DatabaseUnavailable

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION

# JSONB on PostgreSQL (indexable, compact), plain JSON text elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC, also on SQLite (which stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: times are stored in UTC and must carry a zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


def table_of(model: type[Any]) -> Table:
    """The Core table behind a table model, typed."""
    table: Table = model.__table__
    return table


def seconds_between(later: Any, earlier: Any, dialect: str) -> Any:
    """``later - earlier`` in seconds, as SQL for ``dialect``."""
    if dialect == "postgresql":
        # date_part, not EXTRACT: EXTRACT answers numeric, several times slower to sort.
        return func.date_part("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


def new_id() -> uuid.UUID:
    """A time-ordered UUIDv7: new rows sort last, so keyset pages stay stable under inserts."""
    return uuid_compat.uuid7()


CONNECT_TIMEOUT_SECONDS = 10


def _json_text(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """Build the async engine for PostgreSQL (asyncpg) or SQLite (aiosqlite)."""
    # JSON columns go through msgspec, several times faster than the standard library.
    json_codec: dict[str, Any] = {
        "json_serializer": _json_text,
        "json_deserializer": msgspec.json.decode,
    }
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30}, **json_codec)
        _make_sqlite_transactional(engine)
        _mark_failed_connects(engine)
        return engine
    # No pre-ping: it costs a round trip per request. A connection found dead makes
    # SQLAlchemy replace it and every older one in the pool, so one request fails after a
    # database restart (answered 503), not every one.
    engine = create_async_engine(
        url,
        echo=echo,
        # Up to twice `pool_size` connections, each kept once opened. An overflow connection
        # would be closed as soon as it came back, so that every burst past `pool_size` paid
        # for new ones (a server process each, the driver's setup, every statement prepared
        # again) just when the machine was busiest: a survey answer's p99 went with them.
        pool_size=pool_size * 2,
        max_overflow=0,
        pool_recycle=3600,
        connect_args={
            # Times in and out of the database are UTC whatever the server's or the role's
            # time zone; date arithmetic in SQL (report days) depends on it.
            "server_settings": {"timezone": "UTC"},
            # asyncpg waits 60 s by default; a request should fail fast and be retried.
            "timeout": CONNECT_TIMEOUT_SECONDS,
        },
        **json_codec,
    )
    event.listen(engine.sync_engine, "checkout", _refuse_a_transaction_left_open)
    _mark_failed_connects(engine)
    return engine


def _mark_failed_connects(engine: AsyncEngine) -> None:
    """Make every failure to open a connection a `DatabaseUnavailable`.

    The driver raises whatever it met (a refused socket as a bare `OSError`, a timeout, "the
    database system is starting up"), and SQLAlchemy passes most of it on unwrapped; one type
    lets requests answer 503 and background loops wait, whatever the cause.
    """

    @event.listens_for(engine.sync_engine, "do_connect")
    def _connect(dialect: Dialect, _record: Any, cargs: Any, cparams: Any) -> Any:
        try:
            return dialect.connect(*cargs, **cparams)
        except Exception as error:
            raise DatabaseUnavailable(error) from error


def _refuse_a_transaction_left_open(
    dbapi_connection: Any, _record: ConnectionPoolEntry, _proxy: Any
) -> None:
    """Never lend a connection that is still inside a transaction.

    The pool rolls back only what SQLAlchemy itself began. A transaction left open behind its
    back (asyncpg's own on the hot paths, interrupted at the wrong instant; a rollback that
    could not run) leaves the server inside a transaction asyncpg no longer tracks, and every
    later use of that connection would fail. The check reads the state of the last reply,
    with no round trip; the pool replaces such a connection and lends a fresh one.
    """
    driver = dbapi_connection.driver_connection
    if driver.is_in_transaction():
        raise DisconnectionError("connection returned to the pool inside a transaction")


def _make_sqlite_transactional(engine: AsyncEngine) -> None:
    """Let SQLAlchemy, not the driver, begin transactions on SQLite.

    The sqlite3 driver's own transaction handling breaks SAVEPOINTs and transactional DDL.
    ``BEGIN IMMEDIATE`` takes the write lock up front, so two writers queue on the busy
    timeout instead of one failing with "database is locked" when it upgrades a read lock.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Switching to WAL needs the write lock even when WAL is already on; only switch once.
        cursor.execute("PRAGMA journal_mode")
        if cursor.fetchone()[0] != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def dialect_insert(
    session: AsyncSession,
) -> Callable[..., postgresql.Insert] | Callable[..., sqlite.Insert]:
    """INSERT with `ON CONFLICT` support: PostgreSQL's or SQLite's, whichever is in use."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def dialect_insert_for(
    connection: AsyncConnection, table: Table
) -> postgresql.Insert | sqlite.Insert:
    """INSERT into ``table`` with `ON CONFLICT` support, for the connection's database."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


CHANGED_TABLES = "changed_tables"
TablesChanged = Callable[[set[str]], Awaitable[None]]


class TrackedSession(Session):
    """A session that notes the tables it writes, so caches of them can be dropped."""


@event.listens_for(TrackedSession, "after_flush")
def _note_flushed_tables(session: Session, _flush: UOWTransaction) -> None:
    changed = session.info.setdefault(CHANGED_TABLES, set())
    for row in (*session.new, *session.dirty, *session.deleted):
        changed.add(row.__table__.name)


@event.listens_for(TrackedSession, "do_orm_execute")
def _note_written_table(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if table is not None:
            state.session.info.setdefault(CHANGED_TABLES, set()).add(table.name)


def create_sessionmaker(bind: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit, so responses can be built from them."""
    return async_sessionmaker(
        bind=bind, class_=AsyncSession, sync_session_class=TrackedSession, expire_on_commit=False
    )


def bind_of(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncEngine | AsyncConnection:
    """What a sessionmaker's sessions run on: the engine, or (in tests) one connection."""
    bind: AsyncEngine | AsyncConnection = sessionmaker.kw["bind"]
    return bind


async def provide_db_session(state: State) -> AsyncIterator[AsyncSession]:
    """Open one session per request; commit if the handler succeeded, else roll back.

    This is the only place a request commits. Litestar runs the code after ``yield`` before the
    response is sent, so a failed commit still becomes an error response. After a commit, the
    app's `tables_changed` listeners learn which tables it wrote.
    """
    sessionmaker: async_sessionmaker[AsyncSession] = state.sessionmaker
    async with sessionmaker() as session:
        try:
            yield session
        except Exception:
            # On a lost connection the rollback fails too; the first error is the one to answer
            # (the pool replaces the connection either way).
            with contextlib.suppress(Exception):
                await session.rollback()
            raise
        else:
            await session.commit()
            changed: set[str] = session.info.pop(CHANGED_TABLES, set())
            if changed:
                for listener in state.get("tables_changed", ()):
                    await listener(changed)


@asynccontextmanager
async def own_transaction(bind: AsyncEngine | AsyncConnection) -> AsyncIterator[AsyncConnection]:
    """A transaction of its own on an engine; a savepoint on a connection (tests)."""
    if isinstance(bind, AsyncConnection):
        async with bind.begin_nested():
            yield bind
        return
    async with bind.begin() as connection:
        yield connection


@asynccontextmanager
async def one_pass_at_a_time(bind: AsyncEngine | AsyncConnection, key: int) -> AsyncIterator[bool]:
    """Whether a worker's pass may run (PostgreSQL: no other process holds ``key``). The lock
    is a session lock on a connection of its own, which goes with it if the process dies."""
    if isinstance(bind, AsyncConnection) or bind.dialect.name != "postgresql":
        yield True
        return
    async with bind.connect() as holder:
        await holder.execution_options(isolation_level="AUTOCOMMIT")
        lock = {"key": key}
        taken = (await holder.execute(text("SELECT pg_try_advisory_lock(:key)"), lock)).scalar()
        try:
            yield bool(taken)
        finally:
            if taken:
                await holder.execute(text("SELECT pg_advisory_unlock(:key)"), lock)
