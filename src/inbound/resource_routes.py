"""The standard handlers of a resource: create, list, read, change, archive and delete.

A controller still names each of its routes as a class attribute with its operation id and
summary, so a reader finds every route where it always was. Built here are the handler
bodies, the same for every resource, and what each kind of route has by convention: the
resource's read or write guards, the usual problem responses, ETag or Location headers.

    class PersonaController(Controller):
        dependencies = {"service": provide_service(PersonaService)}
        get_persona = PERSONAS.get("getPersona", "Read a persona")

        @PERSONAS.collection("listPersonas", "List personas")
        async def list_personas(self, service: ..., archived: bool = ...) -> Page[PersonaRead]:
            ...

Handlers written by hand (for filters or extra work) take those conventions from
`collection` (with `listed` for the page of rows) and `on_item`; `create` takes a `make`
step where a resource is created its own way. A route passes `responses=`, `description=` or
any other Litestar route option to differ. The built handlers use the controller's `service`
dependency, which offers `create(fields)`, `list_page(page)`, `get(key, lock=...)`,
`update(row, changes)` and `delete(row)`.
"""

import inspect
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody, Parameter
from litestar.types import Guard
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.errors import problems
from inbound.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, Page, PageRequest
from inbound.responses import ETAG_HEADER, LOCATION_HEADER, check_if_match, created, one
from inbound.schemas import NO_NUL

# The problems each kind of route answers with, unless a route names its own.
LIST_PROBLEMS = (400, 401, 403)
ITEM_PROBLEMS = (400, 401, 403, 404)
CREATE_PROBLEMS = (400, 401, 403, 409, 413, 422)
UPDATE_PROBLEMS = (400, 401, 403, 404, 409, 412, 413, 422)

Present = Callable[[Any, Any], Awaitable[Any]]
"""How a row becomes its response body, given the service and the row."""
SetArchived = Callable[[Any, Any, bool], Awaitable[Any]]
Make = Callable[[Any, Any], Awaitable[tuple[Any, Any]]]
"""How a resource with its own way of creating makes the row and the answer's body, given the
service and the request body (a key or secret shown once, say)."""
# Annotations built at run time, for the schema each resource gives.
_JSON_BODY: Any = JSONBody
_SERVICE: Any = NamedDependency[Any]  # type: ignore[misc]


def provide_service(make: Callable[[AsyncSession], Any]) -> Provide:
    """The dependency making a domain's service on the request's database session."""

    def provide(db_session: NamedDependency[AsyncSession]) -> Any:
        return make(db_session)

    return Provide(provide, sync_to_thread=False)


