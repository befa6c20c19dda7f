"""`/api/v1/api-keys`: admins issue, list and revoke server-side keys."""

import uuid

from litestar import Controller, delete, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from inbound.auth.models import ApiKey
from inbound.auth.principal import requires
from inbound.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from inbound.auth.scopes import Scope
from inbound.auth.service import ApiKeyService
from inbound.errors import problems
from inbound.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page
from inbound.resource_routes import ResourceRoutes, provide_service

API_KEYS = ResourceRoutes.by_id(ApiKeyRead, "key_id")


async def _issue(keys: ApiKeyService, data: ApiKeyCreate) -> tuple[ApiKey, ApiKeyCreated]:
    api_key, plain = await keys.issue(name=data.name, scopes=data.scopes)
    return api_key, ApiKeyCreated(**ApiKeyRead.model_validate(api_key).model_dump(), key=plain)


class ApiKeyController(Controller):
    path = "/api-keys"
    tags = ["api-keys"]
    guards = [requires(Scope.ADMIN)]
    dependencies = {"service": provide_service(ApiKeyService)}

    create_api_key = API_KEYS.create(
        ApiKeyCreate,
        "createApiKey",
        "Issue a key",
        description="The answer carries the full key, once. Only its hash is stored.",
        responses=problems(400, 401, 403, 413),
        make=_issue,
        answer=ApiKeyCreated,
    )

    @API_KEYS.collection("listApiKeys", "List keys")
    async def list_api_keys(
        self,
        service: NamedDependency[ApiKeyService],
        include_revoked: FromQuery[bool] = False,
        limit: LimitParam = DEFAULT_LIMIT,
        cursor: CursorParam = None,
    ) -> Page[ApiKeyRead]:
        return await API_KEYS.listed(service, limit, cursor, include_revoked=include_revoked)

    @API_KEYS.on_item(get, "", "getApiKey", None)
    async def get_api_key(
        self, service: NamedDependency[ApiKeyService], key_id: FromPath[uuid.UUID]
    ) -> ApiKeyRead:
        return ApiKeyRead.model_validate(await service.get(key_id))

    @API_KEYS.on_item(
        delete,
        "",
        "revokeApiKey",
        "Revoke a key",
        description="The key stops working at once. It stays listed with `include_revoked`.",
    )
    async def revoke_api_key(
        self, service: NamedDependency[ApiKeyService], key_id: FromPath[uuid.UUID]
    ) -> None:
        await service.revoke(key_id)
