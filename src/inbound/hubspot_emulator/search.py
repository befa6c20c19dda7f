"""Contact search as HubSpot answers `POST /crm/v3/objects/contacts/search`: filter groups
ORed, the filters in a group ANDed, pages of at most 200, no further than 10,000 results."""

from collections.abc import Iterable
from typing import Any

from inbound.hubspot_emulator.answers import PortalError, public

DEFAULT_PROPERTIES = [
    "createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname",
]  # fmt: skip


def search_page(contacts: Iterable[dict[str, Any]], request: dict[str, Any]) -> dict[str, Any]:
    """The page of ``contacts`` the search ``request`` asks for."""
    limit = int(request.get("limit") or 10)
    if limit > 200:
        raise PortalError(400, "VALIDATION_ERROR", "limit must be at most 200")
    after = int(request.get("after") or 0)
    groups = request.get("filterGroups") or []
    if len(groups) > 5 or sum(len(g.get("filters") or []) for g in groups) > 25:
        raise PortalError(400, "VALIDATION_ERROR", "Too many filters in the request")
    matching = [
        contact for contact in contacts
        if not groups or any(
            all(_matches(contact["properties"], f) for f in group.get("filters") or [])
            for group in groups
        )
    ]  # fmt: skip
    matching.sort(key=lambda contact: int(contact["id"]))
    if after >= 10_000:
        raise PortalError(400, "VALIDATION_ERROR", "paging is limited to 10,000 results")
    page = matching[after : after + limit]
    names = request.get("properties") or DEFAULT_PROPERTIES
    body: dict[str, Any] = {"total": len(matching), "results": [public(c, names) for c in page]}
    if after + limit < len(matching):
        body["paging"] = {"next": {"after": str(after + limit)}}
    return body


def _matches(properties: dict[str, str], rule: dict[str, Any]) -> bool:
    operator = rule.get("operator", "EQ")
    actual = properties.get(rule.get("propertyName", ""))
    value, values = rule.get("value"), rule.get("values") or []
    if operator == "HAS_PROPERTY":
        return bool(actual)
    if operator == "NOT_HAS_PROPERTY":
        return not actual
    if actual is None:
        return operator in ("NEQ", "NOT_IN")
    lowered = actual.lower()
    if operator == "EQ":
        return lowered == str(value).lower()
    if operator == "NEQ":
        return lowered != str(value).lower()
    if operator == "IN":
        return lowered in {str(v).lower() for v in values}
    if operator == "NOT_IN":
        return lowered not in {str(v).lower() for v in values}
    if operator == "CONTAINS_TOKEN":
        return str(value).lower().strip("*") in lowered
    if operator == "NOT_CONTAINS_TOKEN":
        return str(value).lower().strip("*") not in lowered
    low, high = _comparable(actual), _comparable(value)
    if operator == "BETWEEN":
        return bool(high <= low <= _comparable(rule.get("highValue")))
    return bool(
        {"GT": low > high, "GTE": low >= high, "LT": low < high, "LTE": low <= high}.get(operator)
    )


def _comparable(value: Any) -> tuple[int, float, str]:
    """Numbers (epoch milliseconds included) compare as numbers, anything else as text."""
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))
