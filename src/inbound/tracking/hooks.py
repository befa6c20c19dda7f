"""What else happens when the writer has stored a batch of events, in the same transaction.

The writer's transaction must stay fast and must never wait for a contact a capture holds:
so it only appends to `engagement_tasks` (identify calls to link, and events of ids already
linked to score, found with one lookup of the batch's ids) and the worker does the rest
within seconds, locking contacts as captures do.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import String, and_, bindparam, or_, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from inbound.db import new_id, table_of
from inbound.tracking.engagement import activity_of
from inbound.tracking.identity_sql import IDENTITIES, IdKind
from inbound.tracking.models import EngagementTask

TASKS = table_of(EngagementTask)
# A join with the batch's ids unnested: an index lookup or a hash join per id, whatever the
# table's size, where `= ANY(array)` compares every row with the whole array on a small one.
KNOWN_IDS_PG = text(
    """
SELECT i.kind, i.external_id FROM unnest(CAST(:anonymous AS varchar[])) AS a(id)
JOIN visitor_identities AS i ON i.kind = 'anonymous' AND i.external_id = a.id
UNION ALL
SELECT i.kind, i.external_id FROM unnest(CAST(:users AS varchar[])) AS u(id)
JOIN visitor_identities AS i ON i.kind = 'user' AND i.external_id = u.id
"""
).bindparams(bindparam("anonymous", type_=ARRAY(String)), bindparam("users", type_=ARRAY(String)))
IDENTIFY, ACTIVITY = "identify", "activity"
MAX_EMAIL = 320
# The email an identify call's traits name, beside its row's columns: traits are not stored
# with the event, so the writer hands the email to `_identify_task` this way.
IDENTIFY_EMAIL = "identify_email"


async def events_stored(connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Called by the event writer in the transaction that stored ``rows`` (the columns of
    `TrackingEvent`, duplicates already left out), after storing them."""
    tasks = [_identify_task(row) for row in rows if row["type"] == "identify"]
    scorable = [
        (row, activity)
        for row in rows
        if (activity := activity_of(row["type"], row.get("event"), row.get("asset_id")))
    ]
    if scorable:
        known = await _known_ids(connection, [row for row, _ in scorable])
        tasks += [
            _task(row, ACTIVITY, activity=activity)
            for row, activity in scorable
            if (IdKind.ANONYMOUS, row.get("anonymous_id")) in known
            or (IdKind.USER, row.get("user_id")) in known
        ]
    found = [task for task in tasks if task is not None]
    if found:
        await connection.execute(TASKS.insert(), found)


async def _known_ids(
    connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]
) -> set[tuple[str, str]]:
    """Which of the rows' anonymous and user ids are linked to a contact: one query."""
    anonymous = sorted({row["anonymous_id"] for row in rows if row.get("anonymous_id")})
    users = sorted({row["user_id"] for row in rows if row.get("user_id")})
    if not anonymous and not users:
        return set()
    if connection.dialect.name == "postgresql":
        # Two array parameters: one statement, prepared once, whatever the batch's size.
        found = await connection.execute(KNOWN_IDS_PG, {"anonymous": anonymous, "users": users})
    else:
        found = await connection.execute(
            select(IDENTITIES.c.kind, IDENTITIES.c.external_id).where(
                or_(
                    and_(IDENTITIES.c.kind == IdKind.ANONYMOUS,
                         IDENTITIES.c.external_id.in_(anonymous)),
                    and_(IDENTITIES.c.kind == IdKind.USER, IDENTITIES.c.external_id.in_(users)),
                )
            )
        )  # fmt: skip
    return {(kind, external_id) for kind, external_id in found}


def traits_email(*traits: Any) -> str | None:
    """The normalised email of the first of these traits (objects, or None) that names one."""
    for each in traits:
        if isinstance(each, dict):
            email = _email(each.get("email"))
            if email is not None:
                return email
    return None


def _email(candidate: Any) -> str | None:
    if isinstance(candidate, str) and "@" in candidate:
        email = candidate.strip().lower()
        if 3 <= len(email) <= MAX_EMAIL and " " not in email:
            return email
    return None


def _identify_task(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """An identify call's task: its traits' email, else a userId that is an email."""
    email = row.get(IDENTIFY_EMAIL) or _email(row.get("user_id"))
    if email is None and not row.get("user_id"):
        return None
    return _task(row, IDENTIFY, email=email)


def _task(
    row: Mapping[str, Any], task: str, *, activity: str | None = None, email: str | None = None
) -> dict[str, Any]:
    return {
        "id": new_id(), "task": task, "event_id": row["id"], "occurred_at": row["occurred_at"],
        "site_id": row["site_id"], "message_id": row.get("message_id"),
        "anonymous_id": row.get("anonymous_id"), "user_id": row.get("user_id"),
        "email": email, "activity": activity,
    }  # fmt: skip
