"""`/api/v1/webhooks`: subscriptions to lead events, their delivery log, and replays."""

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.auth.principal import requires
from inbound.auth.scopes import Scope
from inbound.config import Settings
from inbound.errors import problems
from inbound.pagination import DEFAULT_LIMIT, CursorParam, LimitParam, PageRequest
from inbound.resource_routes import ResourceRoutes
from inbound.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from inbound.webhooks.schemas import (
    AttemptRead,
    DeliveryDetail,
    DeliveryList,
    DeliveryRead,
    DeliveryStatus,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionRead,
    SubscriptionUpdate,
)
from inbound.webhooks.service import WebhookService

StatusFilter = Annotated[
    DeliveryStatus | None, QueryParameter(description="Only deliveries in it.")
]
SIGNING = (
    'Each delivery is a POST of `{"type", "timestamp", "data"}` signed the Standard '
    "Webhooks way: `webhook-id` (the event's id, the same on every retry and replay: "
    "deduplicate on it), `webhook-timestamp` (Unix seconds of this attempt) and "
    "`webhook-signature` (`v1,` and the base64 HMAC-SHA256, keyed with the secret's base64 "
    "part decoded, of `id.timestamp.body`). Any 2xx answer within the timeout delivers it; "
    "anything else is retried with exponential backoff and jitter for up to 24 hours, then the "
    "delivery is dead (and can be replayed). A lead's events reach an endpoint in the order "
    "they happened: one waits while an earlier one for the same lead is pending."
)
TARGETS = (
    "The URL must be http or https, without a user name or password, on port 80, 443 or "
    "1024 and above, and name a public address: loopback (unless the server allows it for "
    "local development), private, link-local, multicast and reserved addresses, names "
    "without a dot and names under .localhost, .local, .internal, .home.arpa and "
    ".localdomain are refused with 422. A host name is checked again when each delivery is "
    "sent, on every address it resolves to then, and the delivery connects to a checked one."
)


def provide_webhook_service(
    db_session: NamedDependency[AsyncSession], state: State
) -> WebhookService:
    settings: Settings = state.settings
    give_up_after = timedelta(hours=settings.webhook_give_up_hours)
    return WebhookService(
        db_session, give_up_after=give_up_after, allow_loopback=settings.webhook_allow_loopback
    )


def _delivery(delivery: WebhookDelivery) -> dict[str, Any]:
    fields = delivery.model_dump()
    if delivery.status != "pending":
        fields["next_attempt_at"] = None
    return fields


async def _delivery_of(
    service: WebhookService, webhook_id: uuid.UUID, delivery_id: uuid.UUID, *, lock: bool = False
) -> tuple[WebhookDelivery, Sequence[WebhookAttempt]]:
    """A subscription's delivery and its attempts; 404 when either is unknown."""
    return await service.delivery(await service.get(webhook_id), delivery_id, lock=lock)


def _detail(delivery: WebhookDelivery, attempts: Sequence[WebhookAttempt]) -> DeliveryDetail:
    log = [AttemptRead.model_validate(attempt) for attempt in attempts]
    return DeliveryDetail.model_validate(_delivery(delivery) | {"attempt_log": log})


WEBHOOKS = ResourceRoutes.by_id(SubscriptionRead, "webhook_id")


async def _subscribe(
    webhooks: WebhookService, data: SubscriptionCreate
) -> tuple[WebhookSubscription, SubscriptionCreated]:
    subscription = await webhooks.create(
        url=data.url,
        events=[event.value for event in data.events],
        secret=data.secret,
        description=data.description,
    )
    return subscription, SubscriptionCreated.model_validate(subscription)


class WebhookController(Controller):
    path = "/webhooks"
    tags = ["webhooks"]
    guards = [requires(Scope.ADMIN)]
    dependencies = {"service": Provide(provide_webhook_service, sync_to_thread=False)}

    create_webhook = WEBHOOKS.create(
        SubscriptionCreate,
        "createWebhook",
        "Subscribe an endpoint to lead events",
        description="The answer carries the signing secret, once. " + TARGETS + " " + SIGNING,
        responses=problems(400, 401, 403, 413, 422),
        make=_subscribe,
        answer=SubscriptionCreated,
    )

    list_webhooks = WEBHOOKS.list("listWebhooks", "List subscriptions")
    get_webhook = WEBHOOKS.get("getWebhook")
    update_webhook = WEBHOOKS.update(
        SubscriptionUpdate,
        "updateWebhook",
        "Change a subscription's URL or events, or pause it",
        description="A paused subscription keeps its pending deliveries until it is resumed. "
        + TARGETS,
        responses=problems(400, 401, 403, 404, 412, 413, 422),
    )
    delete_webhook = WEBHOOKS.delete(
        "deleteWebhook", "Delete a subscription, its pending deliveries and its log"
    )

    @WEBHOOKS.on_item(
        get, "/deliveries", "listWebhookDeliveries", "The subscription's delivery log, oldest first"
    )
    async def list_deliveries(
        self,
        service: NamedDependency[WebhookService],
        webhook_id: FromPath[uuid.UUID],
        status: StatusFilter = None,
        limit: LimitParam = DEFAULT_LIMIT,
        cursor: CursorParam = None,
    ) -> DeliveryList:
        subscription = await service.get(webhook_id)
        page = PageRequest.parse(limit=limit, cursor=cursor)
        rows, next_cursor = await service.deliveries_page(subscription, status, page)
        items = [DeliveryRead.model_validate(_delivery(row)) for row in rows]
        return DeliveryList(items=items, next_cursor=next_cursor)

    @WEBHOOKS.on_item(
        get,
        "/deliveries/{delivery_id:uuid}",
        "getWebhookDelivery",
        "One delivery with every attempt at it",
    )
    async def get_delivery(
        self,
        service: NamedDependency[WebhookService],
        webhook_id: FromPath[uuid.UUID],
        delivery_id: FromPath[uuid.UUID],
    ) -> DeliveryDetail:
        return _detail(*await _delivery_of(service, webhook_id, delivery_id))

    @WEBHOOKS.on_item(
        post,
        "/deliveries/{delivery_id:uuid}/replay",
        "replayWebhookDelivery",
        "Send a dead (or delivered) delivery again",
        description="The delivery goes out again with the same `webhook-id` and body, and a "
        "new 24 hours of retries; 409 while it is still pending.",
        status_code=202,
        responses=problems(400, 401, 403, 404, 409),
    )
    async def replay_delivery(
        self,
        service: NamedDependency[WebhookService],
        webhook_id: FromPath[uuid.UUID],
        delivery_id: FromPath[uuid.UUID],
    ) -> DeliveryDetail:
        delivery, attempts = await _delivery_of(service, webhook_id, delivery_id, lock=True)
        return _detail(await service.replay(delivery), attempts)
