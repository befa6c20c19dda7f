"""`/api/v1/next` (the public next-best-content answer), its pinned rules and its weights."""

import random
import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, put
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers import BaseRouteHandler
from litestar.params import FromQuery, JSONBody, QueryParameter

from inbound.auth.principal import bearer_token, principal_for, requires
from inbound.auth.scopes import Scope
from inbound.db import bind_of, utcnow
from inbound.errors import BadRequest, FieldError, Forbidden, Unauthorized, problems
from inbound.leads.capture.reference import CaptureReference
from inbound.leads.capture.site_access import capture_cors, check_site_origin, site_key_for
from inbound.leads.schemas import VISITOR_ID
from inbound.query_params import refuse_unknown_query_parameters
from inbound.resource_routes import ResourceRoutes, provide_service
from inbound.responses import ETAG_HEADER, check_if_match, one
from inbound.schemas import NO_NUL
from inbound.sites.service import SiteKey
from inbound.tracking.controller import limit_client
from inbound.tracking.nbc.blend import Suggestion
from inbound.tracking.nbc.schemas import (
    SLOT_PATTERN,
    NbcSettings,
    NextContent,
    RuleCreate,
    RuleRead,
    RuleUpdate,
    SuggestedAsset,
    SuggestionRead,
)
from inbound.tracking.nbc.service import NbcSettingsService, NextQuery, RuleService, next_content
from inbound.tracking.nbc.snapshot import SnapshotCache

MAX_K = 20
BOTH_IDS = ("anonymous_id", "contact_id")
SlotParam = Annotated[
    str,
    QueryParameter(min_length=1, max_length=64, pattern=SLOT_PATTERN,
                   description="Where the suggestions show (`sidebar`, `after-article`...)."),
]  # fmt: skip
KParam = Annotated[int, QueryParameter(ge=1, le=MAX_K, description="How many, at most.")]
AnonymousIdParam = Annotated[
    str | None,
    QueryParameter(min_length=1, max_length=100, pattern=VISITOR_ID,
                   description="The browser's anonymous id."),
]  # fmt: skip
AssetParam = Annotated[
    str | None,
    QueryParameter(min_length=1, max_length=64, pattern=NO_NUL,
                   description="The asset the page shows (id or slug): left out of the answer, "
                   "and taken as the visitor's latest view; an unknown one is ignored."),
]  # fmt: skip
# Exploration only needs to differ between requests, not to be unpredictable.
_rng = random.Random()


