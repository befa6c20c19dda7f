"""`/api/v1/sites`: marketing sites, their allowed origins and public keys."""

import uuid
from collections.abc import Sequence
from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.auth.models import ApiKey
from inbound.auth.principal import requires
from inbound.auth.scopes import Scope
from inbound.errors import problems
from inbound.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page, PageRequest
from inbound.responses import ETAG_HEADER, LOCATION_HEADER, check_if_match, created, one
from inbound.sites.models import Site
from inbound.sites.schemas import (
    SiteCreate,
    SiteCreated,
    SiteKeyCreated,
    SiteKeyRead,
    SiteRead,
    SiteUpdate,
)
from inbound.sites.service import SiteService


def provide_site_service(db_session: NamedDependency[AsyncSession]) -> SiteService:
    return SiteService(db_session)


def _site_read(site: Site, keys: Sequence[ApiKey]) -> SiteRead:
    return SiteRead(
        id=site.id,
        name=site.name,
        allowed_origins=site.allowed_origins,
        tracking_consent=site.tracking_consent,
        keys=[SiteKeyRead.model_validate(k) for k in keys],
        created_at=site.created_at,
        updated_at=site.updated_at,
        version=site.version,
    )


class SiteController(Controller):
    path = "/sites"
    tags = ["sites"]
    guards = [requires(Scope.ADMIN)]
    dependencies = {"sites": Provide(provide_site_service, sync_to_thread=False)}

    @post(
        operation_id="createSite",
        summary="Register a site",
        description="The answer carries the site's first public key (scope `ingest`), once.",
        responses=problems(400, 401, 403, 413),
        response_headers=[LOCATION_HEADER],
    )
    async def create_site(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[SiteCreate],
        sites: NamedDependency[SiteService],
    ) -> Response[SiteCreated]:
        site, plain = await sites.create(
            name=data.name,
            allowed_origins=data.allowed_origins,
            tracking_consent=data.tracking_consent,
        )
        keys = (await sites.keys_of([site]))[site.id]
        body = SiteCreated(**_site_read(site, keys).model_dump(), public_key=plain)
        return created(request, body, site.id)

    @get(operation_id="listSites", summary="List sites", responses=problems(400, 401, 403))
    async def list_sites(
        self,
        sites: NamedDependency[SiteService],
        limit: LimitParam = DEFAULT_LIMIT,
        cursor: CursorParam = None,
    ) -> Page[SiteRead]:
        rows, next_cursor = await sites.list_page(PageRequest.parse(limit=limit, cursor=cursor))
        keys = await sites.keys_of(rows)
        return Page(items=[_site_read(s, keys[s.id]) for s in rows], next_cursor=next_cursor)

    @get(
        "/{site_id:uuid}",
        operation_id="getSite",
        responses=problems(400, 401, 403, 404),
        response_headers=[ETAG_HEADER],
    )
    async def get_site(
        self, sites: NamedDependency[SiteService], site_id: FromPath[uuid.UUID]
    ) -> Response[SiteRead]:
        site = await sites.get(site_id)
        keys = (await sites.keys_of([site]))[site.id]
        return one(_site_read(site, keys), version=site.version)

    @patch(
        "/{site_id:uuid}",
        operation_id="updateSite",
        summary="Rename a site, change its origins or its tracking consent mode",
        responses=problems(400, 401, 403, 404, 412, 413),
        response_headers=[ETAG_HEADER],
    )
    async def update_site(
        self,
        request: Request[Any, Any, Any],
        sites: NamedDependency[SiteService],
        site_id: FromPath[uuid.UUID],
        data: JSONBody[SiteUpdate],
    ) -> Response[SiteRead]:
        site = await sites.get(site_id, lock=True)
        check_if_match(request, site.version)
        site = await sites.update(site, data.changes())
        keys = (await sites.keys_of([site]))[site.id]
        return one(_site_read(site, keys), version=site.version)

    @delete(
        "/{site_id:uuid}",
        operation_id="deleteSite",
        summary="Delete a site and its keys",
        responses=problems(400, 401, 403, 404),
    )
    async def delete_site(
        self, sites: NamedDependency[SiteService], site_id: FromPath[uuid.UUID]
    ) -> None:
        await sites.delete(await sites.get(site_id, lock=True))

    @post(
        "/{site_id:uuid}/keys",
        operation_id="createSiteKey",
        summary="Issue another public key",
        description="For rotation: issue a new key, deploy it, then revoke the old one "
        "with `DELETE /api/v1/api-keys/{id}`.",
        responses=problems(400, 401, 403, 404),
        response_headers=[LOCATION_HEADER],
    )
    async def create_site_key(
        self, sites: NamedDependency[SiteService], site_id: FromPath[uuid.UUID]
    ) -> Response[SiteKeyCreated]:
        api_key, plain = await sites.rotate_key(await sites.get(site_id, lock=True))
        body = SiteKeyCreated(**SiteKeyRead.model_validate(api_key).model_dump(), key=plain)
        # The key is managed (read, revoked) under /api-keys, so that is where it lives.
        return Response(
            body, status_code=201, headers={"Location": f"/api/v1/api-keys/{api_key.id}"}
        )
