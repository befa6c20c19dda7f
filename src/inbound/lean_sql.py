"""Statements for the hot paths: compiled once, run on the driver's own connection.

Executing a Core statement through SQLAlchemy costs about four times what asyncpg itself
spends on it (building, cache keys, the execution context, the greenlet bridge): on a path
that runs a handful of statements per request, that is most of the request. On PostgreSQL a
`LeanStatement` is compiled once to asyncpg's SQL, its values go through the same type
processing SQLAlchemy would apply, and it runs on the asyncpg connection under SQLAlchemy's
pool, prepared once per connection. On SQLite it runs through SQLAlchemy Core as usual: the
database is in-process there, and its driver is the cost anyway.
"""

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

import asyncpg
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable
from sqlalchemy.sql.schema import ScalarElementColumnDefault

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    processors: tuple[Processor | None, ...]
    # The values written into the statement itself, such as a literal 0 in `coalesce`.
    constants: Mapping[str, Any]

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        values = (
            params[name] if name not in self.constants else self.constants[name]
            for name in self.names
        )
        return [
            value if process is None else process(value)
            for value, process in zip(values, self.processors, strict=True)
        ]


class LeanStatement:
    """A Core statement with named `bindparam`s, compiled once per dialect.

    ``statement`` is the statement, or a function of the dialect's name that builds it, for
    what each database spells its own way (`INSERT ... ON CONFLICT`).
    """

    def __init__(self, statement: Executable | Callable[[str], Executable]) -> None:
        self._build = statement if callable(statement) else (lambda _name: statement)
        self._statements: dict[str, Executable] = {}
        self._compiled: dict[str, _Compiled] = {}

    def statement(self, dialect: Dialect) -> Executable:
        found = self._statements.get(dialect.name)
        if found is None:
            found = self._statements[dialect.name] = self._build(dialect.name)
        return found

    def compiled(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = cast(
                SQLCompiler, cast(ClauseElement, self.statement(dialect)).compile(dialect=dialect)
            )
            names = tuple(compiled.positiontup or ())
            processors = tuple(
                compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
                for name in names
            )
            constants = {
                name: bind.value
                for name, bind in ((name, compiled.binds[name]) for name in names)
                if not bind.required and bind.callable is None
            }
            constants.update(_column_defaults(compiled))
            found = self._compiled[dialect.name] = _Compiled(
                compiled.string, names, processors, constants
            )
        return found


def _column_defaults(compiled: SQLCompiler) -> dict[str, Any]:
    """The values of the columns a statement leaves to their Python-side defaults, which
    SQLAlchemy fills in at execution time and a compiled statement only names."""
    found: dict[str, Any] = {}
    for column in (*compiled.insert_prefetch, *compiled.update_prefetch):
        default = column.default
        if not isinstance(default, ScalarElementColumnDefault):
            raise ValueError(f"lean statements need a value for {column.key}: no scalar default")
        found[column.key] = default.arg
    return found


class LeanTransaction:
    """One transaction that runs `LeanStatement`s; see `begin`."""

    def __init__(self, connection: AsyncConnection, driver: asyncpg.Connection | None) -> None:
        self.connection = connection
        self.dialect = connection.dialect
        self.driver = driver
        # The engine's own logger, which `echo` turns on: these statements show among the others.
        self.log: Any = connection.sync_engine.logger if connection.engine.echo else None

    @classmethod
    @asynccontextmanager
    async def begin(cls, bind: AsyncEngine | AsyncConnection) -> AsyncIterator["LeanTransaction"]:
        """A transaction: committed when the block succeeds, else rolled back.

        ``bind`` is an engine, whose pool lends a connection, or a connection already in a
        transaction, in which this one is a savepoint.
        """
        if isinstance(bind, AsyncConnection):
            # The savepoint also makes SQLAlchemy start the driver's transaction, so that
            # asyncpg's own nests inside it.
            async with bind.begin_nested(), cls._on(bind) as transaction:
                yield transaction
            return
        async with bind.connect() as connection:
            if connection.dialect.name == "postgresql":
                async with cls._on(connection) as transaction:
                    yield transaction
            else:
                async with connection.begin():
                    yield cls(connection, None)

    @classmethod
    @asynccontextmanager
    async def reading(cls, bind: AsyncEngine | AsyncConnection) -> AsyncIterator["LeanTransaction"]:
        """Statements each committed on its own: on PostgreSQL, no BEGIN and COMMIT round
        trips around reads, or around the one statement a hot path writes with. Elsewhere, as
        `begin`."""
        if isinstance(bind, AsyncConnection) or bind.dialect.name != "postgresql":
            async with cls.begin(bind) as transaction:
                yield transaction
            return
        async with bind.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: asyncpg.Connection = raw.driver_connection
            try:
                yield cls(connection, driver)
            except BaseException as error:
                cause = getattr(error, "orig", None) or error
                # Lost, or cancelled mid-statement: the connection is not lent again.
                if driver.is_closed() or _is_disconnect(cause) or not isinstance(error, Exception):
                    await connection.invalidate(cause if isinstance(cause, Exception) else None)
                raise

    @asynccontextmanager
    async def atomic(self) -> AsyncIterator["LeanTransaction"]:
        """The block's statements all or none, on this connection: where each statement
        commits on its own (`reading` on PostgreSQL), in a transaction of their own; in a
        transaction already, as part of it (an error in the block rolls it back)."""
        if self.driver is None or self.driver.is_in_transaction():
            yield self
            return
        async with self._on(self.connection) as transaction:
            yield transaction

    @classmethod
    @asynccontextmanager
    async def _on(cls, connection: AsyncConnection) -> AsyncIterator["LeanTransaction"]:
        """On PostgreSQL, asyncpg's own transaction; SQLAlchemy's side of the connection stays
        idle and, back in the pool, finds nothing to roll back."""
        if connection.dialect.name != "postgresql":
            yield cls(connection, None)
            return
        raw = await connection.get_raw_connection()
        driver: asyncpg.Connection = raw.driver_connection
        log = connection.sync_engine.logger if connection.engine.echo else None
        nested = driver.is_in_transaction()
        try:
            async with driver.transaction():
                if log:
                    log.info("BEGIN (lean)")
                yield cls(connection, driver)
                if log:
                    log.info("COMMIT")
        except Exception as error:
            cause = getattr(error, "orig", None) or error
            if not (driver.is_closed() or _is_disconnect(cause)):
                raise
            # Like SQLAlchemy on a lost connection: this one and the pool's others (likely
            # lost too, as after a database restart) are replaced, not lent again.
            await connection.invalidate(cause)
            await connection.engine.dispose()
            raise sa_exc.DBAPIError(
                "(lean transaction)", None, cause, connection_invalidated=True
            ) from error
        except BaseException:
            # Cancelled: a BEGIN or COMMIT may still be under way on the server while asyncpg's
            # idea of the transaction is already stale, so no later state can be trusted. As
            # SQLAlchemy does for its own statements, the connection is not lent again.
            if not nested and not driver.is_closed():
                await connection.invalidate()
            raise
        finally:
            if not nested and not driver.is_closed() and driver.is_in_transaction():
                # Cancelled inside the block or during COMMIT: the transaction is still open
                # on the server, and the pool, which never saw it begin, would lend the
                # connection on as it is.
                await connection.invalidate()

    async def rows(
        self, statement: LeanStatement, params: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """The rows the statement returns, as dicts by column name."""
        if self.driver is None:
            result = await self.connection.execute(statement.statement(self.dialect), dict(params))
            return [dict(row) for row in result.mappings()] if result.returns_rows else []
        compiled = statement.compiled(self.dialect)
        arguments = compiled.arguments(params)
        self._log(compiled.sql, arguments)
        try:
            records = await self.driver.fetch(compiled.sql, *arguments)
        except asyncpg.PostgresError as error:
            raise _translated(compiled.sql, error) from error
        return [dict(record.items()) for record in records]

    async def first(
        self, statement: LeanStatement, params: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The first row the statement returns, if any."""
        rows = await self.rows(statement, params)
        return rows[0] if rows else None

    async def execute(self, statement: LeanStatement, params: Mapping[str, Any]) -> None:
        """Run a statement that returns nothing."""
        await self.rows(statement, params)

    async def execute_many(
        self, statement: LeanStatement, params: Sequence[Mapping[str, Any]]
    ) -> None:
        """Run a statement once for each set of values, in one round trip where possible."""
        if len(params) <= 1:  # asyncpg's batch protocol costs more than one plain statement
            for one in params:
                await self.rows(statement, one)
            return
        if self.driver is None:
            await self.connection.execute(
                statement.statement(self.dialect), [dict(p) for p in params]
            )
            return
        compiled = statement.compiled(self.dialect)
        arguments = [compiled.arguments(p) for p in params]
        for each in arguments:
            self._log(compiled.sql, each)
        try:
            await self.driver.executemany(compiled.sql, arguments)
        except asyncpg.PostgresError as error:
            raise _translated(compiled.sql, error) from error

    def _log(self, sql: str, arguments: Sequence[Any]) -> None:
        if self.log:
            self.log.info(sql)
            self.log.info("[lean] %r", tuple(arguments))


def _is_disconnect(error: BaseException) -> bool:
    """A lost connection, or one whose protocol state can no longer be trusted.

    Not any `InterfaceError`: asyncpg raises those for a value it cannot encode too, on a
    connection that is fine.
    """
    if isinstance(error, asyncpg.PostgresError):
        # 08: connection exceptions; 57P: the server shut the session down.
        return (error.sqlstate or "").startswith(("08", "57P"))
    if isinstance(error, asyncpg.exceptions.OutdatedSchemaCacheError):
        return False  # a statement prepared before a schema change; the connection is fine
    return isinstance(error, OSError | asyncpg.exceptions.InternalClientError)


def _translated(sql: str, error: asyncpg.PostgresError) -> sa_exc.DBAPIError:
    """The error SQLAlchemy would have raised, so the service's handlers apply to it."""
    sqlstate = error.sqlstate or ""
    if sqlstate.startswith("23"):
        return sa_exc.IntegrityError(sql, None, error)
    if sqlstate.startswith("40"):
        return sa_exc.OperationalError(sql, None, error)
    return sa_exc.DBAPIError(sql, None, error)
