"""Named queries over subscriptions, deliveries and attempts, for the API."""

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlmodel import col

from inbound.pagination import PageRequest
from inbound.repository import Repository
from inbound.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription


class SubscriptionRepository(Repository[WebhookSubscription]):
    model = WebhookSubscription
    noun = "webhook subscription"


class DeliveryRepository(Repository[WebhookDelivery]):
    model = WebhookDelivery

    async def of_subscription(
        self, subscription_id: uuid.UUID, status: str | None, page: PageRequest
    ) -> tuple[Sequence[WebhookDelivery], str | None]:
        statement = self.select().where(col(WebhookDelivery.subscription_id) == subscription_id)
        if status is not None:
            statement = statement.where(col(WebhookDelivery.status) == status)
        return await self.page(statement, page)


class AttemptRepository(Repository[WebhookAttempt]):
    model = WebhookAttempt

    async def of_delivery(self, delivery_id: uuid.UUID) -> Sequence[WebhookAttempt]:
        """Every attempt at a delivery, oldest first."""
        statement = (
            select(WebhookAttempt)
            .where(col(WebhookAttempt.delivery_id) == delivery_id)
            .order_by(col(WebhookAttempt.id))
        )
        return (await self.session.execute(statement)).scalars().all()
