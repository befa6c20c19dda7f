"""`/api/v1/captures`: the public endpoint a site's lead forms post to.

It answers browsers directly, so it does its own authentication (a site's public key, from
the `Authorization` header or a `_key` form field), CORS against the site's origins (both in
`site_access`), rate limits and spam checks, before the capture itself.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from limits import RateLimitItem
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.auth.principal import authenticate, requires
from inbound.auth.scopes import Scope as KeyScope
from inbound.contract import document_request_body, document_request_header, document_response
from inbound.db import bind_of, new_id
from inbound.errors import BadRequest, TooManyRequests, problems
from inbound.form_values import form_integer
from inbound.leads.capture.client import ip_prefix, rate_bucket, readable_header
from inbound.leads.capture.idempotency import IDEMPOTENCY_KEY, idempotency_key
from inbound.leads.capture.redirects import Redirect, checked_redirect
from inbound.leads.capture.reference import CaptureReference
from inbound.leads.capture.referer import from_referer
from inbound.leads.capture.service import CaptureService, CaptureSource
from inbound.leads.capture.site_access import capture_cors, check_site_origin, site_key_of
from inbound.leads.custom_fields import CustomFieldLimits
from inbound.leads.schemas import CaptureAccepted, CaptureCreate, CaptureRead
from inbound.leads.service import LeadService
from inbound.query_params import refuse_unknown_query_parameters
from inbound.ratelimit import RateLimiter, Verdict
from inbound.request_body import read_json_or_form
from inbound.responses import documented_header
from inbound.sites.service import SiteKey

logger = structlog.get_logger(__name__)

MAX_CAPTURE_BYTES = 64 * 1024
CONTROL_FIELDS = {"_key", "_redirect", "_idem", "_hp"}
FORM_BOOLEANS = {"on": True, "true": True, "1": True, "yes": True,
                 "off": False, "false": False, "0": False, "no": False}  # fmt: skip
FORM_INTEGERS = {"company_size"}
# A site whose pages keep no id on the device: its captures link no visitor id.
COOKIELESS = "cookieless"


@dataclass(frozen=True, slots=True)
class CaptureLimits:
    """How many captures one client address, and one site key, may post."""

    per_ip: RateLimitItem
    per_key: RateLimitItem


# The names a capture takes, as posted: a form's other names are custom fields.
CAPTURE_FIELD_NAMES = frozenset(
    field.alias or name for name, field in CaptureCreate.model_fields.items()
)


class InvalidCapture(BadRequest, problem="validation"): ...


class CaptureController(Controller):
    path = "/api/v1/captures"
    tags = ["captures"]

    @post(
        operation_id="captureLead",
        summary="Capture a lead from a form",
        description=(
            "Posted by a site's pages with the site's public key, as JSON or as a plain HTML "
            "form. Answers `201` with the contact, the capture and the asset's delivery URL, "
            "or `303` to `_redirect`. The same `Idempotency-Key` (or `_idem`) within 24 hours "
            "answers as the first post did and writes nothing more; with another body it is "
            "refused with `422`. A post that fills the `_hp` honeypot is answered like a "
            "success and stored nowhere. A post without `utm_*` fields takes them from the "
            "query of its `Referer` (the landing page), which also gives `page_url` when the "
            "post has none."
        ),
        status_code=201,
        request_max_body_size=MAX_CAPTURE_BYTES,
        security=[{"siteKey": []}],
        responses=problems(400, 401, 403, 413, 415, 422, 429),
        response_headers=[
            documented_header("Location", "The capture."),
            documented_header(
                "Idempotent-Replayed",
                "`true` when this answer repeats the first one to the same idempotency key "
                "(nothing new was written).",
            ),
        ],
    )
    async def capture_lead(self, request: Request[Any, Any, Any]) -> Response[CaptureAccepted]:
        state = request.app.state
        limits: CaptureLimits = state.capture_limits
        limiter: RateLimiter = state.rate_limiter
        reference: CaptureReference = state.capture_reference
        client_ip = request.client.host if request.client else "unknown"
        await _enforce(limiter.hit, limits.per_ip, "capture-ip", rate_bucket(client_ip))
        posted = await read_json_or_form(
            request, from_form=_from_form, refuse=InvalidCapture, what="the form"
        )
        await reference.follow_other_processes()
        site_key = await site_key_of(reference, request, posted)
        # The public key is in every page: only captures actually made count against the
        # site, or anyone could spend its captures with invalid posts.
        site_bucket = ("capture-key", str(site_key.key_id))
        await _enforce(limiter.check, limits.per_key, *site_bucket)
        check_site_origin(request, site_key)
        redirect = checked_redirect(posted.get("_redirect"), site_key.allowed_origins)
        if posted.get("_hp"):
            logger.info("capture refused as spam", site_id=str(site_key.site_id), reason="honeypot")
            return await _pretend_accepted(reference, posted, redirect)
        accepted, replayed = await _record(request, posted, site_key, client_ip)
        if not replayed:
            await limiter.hit(limits.per_key, *site_bucket)
        return _answer(accepted, redirect, replayed=replayed)

    @get(
        "/{capture_id:uuid}",
        operation_id="getCapture",
        summary="Read a capture",
        guards=[authenticate, refuse_unknown_query_parameters, requires(KeyScope.LEADS_READ)],
        security=[{"bearerAuth": []}],
        responses=problems(400, 401, 403, 404),
    )
    async def get_capture(
        self, capture_id: FromPath[uuid.UUID], db_session: NamedDependency[AsyncSession]
    ) -> CaptureRead:
        return CaptureRead.model_validate(await LeadService(db_session).capture(capture_id))


async def _record(
    request: Request[Any, Any, Any], posted: dict[str, Any], site_key: SiteKey, client_ip: str
) -> tuple[CaptureAccepted, bool]:
    """Check a post against the form's rules and make its capture; say whether it replays."""
    state = request.app.state
    try:
        form = CaptureCreate.model_validate(
            posted | from_referer(posted, request.headers.get("referer"))
        )
    except ValidationError as exc:
        raise InvalidCapture.from_validation(exc) from None
    settings = state.settings
    field_limits = CustomFieldLimits(
        settings.custom_fields_per_contact, settings.custom_fields_bytes_per_contact
    )
    field_limits.check_capture(form.fields)
    idempotency = idempotency_key(
        request.headers.get("idempotency-key"), form.idempotency_key, posted
    )
    service = CaptureService(bind_of(state.sessionmaker), state.capture_reference, field_limits)
    return await service.capture(
        form,
        posted={k: v for k, v in posted.items() if k not in CONTROL_FIELDS},
        source=CaptureSource(
            site_id=site_key.site_id,
            key_id=site_key.key_id,
            ip_prefix=ip_prefix(client_ip),
            user_agent=readable_header(request.headers.get("user-agent"), 500),
            links_visitors=site_key.tracking_consent != COOKIELESS,
        ),
        idempotency_key=idempotency,
    )


