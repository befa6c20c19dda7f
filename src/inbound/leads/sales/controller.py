"""`/api/v1/leads` for sales: the list (and its CSV export), claims, lead status and notes."""

import uuid
from typing import Annotated, Any, cast

from litestar import Controller, MediaType, Request, Response, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.content.service import filtered_asset_id
from inbound.contract import document_media_type
from inbound.db import utcnow
from inbound.errors import problems
from inbound.field_messages import describe_pattern
from inbound.leads.controller import ADMIN, LEAD_DEPENDENCIES, READ, Change, lead_route
from inbound.leads.fields import lead_fields
from inbound.leads.qualification.settings import Grade
from inbound.leads.sales.cursor import LeadSort
from inbound.leads.sales.export import CSV, export_csv
from inbound.leads.sales.filters import (
    NO_PERSONA,
    UNOWNED,
    InvalidLeadFilter,
    LeadFilter,
    parse_stages,
)
from inbound.leads.sales.listing import LeadPage, list_leads
from inbound.leads.sales.schemas import (
    ClaimRequest,
    LeadList,
    LeadListItem,
    LeadWork,
    NoteCreate,
    NoteList,
    NoteRead,
)
from inbound.leads.schemas import LeadRead
from inbound.leads.service import LeadService
from inbound.leads.settings_service import LeadSettingsService
from inbound.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, PageRequest
from inbound.personas.service import filtered_persona_id
from inbound.query_params import parse_instant
from inbound.responses import ETAG_HEADER, LOCATION_HEADER, etag
from inbound.schemas import NO_NUL

RFC3339 = describe_pattern(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:\d{2})$",
    "must be an RFC 3339 time with its offset, e.g. 2026-01-31T09:00:00Z",
)
Ref = Annotated[str | None, QueryParameter(max_length=64, pattern=NO_NUL)]
ListCursor = Annotated[
    str | None,
    QueryParameter(
        max_length=4096,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="`next_cursor` or `poll_cursor` of an earlier page; opaque.",
    ),
]
LIST_DESCRIPTION = (
    "Filters narrow the list: `stage` (one or several, comma-separated; `qualified` means "
    "`mql,sql`), `persona` (id or slug; `none` for leads without one), `min_grade` (that grade "
    "or better), `min_score` (decayed engagement now, as the item shows it: rounded to two "
    "places), `owner` (or `unowned`), `site` and `first_asset` (first touch), `source` "
    "(first-touch UTM source, any case) and `updated_since` (changed at or after). "
    "`sort=updated` (the default) lists the oldest change first. A plain list shows every lead "
    "committed when its first page was read; a lead changed while you page moves behind the "
    "pages you have not read yet. It is also a change feed: to poll, walk the pages, keep the "
    "last page's `poll_cursor`, and send it as `cursor` (with the same filters) next time: you "
    "get every change made since, each lead once per walk at its latest version, none twice. "
    "The feed (and a list with `updated_since`) holds back a change in a transaction still "
    "running until it can no longer be overtaken. "
    "`recency` lists the latest change first, `score` the highest score first, `grade` the "
    "best grade first (then by score). Send `Accept: text/csv` for every matching lead as "
    "CSV, streamed (`limit` and `cursor` are then ignored; spreadsheet formulas in text "
    "cells are neutralised with a leading `'`)."
)


