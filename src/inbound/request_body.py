"""Public posts that take JSON or a plain HTML form, read into one dict of fields."""

from collections.abc import Callable
from typing import Any

import msgspec
from litestar import MediaType, Request

from inbound.errors import UnsupportedMediaType

FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


async def read_json_or_form(
    request: Request[Any, Any, Any],
    *,
    from_form: Callable[[Any], dict[str, Any]],
    refuse: Callable[[str], Exception],
    what: str,
) -> dict[str, Any]:
    """The posted fields, from a JSON object or, through `from_form`, from a form.

    Args:
        from_form: takes the fields the handler wants from the form (whose values are text).
        refuse: makes the 400 for a body that is not a JSON object.
        what: what is posted, for the 415 (`the answer`, `the form`).
    """
    media_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media_type == MediaType.JSON or media_type.endswith("+json"):
        try:
            body = msgspec.json.decode(await request.body())
        except (msgspec.DecodeError, UnicodeDecodeError):
            raise refuse("the body is not valid JSON in UTF-8") from None
        if not isinstance(body, dict):
            raise refuse("the body must be a JSON object")
        return body
    if media_type in FORM_TYPES:
        return from_form(await request.form())
    raise UnsupportedMediaType(
        f"post {what} as application/json, application/x-www-form-urlencoded or multipart/form-data"
    )
