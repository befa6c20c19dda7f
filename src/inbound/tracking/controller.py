"""The public ingest endpoints, shaped like Segment's HTTP API: `/api/v1/batch` and one event
at `/api/v1/t`, with the paths Segment's own libraries post to (`/b`, `/p`, `/i`, `/track`,
`/page`, `/identify`), so that analytics.js and analytics-node work when pointed at us.

Like captures, they answer browsers directly: the site's public key (HTTP Basic user name as
Segment sends it, `Authorization: Bearer`, or `writeKey` in the body), CORS against the
sites' origins, a rate limit per client address. Bodies may be `text/plain`, as
`navigator.sendBeacon` sends them, and gzipped, as Segment's server libraries can send them.
"""

import base64
import binascii
import zlib
from typing import Any

import msgspec
from litestar import Controller, Request, post
from litestar.datastructures import State
from litestar.exceptions.http_exceptions import RequestEntityTooLarge

from inbound.contract import document_request_body
from inbound.db import utcnow
from inbound.errors import (
    BadRequest,
    InboundError,
    TooManyRequests,
    UnsupportedMediaType,
    problems,
)
from inbound.leads.capture.client import rate_bucket
from inbound.leads.capture.reference import CaptureReference
from inbound.leads.capture.site_access import capture_cors, check_site_origin, site_key_for
from inbound.ratelimit import RateLimiter
from inbound.sites.service import SiteKey
from inbound.tracking.ingest import (
    Envelope,
    InvalidEvent,
    check_shared_context,
    decode_event,
    event_row,
    prepare_batch,
    refusal_of,
)
from inbound.tracking.schemas import (
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    BatchAccepted,
    BatchDoc,
    BatchIn,
    EventDoc,
)
from inbound.tracking.writer import EventWriter

JSON_TYPES = frozenset({"application/json", "text/plain", ""})
GZIP = frozenset({"gzip", "x-gzip"})
PLAIN = frozenset({"", "identity"})
TOO_LARGE = f"the body is larger than {MAX_BATCH_BYTES // 1024} KB"
NO_KEY = (
    "send the site's public key as the user name of HTTP Basic authentication (Segment's "
    "way), as `Authorization: Bearer KEY`, or as `writeKey` in the body"
)
_batch_decoder = msgspec.json.Decoder(BatchIn)
SENDING = (
    "The key is the site's public key (`inb_pk_...`): the user name of HTTP Basic "
    "authentication with an empty password (as Segment's libraries send it), "
    "`Authorization: Bearer KEY`, or `writeKey` in the body. Bodies are JSON, as "
    "`application/json` or `text/plain` (`navigator.sendBeacon`), gzipped when "
    "`Content-Encoding: gzip` says so. `messageId` deduplicates "
    "for 48 hours. The event's time is corrected for the client's clock: the time received "
    "less the time between `originalTimestamp` (or `timestamp`) and `sentAt`. The site's "
    "`tracking_consent` decides whether events keep their `anonymousId` and `userId`; "
    "`Sec-GPC: 1` or `context.gpc` makes them cookieless. Answers `200` once the events are "
    "stored."
)


class InvalidTracking(BadRequest, problem="validation"): ...


class BodyTooLarge(InboundError, status=413, problem="too-large"): ...


