"""The emulator's own paths (``/_emulator/...``): a test looks inside the portal, switches
faults and limits, and acts in HubSpot as a person would. Each gives a status and a body."""

import re
from typing import TYPE_CHECKING, Any

from inbound.hubspot_emulator.answers import PortalError
from inbound.hubspot_emulator.routes import error

if TYPE_CHECKING:
    from inbound.hubspot_emulator.server import Emulator

CONTACT = re.compile(r"/_emulator/contacts/(\d+)")


def control(
    emulator: "Emulator", method: str, path: str, body: Any, query: dict[str, list[str]]
) -> tuple[int, Any]:
    """Answer one call to the emulator's own paths."""
    given = body if isinstance(body, dict) else {}
    if method == "GET" and path == "/_emulator/contacts":
        with emulator.portal.lock:
            return 200, {"results": [dict(c) for c in emulator.portal.contacts.values()]}
    if method == "GET" and path == "/_emulator/stats":
        return 200, _stats(emulator)
    if method == "POST" and path == "/_emulator/faults":
        return _configure(emulator, given)
    if method == "POST" and path == "/_emulator/reset":
        emulator.reset()
        return 204, None
    if method == "PATCH" and (found := CONTACT.fullmatch(path)):
        return _edit(emulator, found.group(1), given)
    if method == "DELETE" and (found := CONTACT.fullmatch(path)):
        return _delete(emulator, found.group(1), query.get("gdpr", ["false"])[0] == "true")
    return 404, error(404, "OBJECT_NOT_FOUND", f"No route for {method} {path}")


def _stats(emulator: "Emulator") -> dict[str, Any]:
    with emulator._stats_lock:
        counts = dict(emulator.stats)
    return {
        "counts": counts, "rate_limit_peak": emulator.rate_limit.peak,
        "rate_limit": emulator.rate_limit.limit,
        "interval_seconds": emulator.rate_limit.interval_seconds,
        "contacts": len(emulator.portal.contacts),
        "contacts_created": emulator.portal.created,
        "webhooks_sent": len(emulator.webhooks.sent),
    }  # fmt: skip


def _configure(emulator: "Emulator", body: dict[str, Any]) -> tuple[int, Any]:
    limits = {
        k: body.pop(k)
        for k in ("limit", "interval_seconds", "daily", "search_per_second")
        if k in body
    }
    webhook = {k: body.pop(k) for k in ("webhook_target", "client_secret") if k in body}
    for name in ("lifecycle_forward_only", "multi_status", "echo_trace_ids"):
        if name in body:
            setattr(emulator.portal, name, bool(body.pop(name)))
    try:
        emulator.faults.update(body)
    except ValueError as problem:
        return 400, error(400, "VALIDATION_ERROR", str(problem))
    for name, value in limits.items():
        setattr(emulator.rate_limit, name, value)
    if "webhook_target" in webhook:
        emulator.webhooks.target = webhook["webhook_target"]
    if "client_secret" in webhook:
        emulator.webhooks.client_secret = webhook["client_secret"]
    return 204, None


def _edit(emulator: "Emulator", contact_id: str, body: dict[str, Any]) -> tuple[int, Any]:
    with emulator.portal.lock:
        contact = emulator.portal.contacts.get(contact_id)
        if contact is None:
            return 404, error(404, "OBJECT_NOT_FOUND", f"no contact {contact_id}")
        properties = body.get("properties") or {}
        emulator.portal.set_properties(contact, properties, body.get("source", "CRM_UI"))
    emulator.report_changes()
    return 200, contact


def _delete(emulator: "Emulator", contact_id: str, gdpr: bool) -> tuple[int, Any]:
    try:
        emulator.portal.remove(contact_id, None, privacy=gdpr, source="CRM_UI")
    except PortalError as problem:
        return problem.status, problem.body
    emulator.report_changes()
    return 204, None
