"""HubSpot's CRM endpoints over HTTP, on a local port, for tests and for development.

A threaded server from the standard library: every call is answered in its own thread, so
added latency and slow answers overlap as they do against the real service, and a fault can
close a connection without a word, which an ASGI server would not let an app do. Paths,
status codes, headers and bodies follow HubSpot's CRM v3 API, so `hubspot-api-client`
pointed here with ``host=`` works as it does against ``api.hubapi.com``.

Besides HubSpot's paths, ``/_emulator/...`` lets a test look inside and switch faults:

- ``GET /_emulator/contacts``: every contact, with all its properties;
- ``GET /_emulator/stats``: calls by route and status, faults dealt, the rate-limit peak;
- ``POST /_emulator/faults``: set fault rates and latency (see `Faults`), rate limits;
- ``POST /_emulator/reset``: an empty portal;
- ``PATCH /_emulator/contacts/{id}``: change properties as a person in HubSpot would, which
  sends the portal's webhooks to the configured target;
- ``DELETE /_emulator/contacts/{id}[?gdpr=true]``: delete a contact as a person in HubSpot
  would (a GDPR delete with ``gdpr=true``), which sends `contact.deletion` (or
  `contact.privacyDeletion`) to the webhook target.
"""

import collections
import contextlib
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import msgspec
from hubspot.utils.signature import Signature

from inbound.hubspot_emulator.limits import Faults, RateLimit
from inbound.hubspot_emulator.store import Portal, PortalError, iso

Handler = Callable[["Emulator", dict[str, str], dict[str, list[str]], Any], tuple[int, Any]]
WATCHED = frozenset({"lifecyclestage", "hubspot_owner_id", "hs_lead_status"})
DELETIONS = frozenset({"contact.deletion", "contact.privacyDeletion"})


@dataclass
class Webhooks:
    """Where the portal reports contact property changes, signed as HubSpot signs them (v3)."""

    target: str | None = None  # without one, events are only kept in `sent`
    client_secret: str = "emulator-client-secret"
    app_id: int = 1160452
    watched: frozenset[str] = WATCHED
    sent: list[dict[str, Any]] = field(default_factory=list)
    _event_ids: Any = field(default_factory=lambda: iter(range(3_816_279_340, 10**12)))

    def signed(self, body: bytes, at_ms: int, url: str | None = None) -> dict[str, str]:
        """The headers HubSpot sends with ``body`` posted to ``url`` (the target's, unless
        given) at ``at_ms``."""
        signature = Signature.get_signature(
            self.client_secret, body.decode(), "v3", url or self.target, "POST", str(at_ms)
        )
        return {
            "Content-Type": "application/json",
            "X-HubSpot-Signature-v3": signature,
            "X-HubSpot-Signature-Version": "v3",
            "X-HubSpot-Request-Timestamp": str(at_ms),
        }


class Emulator:
    """A HubSpot portal served on ``host:port`` (port 0: any free one)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "pat-na1-emulator",
        portal: Portal | None = None,
        rate_limit: RateLimit | None = None,
        faults: Faults | None = None,
        webhooks: Webhooks | None = None,
    ) -> None:
        self.token = token
        self.portal = portal or Portal()
        self.rate_limit = rate_limit or RateLimit()
        self.faults = faults or Faults()
        self.webhooks = webhooks or Webhooks()
        self.stats: collections.Counter[str] = collections.Counter()
        self._stats_lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> "Emulator":
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(5)

    def count(self, key: str) -> None:
        with self._stats_lock:
            self.stats[key] += 1

    def reset(self) -> None:
        self.portal = Portal(portal_id=self.portal.portal_id)
        self.rate_limit.reset()
        self.webhooks.sent.clear()
        with self._stats_lock:
            self.stats.clear()

    def report_changes(self) -> None:
        """Send the portal's webhooks for the watched properties the last calls changed."""
        with self.portal.lock:
            changes, self.portal.changes = self.portal.changes, []
        events = [
            {
                "eventId": next(self.webhooks._event_ids), "subscriptionId": 25,
                "portalId": self.portal.portal_id, "appId": self.webhooks.app_id,
                "occurredAt": int(time.time() * 1000),
                "subscriptionType": "contact.propertyChange", "attemptNumber": 0,
            } | change
            for change in changes
            if change.get("subscriptionType") in DELETIONS
            or change.get("propertyName") in self.webhooks.watched
        ]  # fmt: skip
        if not events:
            return
        self.webhooks.sent.extend(events)
        if self.webhooks.target:
            threading.Thread(target=self._deliver, args=(events,), daemon=True).start()

    def _deliver(self, events: list[dict[str, Any]]) -> None:
        body = msgspec.json.encode(events)
        for attempt in range(3):
            headers = self.webhooks.signed(body, int(time.time() * 1000))
            try:
                answer = httpx.post(
                    self.webhooks.target or "", content=body, headers=headers, timeout=5
                )
                if answer.is_success:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2 * 2**attempt)