class TrackingController(Controller):
    path = "/api/v1"
    tags = ["tracking"]
    middleware = [capture_cors]
    security = [{"siteKey": []}]

    @post(
        "/batch",
        operation_id="ingestBatch",
        summary="Send a batch of events (Segment's batch)",
        description="Up to 100 `page`, `track` and `identify` events of at most 32 KB each, "
        "500 KB in all. Each event is checked on its own: the answer counts those stored "
        "(`accepted`), those already stored under the same `messageId` (`duplicates`), and "
        "lists the refused ones with the field and the reason (`rejected`); the others are "
        "stored. A top-level `context` is merged under each event's. `/api/v1/b` is the same. "
        + SENDING,
        status_code=200,
        request_max_body_size=MAX_BATCH_BYTES,
        responses=problems(400, 401, 403, 413, 415, 429, 503),
    )
    async def ingest_batch(self, request: Request[Any, Any, Any]) -> BatchAccepted:
        return await _batch(request)

    @post("/b", include_in_schema=False, request_max_body_size=MAX_BATCH_BYTES, status_code=200)
    async def ingest_batch_b(self, request: Request[Any, Any, Any]) -> BatchAccepted:
        return await _batch(request)

    @post(
        "/t",
        operation_id="ingestEvent",
        summary="Send one event",
        description="One event; its `type` says `page`, `track` (the default) or `identify`. "
        "`/api/v1/track` is the same; `/api/v1/page` (or `/p`) and `/api/v1/identify` (or "
        "`/i`) take a `page` or an `identify` call when the event names no type. An invalid "
        "event, or one over 32 KB, is refused with `400` naming the field. " + SENDING,
        status_code=200,
        request_max_body_size=MAX_BATCH_BYTES,
        responses=problems(400, 401, 403, 413, 415, 429, 503),
    )
    async def ingest_event(self, request: Request[Any, Any, Any]) -> BatchAccepted:
        return await _one(request, "track")

    @post("/track", include_in_schema=False, request_max_body_size=MAX_BATCH_BYTES,
          status_code=200)  # fmt: skip
    async def ingest_track(self, request: Request[Any, Any, Any]) -> BatchAccepted:
        return await _one(request, "track")

    @post(["/p", "/page"], include_in_schema=False, request_max_body_size=MAX_BATCH_BYTES,
          status_code=200)  # fmt: skip
    async def ingest_page(self, request: Request[Any, Any, Any]) -> BatchAccepted:
        return await _one(request, "page")

    @post(["/i", "/identify"], include_in_schema=False, request_max_body_size=MAX_BATCH_BYTES,
          status_code=200)  # fmt: skip
    async def ingest_identify(self, request: Request[Any, Any, Any]) -> BatchAccepted:
        return await _one(request, "identify")


async def _batch(request: Request[Any, Any, Any]) -> BatchAccepted:
    """Store a batch's valid events; count the duplicates, list the refused."""
    body = await _read(request)
    try:
        batch = _batch_decoder.decode(body)
        check_shared_context(batch.context)
    except msgspec.ValidationError as error:
        raise _refusal(str(error)) from None
    except msgspec.DecodeError:
        raise InvalidTracking("the body is not valid JSON") from None
    except InvalidEvent as refusal:
        raise InvalidTracking(refusal.reason, field=refusal.field) from None
    if len(batch.batch) > MAX_BATCH_EVENTS:
        raise InvalidTracking(f"a batch holds at most {MAX_BATCH_EVENTS} events", field="batch")
    site_key = await _site_key(request, batch.writeKey)
    envelope = await _envelope(request, site_key, "track", batch.sentAt, batch.context)
    prepared = prepare_batch(batch.batch, envelope)
    writer: EventWriter = request.app.state.event_writer
    duplicates = await writer.write(prepared.rows, prepared.dedupe)
    return BatchAccepted(
        accepted=len(prepared.rows) - duplicates,
        duplicates=duplicates,
        rejected=prepared.rejected,
    )


async def _one(request: Request[Any, Any, Any], default_type: str) -> BatchAccepted:
    """Store one event posted on its own; an invalid one is refused with 400."""
    body = await _read(request)
    try:
        event = decode_event(body)
    except InvalidEvent as refusal:
        if refusal.reason == "the event is not valid JSON":
            raise InvalidTracking("the body is not valid JSON") from None
        # The body is the event: what concerns it as a whole (its size, its kind) names it.
        raise InvalidTracking(refusal.reason, field=refusal.field or "body") from None
    site_key = await _site_key(request, event.writeKey)
    envelope = await _envelope(request, site_key, default_type, None, None)
    try:
        row, dedupe = event_row(event, envelope)
    except InvalidEvent as refusal:
        raise InvalidTracking(refusal.reason, field=refusal.field) from None
    writer: EventWriter = request.app.state.event_writer
    duplicates = await writer.write([row], [dedupe])
    return BatchAccepted(accepted=1 - duplicates, duplicates=duplicates, rejected=[])


