"""The portal's contact schema: the properties and groups a new portal has, and new ones
defined through the API, checked as HubSpot checks them."""

import re
from datetime import UTC, datetime
from typing import Any

from inbound.hubspot_emulator.answers import PortalError, iso

LIFECYCLE_STAGES = (
    "subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity",
    "customer", "evangelist",
)  # fmt: skip
LEAD_STATUSES = (
    "NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT",
    "CONNECTED", "BAD_TIMING",
)  # fmt: skip
READ_ONLY = frozenset({"hs_object_id", "createdate", "lastmodifieddate"})


def _option(value: str, order: int) -> dict[str, Any]:
    return {"label": value, "value": value, "displayOrder": order, "hidden": False}


def _builtin(
    name: str, kind: str = "string", field_type: str = "text", **more: Any
) -> dict[str, Any]:
    return {
        "name": name, "label": name, "type": kind, "fieldType": field_type,
        "groupName": "contactinformation", "description": "", "options": [], "displayOrder": -1,
        "hidden": False, "formField": True, "hasUniqueValue": name == "email",
        "hubspotDefined": True, "calculated": False, "externalOptions": False,
        "modificationMetadata": {
            "archivable": False, "readOnlyDefinition": True, "readOnlyValue": name in READ_ONLY,
        },
    } | more  # fmt: skip


def builtin_properties() -> dict[str, dict[str, Any]]:
    """The default contact properties a new portal has (those a sync is likely to touch)."""
    plain = ("email", "firstname", "lastname", "company", "jobtitle", "website", "city",
             "state", "country", "zip", "industry", "mobilephone")  # fmt: skip
    found = {name: _builtin(name) for name in plain}
    found["phone"] = _builtin("phone", field_type="phonenumber")
    found["lifecyclestage"] = _builtin(
        "lifecyclestage", "enumeration", "radio",
        options=[_option(v, n) for n, v in enumerate((*LIFECYCLE_STAGES, "other"))],
    )  # fmt: skip
    found["hs_lead_status"] = _builtin(
        "hs_lead_status", "enumeration", "radio",
        options=[_option(v, n) for n, v in enumerate(LEAD_STATUSES)],
    )  # fmt: skip
    found["hubspot_owner_id"] = _builtin("hubspot_owner_id", "enumeration", "select")
    found["numemployees"] = _builtin("numemployees", "number", "number")
    for name in READ_ONLY:
        found[name] = _builtin(name, "datetime" if name != "hs_object_id" else "number", "text")
    return found


def builtin_groups() -> dict[str, dict[str, Any]]:
    return {
        name: {"name": name, "label": label, "displayOrder": order, "archived": False}
        for order, (name, label) in enumerate(
            (
                ("contactinformation", "Contact information"),
                ("sales_properties", "Sales properties"),
            )
        )
    }


NAME = re.compile(r"[a-z][a-z0-9_]*")


def new_property(
    definition: dict[str, Any], properties: dict[str, Any], groups: dict[str, Any]
) -> dict[str, Any]:
    """A property the API defines, checked against the existing ``properties`` and ``groups``."""
    name = definition.get("name") or ""
    if not NAME.fullmatch(name):
        raise PortalError(400, "VALIDATION_ERROR", f"Invalid property name {name!r}")
    for required in ("label", "type", "fieldType", "groupName"):
        if not definition.get(required):
            raise PortalError(400, "VALIDATION_ERROR", f"{required} is required")
    if name in properties:
        raise PortalError(409, "OBJECT_ALREADY_EXISTS",
                          f"A property named '{name}' already exists.")  # fmt: skip
    if definition["groupName"] not in groups:
        raise PortalError(400, "VALIDATION_ERROR",
                          f"group {definition['groupName']} does not exist")  # fmt: skip
    now = iso(datetime.now(UTC))
    created = (
        _builtin(name, definition["type"], definition["fieldType"])
        | {key: value for key, value in definition.items() if value is not None}
        | {"hubspotDefined": False, "createdAt": now, "updatedAt": now, "archived": False}
    )
    created["modificationMetadata"] = {
        "archivable": True, "readOnlyDefinition": False, "readOnlyValue": False,
    }  # fmt: skip
    return created


def new_group(definition: dict[str, Any], groups: dict[str, Any]) -> dict[str, Any]:
    """A property group the API defines, checked against the existing ``groups``."""
    name = definition.get("name") or ""
    if not NAME.fullmatch(name) or not definition.get("label"):
        raise PortalError(400, "VALIDATION_ERROR", "a group needs a name and a label")
    if name in groups:
        raise PortalError(409, "OBJECT_ALREADY_EXISTS",
                          f"A property group named '{name}' already exists.")  # fmt: skip
    return {
        "name": name, "label": definition["label"],
        "displayOrder": definition.get("displayOrder", -1), "archived": False,
    }  # fmt: skip
