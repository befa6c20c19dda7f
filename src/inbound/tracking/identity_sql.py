"""The identity map's statements: the one a capture runs to link its visitor id, and the
portable steps of a link.

An id belongs to one contact at most. A link that would move an id already linked to another
contact is refused, and so is one past a contact's `MAX_ANONYMOUS_IDS`th anonymous id; either
way the attempt is written to the merge log with its reason. An id already linked to the same
contact is left as it is and not logged again.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Uuid, bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from inbound.db import UTCDateTime, dialect_insert_for, new_id, table_of
from inbound.lean_sql import LeanStatement, LeanTransaction
from inbound.tracking.models import IdentityMerge, VisitorIdentity

IDENTITIES = table_of(VisitorIdentity)
MERGES = table_of(IdentityMerge)
MAX_ANONYMOUS_IDS = 500


class IdKind(StrEnum):
    ANONYMOUS = "anonymous"
    USER = "user"


class MergeCause(StrEnum):
    CAPTURE = "capture"
    IDENTIFY = "identify"


class MergeOutcome(StrEnum):
    LINKED = "linked"
    REFUSED = "refused"


LINKED_ELSEWHERE = "the id is linked to another contact"
TOO_MANY_IDS = f"the contact has {MAX_ANONYMOUS_IDS} anonymous ids already"


@dataclass(frozen=True, slots=True)
class LinkRequest:
    """Join ``external_id`` to ``contact_id``, because of a capture or an identify call."""

    contact_id: uuid.UUID
    kind: IdKind
    external_id: str
    cause: MergeCause
    now: datetime
    capture_id: uuid.UUID | None = None
    message_id: str | None = None


# PostgreSQL: the whole link in one statement, so that a capture with a visitor id costs one
# round trip more and no more. The CTEs read the snapshot the statement began with; the
# insert's `ON CONFLICT` also sees a link a concurrent capture committed meanwhile, which the
# log then records as refused.
_LINK_CAPTURE_VISITOR = text(
    """
WITH existing AS (
    SELECT contact_id FROM visitor_identities
    WHERE kind = 'anonymous' AND external_id = :visitor_id
), held AS (
    SELECT count(*) AS n FROM visitor_identities
    WHERE contact_id = :contact_id AND kind = 'anonymous'
), linked AS (
    INSERT INTO visitor_identities (kind, external_id, contact_id, linked_at, merge_id)
    SELECT 'anonymous', :visitor_id, :contact_id, :now, :merge_id
    WHERE NOT EXISTS (SELECT 1 FROM existing) AND (SELECT n FROM held) < :max_ids
    ON CONFLICT (kind, external_id) DO NOTHING
    RETURNING contact_id
)
INSERT INTO identity_merges
    (id, contact_id, kind, external_id, cause, capture_id, outcome, reason, created_at)
SELECT :merge_id, :contact_id, 'anonymous', :visitor_id, 'capture', :capture_id,
    CASE WHEN EXISTS (SELECT 1 FROM linked) THEN 'linked' ELSE 'refused' END,
    CASE WHEN EXISTS (SELECT 1 FROM linked) THEN NULL
         WHEN NOT EXISTS (SELECT 1 FROM existing) AND (SELECT n FROM held) >= :max_ids
         THEN :too_many ELSE :elsewhere END,
    :now
WHERE NOT EXISTS (SELECT 1 FROM existing WHERE contact_id = :contact_id)
"""
).bindparams(
    bindparam("visitor_id", type_=IDENTITIES.c.external_id.type),
    bindparam("contact_id", type_=Uuid()),
    bindparam("merge_id", type_=Uuid()),
    bindparam("capture_id", type_=Uuid()),
    bindparam("now", type_=UTCDateTime()),
)
LINK_CAPTURE_VISITOR = LeanStatement(_LINK_CAPTURE_VISITOR)


async def link_capture_visitor(
    transaction: LeanTransaction,
    *,
    contact_id: uuid.UUID,
    visitor_id: str,
    capture_id: uuid.UUID,
    now: datetime,
) -> None:
    """Link a capture's visitor id to its contact, in the capture's transaction (which holds
    the contact's lock): one statement on PostgreSQL."""
    if transaction.driver is None:
        request = LinkRequest(
            contact_id, IdKind.ANONYMOUS, visitor_id, MergeCause.CAPTURE, now,
            capture_id=capture_id,
        )  # fmt: skip
        await link(transaction.connection, request)
        return
    await transaction.execute(
        LINK_CAPTURE_VISITOR,
        {"visitor_id": visitor_id, "contact_id": contact_id, "merge_id": new_id(),
         "capture_id": capture_id, "now": now, "max_ids": MAX_ANONYMOUS_IDS,
         "too_many": TOO_MANY_IDS, "elsewhere": LINKED_ELSEWHERE},
    )  # fmt: skip


async def link(connection: AsyncConnection, request: LinkRequest) -> dict[str, object] | None:
    """Link an id to a contact whose row the caller has locked, or refuse; the merge-log row
    written, or None when the id was the contact's already."""
    owner = (
        await connection.execute(
            select(IDENTITIES.c.contact_id).where(
                IDENTITIES.c.kind == request.kind, IDENTITIES.c.external_id == request.external_id
            )
        )
    ).scalar_one_or_none()
    if owner == request.contact_id:
        return None
    merge_id = new_id()
    reason: str | None = LINKED_ELSEWHERE if owner is not None else None
    if reason is None and request.kind == IdKind.ANONYMOUS:
        held = await _anonymous_ids_held(connection, request.contact_id)
        reason = TOO_MANY_IDS if held >= MAX_ANONYMOUS_IDS else None
    if reason is None:
        insert = dialect_insert_for(connection, IDENTITIES).values(
            kind=request.kind.value, external_id=request.external_id,
            contact_id=request.contact_id, linked_at=request.now, merge_id=merge_id,
        )  # fmt: skip
        inserted = await connection.execute(
            insert.on_conflict_do_nothing(index_elements=["kind", "external_id"]).returning(
                IDENTITIES.c.contact_id
            )
        )
        if inserted.first() is None:  # a concurrent link took it first
            reason = LINKED_ELSEWHERE
    row: dict[str, object] = {
        "id": merge_id, "contact_id": request.contact_id, "kind": request.kind.value,
        "external_id": request.external_id, "cause": request.cause.value,
        "capture_id": request.capture_id, "message_id": request.message_id,
        "outcome": (MergeOutcome.REFUSED if reason else MergeOutcome.LINKED).value,
        "reason": reason, "created_at": request.now,
    }  # fmt: skip
    await connection.execute(MERGES.insert().values(row))
    return row


async def _anonymous_ids_held(connection: AsyncConnection, contact_id: uuid.UUID) -> int:
    statement = select(func.count()).where(
        IDENTITIES.c.contact_id == contact_id, IDENTITIES.c.kind == IdKind.ANONYMOUS
    )
    return int((await connection.execute(statement)).scalar_one())


async def owner_of(connection: AsyncConnection, kind: IdKind, external_id: str) -> uuid.UUID | None:
    """The contact an id is linked to, if any."""
    statement = select(IDENTITIES.c.contact_id).where(
        IDENTITIES.c.kind == kind, IDENTITIES.c.external_id == external_id
    )
    found: uuid.UUID | None = (await connection.execute(statement)).scalar_one_or_none()
    return found