# HubSpot's routes: method, path pattern, handler.


def _upsert(
    emulator: Emulator, _p: dict[str, str], _q: dict[str, list[str]], body: Any
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
    emulator: Emulator, _p: dict[str, str], _q: dict[str, list[str]], body: Any
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
    emulator: Emulator, _p: dict[str, str], _q: dict[str, list[str]], body: Any
) -> tuple[int, Any]:
    return 200, emulator.portal.search(body if isinstance(body, dict) else {})


def _gdpr_delete(
    emulator: Emulator, _p: dict[str, str], _q: dict[str, list[str]], body: Any
) -> tuple[int, Any]:
    if not isinstance(body, dict) or not body.get("objectId"):
        raise PortalError(400, "VALIDATION_ERROR", "objectId is required")
    emulator.portal.purge(str(body["objectId"]), body.get("idProperty"))
    return 204, None


def _archive(
    emulator: Emulator, path: dict[str, str], _q: dict[str, list[str]], _b: Any
) -> tuple[int, Any]:
    emulator.portal.remove(path["id"], None)
    return 204, None


def _get_contact(
    emulator: Emulator, path: dict[str, str], query: dict[str, list[str]], _b: Any
) -> tuple[int, Any]:
    names = query.get("properties")
    wanted = [n for value in names for n in value.split(",")] if names else None
    id_property = query["idProperty"][0] if query.get("idProperty") else None
    return 200, emulator.portal.get(path["id"], id_property, wanted)


def _properties(
    emulator: Emulator, _p: dict[str, str], _q: dict[str, list[str]], _b: Any
) -> tuple[int, Any]:
    with emulator.portal.lock:
        return 200, {"results": list(emulator.portal.properties.values())}


def _property(
    emulator: Emulator, path: dict[str, str], _q: dict[str, list[str]], _b: Any
) -> tuple[int, Any]:
    found = emulator.portal.properties.get(path["name"])
    if found is None:
        raise PortalError(404, "OBJECT_NOT_FOUND", f"Unable to find property {path['name']}")
    return 200, found


def _create_property(
    emulator: Emulator, _p: dict[str, str], _q: dict[str, list[str]], body: Any
) -> tuple[int, Any]:
    return 201, emulator.portal.create_property(body if isinstance(body, dict) else {})


def _groups(
    emulator: Emulator, _p: dict[str, str], _q: dict[str, list[str]], _b: Any
) -> tuple[int, Any]:
    with emulator.portal.lock:
        return 200, {"results": list(emulator.portal.groups.values())}


def _group(
    emulator: Emulator, path: dict[str, str], _q: dict[str, list[str]], _b: Any
) -> tuple[int, Any]:
    found = emulator.portal.groups.get(path["name"])
    if found is None:
        raise PortalError(404, "OBJECT_NOT_FOUND", f"Unable to find group {path['name']}")
    return 200, found


def _create_group(
    emulator: Emulator, _p: dict[str, str], _q: dict[str, list[str]], body: Any
) -> tuple[int, Any]:
    return 201, emulator.portal.create_group(body if isinstance(body, dict) else {})


