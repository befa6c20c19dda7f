"""Telling an unreachable database from a bug, and riding out the time it is away.

A restart, a failover or a full disk makes every request fail for a while; each such failure
is answered 503 with `Retry-After` and logged as one line, and background loops log once when
the database goes away and once when it is back, backing off in between.
"""

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

import structlog
from sqlalchemy import exc as sa_exc

logger = structlog.get_logger(__name__)

# SQLSTATE classes and codes that mean "not reachable now": connection exceptions (08),
# operator intervention (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now,
# 57P04 database dropped) and too many connections.
_UNAVAILABLE_SQLSTATES = ("08", "57P", "53300")
# What SQLite says when its file cannot be used now; a corrupt file or a missing table is not
# an outage.
_SQLITE_UNAVAILABLE = ("unable to open database file", "database is locked", "disk i/o error")
# The driver-level words for a connection that is gone.
_LOST_CONNECTION = ("connection is closed", "connection was closed", "underlying connection")


class DatabaseUnavailable(sa_exc.OperationalError):
    """The database could not be reached: refused, unknown host, timed out, shutting down."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(None, None, cause)


def unavailability(error: BaseException) -> str | None:
    """Why ``error`` means the database cannot be used now, or None when it means a bug."""
    for each in _chain(error):
        reason = _reason(each)
        if reason is not None:
            return reason
    return None


def _reason(error: BaseException) -> str | None:
    if isinstance(error, DatabaseUnavailable):
        return f"cannot connect: {_short(error.orig)}"
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return f"connection lost: {_short(error.orig)}"
    if isinstance(error, sa_exc.TimeoutError):
        return "no database connection became free in time"
    if isinstance(error, sa_exc.DisconnectionError):
        return f"connection lost: {_short(error)}"
    sqlstate = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if isinstance(sqlstate, str) and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
        return f"{_short(error)} (SQLSTATE {sqlstate})"
    if isinstance(error, sqlite3.OperationalError) and str(error).lower().startswith(
        _SQLITE_UNAVAILABLE
    ):
        return _short(error)
    if type(error).__name__ == "InterfaceError" and any(
        words in str(error) for words in _LOST_CONNECTION
    ):
        return f"connection lost: {_short(error)}"
    if isinstance(error, ConnectionError | TimeoutError):
        return _short(error)
    return None


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, what caused it, and each member of an exception group, once each."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        if isinstance(current, sa_exc.DBAPIError) and isinstance(current.orig, BaseException):
            pending.append(current.orig)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def _short(error: BaseException | None) -> str:
    """One line naming the error, for a log line that never spans several."""
    if error is None:
        return "unknown error"
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text[:300]}"


@dataclass
class OutageWatch:
    """What a background loop knows of the database: a line when it goes, a line when it is
    back, and waits that grow while it is away."""

    task: str
    base_seconds: float = 1.0
    max_seconds: float = 30.0
    # Backs off without a word, for a loop whose outage another loop already reports.
    quiet: bool = False
    failures: int = 0

    @property
    def down(self) -> bool:
        return self.failures > 0

    def failed(self, reason: str) -> float:
        """Note a round the database made fail; how long to wait before the next."""
        if not self.down and not self.quiet:
            logger.warning("database unavailable; retrying with backoff", task=self.task,
                           reason=reason)  # fmt: skip
        self.failures += 1
        return float(min(self.max_seconds, self.base_seconds * 2 ** (self.failures - 1)))

    def succeeded(self) -> None:
        """Note a round that reached the database."""
        if self.down and not self.quiet:
            logger.warning("database available again", task=self.task, failed_rounds=self.failures)
        self.failures = 0


def schema_missing(error: BaseException) -> str | None:
    """Why ``error`` means the tables are not there (a database never migrated), or None."""
    for each in _chain(error):
        sqlstate = getattr(each, "sqlstate", None) or getattr(each, "pgcode", None)
        if sqlstate == "42P01" or (
            isinstance(each, sqlite3.OperationalError) and "no such table" in str(each)
        ):
            return f"{_short(each)}; run `inbound db upgrade`"
    return None
