"""`/api/v1/assets/{ref}/form`: an asset's form, read by a site's pages with its public key.

It sits beside the capture it prepares: the same key, the same origins, the same CORS, and
the same short-lived cache, since every page view may ask for it.
"""

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.params import Parameter

from inbound.content.forms import FormDefinitionRead, definition_etag
from inbound.errors import NotFound, problems
from inbound.leads.capture.reference import CaptureReference
from inbound.leads.capture.site_access import capture_cors, check_site_origin, site_key_of
from inbound.query_params import refuse_unknown_query_parameters
from inbound.responses import documented_header
from inbound.schemas import NO_NUL

# Public data that changes a few times a day: browsers and shared caches may keep it a minute.
CACHE_CONTROL = "public, max-age=60"


class FormNotFound(NotFound, problem="form-not-found"): ...


class AssetFormController(Controller):
    path = "/api/v1/assets/{ref:str}/form"
    tags = ["captures"]

    @get(
        operation_id="getAssetForm",
        summary="Read an asset's form, for a site's pages",
        description=(
            "With the site's public key, as for captures: the fields a page shows (name, "
            "label, type, whether required, the choices of a select), the consent box and "
            "its text version, and whether the asset is gated. Archived and unknown assets "
            "get 404. Answers carry an `ETag`; `If-None-Match` with it gets `304` while the "
            "form is unchanged."
        ),
        security=[{"siteKey": []}],
        guards=[refuse_unknown_query_parameters],
        responses=problems(400, 401, 403, 404),
        response_headers=[
            documented_header("ETag", "The form's version; send it as `If-None-Match`."),
            documented_header("Cache-Control", CACHE_CONTROL),
        ],
    )
    async def get_asset_form(
        self,
        request: Request[Any, Any, Any],
        ref: str = Parameter(description="The asset's id or slug.", max_length=64, pattern=NO_NUL),
    ) -> Response[FormDefinitionRead]:
        reference: CaptureReference = request.app.state.capture_reference
        await reference.follow_other_processes()
        site_key = await site_key_of(reference, request, {})
        check_site_origin(request, site_key)
        definition = await reference.form(ref)
        if definition is None:
            raise FormNotFound(f"no live asset {ref!r}", field="ref")
        tag = definition_etag(definition)
        headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL}
        if _tags(request.headers.get("if-none-match")) & {tag, "*"}:
            return Response(None, status_code=304, headers=headers)  # type: ignore[arg-type]
        return Response(definition, headers=headers)


def _tags(if_none_match: str | None) -> set[str]:
    """The entity tags `If-None-Match` names; a weak tag matches its strong twin."""
    if not if_none_match:
        return set()
    return {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}


AssetFormController.middleware = [capture_cors]
