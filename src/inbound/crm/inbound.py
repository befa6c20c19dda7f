"""What HubSpot reports back: contact property changes from its webhooks, checked and applied.

HubSpot signs each webhook request (v3: HMAC-SHA256 of method, URL, body and timestamp, keyed
with the app's client secret) and may send an event more than once, late, or out of order.
Only the lifecycle stage and the owner are taken; each applies only if it is newer than the
last change of that property we applied, and what it changes is written with origin `crm`,
so that the sync never sends it back.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
from hubspot.exceptions import InvalidSignatureTimestampError
from hubspot.utils.signature import Signature
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.crm import queue
from inbound.crm.mapping import STAGE_OF_LIFECYCLE
from inbound.crm.models import CrmInboundMark
from inbound.db import dialect_insert_for, table_of
from inbound.errors import BadRequest, InboundError, Unauthorized
from inbound.leads.service import LeadService

MARKS = table_of(CrmInboundMark)
APPLIED = frozenset({"lifecyclestage", "hubspot_owner_id"})
CHANGE_TYPES = frozenset({"contact.propertyChange", "object.propertyChange"})
MAX_EVENTS = 1000


class WebhooksNotConfigured(InboundError):
    status_code = 503
    problem = "crm-webhooks-not-configured"


class BadSignature(Unauthorized):
    problem = "bad-signature"


class BadEvents(BadRequest):
    problem = "bad-events"


def verify(
    *,
    secret: str | None,
    method: str,
    url: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
) -> None:
    """Refuse a request HubSpot did not sign, or signed more than five minutes ago."""
    if not secret:
        raise WebhooksNotConfigured(
            "HubSpot webhooks cannot be verified: set INBOUND_HUBSPOT_CLIENT_SECRET"
        )
    if not signature or not timestamp:
        raise BadSignature(
            "a HubSpot webhook carries X-HubSpot-Signature-v3 and X-HubSpot-Request-Timestamp"
        )
    try:
        valid = Signature.is_valid(
            signature=signature, client_secret=secret, request_body=body.decode("utf-8", "replace"),
            http_uri=url, http_method=method, signature_version="v3", timestamp=timestamp,
        )  # fmt: skip
    except InvalidSignatureTimestampError:
        raise BadSignature(
            "the request's X-HubSpot-Request-Timestamp is more than five minutes old"
        ) from None
    if not valid:
        raise BadSignature("the signature does not match the request")


def parse(body: bytes) -> list[dict[str, Any]]:
    """The events of a webhook request: a JSON array of objects."""
    try:
        events = msgspec.json.decode(body)
    except msgspec.DecodeError:
        raise BadEvents("the body is not JSON", field="body") from None
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        raise BadEvents("the body must be a JSON array of event objects", field="body")
    if len(events) > MAX_EVENTS:
        raise BadEvents(f"at most {MAX_EVENTS} events per request", field="body")
    return events


async def apply(session: AsyncSession, events: list[dict[str, Any]]) -> int:
    """Apply the lifecycle and owner changes among ``events``, oldest first; how many changed
    a contact."""
    changes = sorted(
        (change for event in events if (change := _change(event)) is not None),
        key=lambda change: change[2],
    )
    if not changes:
        return 0
    # Every contact the request names, in one query: HubSpot batches up to 100 events.
    named = await session.execute(
        select(queue.QUEUE.c.crm_id, queue.QUEUE.c.contact_id).where(
            queue.QUEUE.c.crm_id.in_({change[0] for change in changes})
        )
    )
    ours: dict[str, uuid.UUID] = {row.crm_id: row.contact_id for row in named}
    leads = LeadService(session)
    applied = 0
    for crm_id, name, occurred_at, value in changes:
        contact_id = ours.get(crm_id)
        if contact_id is None or not await _newest(session, contact_id, name, occurred_at):
            continue
        if name == "lifecyclestage":
            stage = STAGE_OF_LIFECYCLE.get(value or "")
            changed = stage is not None and await leads.apply_crm_change(contact_id, stage=stage)
        else:
            changed = await leads.apply_crm_change(
                contact_id, owner=value or None, owner_changed=True
            )
        applied += changed
    return applied


def _change(event: dict[str, Any]) -> tuple[str, str, datetime, str | None] | None:
    """(HubSpot id, property, when, value) of a change we take; None for anything else."""
    if event.get("subscriptionType") not in CHANGE_TYPES:
        return None
    if event.get("objectTypeId", "0-1") != "0-1" or event.get("propertyName") not in APPLIED:
        return None
    object_id, occurred = event.get("objectId"), event.get("occurredAt")
    if not isinstance(object_id, int | str) or not isinstance(occurred, int | float):
        return None
    value = event.get("propertyValue")
    return (
        str(object_id), event["propertyName"], datetime.fromtimestamp(occurred / 1000, UTC),
        value if isinstance(value, str) else None,
    )  # fmt: skip


async def _newest(
    session: AsyncSession, contact_id: uuid.UUID, name: str, occurred_at: datetime
) -> bool:
    """Note the change as the last one of its property, unless a newer one came first."""
    connection = await session.connection()
    statement = dialect_insert_for(connection, MARKS).values(
        contact_id=contact_id, property=name, occurred_at=occurred_at
    )
    statement = statement.on_conflict_do_update(
        index_elements=["contact_id", "property"],
        set_={"occurred_at": statement.excluded.occurred_at},
        where=MARKS.c.occurred_at < statement.excluded.occurred_at,
    )
    result = await connection.execute(statement)
    return bool(result.rowcount)
