"""The event writer: one per process, storing the rows of many requests in one transaction.

A request hands its rows over and waits for the commit of the transaction that holds them
(group commit), so that an event acknowledged is stored: a process killed right after
answering has lost nothing it answered for. The writer waits a few milliseconds for rows from
other requests (or until it holds enough), then, in one transaction, takes the message ids
(the duplicates stay out), makes the months' partitions, stores the rows (COPY on
PostgreSQL), lets `hooks.events_stored` do its part, and commits. When that transaction
fails, nothing of it is kept, and each request's rows are tried again in a transaction of
their own, so that one request the database refuses fails alone; a request that fails is
answered 503 with `Retry-After` (an unreachable database fails them all at once, untried).
Closing the writer stops it taking rows and stores what it holds before it returns.
"""

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inbound.db import own_transaction, utcnow
from inbound.errors import RETRY_AFTER_UNAVAILABLE, InboundError
from inbound.outage import unavailability
from inbound.tracking import hooks
from inbound.tracking.partitions import ensure_partitions
from inbound.tracking.repository import MessageKey, claim_messages, copy_events, insert_events

logger = structlog.get_logger(__name__)

LINGER_SECONDS = 0.002
MAX_ROWS = 5_000
# What PostgreSQL says when a month's partition is missing (rolled back since it was made).
NO_PARTITION = "no partition of relation"


class WriterClosed(InboundError, status=503, problem="shutting-down"):
    """The process is shutting down and takes no more events; another one will."""


class EventsNotStored(InboundError, status=503, problem="events-not-stored"):
    """The database refused to store a request's events; nothing of them was kept."""

    default_headers: ClassVar[dict[str, str]] = {"Retry-After": RETRY_AFTER_UNAVAILABLE}


@dataclass(slots=True)
class _Submission:
    rows: list[dict[str, Any]]
    dedupe: list[bool]
    done: asyncio.Future[int]


@dataclass
class EventWriter:
    """Stores the rows of concurrent requests together; see the module's description.

    ``bind`` gives what to write through: the engine, or in tests the test's connection.
    """

    bind: Callable[[], AsyncEngine | AsyncConnection]
    linger_seconds: float = LINGER_SECONDS
    max_rows: int = MAX_ROWS
    _pending: list[_Submission] = field(default_factory=list)
    _pending_rows: int = 0
    _task: asyncio.Task[None] | None = None
    _closed: bool = False
    _months: set[tuple[int, int]] = field(default_factory=set)

    async def write(self, rows: list[dict[str, Any]], dedupe: list[bool]) -> int:
        """Store ``rows`` (``dedupe`` says which have a message id of the sender's); return
        how many were duplicates, once they are committed."""
        if self._closed:
            raise WriterClosed(
                "this process is shutting down; send the events again",
                headers={"Retry-After": "1"},
            )
        if not rows:
            return 0
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append(_Submission(rows, dedupe, done))
        self._pending_rows += len(rows)
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        # Shielded: a client that hangs up does not take the others' transaction with it.
        return await asyncio.shield(done)

    async def close(self) -> None:
        """Take no more rows; return once what is held is stored (or has failed)."""
        self._closed = True
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _run(self) -> None:
        """Store what is pending, round after round, until nothing is; then end."""
        try:
            while self._pending:
                if self._pending_rows < self.max_rows and not self._closed:
                    await asyncio.sleep(self.linger_seconds)
                taken, self._pending, self._pending_rows = self._pending, [], 0
                await self._store(taken)
        finally:
            self._task = None

    async def _store(self, taken: list[_Submission]) -> None:
        try:
            duplicates = await self._transaction(taken)
        except Exception as error:
            if unavailability(error) is not None or len(taken) == 1:
                _fail(taken, error)
                return
            logger.warning("storing events together failed; storing each request alone",
                           requests=len(taken), error=str(error))  # fmt: skip
            for submission in taken:
                await self._store_alone(submission)
            return
        except BaseException as error:
            _fail(taken, error)
            raise
        for submission, count in zip(taken, duplicates, strict=True):
            _answer(submission, count)

    async def _store_alone(self, submission: _Submission) -> None:
        """One request's rows in a transaction of their own, after their group's failed."""
        try:
            [count] = await self._transaction([submission])
        except Exception as error:
            _fail([submission], error)
            return
        _answer(submission, count)

    async def _transaction(self, taken: list[_Submission]) -> list[int]:
        """Store the rows of ``taken`` in one transaction; each submission's duplicates."""
        try:
            return await self._once(taken)
        except Exception as error:
            if NO_PARTITION not in str(error):
                raise
            # A partition this process made was rolled back since: make them all again.
            self._months.clear()
            return await self._once(taken)

    async def _once(self, taken: list[_Submission]) -> list[int]:
        now = utcnow()
        kept, duplicates = _first_of_each(taken)
        async with own_transaction(self.bind()) as connection:
            claimed = await claim_messages(connection, list(kept), now)
            stored: list[dict[str, Any]] = []
            for index, submission in enumerate(taken):
                for row, dedupe in zip(submission.rows, submission.dedupe, strict=True):
                    key = (row["site_id"], row["message_id"])
                    # Of one message id, only its first row, and only when newly taken.
                    if not dedupe or (kept.get(key) is row and key in claimed):
                        stored.append(row)
                    else:
                        duplicates[index] += 1
            await self._store_rows(connection, stored)
            await hooks.events_stored(connection, stored)
        return duplicates

    async def _store_rows(
        self, connection: AsyncConnection, rows: Sequence[dict[str, Any]]
    ) -> None:
        if not rows:
            return
        if connection.dialect.name != "postgresql":
            await insert_events(connection, rows)
            return
        # Times are in UTC (see `ingest.occurred_at`): the year and month name the partition.
        months = {(row["occurred_at"].year, row["occurred_at"].month) for row in rows}
        months -= self._months
        if months:
            await ensure_partitions(connection, (datetime(y, m, 1, tzinfo=UTC) for y, m in months))
        await copy_events(connection, rows)
        self._months |= months


def _first_of_each(taken: list[_Submission]) -> tuple[dict[MessageKey, dict[str, Any]], list[int]]:
    """The first row of each message id among the submissions (in the order they came)."""
    kept: dict[MessageKey, dict[str, Any]] = {}
    for submission in taken:
        for row, dedupe in zip(submission.rows, submission.dedupe, strict=True):
            if dedupe:
                kept.setdefault((row["site_id"], row["message_id"]), row)
    return kept, [0] * len(taken)


def _answer(submission: _Submission, duplicates: int) -> None:
    if not submission.done.done():
        submission.done.set_result(duplicates)


def _fail(taken: list[_Submission], error: BaseException) -> None:
    """Fail the requests: 503 with `Retry-After` whatever the cause; an unreachable database
    (answered so by the app's handlers) is one log line, anything else a traceback."""
    if unavailability(error) is None and isinstance(error, Exception):
        logger.error("storing events failed", events=_count(taken), exc_info=error)
        error = EventsNotStored("the events could not be stored; send them again")
    for submission in taken:
        if not submission.done.done():
            submission.done.set_exception(error)


def _count(taken: list[_Submission]) -> int:
    return sum(len(submission.rows) for submission in taken)