async def _enforce(
    count: Callable[..., Awaitable[Verdict]], limit: RateLimitItem, *identifiers: str
) -> None:
    verdict = await count(limit, *identifiers)
    if not verdict.allowed:
        raise TooManyRequests(
            f"too many captures; retry in {verdict.retry_after} s",
            headers={"Retry-After": str(verdict.retry_after)},
        )


def _from_form(form: Any) -> dict[str, Any]:
    """Read a plain HTML form into the JSON shape: other names become custom fields."""
    data: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for name in form:
        values = [v for v in form.getall(name) if isinstance(v, str)]
        if not values:
            continue
        if name.startswith("fields[") and name.endswith("]"):
            name, target = name[7:-1], custom
        else:
            target = data if name in CAPTURE_FIELD_NAMES else custom
        if target is data and len(values) > 1:
            raise InvalidCapture(f"`{name}` is given more than once", field=name)
        value = ", ".join(values)
        if value.strip() == "":
            continue  # an empty input is a field left blank, not a value
        target[name] = _form_value(name, value) if target is data else value
    if custom:
        data["fields"] = custom
    return data


def _form_value(name: str, value: str) -> Any:
    if name == "consent":
        return FORM_BOOLEANS.get(value.strip().lower(), value)
    number = form_integer(value) if name in FORM_INTEGERS else None
    return value if number is None else number


def _answer(
    accepted: CaptureAccepted, redirect: Redirect | None, *, replayed: bool = False
) -> Response[CaptureAccepted]:
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    if redirect is None:
        location = f"{CaptureController.path}/{accepted.capture_id}"
        return Response(accepted, status_code=201, headers={"Location": location, **headers})
    extra = {"capture_id": str(accepted.capture_id)}
    if accepted.delivery_url:
        extra["delivery_url"] = accepted.delivery_url
    return Response(
        b"",  # type: ignore[arg-type]
        media_type=MediaType.TEXT,
        status_code=303,
        headers={"Location": redirect.with_query(extra), **headers},
    )


async def _pretend_accepted(
    reference: CaptureReference, posted: dict[str, Any], redirect: Redirect | None
) -> Response[CaptureAccepted]:
    """What a real capture would answer, so that a bot learns nothing; nothing is stored."""
    asset = posted.get("asset")
    target = None
    if isinstance(asset, str) and 0 < len(asset) <= 64 and "\x00" not in asset:
        target = await reference.target(asset)
    fake = CaptureAccepted(
        contact_id=new_id(),
        capture_id=new_id(),
        delivery_url=target.delivery_url if target else None,
    )
    return _answer(fake, redirect)


CaptureController.middleware = [capture_cors]
document_request_body(
    "captureLead",
    CaptureCreate,
    ("application/json", "application/x-www-form-urlencoded"),
)
document_request_header(
    "captureLead",
    "Idempotency-Key",
    "1 to 200 visible ASCII characters chosen by the page (or the `_idem` field): a post with "
    "the same key within 24 hours answers as the first did and writes nothing more; the same "
    "key with another body is refused with `422`.",
    {"type": "string", "pattern": f"^{IDEMPOTENCY_KEY.pattern}$"},
)
document_response(
    "captureLead",
    303,
    "See Other: a form that sent `_redirect` (a URL on one of the site's origins) is sent "
    "there, with `capture_id` and `delivery_url` added to its query, so that a plain HTML form "
    "lands on a thank-you page.",
    {"Location": "The `_redirect` URL with `capture_id` and `delivery_url` in its query."},
)