CONTACTS = "/crm/v3/objects/contacts"
PROPERTIES = "/crm/v3/properties/contacts"
ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    (method, re.compile(pattern + "$"), handler)
    for method, pattern, handler in (
        ("POST", f"{CONTACTS}/batch/upsert", _upsert),
        ("POST", f"{CONTACTS}/batch/read", _batch_read),
        ("POST", f"{CONTACTS}/search", _search),
        ("POST", f"{CONTACTS}/gdpr-delete", _gdpr_delete),
        ("GET", f"{CONTACTS}/(?P<id>[^/]+)", _get_contact),
        ("DELETE", f"{CONTACTS}/(?P<id>[^/]+)", _archive),
        ("GET", f"{PROPERTIES}/groups", _groups),
        ("POST", f"{PROPERTIES}/groups", _create_group),
        ("GET", f"{PROPERTIES}/groups/(?P<name>[^/]+)", _group),
        ("GET", PROPERTIES, _properties),
        ("POST", PROPERTIES, _create_property),
        ("GET", f"{PROPERTIES}/(?P<name>[^/]+)", _property),
    )
]


def _inputs(body: Any) -> list[dict[str, Any]]:
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not all(isinstance(item, dict) for item in inputs):
        raise PortalError(400, "VALIDATION_ERROR", "inputs must be a list of objects")
    return inputs


