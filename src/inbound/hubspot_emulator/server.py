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
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec

from inbound.hubspot_emulator.answers import PortalError
from inbound.hubspot_emulator.control import control
from inbound.hubspot_emulator.limits import Faults, RateLimit
from inbound.hubspot_emulator.routes import ROUTES, error
from inbound.hubspot_emulator.store import Portal
from inbound.hubspot_emulator.webhooks import Webhooks

__all__ = ["Emulator", "Webhooks"]


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
        self.webhooks.report(self.portal)


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
            self._answer(400, error(400, "VALIDATION_ERROR", "Invalid input JSON"))
            return
        if url.path.startswith("/_emulator/"):
            self._answer(*control(self.emulator, method, url.path, body, parse_qs(url.query)))
            return
        self._api(method, url.path, parse_qs(url.query), body)

    def _api(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> None:
        emulator = self.emulator
        if self.headers.get("Authorization") != f"Bearer {emulator.token}":
            emulator.count("401")
            self._answer(401, error(401, "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at "
                "https://developers.hubspot.com/docs/methods/auth/oauth-overview"),
                {"X-HubSpot-Auth-Failure": "401 Unauthorized"})  # fmt: skip
            return
        route = next(((p, n, h) for m, p, n, h in ROUTES if m == method and p.match(path)), None)
        if route is None:
            self._answer(404, error(404, "OBJECT_NOT_FOUND", f"No route for {method} {path}"))
            return
        pattern, name, handler = route
        search = name == "search"
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
            self._answer(503, error(503, "INTERNAL_ERROR", "Service Unavailable"))
            return
        if fault == "drop_before":
            self._drop()
            return
        try:
            match = pattern.match(path)
            assert match is not None
            status, answer = handler(emulator, match.groupdict(), query, body)
        except PortalError as refused:
            status, answer = refused.status, refused.body | {"correlationId": str(uuid.uuid4())}
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
