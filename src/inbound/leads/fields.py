"""A lead row's columns as the API's fields: one mapping for the lead, the list and its CSV."""

from collections.abc import Mapping
from typing import Any


def lead_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row with its persona, consent and first touch nested as the API shows them.

    The persona's slug and name come with the row as `persona_slug` and `persona_name`.
    """
    persona = None
    if row["persona_id"] is not None:
        persona = {
            "id": row["persona_id"], "slug": row["persona_slug"], "name": row["persona_name"],
            "source": row["persona_source"], "confidence": row["persona_confidence"],
            "explanation": row["persona_explanation"],
        }  # fmt: skip
    return {
        **row,
        "persona": persona,
        "consent": {
            "given": row["consent"], "at": row["consent_at"],
            "text_version": row["consent_text_version"], "capture_id": row["consent_capture_id"],
        },
        "first_touch": {
            "site_id": row["first_site_id"], "asset_id": row["first_asset_id"],
            "utm_source": row["first_utm_source"], "utm_medium": row["first_utm_medium"],
            "utm_campaign": row["first_utm_campaign"], "utm_term": row["first_utm_term"],
            "utm_content": row["first_utm_content"], "referrer": row["first_referrer"],
        },
    }  # fmt: skip
