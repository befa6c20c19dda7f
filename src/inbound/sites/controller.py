"""`/api/v1/sites`: marketing sites, their allowed origins and public keys."""

import uuid
from collections.abc import Sequence

from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from inbound.auth.models import ApiKey
from inbound.auth.principal import requires
from inbound.auth.scopes import Scope
from inbound.errors import problems
from inbound.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page, PageRequest
from inbound.resource_routes import ResourceRoutes, provide_service
from inbound.responses import LOCATION_HEADER
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


async def _present(sites: SiteService, site: Site) -> SiteRead:
    return _site_read(site, (await sites.keys_of([site]))[site.id])


async def _register(sites: SiteService, data: SiteCreate) -> tuple[Site, SiteCreated]:
    site, plain = await sites.create(
        name=data.name,
        allowed_origins=data.allowed_origins,
        tracking_consent=data.tracking_consent,
    )
    return site, SiteCreated(**(await _present(sites, site)).model_dump(), public_key=plain)


SITES = ResourceRoutes.by_id(SiteRead, "site_id", present=_present)


class SiteController(Controller):
    path = "/sites"
    tags = ["sites"]
    guards = [requires(Scope.ADMIN)]
    dependencies = {"service": provide_service(SiteService)}

    create_site = SITES.create(
        SiteCreate,
        "createSite",
        "Register a site",
        description="The answer carries the site's first public key (scope `ingest`), once.",
        responses=problems(400, 401, 403, 413),
        make=_register,
        answer=SiteCreated,
    )

    @SITES.collection("listSites", "List sites")
    async def list_sites(
        self,
        service: NamedDependency[SiteService],
        limit: LimitParam = DEFAULT_LIMIT,
        cursor: CursorParam = None,
    ) -> Page[SiteRead]:
        rows, next_cursor = await service.list_page(PageRequest.parse(limit=limit, cursor=cursor))
        keys = await service.keys_of(rows)
        return Page(items=[_site_read(s, keys[s.id]) for s in rows], next_cursor=next_cursor)

    get_site = SITES.get("getSite")
    update_site = SITES.update(
        SiteUpdate,
        "updateSite",
        "Rename a site, change its origins or its tracking consent mode",
        responses=problems(400, 401, 403, 404, 412, 413),
    )
    delete_site = SITES.delete("deleteSite", "Delete a site and its keys")

    @SITES.on_item(
        post,
        "/keys",
        "createSiteKey",
        "Issue another public key",
        description="For rotation: issue a new key, deploy it, then revoke the old one "
        "with `DELETE /api/v1/api-keys/{id}`.",
        response_headers=[LOCATION_HEADER],
    )
    async def create_site_key(
        self, service: NamedDependency[SiteService], site_id: FromPath[uuid.UUID]
    ) -> Response[SiteKeyCreated]:
        api_key, plain = await service.rotate_key(await service.get(site_id, lock=True))
        body = SiteKeyCreated(**SiteKeyRead.model_validate(api_key).model_dump(), key=plain)
        # The key is managed (read, revoked) under /api-keys, so that is where it lives.
        return Response(
            body, status_code=201, headers={"Location": f"/api/v1/api-keys/{api_key.id}"}
        )
