"""HTTP conventions every resource follows: Location on create, ETag and If-Match on one item."""

from typing import Any, TypeVar

from litestar import Request, Response
from litestar.datastructures import ResponseHeader

from inbound.errors import PreconditionFailed

T = TypeVar("T")


def documented_header(name: str, description: str) -> ResponseHeader:
    """A response header a handler sets itself, declared so that the contract describes it."""
    # Litestar gives a header its schema from the type of `value`, and OpenAPI requires one;
    # `documentation_only` keeps this placeholder out of every real response.
    return ResponseHeader(name=name, description=description, value="", documentation_only=True)


LOCATION_HEADER = documented_header("Location", "Where the new resource lives.")
ETAG_HEADER = documented_header(
    "ETag", "The resource's version; send it as `If-Match` to update only that version."
)


def etag(version: int) -> str:
    """The strong entity tag of a resource version."""
    return f'"{version}"'


def created(request: Request[Any, Any, Any], body: T, resource_id: object) -> Response[T]:
    """A 201 pointing at the resource just made under the requested collection."""
    location = f"{request.url.path.rstrip('/')}/{resource_id}"
    return Response(body, status_code=201, headers={"Location": location})


def one(body: T, *, version: int, status_code: int = 200) -> Response[T]:
    """A single resource with its ETag."""
    return Response(body, status_code=status_code, headers={"ETag": etag(version)})


def check_if_match(request: Request[Any, Any, Any], version: int) -> None:
    """Refuse with 412 a write whose `If-Match` names another version than the current one."""
    headers = request.headers.getall("if-match", [])
    if not headers:
        return
    tags = {tag.strip() for header in headers for tag in header.split(",")}
    if "*" not in tags and etag(version) not in tags:
        raise PreconditionFailed(
            f"the resource changed: its version is now {etag(version)}", field="If-Match"
        )
