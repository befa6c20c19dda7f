"""`/api/v1/leads/{id}/identities`, `/api/v1/leads/{id}/activity` and
`/api/v1/identity-merges`: the ids a lead is known by, its behaviour, and the merge log."""

import uuid
from typing import Annotated, Any, Literal

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.errors import Unprocessable, problems
from inbound.field_messages import describe_pattern
from inbound.leads.controller import READ, WRITE, actor_of
from inbound.leads.service import LeadNotFound
from inbound.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, PageRequest
from inbound.query_params import parse_instant
from inbound.tracking.activity import (
    CURSOR_PATTERN,
    ActivityPage,
    activity,
    decode_activity_cursor,
)
from inbound.tracking.engagement import CONTACTS
from inbound.tracking.identity_schemas import (
    ActivityList,
    ActivityRead,
    IdentityRead,
    LeadIdentities,
    MergeList,
    MergeRead,
)
from inbound.tracking.identity_sql import MergeOutcome
from inbound.tracking.merges import MergeService

RFC3339 = describe_pattern(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:\d{2})$",
    "must be an RFC 3339 time with its offset, e.g. 2026-01-31T09:00:00Z",
)
ActivityCursor = Annotated[
    str | None,
    QueryParameter(
        pattern=describe_pattern(CURSOR_PATTERN, "must be a next_cursor this list answered"),
        description="`next_cursor` of the previous page; opaque.",
    ),
]
Since = Annotated[
    str | None,
    QueryParameter(pattern=RFC3339, description="Only events at or after this RFC 3339 time."),
]


class InvalidActivityFilter(Unprocessable, problem="invalid-activity-filter"):
    """A filter of the right shape that names no real time (a 31st of February)."""


class LeadIdentityController(Controller):
    path = "/leads"
    tags = ["leads"]
    guards = READ

    @get(
        "/{lead_id:uuid}/identities",
        operation_id="getLeadIdentities",
        summary="The ids a lead is known by, and its merge log",
        description="Anonymous ids (a browser's) and user ids (a signed-in user's, one "
        "namespace for all sites) linked to the lead by a capture or an identify call, and "
        "the newest 200 merge-log entries: links made, "
        "refused (an id already another lead's, or a lead with 500 anonymous ids) and undone.",
        responses=problems(400, 401, 403, 404),
    )
    async def get_lead_identities(
        self, lead_id: FromPath[uuid.UUID], db_session: NamedDependency[AsyncSession]
    ) -> LeadIdentities:
        identities, merges = await MergeService(db_session).identities(lead_id)
        return LeadIdentities(
            identities=[IdentityRead.model_validate(row) for row in identities],
            merges=[MergeRead.model_validate(row) for row in merges],
        )

    @get(
        "/{lead_id:uuid}/activity",
        operation_id="listLeadActivity",
        summary="A lead's behaviour events, newest first",
        description="Every event of the lead's linked ids, including those made before the "
        "link: the identity map is read now, so an undone link takes its events away again. "
        "`type` keeps one event type; `since` keeps events at or after a time.",
        responses=problems(400, 401, 403, 404, 422),
    )
    async def list_lead_activity(
        self,
        lead_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
        limit: LimitParam = DEFAULT_LIMIT,
        cursor: ActivityCursor = None,
        type: FromQuery[Literal["page", "track", "identify"] | None] = None,
        since: Since = None,
    ) -> ActivityList:
        page = ActivityPage(
            limit=limit,
            before=decode_activity_cursor(cursor) if cursor else None,
            event_type=type,
            since=parse_instant(since, refuse=InvalidActivityFilter, field="since"),
        )
        exists = CONTACTS.select().where(CONTACTS.c.id == lead_id)
        if (await db_session.execute(exists)).first() is None:
            raise LeadNotFound(f"no lead {lead_id}")
        rows, next_cursor = await activity(db_session, lead_id, page)
        return ActivityList(
            items=[ActivityRead.model_validate(row) for row in rows], next_cursor=next_cursor
        )


class IdentityMergeController(Controller):
    path = "/identity-merges"
    tags = ["leads"]

    @get(
        "/",
        operation_id="listIdentityMerges",
        summary="The merge log: every link of an id to a lead, made or refused",
        description="Oldest first. Filters: `contact_id`, `outcome` (`linked` or `refused`).",
        guards=READ,
        responses=problems(400, 401, 403),
    )
    async def list_identity_merges(
        self,
        db_session: NamedDependency[AsyncSession],
        limit: LimitParam = DEFAULT_LIMIT,
        cursor: CursorParam = None,
        contact_id: FromQuery[uuid.UUID | None] = None,
        outcome: FromQuery[MergeOutcome | None] = None,
    ) -> MergeList:
        rows, next_cursor = await MergeService(db_session).page(
            PageRequest.parse(limit=limit, cursor=cursor), contact_id=contact_id, outcome=outcome
        )
        return MergeList(
            items=[MergeRead.model_validate(row) for row in rows], next_cursor=next_cursor
        )

    @post(
        "/{merge_id:uuid}/undo",
        operation_id="undoIdentityMerge",
        summary="Undo a link: the id is no longer the lead's",
        description="Removes the link and takes back the engagement points its events brought "
        "(as they stand now, after decay); the entry is marked undone and the id may be linked "
        "again later. A refused entry has nothing to undo (422); one undone already, 409.",
        guards=WRITE,
        status_code=200,
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def undo_identity_merge(
        self,
        request: Request[Any, Any, Any],
        merge_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
    ) -> MergeRead:
        merge = await MergeService(db_session).undo(merge_id, actor=actor_of(request))
        return MergeRead.model_validate(merge)
