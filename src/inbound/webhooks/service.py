"""Webhook subscriptions, their delivery log, and replays of dead deliveries."""

import base64
import secrets
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inbound.db import utcnow
from inbound.errors import Conflict, NotFound, Unprocessable
from inbound.pagination import PageRequest
from inbound.webhooks.models import PENDING, WebhookAttempt, WebhookDelivery, WebhookSubscription
from inbound.webhooks.repository import (
    AttemptRepository,
    DeliveryRepository,
    SubscriptionRepository,
)
from inbound.webhooks.targets import url_refusal

SECRET_BYTES = 32


class SubscriptionNotFound(NotFound, problem="webhook-not-found"): ...


class DeliveryNotFound(NotFound, problem="delivery-not-found"): ...


class DeliveryInFlight(Conflict, problem="delivery-pending"): ...


class TargetNotAllowed(Unprocessable, problem="webhook-target-refused"): ...


def new_secret() -> str:
    """A Standard Webhooks signing secret."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


class WebhookService:
    def __init__(
        self, session: AsyncSession, *, give_up_after: timedelta, allow_loopback: bool = False
    ) -> None:
        self.subscriptions = SubscriptionRepository(session)
        self.deliveries = DeliveryRepository(session)
        self.attempts = AttemptRepository(session)
        self.give_up_after = give_up_after
        self.allow_loopback = allow_loopback

    def check_target(self, url: str) -> None:
        """Refuse a URL that webhooks may not go to: not http(s), with a password, on another
        protocol's port, or naming an address or a name that is not public."""
        refusal = url_refusal(url, allow_loopback=self.allow_loopback)
        if refusal is not None:
            raise TargetNotAllowed(refusal, field="url")

    async def create(
        self, *, url: str, events: list[str], secret: str | None, description: str | None
    ) -> WebhookSubscription:
        self.check_target(url)
        subscription = WebhookSubscription(
            url=url, events=events, secret=secret or new_secret(), description=description
        )
        return await self.subscriptions.add(subscription)

    async def get(self, subscription_id: uuid.UUID, *, lock: bool = False) -> WebhookSubscription:
        return await self.subscriptions.get_or_raise(
            subscription_id, SubscriptionNotFound, lock=lock
        )

    async def list_page(
        self, page: PageRequest
    ) -> tuple[Sequence[WebhookSubscription], str | None]:
        return await self.subscriptions.page(self.subscriptions.select(), page)

    async def update(
        self, subscription: WebhookSubscription, changes: dict[str, Any]
    ) -> WebhookSubscription:
        """Change the URL, the events, the description, or pause and resume."""
        if not changes:
            return subscription
        if "url" in changes:
            self.check_target(changes["url"])
        subscription.apply(changes)
        return await self.subscriptions.add(subscription)

    async def delete(self, subscription: WebhookSubscription) -> None:
        """Delete a subscription; its pending deliveries and its log go with it."""
        await self.subscriptions.delete(subscription)

    async def deliveries_page(
        self, subscription: WebhookSubscription, status: str | None, page: PageRequest
    ) -> tuple[Sequence[WebhookDelivery], str | None]:
        """The subscription's deliveries, oldest first."""
        return await self.deliveries.of_subscription(subscription.id, status, page)

    async def delivery(
        self, subscription: WebhookSubscription, delivery_id: uuid.UUID, *, lock: bool = False
    ) -> tuple[WebhookDelivery, Sequence[WebhookAttempt]]:
        """One delivery of the subscription, with its attempts."""
        delivery = await self.deliveries.get_or_none(delivery_id, lock=lock)
        if delivery is None or delivery.subscription_id != subscription.id:
            raise DeliveryNotFound(f"no delivery {delivery_id} for this subscription")
        return delivery, await self.attempts.of_delivery(delivery.id)

    async def replay(self, delivery: WebhookDelivery) -> WebhookDelivery:
        """Send a finished delivery again, as it was (same `webhook-id`), with a fresh period of
        retries. Its lead's later events still pending wait until it is through."""
        if delivery.status == PENDING:
            raise DeliveryInFlight("the delivery is still pending: it is being sent or retried")
        now = utcnow()
        delivery.status = PENDING
        delivery.next_attempt_at = now
        delivery.give_up_at = now + self.give_up_after
        delivery.finished_at = None
        delivery.leased_until = None
        await self.deliveries.session.flush()
        return delivery