async def _read(request: Request[Any, Any, Any]) -> bytes:
    """The body, after the client's rate limit; JSON whatever its type says, for beacons;
    gunzipped when it says so, never past the limit."""
    await limit_client(request, "tracking-ip")
    media_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if media_type not in JSON_TYPES and not media_type.endswith("+json"):
        raise UnsupportedMediaType("send events as application/json or text/plain")
    encoding = (request.headers.get("content-encoding") or "").strip().lower()
    if encoding not in PLAIN and encoding not in GZIP:
        raise UnsupportedMediaType(
            "send the body as it is or gzipped (`Content-Encoding: gzip`)",
            field="Content-Encoding",
        )
    try:
        body = await request.body()
    except RequestEntityTooLarge:
        raise BodyTooLarge(TOO_LARGE) from None
    return gunzip(body) if encoding in GZIP else body


def gunzip(body: bytes) -> bytes:
    """A gzipped body, decompressed no further than the limit: a small body must not be able
    to unfold into gigabytes."""
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)  # gzip's header, not zlib's
    try:
        plain = inflater.decompress(body, MAX_BATCH_BYTES + 1)
    except zlib.error:
        raise InvalidTracking("the body is not valid gzip", field="body") from None
    if len(plain) > MAX_BATCH_BYTES:
        raise BodyTooLarge(TOO_LARGE)
    if not inflater.eof or inflater.unused_data:
        raise InvalidTracking("the body is not valid gzip", field="body")
    return plain


async def limit_client(request: Request[Any, Any, Any], counter: str) -> None:
    """429 once the client's address has spent `INBOUND_TRACKING_RATE_PER_IP` on ``counter``:
    the public endpoints a page calls take no secret, so the address is all there is to count."""
    state = request.app.state
    limiter: RateLimiter = state.rate_limiter
    client_ip = request.client.host if request.client else "unknown"
    verdict = await limiter.hit(state.tracking_limit, counter, rate_bucket(client_ip))
    if not verdict.allowed:
        raise TooManyRequests(
            f"too many requests; retry in {verdict.retry_after} s",
            headers={"Retry-After": str(verdict.retry_after)},
        )


def _refusal(message: str) -> InvalidTracking:
    """A 400 from msgspec's words for the batch's envelope; the body when it is no object."""
    refusal = refusal_of(message)
    if refusal.field is None and "`batch`" in message:
        refusal = InvalidEvent("batch", "required: a list of events")
    return InvalidTracking(refusal.reason, field=refusal.field or "body")


async def _site_key(request: Request[Any, Any, Any], body_key: str | None) -> SiteKey:
    reference: CaptureReference = request.app.state.capture_reference
    await reference.follow_other_processes()
    plain = write_key(request.headers.get("authorization")) or _plausible(body_key)
    site_key = await site_key_for(reference, plain, NO_KEY)
    check_site_origin(request, site_key)
    return site_key


def write_key(header: str | None) -> str | None:
    """The key in `Authorization`: Basic with the key as user name (Segment's), or Bearer."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() == "basic":
        try:
            token = base64.b64decode(token, validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            return None
    elif scheme.lower() != "bearer":
        return None
    return _plausible(token)


def _plausible(key: str | None) -> str | None:
    key = key.strip() if isinstance(key, str) else None
    return key if key and len(key) <= 200 else None


async def _envelope(
    request: Request[Any, Any, Any],
    site_key: SiteKey,
    default_type: str,
    sent_at: Any,
    context: dict[str, Any] | None,
) -> Envelope:
    state: State = request.app.state
    reference: CaptureReference = state.capture_reference
    return Envelope(
        site_id=site_key.site_id,
        consent=site_key.tracking_consent,
        received_at=utcnow(),
        retention=state.tracking_retention,
        assets=await reference.asset_index(),
        gpc=request.headers.get("sec-gpc", "").strip() == "1",
        sent_at=sent_at,
        context=context,
        default_type=default_type,
    )


document_request_body("ingestBatch", BatchDoc, ("application/json",))
document_request_body("ingestEvent", EventDoc, ("application/json",))
