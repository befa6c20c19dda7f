"""The emulated portal's data: contacts, properties and groups, with HubSpot's validation rules.

Everything here is plain data under one lock; `server` turns it into HTTP. The rules are the
ones HubSpot's CRM v3 API documents or integrators observed: emails are unique and stored
lowercased, every property value is a string, unknown properties and bad values are refused
with HubSpot's error codes, and the lifecycle stage only moves forward.
"""

import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

LIFECYCLE_STAGES = (
    "subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity",
    "customer", "evangelist",
)  # fmt: skip
LEAD_STATUSES = (
    "NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT",
    "CONNECTED", "BAD_TIMING",
)  # fmt: skip
READ_ONLY = frozenset({"hs_object_id", "createdate", "lastmodifieddate"})
# Close to HubSpot's own check: one @, a dot in the domain, no spaces.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
BATCH_LIMIT = 100


def iso(moment: datetime) -> str:
    """A time as HubSpot writes it: ISO 8601, milliseconds, Z."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


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


class PortalError(Exception):
    """An answer other than success, in HubSpot's shape."""

    def __init__(
        self,
        status: int,
        category: str,
        message: str,
        *,
        context: dict[str, list[str]] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"status": "error", "message": message, "category": category}
        if context:
            self.body["context"] = context
        if errors:
            self.body["errors"] = errors


@dataclass
class Invalid:
    """Why one input's properties were refused: HubSpot's per-property error items."""

    problems: list[dict[str, Any]]

    @property
    def message(self) -> str:
        return "Property values were not valid: " + json.dumps(self.problems)