async def refuse_unknown_parameters(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """The shared guard, run inline: Litestar hands a sync guard to a thread, and that hop
    cost this hot path more than the rest of its work together."""
    refuse_unknown_query_parameters(connection, handler)


class NextController(Controller):
    path = "/api/v1/next"
    tags = ["next-best-content"]
    guards = [refuse_unknown_parameters]
    middleware = [capture_cors]

    @get(
        operation_id="nextContent",
        summary="The next best content for a visitor",
        description="Called by a site's pages with the site's public key (`ingest` scope), "
        "from one of its origins, with the browser's `anonymous_id` (or none for a new "
        "visitor). `contact_id` asks for a known lead and takes a server's API key with "
        "`leads:read` instead: a public key, readable in any page, must not reveal what a "
        "lead is suggested. An unknown id is answered as a new visitor. Pinned rules that "
        "match come first, then the blend of persona fit, topic affinity, funnel progression, "
        "co-visitation and exploration; each item says why it was chosen. What the visitor "
        "already viewed or captured is left out unless a rule pins it.",
        security=[{"siteKey": []}, {"bearerAuth": []}],
        responses=problems(400, 401, 403, 429),
    )
    async def next_content(
        self,
        request: Request[Any, Any, Any],
        slot: SlotParam = "default",
        k: KParam = 3,
        anonymous_id: AnonymousIdParam = None,
        contact_id: FromQuery[uuid.UUID | None] = None,
        asset: AssetParam = None,
    ) -> NextContent:
        state = request.app.state
        if anonymous_id is not None and contact_id is not None:
            detail = "give `anonymous_id` or `contact_id`, not both"
            errors = [FieldError(field=name, message=detail) for name in BOTH_IDS]
            raise BadRequest(detail, errors=errors)
        if contact_id is None:
            await limit_client(request, "next-ip")
            reference: CaptureReference = state.capture_reference
            await reference.follow_other_processes()
            check_site_origin(request, await _page_key(reference, request))
        else:
            await _check_lead_reader(request)
        snapshots: SnapshotCache = state.nbc_snapshot
        query = NextQuery(slot, k, anonymous_id, contact_id, asset)
        suggestions = await next_content(
            await snapshots.get(), bind_of(state.sessionmaker), query, now=utcnow(), rng=_rng
        )
        return NextContent(items=[_item(s) for s in suggestions], slot=slot, k=k)


async def _page_key(reference: CaptureReference, request: Request[Any, Any, Any]) -> SiteKey:
    """The site's public key a page asks with; a server's key here is told what it may ask."""
    plain = bearer_token(request.headers.get("authorization"))
    try:
        return await site_key_for(
            reference, plain, "send the site's public key as `Authorization: Bearer KEY`"
        )
    except Unauthorized:
        if plain is not None and await principal_for(request.app.state.sessionmaker, plain):
            raise Forbidden(
                "an API key asks by `contact_id`; without it, ask with the site's public key",
                field="contact_id",
            ) from None
        raise


async def _check_lead_reader(request: Request[Any, Any, Any]) -> None:
    """Asking by contact is reading a lead: a server's key with `leads:read`, never a site's."""
    plain = bearer_token(request.headers.get("authorization"))
    if plain is None:
        raise Unauthorized(
            "`contact_id` takes an API key with `leads:read` as `Authorization: Bearer KEY`"
        )
    principal = await principal_for(request.app.state.sessionmaker, plain)
    if principal is None:
        raise Unauthorized("unknown or revoked API key")
    if principal.site_id is not None or not principal.allows(Scope.LEADS_READ):
        raise Forbidden(
            "`contact_id` takes an API key with `leads:read`; a site's public key may only ask "
            "by `anonymous_id`",
            field="contact_id",
        )


def _item(suggestion: Suggestion) -> SuggestionRead:
    asset = suggestion.asset
    return SuggestionRead(
        asset=SuggestedAsset(
            id=asset.id, slug=asset.slug, title=asset.title, kind=asset.kind,
            stage=asset.stage, public_url=asset.public_url,
        ),
        score=round(suggestion.score, 6),
        reason=suggestion.reason,
        pinned=suggestion.pinned,
        components={name: round(value, 6) for name, value in suggestion.components.items()},
    )  # fmt: skip


RULES = ResourceRoutes.by_id(
    RuleRead,
    "rule_id",
    read_guards=[requires(Scope.CONTENT_READ)],
    write_guards=[requires(Scope.CONTENT_WRITE)],
)


class NbcRuleController(Controller):
    path = "/nbc/rules"
    tags = ["next-best-content"]
    dependencies = {"service": provide_service(RuleService)}

    create_rule = RULES.create(
        RuleCreate,
        "createNbcRule",
        "Pin an asset for visitors who meet conditions",
        responses=problems(400, 401, 403, 422),
    )
    list_rules = RULES.list("listNbcRules", "List pinned rules")
    get_rule = RULES.get(
        "getNbcRule",
        "GetRule",  # as Litestar once named it after the handler
    )
    update_rule = RULES.update(
        RuleUpdate,
        "updateNbcRule",
        "Change a pinned rule",
        responses=problems(400, 401, 403, 404, 412, 422),
    )
    delete_rule = RULES.delete("deleteNbcRule", "Delete a pinned rule")


class NbcSettingsController(Controller):
    path = "/settings/nbc"
    tags = ["settings"]
    guards = [requires(Scope.ADMIN)]
    dependencies = {"settings": provide_service(NbcSettingsService)}

    @get(
        operation_id="getNbcSettings",
        summary="Read the next-best-content weights",
        responses=problems(400, 401, 403),
        response_headers=[ETAG_HEADER],
    )
    async def get_nbc_settings(
        self, settings: NamedDependency[NbcSettingsService]
    ) -> Response[NbcSettings]:
        document, version = await settings.current()
        return one(document, version=version)

    @put(
        operation_id="replaceNbcSettings",
        summary="Replace the next-best-content weights",
        description="Fields left out take their defaults. Answers use them within seconds.",
        responses=problems(400, 401, 403, 412),
        response_headers=[ETAG_HEADER],
    )
    async def replace_nbc_settings(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[NbcSettings],
        settings: NamedDependency[NbcSettingsService],
    ) -> Response[NbcSettings]:
        row = await settings.lock()
        check_if_match(request, row.version)
        return one(data, version=await settings.replace(row, data))
