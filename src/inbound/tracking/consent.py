"""Whether an event may keep the ids that tie it to a visitor, by the site's consent mode.

A site's `tracking_consent` says how its pages may track visitors:

- `granted`: the site collects consent itself (or needs none); events are stored as sent.
- `required` (the default): an event keeps its `anonymousId` and `userId` only when it carries
  the visitor's consent to analytics (`context.consent.categoryPreferences` with an
  `analytics` category set to true, in any case, or `context.consent.analytics` true);
  otherwise it is stored cookieless.
- `cookieless`: every event is stored cookieless.

Cookieless means without `anonymous_id`, `user_id`, traits, the device's ids
(`context.device.id`, `advertisingId`, `token`) and `context.externalIds`: the event still
counts (a page view, a content view) but belongs to nobody, and an `identify` call stored so
links nothing. Global Privacy Control (the `Sec-GPC: 1` header, or `context.gpc` true) makes an
event cookieless whatever the mode, and so does an event that says the visitor refused
analytics (the category false), even on a `granted` site: the visitor's word comes first.
"""

from collections.abc import Mapping
from typing import Any

GRANTED = "granted"
REQUIRED = "required"
COOKIELESS = "cookieless"
CONSENT_MODES = (REQUIRED, COOKIELESS, GRANTED)


def keeps_identity(mode: str, context: Mapping[str, Any], *, gpc: bool) -> bool:
    """True when an event with this context may be stored with its visitor's ids."""
    if gpc or context.get("gpc") is True:
        return False
    consent = context.get("consent")
    if mode == COOKIELESS or analytics_answer(consent, False):
        return False
    return mode == GRANTED or analytics_answer(consent, True)


def analytics_answer(consent: Any, answer: bool) -> bool:
    """True when a page's consent record gives this answer (yes or no) to analytics:
    `analytics`, or a category of `categoryPreferences` named so in any case."""
    if not isinstance(consent, Mapping):
        return False
    if consent.get("analytics") is answer:
        return True
    preferences = consent.get("categoryPreferences")
    if not isinstance(preferences, Mapping):
        return False
    return any(
        isinstance(name, str) and name.lower() == "analytics" and value is answer
        for name, value in preferences.items()
    )
