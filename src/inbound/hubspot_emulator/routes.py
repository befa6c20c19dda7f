"""HubSpot's CRM v3 routes as the emulator answers them: each a function of the emulator, the
path's parts, the query and the body, giving a status and a body."""

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from inbound.hubspot_emulator.answers import PortalError, iso

if TYPE_CHECKING:
    from inbound.hubspot_emulator.server import Emulator

Handler = Callable[["Emulator", dict[str, str], dict[str, list[str]], Any], tuple[int, Any]]


def _upsert(
    emulator: "Emulator", _p: dict[str, str], _q: dict[str, list[str]], body: Any
) -> tuple[int, Any]:
    started = iso(datetime.now(UTC))
    results, errors = emulator.portal.upsert(_inputs(body))
    answer: dict[str, Any] = {
        "status": "COMPLETE", "results": results, "requestedAt": started, "startedAt": started,
        "completedAt": iso(datetime.now(UTC)),
    }  # fmt: skip
    if errors:
        answer |= {"numErrors": len(errors), "errors": errors}
        return 207, answer
    return 200, answer


def _batch_read(
    emulator: "Emulator", _p: dict[str, str], _q: dict[str, list[str]], body: Any
) -> tuple[int, Any]:
    started = iso(datetime.now(UTC))
    ids = [str(item.get("id", "")) for item in _inputs(body)]
    found, missing = emulator.portal.read(ids, body.get("idProperty"), body.get("properties"))
    answer: dict[str, Any] = {
        "status": "COMPLETE", "results": found, "startedAt": started,
        "completedAt": iso(datetime.now(UTC)),
    }  # fmt: skip
    if missing:
        answer["numErrors"] = 1
        answer["errors"] = [{
            "status": "error", "category": "OBJECT_NOT_FOUND",
            "message": "Could not get some CONTACT objects, they may be deleted or not exist. "
                       "Check that ids are valid.",
            "context": {"ids": missing},
        }]  # fmt: skip
        return 207, answer
    return 200, answer


def _search(
    emulator: "Emulator", _p: dict[str, str], _q: dict[str, list[str]], body: Any
) -> tuple[int, Any]:
    return 200, emulator.portal.search(body if isinstance(body, dict) else {})


def _gdpr_delete(
    emulator: "Emulator", _p: dict[str, str], _q: dict[str, list[str]], body: Any
) -> tuple[int, Any]:
    if not isinstance(body, dict) or not body.get("objectId"):
        raise PortalError(400, "VALIDATION_ERROR", "objectId is required")
    emulator.portal.purge(str(body["objectId"]), body.get("idProperty"))
    return 204, None


def _archive(
    emulator: "Emulator", path: dict[str, str], _q: dict[str, list[str]], _b: Any
) -> tuple[int, Any]:
    emulator.portal.remove(path["id"], None)
    return 204, None


def _get_contact(
    emulator: "Emulator", path: dict[str, str], query: dict[str, list[str]], _b: Any
) -> tuple[int, Any]:
    names = query.get("properties")
    wanted = [n for value in names for n in value.split(",")] if names else None
    id_property = query["idProperty"][0] if query.get("idProperty") else None
    return 200, emulator.portal.get(path["id"], id_property, wanted)


def _listing(kind: str) -> Handler:
    """Every property or property group (``kind``: `properties` or `groups`)."""

    def listing(
        emulator: "Emulator", _p: dict[str, str], _q: dict[str, list[str]], _b: Any
    ) -> tuple[int, Any]:
        with emulator.portal.lock:
            return 200, {"results": list(getattr(emulator.portal, kind).values())}

    return listing


def _finding(kind: str, noun: str) -> Handler:
    """One property or property group, by the name in the path."""

    def finding(
        emulator: "Emulator", path: dict[str, str], _q: dict[str, list[str]], _b: Any
    ) -> tuple[int, Any]:
        found = getattr(emulator.portal, kind).get(path["name"])
        if found is None:
            raise PortalError(404, "OBJECT_NOT_FOUND", f"Unable to find {noun} {path['name']}")
        return 200, found

    return finding


def _creating(noun: str) -> Handler:
    """A new property or property group, defined by the body."""

    def creating(
        emulator: "Emulator", _p: dict[str, str], _q: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        create = getattr(emulator.portal, f"create_{noun}")
        return 201, create(body if isinstance(body, dict) else {})

    return creating


CONTACTS = "/crm/v3/objects/contacts"
PROPERTIES = "/crm/v3/properties/contacts"
# Method, path pattern, the name calls are counted under, handler.
ROUTES: list[tuple[str, re.Pattern[str], str, Handler]] = [
    (method, re.compile(pattern + "$"), name, handler)
    for method, pattern, name, handler in (
        ("POST", f"{CONTACTS}/batch/upsert", "upsert", _upsert),
        ("POST", f"{CONTACTS}/batch/read", "batch_read", _batch_read),
        ("POST", f"{CONTACTS}/search", "search", _search),
        ("POST", f"{CONTACTS}/gdpr-delete", "gdpr_delete", _gdpr_delete),
        ("GET", f"{CONTACTS}/(?P<id>[^/]+)", "get_contact", _get_contact),
        ("DELETE", f"{CONTACTS}/(?P<id>[^/]+)", "archive", _archive),
        ("GET", f"{PROPERTIES}/groups", "groups", _listing("groups")),
        ("POST", f"{PROPERTIES}/groups", "create_group", _creating("group")),
        ("GET", f"{PROPERTIES}/groups/(?P<name>[^/]+)", "group", _finding("groups", "group")),
        ("GET", PROPERTIES, "properties", _listing("properties")),
        ("POST", PROPERTIES, "create_property", _creating("property")),
        ("GET", f"{PROPERTIES}/(?P<name>[^/]+)", "property", _finding("properties", "property")),
    )
]


def _inputs(body: Any) -> list[dict[str, Any]]:
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not all(isinstance(item, dict) for item in inputs):
        raise PortalError(400, "VALIDATION_ERROR", "inputs must be a list of objects")
    return inputs


def error(status: int, category: str, message: str) -> dict[str, Any]:
    """HubSpot's error body."""
    return {"status": "error", "message": message, "correlationId": str(uuid.uuid4()),
            "category": category}  # fmt: skip
