"""`/api/v1/api-keys`: admins issue, list and revoke server-side keys."""

import uuid
from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from inbound.auth.principal import requires
from inbound.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from inbound.auth.scopes import Scope
from inbound.auth.service import ApiKeyService
from inbound.errors import problems
from inbound.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page, PageRequest
from inbound.resource_routes import provide_service
from inbound.responses import LOCATION_HEADER, created


class ApiKeyController(Controller):
    path = "/api-keys"
    tags = ["api-keys"]
    guards = [requires(Scope.ADMIN)]
    dependencies = {"service": provide_service(ApiKeyService)}

    @post(
        operation_id="createApiKey",
        summary="Issue a key",
        description="The answer carries the full key, once. Only its hash is stored.",
        responses=problems(400, 401, 403, 413),
        response_headers=[LOCATION_HEADER],
    )
    async def create_api_key(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[ApiKeyCreate],
        service: NamedDependency[ApiKeyService],
    ) -> Response[ApiKeyCreated]:
        api_key, plain = await service.issue(name=data.name, scopes=data.scopes)
        body = ApiKeyCreated(**ApiKeyRead.model_validate(api_key).model_dump(), key=plain)
        return created(request, body, api_key.id)

    @get(operation_id="listApiKeys", summary="List keys", responses=problems(400, 401, 403))
    async def list_api_keys(
        self,
        service: NamedDependency[ApiKeyService],
        include_revoked: FromQuery[bool] = False,
        limit: LimitParam = DEFAULT_LIMIT,
        cursor: CursorParam = None,
    ) -> Page[ApiKeyRead]:
        rows, next_cursor = await service.list_page(
            PageRequest.parse(limit=limit, cursor=cursor), include_revoked=include_revoked
        )
        return Page(items=[ApiKeyRead.model_validate(r) for r in rows], next_cursor=next_cursor)

    @get("/{key_id:uuid}", operation_id="getApiKey", responses=problems(400, 401, 403, 404))
    async def get_api_key(
        self, service: NamedDependency[ApiKeyService], key_id: FromPath[uuid.UUID]
    ) -> ApiKeyRead:
        return ApiKeyRead.model_validate(await service.get(key_id))

    @delete(
        "/{key_id:uuid}",
        operation_id="revokeApiKey",
        summary="Revoke a key",
        description="The key stops working at once. It stays listed with `include_revoked`.",
        responses=problems(400, 401, 403, 404),
    )
    async def revoke_api_key(
        self, service: NamedDependency[ApiKeyService], key_id: FromPath[uuid.UUID]
    ) -> None:
        await service.revoke(key_id)