def _handler_for(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        pass

    Handler.emulator = emulator
    return Handler


class _Handler(BaseHTTPRequestHandler):
    emulator: Emulator
    protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests and benchmarks make thousands of calls

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = msgspec.json.decode(raw) if raw else None
        except msgspec.DecodeError:
            self._answer(400, _error(400, "VALIDATION_ERROR", "Invalid input JSON"))
            return
        if url.path.startswith("/_emulator/"):
            self._control(method, url.path, body, parse_qs(url.query))
            return
        self._api(method, url.path, parse_qs(url.query), body)

    def _api(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> None:
        emulator = self.emulator
        if self.headers.get("Authorization") != f"Bearer {emulator.token}":
            emulator.count("401")
            self._answer(401, _error(401, "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at "
                "https://developers.hubspot.com/docs/methods/auth/oauth-overview"),
                {"X-HubSpot-Auth-Failure": "401 Unauthorized"})  # fmt: skip
            return
        route = next(((p, h) for m, p, h in ROUTES if m == method and p.match(path)), None)
        if route is None:
            self._answer(404, _error(404, "OBJECT_NOT_FOUND", f"No route for {method} {path}"))
            return
        pattern, handler = route
        name = handler.__name__.strip("_")
        search = handler is _search
        fault = emulator.faults.draw()
        emulator.count(f"calls:{name}")
        if fault:
            emulator.count(f"fault:{fault}")
        if fault == "429":
            self._limited("TEN_SECONDLY_ROLLING", emulator.faults.retry_after_seconds, search)
            return
        policy, wait = emulator.rate_limit.take(search)
        if policy:
            emulator.count("429:limit")
            self._limited(policy, max(1, round(wait + 0.5)), search)
            return
        if fault == "5xx" or name in emulator.faults.failing_routes:
            self._delay()
            self._answer(503, _error(503, "INTERNAL_ERROR", "Service Unavailable"))
            return
        if fault == "drop_before":
            self._drop()
            return
        try:
            match = pattern.match(path)
            assert match is not None
            status, answer = handler(emulator, match.groupdict(), query, body)
        except PortalError as error:
            status, answer = error.status, error.body | {"correlationId": str(uuid.uuid4())}
        emulator.count(f"{status}:{name}")
        emulator.report_changes()
        if fault == "drop_after":
            self._drop()
            return
        if fault == "slow":
            time.sleep(emulator.faults.slow_seconds)
        self._delay()
        self._answer(status, answer, {} if search else emulator.rate_limit.headers())

    def _limited(self, policy: str, retry_after: int, search: bool) -> None:
        limits = self.emulator.rate_limit
        if search:
            message, policy = "You have reached your secondly limit.", "SECONDLY"
        elif policy == "DAILY":
            message = "You have reached your daily limit."
        else:
            message = "You have reached your ten_secondly_rolling limit."
        body = {
            "status": "error", "message": message, "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()), "policyName": policy,
            "groupName": "publicapi:private_app-api-calls-ten-secondly:1512050:26892217",
        }  # fmt: skip
        headers = {"Retry-After": str(retry_after)} | ({} if search else limits.headers())
        self.emulator.count("429")
        self._delay()
        self._answer(429, body, headers)

    def _delay(self) -> None:
        if self.emulator.faults.latency_seconds:
            time.sleep(self.emulator.faults.latency_seconds)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _control(
        self, method: str, path: str, body: Any, query: dict[str, list[str]] | None = None
    ) -> None:
        emulator = self.emulator
        if method == "GET" and path == "/_emulator/contacts":
            with emulator.portal.lock:
                contacts = [dict(c) for c in emulator.portal.contacts.values()]
            self._answer(200, {"results": contacts})
        elif method == "GET" and path == "/_emulator/stats":
            with emulator._stats_lock:
                counts = dict(emulator.stats)
            self._answer(200, {
                "counts": counts, "rate_limit_peak": emulator.rate_limit.peak,
                "rate_limit": emulator.rate_limit.limit,
                "interval_seconds": emulator.rate_limit.interval_seconds,
                "contacts": len(emulator.portal.contacts),
                "contacts_created": emulator.portal.created,
                "webhooks_sent": len(emulator.webhooks.sent),
            })  # fmt: skip
        elif method == "POST" and path == "/_emulator/faults":
            self._configure(body if isinstance(body, dict) else {})
        elif method == "POST" and path == "/_emulator/reset":
            emulator.reset()
            self._answer(204, None)
        elif method == "PATCH" and (found := re.fullmatch(r"/_emulator/contacts/(\d+)", path)):
            self._edit(found.group(1), body if isinstance(body, dict) else {})
        elif method == "DELETE" and (found := re.fullmatch(r"/_emulator/contacts/(\d+)", path)):
            gdpr = (query or {}).get("gdpr", ["false"])[0] == "true"
            self._delete(found.group(1), gdpr)
        else:
            self._answer(404, _error(404, "OBJECT_NOT_FOUND", f"No route for {method} {path}"))

    def _configure(self, body: dict[str, Any]) -> None:
        emulator = self.emulator
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
        except ValueError as error:
            self._answer(400, _error(400, "VALIDATION_ERROR", str(error)))
            return
        for name, value in limits.items():
            setattr(emulator.rate_limit, name, value)
        if "webhook_target" in webhook:
            emulator.webhooks.target = webhook["webhook_target"]
        if "client_secret" in webhook:
            emulator.webhooks.client_secret = webhook["client_secret"]
        self._answer(204, None)

    def _edit(self, contact_id: str, body: dict[str, Any]) -> None:
        emulator = self.emulator
        with emulator.portal.lock:
            contact = emulator.portal.contacts.get(contact_id)
            if contact is None:
                self._answer(404, _error(404, "OBJECT_NOT_FOUND", f"no contact {contact_id}"))
                return
            properties = body.get("properties") or {}
            emulator.portal.set_properties(contact, properties, body.get("source", "CRM_UI"))
        emulator.report_changes()
        self._answer(200, contact)

    def _delete(self, contact_id: str, gdpr: bool) -> None:
        try:
            self.emulator.portal.remove(contact_id, None, privacy=gdpr, source="CRM_UI")
        except PortalError as error:
            self._answer(error.status, error.body)
            return
        self.emulator.report_changes()
        self._answer(204, None)

    def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else msgspec.json.encode(body)
        self.send_response(status)
        if payload:
            self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-HubSpot-Correlation-Id", str(uuid.uuid4()))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if payload:
            self.wfile.write(payload)


def _error(status: int, category: str, message: str) -> dict[str, Any]:
    return {"status": "error", "message": message, "correlationId": str(uuid.uuid4()),
            "category": category}  # fmt: skip