class SalesController(Controller):
    path = "/leads"
    tags = ["leads"]
    dependencies = LEAD_DEPENDENCIES

    @get(
        "/",
        operation_id="listLeads",
        summary="List leads to work, with filters, sorts and a change feed",
        description=LIST_DESCRIPTION,
        guards=READ,
        responses=problems(400, 401, 403),
    )
    async def list_leads(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[LeadSettingsService],
        stage: Annotated[str | None, QueryParameter(max_length=200, pattern=NO_NUL)] = None,
        persona: Ref = None,
        min_grade: FromQuery[Grade | None] = None,
        min_score: Annotated[float | None, QueryParameter(ge=0)] = None,
        owner: Annotated[str | None, QueryParameter(max_length=200, pattern=NO_NUL)] = None,
        site: FromQuery[uuid.UUID | None] = None,
        first_asset: Ref = None,
        source: Annotated[str | None, QueryParameter(max_length=200, pattern=NO_NUL)] = None,
        updated_since: Annotated[
            str | None,
            QueryParameter(
                pattern=RFC3339,
                description="RFC 3339 time with its offset, e.g. `2026-11-24T09:00:00Z`.",
            ),
        ] = None,
        sort: FromQuery[LeadSort] = LeadSort.UPDATED,
        limit: LimitParam = DEFAULT_LIMIT,
        cursor: ListCursor = None,
    ) -> Response[LeadList]:
        filters = LeadFilter(
            stages=parse_stages(stage),
            persona_id=None
            if persona == NO_PERSONA
            else await filtered_persona_id(db_session, persona, field="persona"),
            without_persona=persona == NO_PERSONA,
            min_grade=min_grade,
            min_score=min_score,
            owner=None if owner == UNOWNED else owner,
            unowned=owner == UNOWNED,
            site_id=site,
            first_asset_id=await filtered_asset_id(db_session, first_asset, field="first_asset"),
            source=source,
            updated_since=parse_instant(
                updated_since, refuse=InvalidLeadFilter, field="updated_since"
            ),
        )
        half_life = (await settings.current()).scoring.half_life_days
        if CSV in (request.headers.get("accept") or ""):
            sessionmaker = request.app.state.sessionmaker
            body = await export_csv(
                sessionmaker, await db_session.connection(), filters, sort, half_life
            )
            disposition = 'attachment; filename="leads.csv"'
            stream = Stream(body, media_type=CSV, headers={"Content-Disposition": disposition})
            # The same operation, answered in CSV: the contract documents the JSON.
            return cast(Response[LeadList], stream)
        page = await list_leads(
            await db_session.connection(), filters, sort=sort, limit=limit, cursor=cursor,
            half_life_days=half_life, now=utcnow(),
        )  # fmt: skip
        answer = {"items": _items(page), "next_cursor": page.next_cursor,
                  "poll_cursor": page.poll_cursor}  # fmt: skip
        # Up to 500 items: plain dicts straight to the JSON encoder, not models; the contract
        # test checks them against `LeadList`.
        return cast(Response[LeadList], Response(answer, media_type=MediaType.JSON))

    @lead_route(
        post, "/claim", "claimLead", "Claim a lead for an owner; the first claim wins",
        also=(409,), status_code=201,
        description="201 when the claim is new, 200 when the owner already holds the lead; "
        "409 (with `owner`) when someone else does. An admin may reassign with PUT.",
    )  # fmt: skip
    async def claim_lead(
        self, lead_id: FromPath[uuid.UUID], data: JSONBody[ClaimRequest], change: Change
    ) -> Response[LeadRead]:
        new = await change.leads.claim(lead_id, data.owner, precondition=change.precondition)
        return await change.answer(lead_id, status_code=201 if new else 200)

    @lead_route(
        put,
        "/claim",
        "reassignLead",
        "Give a lead to an owner, whoever holds it (admin)",
        guards=ADMIN,
    )
    async def reassign_lead(
        self, lead_id: FromPath[uuid.UUID], data: JSONBody[ClaimRequest], change: Change
    ) -> Response[LeadRead]:
        await change.leads.reassign(lead_id, data.owner, precondition=change.precondition)
        return await change.answer(lead_id)

    @lead_route(
        delete, "/claim", "releaseLead", "Release a lead's claim", also=(409,),
        description="With `owner`, only that owner's claim is released (409 naming the owner "
        "otherwise). Releasing an unclaimed lead changes nothing.",
    )  # fmt: skip
    async def release_lead(
        self,
        lead_id: FromPath[uuid.UUID],
        change: Change,
        owner: Annotated[str | None, QueryParameter(max_length=200, pattern=NO_NUL)] = None,
    ) -> None:
        await change.leads.release(lead_id, owner=owner, precondition=change.precondition)

    @lead_route(
        patch, "", "workLead", "Set how working a lead goes (lead status)",
        description="The lead status is kept apart from the lifecycle stage: move the stage "
        "with POST /leads/{id}/stage.",
    )  # fmt: skip
    async def work_lead(
        self, lead_id: FromPath[uuid.UUID], data: JSONBody[LeadWork], change: Change
    ) -> Response[LeadRead]:
        await change.leads.set_lead_status(
            lead_id, data.lead_status, precondition=change.precondition
        )
        return await change.answer(lead_id)

    @lead_route(
        post, "/notes", "addLeadNote", "Write a note on a lead",
        response_headers=[LOCATION_HEADER, ETAG_HEADER],
    )  # fmt: skip
    async def add_note(
        self, lead_id: FromPath[uuid.UUID], data: JSONBody[NoteCreate], change: Change
    ) -> Response[NoteRead]:
        note, version = await change.leads.add_note(
            lead_id, data.body, actor=change.actor, precondition=change.precondition
        )
        location = f"{change.request.url.path.rstrip('/')}/{note.id}"
        headers = {"Location": location, "ETag": etag(version)}
        return Response(NoteRead.model_validate(note), status_code=201, headers=headers)

    @lead_route(
        get, "/notes/{note_id:uuid}", "getLeadNote", "One note on a lead", response_headers=None
    )
    async def get_note(
        self,
        lead_id: FromPath[uuid.UUID],
        note_id: FromPath[uuid.UUID],
        leads: NamedDependency[LeadService],
    ) -> NoteRead:
        return NoteRead.model_validate(await leads.note(lead_id, note_id))

    @lead_route(
        get, "/notes", "listLeadNotes", "A lead's notes, oldest first", response_headers=None
    )
    async def list_notes(
        self,
        lead_id: FromPath[uuid.UUID],
        leads: NamedDependency[LeadService],
        limit: LimitParam = DEFAULT_LIMIT,
        cursor: CursorParam = None,
    ) -> NoteList:
        notes, next_cursor = await leads.notes(
            lead_id, PageRequest.parse(limit=limit, cursor=cursor)
        )
        items = [NoteRead.model_validate(note) for note in notes]
        return NoteList(items=items, next_cursor=next_cursor)


ITEM_FIELDS = tuple(LeadListItem.model_fields)


def _items(page: LeadPage) -> list[dict[str, Any]]:
    """The page's leads in `LeadListItem`'s shape."""
    items = []
    for row in page.rows:
        lead = lead_fields(row) | {"assets": page.assets.get(row["id"], [])}
        items.append({name: lead[name] for name in ITEM_FIELDS})
    return items


document_media_type(
    "listLeads",
    CSV,
    "With `Accept: text/csv`: every matching lead, streamed as an attachment, one line per lead "
    "after a header line naming the columns.",
)