@dataclass
class Portal:
    """One HubSpot account's contacts and contact schema."""

    portal_id: int = 62515
    # HubSpot ignores a move back to an earlier stage unless the stage was first cleared.
    lifecycle_forward_only: bool = True
    # With unique trace ids, HubSpot writes the valid inputs of a batch and reports the others
    # (207); integrators also saw it refuse the whole batch (400). False answers that way.
    multi_status: bool = True
    # Whether results echo each input's objectWriteTraceId; clients must not rely on it.
    echo_trace_ids: bool = True
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_email: dict[str, str] = field(default_factory=dict)
    properties: dict[str, dict[str, Any]] = field(default_factory=builtin_properties)
    groups: dict[str, dict[str, Any]] = field(default_factory=builtin_groups)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: "itertools.count[int]" = field(default_factory=lambda: itertools.count(1001))
    created: int = 0
    # Every change a write made to a watched property: what the portal's webhooks report.
    changes: list[dict[str, Any]] = field(default_factory=list)

    # Contacts

    def upsert(
        self, inputs: list[dict[str, Any]], *, source: str = "API"
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Create or update contacts by email; the results and the errors of a partial write.

        Raises `PortalError` when the batch is refused as a whole: more than 100 inputs,
        duplicate ids, an unsupported id property, or a bad input with no trace ids to report
        it against.
        """
        if len(inputs) > BATCH_LIMIT:
            raise PortalError(
                400, "VALIDATION_ERROR",
                f"Batch input size {len(inputs)} exceeds the limit of {BATCH_LIMIT} inputs",
            )  # fmt: skip
        ids = [str(item.get("id", "")).strip().lower() for item in inputs]
        repeated = sorted({value for value in ids if ids.count(value) > 1})
        if repeated:
            raise PortalError(
                400, "VALIDATION_ERROR",
                f"Duplicate IDs found in batch input: [{', '.join(repeated)}]. IDs must be unique",
                context={"ids": repeated},
            )  # fmt: skip
        for item in inputs:
            id_property = item.get("idProperty") or "hs_object_id"
            if id_property != "email":
                raise PortalError(
                    400, "VALIDATION_ERROR",
                    f"Unable to perform update/upsert by non-unique 0-1 property {id_property}",
                )  # fmt: skip
        traces = [item.get("objectWriteTraceId") for item in inputs]
        partial = self.multi_status and all(traces) and len(set(traces)) == len(traces)
        with self.lock:
            verdicts = [self._check(email, item.get("properties") or {}) for email, item in
                        zip(ids, inputs, strict=True)]  # fmt: skip
            refused = [(item, v) for item, v in zip(inputs, verdicts, strict=True) if v]
            if refused and not partial:
                raise PortalError(400, "VALIDATION_ERROR", refused[0][1].message)
            results, errors = [], []
            for email, item, verdict in zip(ids, inputs, verdicts, strict=True):
                if verdict is not None:
                    errors.append({
                        "status": "error", "category": "VALIDATION_ERROR",
                        "message": verdict.message,
                        "context": {"objectWriteTraceId": [item["objectWriteTraceId"]]},
                        "errors": [], "links": {},
                    })  # fmt: skip
                    continue
                result = self._write(email, item.get("properties") or {}, source)
                if item.get("objectWriteTraceId") and self.echo_trace_ids:
                    result["objectWriteTraceId"] = item["objectWriteTraceId"]
                results.append(result)
        return results, errors

    def _check(self, email: str, properties: dict[str, Any]) -> Invalid | None:
        problems = []
        if not EMAIL.match(email):
            problems.append(
                _problem("email", email, "INVALID_EMAIL", f"Email address {email} is invalid")
            )
        for name, value in properties.items():
            problem = self._check_value(name, value)
            if problem:
                problems.append(problem)
        return Invalid(problems) if problems else None

    def _check_value(self, name: str, value: Any) -> dict[str, Any] | None:
        found = self.properties.get(name)
        if found is None:
            return _problem(
                name, value, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'
            )
        if name in READ_ONLY:
            return _problem(name, value, "READ_ONLY_VALUE", f"{name} is a read only property")
        if not isinstance(value, str):
            return _problem(name, value, "INVALID_TYPE", f"{value!r} is not a string")
        if value == "":
            return None
        if name == "email" and not EMAIL.match(value):
            return _problem(name, value, "INVALID_EMAIL", f"Email address {value} is invalid")
        options = {option["value"] for option in found.get("options", [])}
        if found["type"] == "enumeration" and options and value not in options:
            allowed = f"{value} was not one of the allowed options: {sorted(options)}"
            return _problem(name, value, "INVALID_OPTION", allowed)
        if found["type"] == "number":
            try:
                float(value)
            except ValueError:
                return _problem(name, value, "INVALID_FLOAT", f"{value} is not a valid number")
        if found["type"] == "bool" and value not in ("true", "false"):
            return _problem(name, value, "INVALID_BOOLEAN", f"{value} is not a valid boolean")
        return None

    def _write(self, email: str, properties: dict[str, str], source: str) -> dict[str, Any]:
        now = iso(datetime.now(UTC))
        contact_id = self.by_email.get(email)
        new = contact_id is None
        if contact_id is None:
            contact_id = str(next(self._ids))
            self.created += 1
            self.by_email[email] = contact_id
            self.contacts[contact_id] = {
                "id": contact_id, "createdAt": now, "updatedAt": now, "archived": False,
                "properties": {"email": email, "hs_object_id": contact_id, "createdate": now,
                               "lastmodifieddate": now},
            }  # fmt: skip
        contact = self.contacts[contact_id]
        self.set_properties(contact, {**properties, "email": email}, source)
        contact["updatedAt"] = contact["properties"]["lastmodifieddate"] = now
        return {**_public(contact), "new": new}

    def set_properties(self, contact: dict[str, Any], changes: dict[str, str], source: str) -> None:
        """Apply property values as HubSpot does, noting the changes its webhooks report."""
        current = contact["properties"]
        for name, value in changes.items():
            if name == "lifecyclestage" and not self._moves_forward(current.get(name), value):
                continue
            if current.get(name, "") != value:
                current[name] = value
                self.changes.append({
                    "objectId": int(contact["id"]), "propertyName": name, "propertyValue": value,
                    "changeSource": source,
                })  # fmt: skip

    def _moves_forward(self, before: str | None, after: str) -> bool:
        if not self.lifecycle_forward_only or not before or not after:
            return True
        if before not in LIFECYCLE_STAGES or after not in LIFECYCLE_STAGES:
            return True
        return LIFECYCLE_STAGES.index(after) >= LIFECYCLE_STAGES.index(before)

    def read(
        self, ids: list[str], id_property: str | None, names: list[str] | None
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """Contacts by id or email; those found, and the ids that were not."""
        with self.lock:
            found, missing = [], []
            for value in ids:
                contact_id = self.by_email.get(value.lower()) if id_property == "email" else value
                contact = self.contacts.get(contact_id or "")
                if contact is None:
                    missing.append(value)
                else:
                    found.append(_public(contact, names))
            return found, missing

    def get(
        self, value: str, id_property: str | None, names: list[str] | None = None
    ) -> dict[str, Any]:
        found, _ = self.read([value], id_property, names)
        if not found:
            raise PortalError(
                404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric."
            )
        return found[0]

    def purge(self, value: str, id_property: str | None, *, source: str = "API") -> None:
        """GDPR delete: the contact is gone for good, email included."""
        self.remove(value, id_property, privacy=True, source=source)

    def remove(
        self, value: str, id_property: str | None, *, privacy: bool = False, source: str = "API"
    ) -> None:
        """Delete a contact (archive, or GDPR delete with ``privacy``), noting the event the
        portal's webhooks report; an upsert of its email afterwards creates a new contact."""
        with self.lock:
            contact_id = self.by_email.get(value.lower()) if id_property == "email" else value
            contact = self.contacts.pop(contact_id or "", None)
            if contact is None:
                raise PortalError(
                    404, "OBJECT_NOT_FOUND", "Object not found.  objectId are usually numeric."
                )
            self.by_email.pop(contact["properties"]["email"], None)
            kind = "contact.privacyDeletion" if privacy else "contact.deletion"
            self.changes.append(
                {"objectId": int(contact["id"]), "subscriptionType": kind, "changeSource": source}
            )

    def search(self, request: dict[str, Any]) -> dict[str, Any]:
        """`POST /crm/v3/objects/contacts/search`: filter groups ORed, filters ANDed."""
        limit = int(request.get("limit") or 10)
        if limit > 200:
            raise PortalError(400, "VALIDATION_ERROR", "limit must be at most 200")
        after = int(request.get("after") or 0)
        groups = request.get("filterGroups") or []
        if len(groups) > 5 or sum(len(g.get("filters") or []) for g in groups) > 25:
            raise PortalError(400, "VALIDATION_ERROR", "Too many filters in the request")
        with self.lock:
            matching = [
                contact for contact in self.contacts.values()
                if not groups or any(
                    all(_matches(contact["properties"], f) for f in group.get("filters") or [])
                    for group in groups
                )
            ]  # fmt: skip
            matching.sort(key=lambda contact: int(contact["id"]))
            if after >= 10_000:
                raise PortalError(400, "VALIDATION_ERROR", "paging is limited to 10,000 results")
            page = matching[after : after + limit]
            names = request.get("properties") or [
                "createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname",
            ]  # fmt: skip
            body: dict[str, Any] = {
                "total": len(matching), "results": [_public(c, names) for c in page],
            }  # fmt: skip
            if after + limit < len(matching):
                body["paging"] = {"next": {"after": str(after + limit)}}
            return body

    # Schema

    def create_property(self, definition: dict[str, Any]) -> dict[str, Any]:
        name = definition.get("name") or ""
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise PortalError(400, "VALIDATION_ERROR", f"Invalid property name {name!r}")
        for required in ("label", "type", "fieldType", "groupName"):
            if not definition.get(required):
                raise PortalError(400, "VALIDATION_ERROR", f"{required} is required")
        with self.lock:
            if name in self.properties:
                raise PortalError(409, "OBJECT_ALREADY_EXISTS",
                                  f"A property named '{name}' already exists.")  # fmt: skip
            if definition["groupName"] not in self.groups:
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
            self.properties[name] = created
            return created

    def create_group(self, definition: dict[str, Any]) -> dict[str, Any]:
        name = definition.get("name") or ""
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or not definition.get("label"):
            raise PortalError(400, "VALIDATION_ERROR", "a group needs a name and a label")
        with self.lock:
            if name in self.groups:
                raise PortalError(409, "OBJECT_ALREADY_EXISTS",
                                  f"A property group named '{name}' already exists.")  # fmt: skip
            group = {
                "name": name, "label": definition["label"],
                "displayOrder": definition.get("displayOrder", -1), "archived": False,
            }  # fmt: skip
            self.groups[name] = group
            return group


def _problem(name: str, value: Any, code: str, message: str) -> dict[str, Any]:
    return {
        "isValid": False, "message": message, "error": code, "name": name,
        "localizedErrorMessage": message,
    }  # fmt: skip


def _public(contact: dict[str, Any], names: list[str] | None = None) -> dict[str, Any]:
    properties = contact["properties"]
    if names is not None:
        properties = {name: properties.get(name) for name in names}
    return {
        "id": contact["id"], "properties": dict(properties), "createdAt": contact["createdAt"],
        "updatedAt": contact["updatedAt"], "archived": False,
    }  # fmt: skip


def _matches(properties: dict[str, str], rule: dict[str, Any]) -> bool:
    operator = rule.get("operator", "EQ")
    actual = properties.get(rule.get("propertyName", ""))
    value, values = rule.get("value"), rule.get("values") or []
    if operator == "HAS_PROPERTY":
        return bool(actual)
    if operator == "NOT_HAS_PROPERTY":
        return not actual
    if actual is None:
        return operator in ("NEQ", "NOT_IN")
    lowered = actual.lower()
    if operator == "EQ":
        return lowered == str(value).lower()
    if operator == "NEQ":
        return lowered != str(value).lower()
    if operator == "IN":
        return lowered in {str(v).lower() for v in values}
    if operator == "NOT_IN":
        return lowered not in {str(v).lower() for v in values}
    if operator == "CONTAINS_TOKEN":
        return str(value).lower().strip("*") in lowered
    if operator == "NOT_CONTAINS_TOKEN":
        return str(value).lower().strip("*") not in lowered
    low, high = _comparable(actual), _comparable(value)
    if operator == "BETWEEN":
        return bool(high <= low <= _comparable(rule.get("highValue")))
    return bool(
        {"GT": low > high, "GTE": low >= high, "LT": low < high, "LTE": low <= high}.get(operator)
    )


def _comparable(value: Any) -> tuple[int, float, str]:
    """Numbers (epoch milliseconds included) compare as numbers, anything else as text."""
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))
