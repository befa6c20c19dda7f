"""Which changes a page of the lead list in `updated` order may show, by transaction ids.

Each contact's `change_seq` is the id of the transaction that last changed it (on SQLite, a
counter). Two kinds of walk read the list in that order:

- A *plain* walk (a list read without `updated_since` and without a feed cursor) shows
  everything committed: its first page reads a snapshot of the transactions then committed,
  and its later pages show those rows, plus changes made since that no running transaction can
  still overtake.
- The *feed* (a poll cursor, or `updated_since`) shows only changes below the horizon, the
  oldest transaction still running, so that a change committed late by a slow transaction
  still sorts after every position a reader was already given.

When a plain walk ends, its poll cursor hands over to the feed with what the walk has shown
(`Shown`), so that the feed repeats none of it and misses none of the changes the walk could
not show yet.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, text
from sqlalchemy.ext.asyncio import AsyncConnection

# A cursor carries at most this many running transactions; a busier moment makes the walk a
# feed walk (held at the horizon), which needs none.
MAX_RUNNING = 200
BIGINT = (-(1 << 63), (1 << 63) - 1)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The transactions as a statement sees them."""

    horizon: int  # no transaction below it can still commit
    xmax: int  # every transaction from here on started after the snapshot
    running: tuple[int, ...]  # between the two, still running then
    own: int | None  # the reader's own transaction, if it wrote anything


@dataclass(frozen=True, slots=True)
class Committed:
    """What a plain walk's first page saw committed: every change below ``xmax`` except
    those of the transactions then ``running``."""

    xmax: int
    running: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Shown:
    """What a plain walk showed before the feed took over: every change up to ``through``
    except those of the transactions that were still ``running``."""

    through: int
    running: tuple[int, ...]

    def past(self, position: int) -> "Shown | None":
        """What still matters once the feed has reached ``position``."""
        running = tuple(xid for xid in self.running if xid > position)
        return Shown(self.through, running) if position < self.through else None


async def read_snapshot(connection: AsyncConnection) -> Snapshot:
    """The transactions as the reader's current statement sees them."""
    if connection.dialect.name == "postgresql":
        sql = (
            "SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint, "
            "array(SELECT x::text::bigint FROM pg_snapshot_xip(s) AS x), "
            "pg_current_xact_id_if_assigned()::text::bigint FROM pg_current_snapshot() AS s"
        )
        horizon, xmax, running, own = (await connection.execute(text(sql))).one()
        return Snapshot(int(horizon), int(xmax), tuple(sorted(running)), own)
    # One writer at a time: everything committed is final.
    sql = "SELECT coalesce(max(change_seq), 0) + 1 FROM contacts"
    horizon = int((await connection.execute(text(sql))).scalar_one())
    return Snapshot(horizon, horizon, (), None)


def first_committed(snapshot: Snapshot) -> Committed | None:
    """What a plain walk starting now will show on every page; None when too much is running
    to carry in a cursor."""
    running = tuple(xid for xid in snapshot.running if xid != snapshot.own)
    return Committed(snapshot.xmax, running) if len(running) <= MAX_RUNNING else None


def plain_rows(seq: Any, committed: Committed, snapshot: Snapshot) -> ColumnElement[bool]:
    """The rows a plain walk shows: those its first page saw committed, and the changes made
    since that can no longer be overtaken."""
    seen = seq < committed.xmax
    if committed.running:
        seen = and_(seen, seq.not_in(committed.running))
    since = and_(seq >= committed.xmax, seq < snapshot.horizon)
    return or_(seen, since, _own(seq, snapshot))


def feed_rows(seq: Any, shown: Shown | None, snapshot: Snapshot) -> ColumnElement[bool]:
    """The rows the feed shows: settled changes the plain walk before it has not shown."""
    settled = or_(seq < snapshot.horizon, _own(seq, snapshot))
    if shown is None:
        return settled
    unseen = seq > shown.through
    if shown.running:
        unseen = or_(unseen, seq.in_(shown.running))
    return and_(settled, unseen)


def handover(committed: Committed, reached: int | None) -> tuple[int, Shown | None]:
    """Where the feed resumes after a plain walk that ended at ``reached``, and what it must
    not show again."""
    # Every change up to the last shown beyond the snapshot was final when it was passed.
    through = max(committed.xmax - 1, reached if reached is not None else 0)
    start = min(committed.running) - 1 if committed.running else through
    return start, Shown(through, committed.running).past(start)


def in_bigint(value: int) -> int:
    """``value``, refused when no transaction id or counter can be that large."""
    if not BIGINT[0] <= value <= BIGINT[1]:
        raise ValueError("out of range")
    return value


def _own(seq: Any, snapshot: Snapshot) -> ColumnElement[bool]:
    # What the reader's own transaction wrote, it sees settled.
    return seq == snapshot.own if snapshot.own is not None else false()
