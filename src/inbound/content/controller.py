"""`/api/v1/assets` and `/api/v1/asset-tags`: content assets and their persona tags."""

from typing import Any

from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, Parameter

from inbound.auth.principal import requires
from inbound.auth.scopes import Scope
from inbound.content.models import AssetKind, ContentAsset, FunnelStage
from inbound.content.schemas import (
    AssetCreate,
    AssetPersonaRead,
    AssetRead,
    AssetTagsBulk,
    AssetTagsBulkResult,
    AssetUpdate,
    FormFieldRead,
    PersonaTagsReplace,
    normalise_topic,
)
from inbound.content.service import AssetService, AssetView
from inbound.errors import problems
from inbound.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page, PageRequest
from inbound.query_params import ref_filter
from inbound.resource_routes import ResourceRoutes, provide_service
from inbound.responses import ETAG_HEADER, check_if_match, one
from inbound.schemas import NO_NUL

READ = [requires(Scope.CONTENT_READ)]
WRITE = [requires(Scope.CONTENT_WRITE)]


def asset_read(view: AssetView) -> AssetRead:
    """The representation of an asset with its topics and tags."""
    asset = view.asset
    return AssetRead(
        id=asset.id,
        slug=asset.slug,
        title=asset.title,
        description=asset.description,
        kind=AssetKind(asset.kind),
        funnel_stage=FunnelStage(asset.funnel_stage),
        topics=view.topics,
        url=asset.url,
        gated=asset.gated,
        form_fields=[FormFieldRead.model_validate(f) for f in asset.form_fields],
        delivery_url=asset.delivery_url,
        personas=[
            AssetPersonaRead(
                persona_id=t.persona.id,
                slug=t.persona.slug,
                name=t.persona.name,
                relevance=t.relevance,
            )
            for t in view.tags
        ],
        archived=asset.archived,
        archived_at=asset.archived_at,
        created_at=asset.created_at,
        updated_at=asset.updated_at,
        version=asset.version,
    )


async def _present(assets: AssetService, asset: ContentAsset) -> AssetRead:
    return asset_read(await assets.view(asset))


ASSETS = ResourceRoutes.by_ref(
    AssetRead,
    "The asset's id or slug.",
    present=_present,
    read_guards=READ,
    write_guards=WRITE,
    set_archived=lambda assets, asset, archived: assets.update(asset, {"archived": archived}),
)


class AssetController(Controller):
    path = "/assets"
    tags = ["assets"]
    dependencies = {"service": provide_service(AssetService)}

    create_asset = ASSETS.create(
        AssetCreate,
        "createAsset",
        "Create a content asset",
        description="`personas` tags the asset at once. A gated asset needs a `delivery_url`; "
        "its form always asks for `email`, which is added first when missing.",
    )

    @ASSETS.collection(
        "listAssets",
        "List content assets",
        description="Filters combine with AND. Ordered by creation; pages are keyset-based.",
    )
    async def list_assets(
        self,
        service: NamedDependency[AssetService],
        persona: str | None = ref_filter("Tagged to this persona (id or slug)."),
        funnel_stage: FromQuery[FunnelStage | None] = None,
        kind: FromQuery[AssetKind | None] = None,
        topic: str | None = Parameter(default=None, max_length=64, pattern=NO_NUL),
        gated: FromQuery[bool | None] = None,
        archived: bool = Parameter(default=False, description="Archived assets instead."),
        limit: LimitParam = DEFAULT_LIMIT,
        cursor: CursorParam = None,
    ) -> Page[AssetRead]:
        rows, next_cursor = await service.list_page(
            PageRequest.parse(limit=limit, cursor=cursor),
            persona=persona,
            funnel_stage=funnel_stage,
            kind=kind,
            topic=normalise_topic(topic) if topic is not None else None,
            gated=gated,
            archived=archived,
        )
        views = await service.views(rows)
        return Page(items=[asset_read(v) for v in views], next_cursor=next_cursor)

    get_asset = ASSETS.get("getAsset", "Read a content asset")
    update_asset = ASSETS.update(
        AssetUpdate,
        "updateAsset",
        "Change a content asset",
        description="Send only the fields to change; `topics`, `form_fields` and `personas` "
        "replace the whole list. `If-Match` with the ETag refuses a stale write (412).",
    )
    archive_asset = ASSETS.archive("archiveAsset", "Archive a content asset")
    unarchive_asset = ASSETS.unarchive("unarchiveAsset", "Restore an archived content asset")
    delete_asset = ASSETS.delete("deleteAsset", "Delete a content asset")

    @ASSETS.on_item(get, "/personas", "getAssetPersonas", "The personas an asset is tagged to")
    async def get_asset_personas(
        self, service: NamedDependency[AssetService], ref: str = ASSETS.ref_param
    ) -> list[AssetPersonaRead]:
        return (await _present(service, await service.get(ref))).personas

    @ASSETS.on_item(
        put,
        "/personas",
        "replaceAssetPersonas",
        "Replace an asset's persona tags",
        description="The list becomes the asset's whole set of tags; an empty list removes all.",
        responses=problems(400, 401, 403, 404, 412, 413, 422),
        response_headers=[ETAG_HEADER],
    )
    async def replace_asset_personas(
        self,
        request: Request[Any, Any, Any],
        service: NamedDependency[AssetService],
        data: JSONBody[PersonaTagsReplace],
        ref: str = ASSETS.ref_param,
    ) -> Response[list[AssetPersonaRead]]:
        asset = await service.get(ref, lock=True)
        check_if_match(request, asset.version)
        asset = await service.replace_tags(asset, data.personas)
        return one((await _present(service, asset)).personas, version=asset.version)


class AssetTagController(Controller):
    path = "/asset-tags"
    tags = ["assets"]
    dependencies = {"service": provide_service(AssetService)}

    @post(
        operation_id="bulkTagAssets",
        summary="Tag and untag many assets at once",
        description="`set` adds tags or changes their relevance; `remove` deletes tags. "
        "Everything is checked first: one unknown asset or persona refuses the whole call "
        "(422, naming each bad item).",
        status_code=200,
        guards=WRITE,
        responses=problems(400, 401, 403, 413, 422),
    )
    async def bulk_tag_assets(
        self, data: JSONBody[AssetTagsBulk], service: NamedDependency[AssetService]
    ) -> AssetTagsBulkResult:
        set_count, removed = await service.bulk_tags(data.set, data.remove)
        return AssetTagsBulkResult(set=set_count, removed=removed)
