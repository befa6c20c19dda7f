"""The published API contract, with request bodies described by the models that validate them.

Litestar's generator drops what our request models enforce (closed objects, patterns inside
optional fields, null refused in partial updates), so clients would believe such bodies valid.
Pydantic describes its own models exactly; its schemas replace the generated ones for every
request model.
"""

import copy
from collections.abc import Iterator
from typing import Any

from litestar import Litestar, Request
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from pydantic.json_schema import models_json_schema

from inbound.schemas import RequestSchema

REF_TEMPLATE = "#/components/schemas/{model}"
# Bodies a handler reads itself (to take several media types), by operation id.
_RAW_BODIES: dict[str, tuple[type[RequestSchema], tuple[str, ...]]] = {}


def document_request_body(
    operation_id: str, model: type[RequestSchema], media_types: tuple[str, ...]
) -> None:
    """Describe the body of an operation whose handler parses it itself."""
    _RAW_BODIES[operation_id] = (model, media_types)


def openapi_document(app: Litestar) -> dict[str, Any]:
    """The OpenAPI document of ``app``, as served at /docs/openapi.json and committed."""
    return refine_document(app.openapi_schema.to_schema())


def refine_document(document: dict[str, Any]) -> dict[str, Any]:
    """Replace the generated request schemas with the validating models' own."""
    refined = copy.deepcopy(document)
    models = sorted(_subclasses(RequestSchema), key=lambda m: m.__name__)
    _, top = models_json_schema([(m, "validation") for m in models], ref_template=REF_TEMPLATE)
    refined.setdefault("components", {}).setdefault("schemas", {}).update(top.get("$defs", {}))
    for path_item in refined.get("paths", {}).values():
        for operation in path_item.values():
            documented = _RAW_BODIES.get(operation.get("operationId", ""))
            if documented is not None:
                model, media_types = documented
                schema = {"$ref": REF_TEMPLATE.format(model=model.__name__)}
                operation["requestBody"] = {
                    "required": True,
                    "content": {media_type: {"schema": schema} for media_type in media_types},
                }
    return refined


class ContractJsonRenderPlugin(JsonRenderPlugin):
    """Serves the refined document at /docs/openapi.json."""

    _refined: dict[str, Any] | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        self._refined = self._refined or refine_document(openapi_schema)
        return super().render(request, self._refined)


class ContractSwaggerRenderPlugin(SwaggerRenderPlugin):
    """Swagger UI at /docs, showing the refined document."""

    _refined: dict[str, Any] | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        self._refined = self._refined or refine_document(openapi_schema)
        return super().render(request, self._refined)


def _subclasses(cls: type[RequestSchema]) -> Iterator[type[RequestSchema]]:
    for sub in cls.__subclasses__():
        if not sub.__name__.startswith("_"):
            yield sub
        yield from _subclasses(sub)
