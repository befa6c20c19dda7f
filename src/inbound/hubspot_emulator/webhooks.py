"""The portal's webhooks: contact property changes and deletions, posted to a target and
signed as HubSpot signs them (v3)."""

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
from hubspot.utils.signature import Signature

from inbound.hubspot_emulator.store import Portal

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

    def report(self, portal: Portal) -> None:
        """Send the portal's webhooks for the watched properties the last calls changed."""
        with portal.lock:
            changes, portal.changes = portal.changes, []
        events = [
            {
                "eventId": next(self._event_ids), "subscriptionId": 25,
                "portalId": portal.portal_id, "appId": self.app_id,
                "occurredAt": int(time.time() * 1000),
                "subscriptionType": "contact.propertyChange", "attemptNumber": 0,
            } | change
            for change in changes
            if change.get("subscriptionType") in DELETIONS
            or change.get("propertyName") in self.watched
        ]  # fmt: skip
        if not events:
            return
        self.sent.extend(events)
        if self.target:
            threading.Thread(target=self._deliver, args=(events,), daemon=True).start()

    def _deliver(self, events: list[dict[str, Any]]) -> None:
        body = msgspec.json.encode(events)
        for attempt in range(3):
            headers = self.signed(body, int(time.time() * 1000))
            try:
                answer = httpx.post(self.target or "", content=body, headers=headers, timeout=5)
                if answer.is_success:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2 * 2**attempt)
