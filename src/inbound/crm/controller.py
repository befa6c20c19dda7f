"""`/api/v1/crm`: the HubSpot sync's status and backfills, and HubSpot's signed webhooks."""

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, HeaderParameter, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.auth.principal import requires
from inbound.auth.scopes import Scope
from inbound.config import Settings
from inbound.crm import inbound
from inbound.crm.schemas import (
    CrmStatus,
    RejectedEvent,
    ResyncRead,
    ResyncRequest,
    WebhookReceipt,
)
from inbound.crm.service import CrmService
from inbound.errors import problems
from inbound.leads.controller import actor_of
from inbound.responses import LOCATION_HEADER

RESYNCS = "/api/v1/crm/resyncs"
SignatureHeader = Annotated[
    str | None,
    HeaderParameter(
        name="X-HubSpot-Signature-v3", required=False,
        description="base64 HMAC-SHA256, keyed with the app's client secret, of method, URL, "
        "body and timestamp; a request without it is refused.",
    ),
]  # fmt: skip
TimestampHeader = Annotated[
    str | None,
    HeaderParameter(
        name="X-HubSpot-Request-Timestamp", required=False,
        description="When HubSpot sent the request, in Unix milliseconds.",
    ),
]  # fmt: skip


def provide_crm_service(db_session: NamedDependency[AsyncSession], state: State) -> CrmService:
    return CrmService(db_session, state.settings)


class CrmController(Controller):
    path = "/crm"
    tags = ["crm"]
    guards = [requires(Scope.ADMIN)]
    dependencies = {"crm": Provide(provide_crm_service, sync_to_thread=False)}

    @get(
        "/status",
        operation_id="getCrmStatus",
        summary="How the sync to HubSpot stands",
        description="Contacts pending, synced and failed (the latest failures with HubSpot's "
        "message), erasures still to carry out in HubSpot, the last success and error, and the "
        "rate-limit budget HubSpot's last answer showed.",
        responses=problems(400, 401, 403),
    )
    async def status(self, crm: NamedDependency[CrmService]) -> CrmStatus:
        return CrmStatus.model_validate(await crm.status())

    @post(
        "/resync",
        operation_id="resyncCrm",
        summary="Send contacts to HubSpot again: a backfill",
        description="Queues every contact the filters choose (every contact, without "
        "filters) for the sync, which sends each as it is then; the answer is the backfill, "
        "whose progress `GET /api/v1/crm/resyncs/{id}` shows. 409 when the sync is off.",
        status_code=202,
        responses=problems(400, 401, 403, 409, 413),
        response_headers=[LOCATION_HEADER],
    )
    async def resync(
        self,
        request: Request[Any, Any, Any],
        crm: NamedDependency[CrmService],
        data: JSONBody[ResyncRequest | None] = None,
    ) -> Response[ResyncRead]:
        resync = await crm.resync(data or ResyncRequest(), actor=actor_of(request))
        return Response(
            ResyncRead.model_validate(resync),
            status_code=202,
            headers={"Location": f"{RESYNCS}/{resync.id}"},
        )

    @get(
        "/resyncs/{resync_id:uuid}",
        operation_id="getCrmResync",
        summary="A backfill's progress",
        responses=problems(400, 401, 403, 404),
    )
    async def resync_progress(
        self, resync_id: FromPath[uuid.UUID], crm: NamedDependency[CrmService]
    ) -> ResyncRead:
        return ResyncRead.model_validate(await crm.resync_of(resync_id))


class HubSpotWebhookController(Controller):
    """Outside the API keys: HubSpot proves itself with its signature."""

    path = "/api/v1/crm/hubspot/webhook"
    tags = ["crm"]
    security = []

    @post(
        operation_id="receiveHubSpotWebhook",
        summary="HubSpot's contact webhooks: property changes and deletions",
        description="HubSpot posts a JSON array of events, signed with the app's client secret "
        "(`X-HubSpot-Signature-v3`, `X-HubSpot-Request-Timestamp`); an unsigned or wrongly "
        "signed request, or one stamped more than five minutes from now (either way), is "
        "refused with 401. Changes of `lifecyclestage` (forward only, as in HubSpot) and "
        "`hubspot_owner_id` are applied to the contact with cause `crm`, each only when newer "
        "than the last applied; they are not sent back to HubSpot. `contact.deletion` unlinks "
        "the contact: its changes here are no longer sent (which would create it there "
        "again) until the person fills in a form again or a backfill asks for it. "
        "`contact.privacyDeletion` (HubSpot's GDPR delete) erases the lead here too, as "
        "`DELETE /api/v1/leads/{id}` does, without sending a delete back. An event that is not "
        "what HubSpot sends (an `objectId` that is no id, an `occurredAt` that is no time, a "
        "field of the wrong type) is skipped and listed in `rejected`, and the others are "
        "applied. Other events are accepted and ignored.",
        status_code=200,
        responses=problems(400, 401, 413, 503),
    )
    async def receive(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        signature: SignatureHeader = None,
        timestamp: TimestampHeader = None,
    ) -> WebhookReceipt:
        settings: Settings = request.app.state.settings
        # The raw bytes, as signed: the events are parsed only once the signature holds.
        body = await request.body()
        secret = settings.hubspot_client_secret
        inbound.verify(
            secret=secret.get_secret_value() if secret else None,
            method=request.method,
            url=settings.hubspot_webhook_url or str(request.url),
            body=body,
            signature=signature,
            timestamp=timestamp,
        )
        events = inbound.parse(body)
        applied, rejected = await inbound.apply(db_session, events)
        return WebhookReceipt(
            received=len(events),
            applied=applied,
            rejected=[RejectedEvent(index=r.index, field=r.field, message=r.message)
                      for r in rejected],
        )  # fmt: skip