def _snake_case(operation_id: str) -> str:
    """`getSite` as `get_site`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


async def _set_archived(service: Any, row: Any, archived: bool) -> Any:
    """Archiving or restoring is a change of `archived`, made as any other change is."""
    return await service.update(row, {"archived": archived})


@dataclass(frozen=True)
class ResourceRoutes:
    """The handlers of one resource, addressed at `/{key}` under its controller's path."""

    read: type[BaseModel]
    key: str
    key_type: Any
    key_default: Any = inspect.Parameter.empty
    present: Present | None = None
    read_guards: Sequence[Guard] | None = None
    write_guards: Sequence[Guard] | None = None
    set_archived: SetArchived = _set_archived

    @classmethod
    def by_ref(cls, read: type[BaseModel], description: str, **options: Any) -> "ResourceRoutes":
        """A resource addressed by id or slug, `/{ref:str}`; `description` documents `ref`."""
        ref = Parameter(description=description, max_length=64, pattern=NO_NUL)
        return cls(read, "ref", str, ref, **options)

    @classmethod
    def by_id(cls, read: type[BaseModel], key: str, **options: Any) -> "ResourceRoutes":
        """A resource addressed by its UUID, `/{key:uuid}`."""
        return cls(read, key, FromPath[uuid.UUID], **options)

    @property
    def ref_param(self) -> Any:
        """The `ref` path parameter, for the resource's handlers written by hand."""
        return self.key_default

    @property
    def item_path(self) -> str:
        return f"/{{{self.key}:{'str' if self.key_type is str else 'uuid'}}}"

    @property
    def _response(self) -> Any:
        """The return annotation Litestar documents a one-item answer with."""
        return Response[self.read]  # type: ignore[name-defined]

    async def body(self, service: Any, row: Any) -> Any:
        """The response body of a row."""
        if self.present is not None:
            return await self.present(service, row)
        return self.read.model_validate(row)

    async def page(self, service: Any, rows: Sequence[Any], next_cursor: str | None) -> Page[Any]:
        """A page of rows."""
        return Page(items=[await self.body(service, row) for row in rows], next_cursor=next_cursor)

    async def listed(
        self, service: Any, limit: int, cursor: str | None, **filters: Any
    ) -> Page[Any]:
        """A page of the rows `service.list_page` finds with these filters."""
        page = PageRequest.parse(limit=limit, cursor=cursor)
        rows, next_cursor = await service.list_page(page, **filters)
        return await self.page(service, rows, next_cursor)

    async def one(self, service: Any, row: Any) -> Response[Any]:
        """One row with its ETag."""
        return one(await self.body(service, row), version=row.version)

    def create(
        self,
        schema: type[BaseModel],
        operation_id: str,
        summary: str,
        *,
        make: Make | None = None,
        answer: type[BaseModel] | None = None,
        **route: Any,
    ) -> HTTPRouteHandler:
        """`POST` on the collection: 201 with the new item and its Location.

        By default `service.create(fields)` makes the row, answered as the resource reads;
        `make` makes it otherwise, with a body of schema `answer`.
        """

        async def create(*, service: Any, request: Request[Any, Any, Any], data: Any) -> Any:
            if make is not None:
                row, body = await make(service, data)
                return created(request, body, row.id)
            row = await service.create(data.model_dump(mode="json"))
            return created(request, await self.body(service, row), row.id)

        route = self._options(operation_id, summary, route, CREATE_PROBLEMS, self.write_guards)
        route.setdefault("response_headers", [LOCATION_HEADER])
        returns = self._response if answer is None else Response[answer]  # type: ignore[valid-type]
        return post(**route)(self._handler(create, route, returns, data=schema))

    def list(self, operation_id: str, summary: str, **route: Any) -> HTTPRouteHandler:
        """`GET` on the collection, unfiltered, a keyset page at a time."""

        async def list_page(*, service: Any, limit: int, cursor: str | None) -> Any:
            return await self.listed(service, limit, cursor)

        route = self._options(operation_id, summary, route, LIST_PROBLEMS, self.read_guards)
        paging = {"limit": (LimitParam, DEFAULT_LIMIT), "cursor": (CursorParam, None)}
        returns = Page[self.read]  # type: ignore[name-defined]
        return get(**route)(self._handler(list_page, route, returns, query=paging))

    def collection(
        self, operation_id: str, summary: str, **route: Any
    ) -> Callable[[Callable[..., Any]], HTTPRouteHandler]:
        """A `GET` on the collection written by hand (for its filters), guarded for reading."""
        return get(**self._options(operation_id, summary, route, LIST_PROBLEMS, self.read_guards))

    def on_item(
        self,
        method: Callable[..., Callable[[Callable[..., Any]], HTTPRouteHandler]],
        suffix: str,
        operation_id: str,
        summary: str | None,
        **route: Any,
    ) -> Callable[[Callable[..., Any]], HTTPRouteHandler]:
        """A handler written by hand at `/{key}` + `suffix`, guarded for reading on `get`."""
        guards = self.read_guards if method is get else self.write_guards
        route = self._options(operation_id, summary, route, ITEM_PROBLEMS, guards)
        return method(self.item_path + suffix, **route)

    def get(self, operation_id: str, summary: str | None = None, **route: Any) -> HTTPRouteHandler:
        """`GET` on one item."""

        async def get_one(*, service: Any, key: Any) -> Response[Any]:
            return await self.one(service, await service.get(key))

        route = self._options(operation_id, summary, route, ITEM_PROBLEMS, self.read_guards)
        route.setdefault("response_headers", [ETAG_HEADER])
        return get(self.item_path, **route)(self._handler(get_one, route, self._response, key=True))

    def update(
        self, schema: type[BaseModel], operation_id: str, summary: str, **route: Any
    ) -> HTTPRouteHandler:
        """`PATCH` on one item: only the fields sent change, refused with 412 on a stale ETag."""

        async def update(
            *, service: Any, key: Any, request: Request[Any, Any, Any], data: Any
        ) -> Response[Any]:
            row = await service.get(key, lock=True)
            check_if_match(request, row.version)
            return await self.one(service, await service.update(row, data.changes()))

        route = self._options(operation_id, summary, route, UPDATE_PROBLEMS, self.write_guards)
        route.setdefault("response_headers", [ETAG_HEADER])
        handler = self._handler(update, route, self._response, key=True, data=schema)
        return patch(self.item_path, **route)(handler)

    def archive(self, operation_id: str, summary: str, **route: Any) -> HTTPRouteHandler:
        """`POST …/archive`: the item leaves lists but keeps its history."""
        return self._set_archived_route(True, operation_id, summary, route)

    def unarchive(self, operation_id: str, summary: str, **route: Any) -> HTTPRouteHandler:
        """`POST …/unarchive`: an archived item comes back."""
        return self._set_archived_route(False, operation_id, summary, route)

    def delete(self, operation_id: str, summary: str, **route: Any) -> HTTPRouteHandler:
        """`DELETE` on one item: 204."""

        async def delete_one(*, service: Any, key: Any) -> None:
            await service.delete(await service.get(key, lock=True))

        route = self._options(operation_id, summary, route, ITEM_PROBLEMS, self.write_guards)
        return delete(self.item_path, **route)(self._handler(delete_one, route, None, key=True))

    def _set_archived_route(
        self, archived: bool, operation_id: str, summary: str, route: dict[str, Any]
    ) -> HTTPRouteHandler:
        async def set_archived(*, service: Any, key: Any) -> Response[Any]:
            row = await service.get(key, lock=True)
            return await self.one(service, await self.set_archived(service, row, archived))

        route = self._options(operation_id, summary, route, ITEM_PROBLEMS, self.write_guards)
        route.setdefault("response_headers", [ETAG_HEADER])
        path = f"{self.item_path}/{'archive' if archived else 'unarchive'}"
        handler = self._handler(set_archived, route, self._response, key=True)
        return post(path, status_code=200, **route)(handler)

    @staticmethod
    def _options(
        operation_id: str,
        summary: str | None,
        route: dict[str, Any],
        problem_codes: tuple[int, ...],
        guards: Sequence[Guard] | None,
    ) -> dict[str, Any]:
        """The route's documentation and guards, the usual problem responses unless it says."""
        route = {"operation_id": operation_id, **route}
        if summary is not None:
            route["summary"] = summary
        route.setdefault("responses", problems(*problem_codes))
        if guards is not None:
            route.setdefault("guards", list(guards))
        return route

    def _handler(
        self,
        run: Callable[..., Awaitable[Any]],
        route: dict[str, Any],
        returns: Any,
        *,
        key: bool = False,
        data: type[BaseModel] | None = None,
        query: dict[str, tuple[Any, Any]] | None = None,
    ) -> Callable[..., Awaitable[Any]]:
        """A handler function for Litestar to read and call, running `run`.

        Litestar learns what to inject from the handler's signature, whose path parameter
        is named after the resource (`ref`, `site_id`...); `run` receives it as `key`.
        """

        async def handler(_controller: Any, **kwargs: Any) -> Any:
            if key:
                kwargs["key"] = kwargs.pop(self.key)
            return await run(**kwargs)

        keyword = inspect.Parameter.KEYWORD_ONLY
        params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        hints: dict[str, Any] = {}
        if "request" in inspect.signature(run).parameters:
            params.append(inspect.Parameter("request", keyword))
            hints["request"] = Request[Any, Any, Any]
        if data is not None:
            params.append(inspect.Parameter("data", keyword))
            hints["data"] = _JSON_BODY[data]
        params.append(inspect.Parameter("service", keyword))
        hints["service"] = _SERVICE
        if key:
            params.append(inspect.Parameter(self.key, keyword, default=self.key_default))
            hints[self.key] = self.key_type
        for name, (annotation, default) in (query or {}).items():
            params.append(inspect.Parameter(name, keyword, default=default))
            hints[name] = annotation
        hints["return"] = returns
        handler.__signature__ = inspect.Signature(params, return_annotation=returns)  # type: ignore[attr-defined]
        handler.__annotations__ = hints
        # Litestar identifies a handler, and names an operation without a summary, by it.
        handler.__name__ = handler.__qualname__ = _snake_case(route["operation_id"])
        # The source a reader (or a test) inspects is the body, not this wrapper.
        handler.__wrapped__ = run  # type: ignore[attr-defined]
        return handler
