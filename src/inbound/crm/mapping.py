"""How a contact of ours reads in HubSpot: which properties, with which values.

HubSpot's own properties carry what it has a place for (name, company, lifecycle stage, lead
status); ours, in the `inbound` group, carry the rest (persona and why, grade, score, first
touch). Every value is a string, as HubSpot's API wants; ours are cleared with "" when we no
longer hold a value, HubSpot's are left to what sales typed there.

Sales works HubSpot's own properties in HubSpot too (a lead status, a corrected job title, a
stage): a sync sends each of them only when its value here changed since it was last written
there, so that an unrelated change here (a score, a claim) never overwrites what sales set.
Ours are always sent: nobody edits them in HubSpot.
"""

from collections.abc import Mapping
from typing import Any

from inbound.leads.qualification.settings import GRADES
from inbound.leads.stages import STAGES, LifecycleStage

# Raise it whenever PROPERTIES changes: the sync then brings HubSpot's definitions up to date.
SCHEMA_VERSION = 1
GROUP = {"name": "inbound", "label": "Inbound", "display_order": -1}

LIFECYCLE_OF_STAGE: dict[LifecycleStage, str] = {
    LifecycleStage.SUBSCRIBER: "subscriber",
    LifecycleStage.LEAD: "lead",
    LifecycleStage.MQL: "marketingqualifiedlead",
    LifecycleStage.SQL: "salesqualifiedlead",
    LifecycleStage.OPPORTUNITY: "opportunity",
    LifecycleStage.CUSTOMER: "customer",
    LifecycleStage.EVANGELIST: "evangelist",
}
STAGE_OF_LIFECYCLE = {value: stage for stage, value in LIFECYCLE_OF_STAGE.items()}
LEAD_STATUS_OF = {
    "new": "NEW",
    "attempting": "ATTEMPTED_TO_CONTACT",
    "connected": "CONNECTED",
    "unqualified": "UNQUALIFIED",
    "bad_timing": "BAD_TIMING",
}
# The lead status every lead starts with here: sent only once it changes.
UNWORKED_LEAD_STATUS = LEAD_STATUS_OF["new"]
# HubSpot's own contact properties and the contact fields that fill them.
STANDARD = {
    "firstname": "first_name",
    "lastname": "last_name",
    "company": "company",
    "jobtitle": "job_title",
    "phone": "phone",
    "country": "country",
    "industry": "industry",
}


# HubSpot's own properties we write, which people edit in HubSpot too.
HUBSPOT_OWNED = (*STANDARD, "lifecyclestage", "hs_lead_status")


def _options(values: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        {"label": value, "value": value, "display_order": order, "hidden": False}
        for order, value in enumerate(values)
    ]


def _text(name: str, label: str, description: str) -> dict[str, Any]:
    return {"name": name, "label": label, "type": "string", "field_type": "text",
            "description": description}  # fmt: skip


PROPERTIES: tuple[dict[str, Any], ...] = (
    _text("inbound_contact_id", "Inbound contact id", "The contact's id in inbound."),
    _text("inbound_persona", "Inbound persona", "The buyer persona inbound mapped the contact "
          "to (its slug); empty when none fits."),
    _text("inbound_persona_reason", "Inbound persona reason", "Why inbound chose that persona."),
    {"name": "inbound_grade", "label": "Inbound fit grade", "type": "enumeration",
     "field_type": "select", "options": _options(GRADES),
     "description": "How well the contact fits the ideal customer: A best, D least."},
    {"name": "inbound_score", "label": "Inbound engagement score", "type": "number",
     "field_type": "number", "description": "Engagement points, as of the last activity."},
    {"name": "inbound_stage", "label": "Inbound lifecycle stage", "type": "enumeration",
     "field_type": "select", "options": _options(tuple(stage.value for stage in STAGES)),
     "description": "The contact's stage in inbound, which HubSpot's own may be ahead of."},
    _text("inbound_first_asset", "Inbound first asset", "The content asset (slug) the contact "
          "first gave their details for."),
    _text("inbound_first_site", "Inbound first site", "The site of the first capture."),
    _text("inbound_first_source", "Inbound first source", "utm_source of the first capture."),
    _text("inbound_first_medium", "Inbound first medium", "utm_medium of the first capture."),
    _text("inbound_first_campaign", "Inbound first campaign",
          "utm_campaign of the first capture."),
    {"name": "inbound_marketing_consent", "label": "Inbound marketing consent",
     "type": "enumeration", "field_type": "booleancheckbox",
     "options": [{"label": "Yes", "value": "true", "display_order": 0, "hidden": False},
                 {"label": "No", "value": "false", "display_order": 1, "hidden": False}],
     "description": "Whether the contact agreed to marketing, as recorded by inbound."},
    _text("inbound_owner", "Inbound owner", "The rep who claimed the contact in inbound."),
)  # fmt: skip


def properties_of(contact: Mapping[str, Any]) -> dict[str, str]:
    """The HubSpot properties of a contact row (with its persona, first asset and first site
    joined in as `persona_slug`, `first_asset_slug`, `first_site_name`)."""
    found = {name: str(contact[field]) for name, field in STANDARD.items() if contact[field]}
    stage = LifecycleStage(contact["stage"])
    explanation = contact["persona_explanation"] or {}
    consent = contact["consent"]
    found |= {
        "lifecyclestage": LIFECYCLE_OF_STAGE[stage],
        "hs_lead_status": LEAD_STATUS_OF.get(contact["lead_status"], ""),
        "inbound_contact_id": str(contact["id"]),
        "inbound_persona": contact["persona_slug"] or "",
        "inbound_persona_reason": str(explanation.get("reason") or "")
        if contact["persona_slug"]
        else "",
        "inbound_grade": contact["grade"],
        "inbound_score": _number(contact["score"]),
        "inbound_stage": stage.value,
        "inbound_first_asset": contact["first_asset_slug"] or "",
        "inbound_first_site": contact["first_site_name"] or "",
        "inbound_first_source": contact["first_utm_source"] or "",
        "inbound_first_medium": contact["first_utm_medium"] or "",
        "inbound_first_campaign": contact["first_utm_campaign"] or "",
        "inbound_marketing_consent": "" if consent is None else str(bool(consent)).lower(),
        "inbound_owner": contact["owner"] or "",
    }
    return found


def owned_values(properties: Mapping[str, str]) -> dict[str, str]:
    """HubSpot's own properties among ``properties``: what the contact holds there once they
    are written."""
    return {name: properties[name] for name in HUBSPOT_OWNED if name in properties}


def changed_since(
    properties: Mapping[str, str], last_sent: Mapping[str, str] | None
) -> dict[str, str]:
    """The properties to send: ours, and HubSpot's own where they differ from what was last
    written there (all of them for a contact never written, but a lead status nobody set)."""
    if last_sent is None:
        # The first upsert goes by email and may land on a contact sales already works in
        # HubSpot: a lead status still at its default here must not replace theirs.
        return {
            name: value
            for name, value in properties.items()
            if not (name == "hs_lead_status" and value == UNWORKED_LEAD_STATUS)
        }
    return {
        name: value
        for name, value in properties.items()
        if name not in HUBSPOT_OWNED or last_sent.get(name) != value
    }


def _number(value: float) -> str:
    """A score as HubSpot shows numbers: no float noise, no trailing `.0`."""
    rounded = round(float(value), 2)
    return str(int(rounded)) if rounded.is_integer() else str(rounded)
