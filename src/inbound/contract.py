"""The published API contract, with request bodies described by the models that validate them.

Litestar's generator drops what our request models enforce (closed objects, patterns inside
optional fields, null refused in partial updates), so clients would believe such bodies valid.
Pydantic describes its own models exactly; its schemas replace the generated ones for every
request model. What handlers do by hand (read a header, negotiate CSV, redirect a plain form)
Litestar cannot see; they declare it here, and the document says it too.
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
# Headers, answers and media types handlers deal with themselves, by operation id.
_REQUEST_HEADERS: dict[str, list[dict[str, Any]]] = {}
_EXTRA_RESPONSES: dict[str, dict[str, dict[str, Any]]] = {}
_ALTERNATIVE_MEDIA_TYPES: dict[str, dict[str, dict[str, Any]]] = {}
STRING = {"type": "string"}
# 412 comes only from `If-Match` (see responses.check_if_match): an operation that can answer
# it reads the header.
IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "schema": STRING,
    "description": "The `ETag` of the version this write is based on: if the resource has "
    "changed since, the write is refused with 412 and nothing changes. Leave it out to write "
    "over whatever version is current.",
}


def document_request_body(
    operation_id: str, model: type[RequestSchema], media_types: tuple[str, ...]
) -> None:
    """Describe the body of an operation whose handler parses it itself."""
    _RAW_BODIES[operation_id] = (model, media_types)


def document_request_header(
    operation_id: str, name: str, description: str, schema: dict[str, Any] | None = None
) -> None:
    """Describe an optional header that an operation's handler reads itself."""
    _REQUEST_HEADERS.setdefault(operation_id, []).append(
        {"name": name, "in": "header", "required": False, "schema": schema or STRING}
        | {"description": description}
    )


def document_response(
    operation_id: str, status: int, description: str, headers: dict[str, str]
) -> None:
    """Describe a bodiless answer (a redirect) that an operation's handler gives itself."""
    _EXTRA_RESPONSES.setdefault(operation_id, {})[str(status)] = {
        "description": description,
        "headers": {
            name: {"description": text, "required": True, "schema": STRING}
            for name, text in headers.items()
        },
    }


def document_media_type(operation_id: str, media_type: str, description: str) -> None:
    """Describe another representation of an operation's 200 answer, chosen by `Accept`."""
    _ALTERNATIVE_MEDIA_TYPES.setdefault(operation_id, {})[media_type] = {
        "schema": STRING | {"description": description}
    }


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
            _document_raw_body(operation)
            _document_by_hand(operation)
    return refined


def _document_raw_body(operation: dict[str, Any]) -> None:
    documented = _RAW_BODIES.get(operation.get("operationId", ""))
    if documented is not None:
        model, media_types = documented
        schema = {"$ref": REF_TEMPLATE.format(model=model.__name__)}
        operation["requestBody"] = {
            "required": True,
            "content": {media_type: {"schema": schema} for media_type in media_types},
        }


def _document_by_hand(operation: dict[str, Any]) -> None:
    operation_id = operation.get("operationId", "")
    responses = operation.setdefault("responses", {})
    headers = list(_REQUEST_HEADERS.get(operation_id, []))
    if "412" in responses:
        headers.append(IF_MATCH)
    if headers:
        operation["parameters"] = [*operation.get("parameters", []), *copy.deepcopy(headers)]
    responses.update(copy.deepcopy(_EXTRA_RESPONSES.get(operation_id, {})))
    alternatives = _ALTERNATIVE_MEDIA_TYPES.get(operation_id, {})
    if alternatives:
        responses["200"].setdefault("content", {}).update(copy.deepcopy(alternatives))


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
