"""The statements of one capture, each built and compiled once.

A new email costs five statements between BEGIN and COMMIT (the lock finds nothing, then the
contact, its stage change, its score event and the capture are inserted); a returning one
five too (the lock, the points it earned toward the cap, an UPDATE of the contact, its score
event and the capture), plus a stage change only when its stage moves; an idempotency key
adds one.
"""

from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.expression import Executable

from inbound.leads.repository import (
    CAPTURES,
    CONTACTS,
    IDEMPOTENCY_KEYS,
    SCORE_EVENTS,
    STAGE_CHANGES,
)
from inbound.lean_sql import LeanStatement

# Set when a contact is created, never by a later capture.
CREATED_ONLY = frozenset(
    {"id", "email", "created_at", "first_site_id", "first_asset_id", "first_utm_source",
     "first_utm_medium", "first_utm_campaign", "first_utm_term", "first_utm_content",
     "first_referrer"}
)  # fmt: skip
# Never written by a capture: sales work, and the change order its trigger keeps.
NOT_CAPTURED = frozenset({"owner", "owned_at", "lead_status_at", "change_seq"})
CONTACT_COLUMNS = tuple(
    column.name for column in CONTACTS.columns if column.name not in NOT_CAPTURED
)
UPDATED_COLUMNS = tuple(
    name for name in CONTACT_COLUMNS if name not in CREATED_ONLY and name != "lead_status"
)


def _dialect_insert(dialect_name: str, table: Table) -> Any:
    return (postgresql.insert if dialect_name == "postgresql" else sqlite.insert)(table)


def _insert_every_column(table: Table) -> Executable:
    return insert(table).values({column.name: bindparam(column.name) for column in table.columns})


def _claim_key(dialect_name: str) -> Any:
    columns = ("site_id", "key", "capture_id", "created_at", "request_hash")
    claim = _dialect_insert(dialect_name, IDEMPOTENCY_KEYS).values(
        {name: bindparam(name) for name in columns}
    )
    return claim.on_conflict_do_update(
        index_elements=["site_id", "key"],
        set_={name: claim.excluded[name] for name in ("capture_id", "created_at", "request_hash")},
        where=IDEMPOTENCY_KEYS.c.created_at < bindparam("expired"),
    ).returning(IDEMPOTENCY_KEYS.c.capture_id)


def _insert_contact(dialect_name: str) -> Any:
    values: dict[str, Any] = {name: bindparam(name) for name in CONTACT_COLUMNS}
    return (
        _dialect_insert(dialect_name, CONTACTS)
        .values(values)
        .on_conflict_do_nothing(index_elements=["email"])
        .returning(CONTACTS.c.id)
    )


# A site's idempotency key, taken for a new capture unless a live one holds it. A concurrent
# request with the same key waits here until the first one commits or rolls back.
CLAIM_IDEMPOTENCY_KEY = LeanStatement(_claim_key)
# The capture first made under an idempotency key, if it still exists, and the fingerprint of
# the request that made it.
REPLAYED_CAPTURE = LeanStatement(
    select(
        CAPTURES.c.id, CAPTURES.c.contact_id, CAPTURES.c.asset_id, IDEMPOTENCY_KEYS.c.request_hash
    )
    .join(IDEMPOTENCY_KEYS, IDEMPOTENCY_KEYS.c.capture_id == CAPTURES.c.id)
    .where(
        IDEMPOTENCY_KEYS.c.site_id == bindparam("site_id"),
        IDEMPOTENCY_KEYS.c.key == bindparam("key"),
    )
)
# A key whose capture is gone, pointed at a new one.
TAKE_OVER_IDEMPOTENCY_KEY = LeanStatement(
    update(IDEMPOTENCY_KEYS)
    .where(
        IDEMPOTENCY_KEYS.c.site_id == bindparam("b_site_id"),
        IDEMPOTENCY_KEYS.c.key == bindparam("b_key"),
    )
    .values(
        capture_id=bindparam("capture_id"),
        created_at=bindparam("created_at"),
        request_hash=bindparam("request_hash"),
    )
)
# The contact with this email, locked until the commit.
LOCK_CONTACT_BY_EMAIL = LeanStatement(
    select(CONTACTS).where(CONTACTS.c.email == bindparam("email")).with_for_update()
)
# The points one kind of activity earned a contact since a moment: what the activity's cap is
# counted against. A statement of its own, run once the contact is locked: under READ
# COMMITTED a statement sees the rows committed before it began, so a subquery of the lock
# itself would miss the score event of the capture it waited for, and racing captures would
# together earn more than the cap.
POINTS_SINCE = LeanStatement(
    select(func.coalesce(func.sum(SCORE_EVENTS.c.points), 0.0).label("earned")).where(
        SCORE_EVENTS.c.contact_id == bindparam("contact_id"),
        SCORE_EVENTS.c.kind == bindparam("kind"),
        SCORE_EVENTS.c.created_at >= bindparam("since"),
    )
)
# A new contact, unless a concurrent capture created one with this email first.
INSERT_CONTACT = LeanStatement(_insert_contact)
# Every column a capture may change, written whole: one statement, prepared once.
UPDATE_CONTACT = LeanStatement(
    update(CONTACTS)
    .where(CONTACTS.c.id == bindparam("b_id"))
    .values({name: bindparam(name) for name in UPDATED_COLUMNS})
)
INSERT_CAPTURE = LeanStatement(_insert_every_column(CAPTURES))
INSERT_STAGE_CHANGE = LeanStatement(_insert_every_column(STAGE_CHANGES))
INSERT_SCORE_EVENT = LeanStatement(_insert_every_column(SCORE_EVENTS))
