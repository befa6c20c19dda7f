"""The emulated portal's data: contacts, properties and groups, with HubSpot's validation rules.

Everything here is plain data under one lock; `server` turns it into HTTP. The rules are the
ones HubSpot's CRM v3 API documents or integrators observed: emails are unique and stored
lowercased, every property value is a string, unknown properties and bad values are refused
with HubSpot's error codes, and the lifecycle stage only moves forward.
"""

import itertools
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from inbound.hubspot_emulator.answers import Invalid, PortalError, invalid_value, iso, public
from inbound.hubspot_emulator.schema import (
    LIFECYCLE_STAGES,
    READ_ONLY,
    builtin_groups,
    builtin_properties,
    new_group,
    new_property,
)
from inbound.hubspot_emulator.search import search_page

__all__ = ["Invalid", "Portal", "PortalError", "iso"]

# Close to HubSpot's own check: one @, a dot in the domain, no spaces.
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
BATCH_LIMIT = 100


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
                invalid_value("email", email, "INVALID_EMAIL", f"Email address {email} is invalid")
            )
        for name, value in properties.items():
            problem = self._check_value(name, value)
            if problem:
                problems.append(problem)
        return Invalid(problems) if problems else None

    def _check_value(self, name: str, value: Any) -> dict[str, Any] | None:
        found = self.properties.get(name)
        if found is None:
            return invalid_value(
                name, value, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'
            )
        if name in READ_ONLY:
            return invalid_value(name, value, "READ_ONLY_VALUE", f"{name} is a read only property")
        if not isinstance(value, str):
            return invalid_value(name, value, "INVALID_TYPE", f"{value!r} is not a string")
        if value == "":
            return None
        if name == "email" and not EMAIL.match(value):
            return invalid_value(name, value, "INVALID_EMAIL", f"Email address {value} is invalid")
        options = {option["value"] for option in found.get("options", [])}
        if found["type"] == "enumeration" and options and value not in options:
            allowed = f"{value} was not one of the allowed options: {sorted(options)}"
            return invalid_value(name, value, "INVALID_OPTION", allowed)
        if found["type"] == "number":
            try:
                float(value)
            except ValueError:
                return invalid_value(name, value, "INVALID_FLOAT", f"{value} is not a valid number")
        if found["type"] == "bool" and value not in ("true", "false"):
            return invalid_value(name, value, "INVALID_BOOLEAN", f"{value} is not a valid boolean")
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
        return {**public(contact), "new": new}

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
                    found.append(public(contact, names))
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
        """`POST /crm/v3/objects/contacts/search`."""
        with self.lock:
            return search_page(self.contacts.values(), request)

    # Schema

    def create_property(self, definition: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            created = new_property(definition, self.properties, self.groups)
            self.properties[created["name"]] = created
            return created

    def create_group(self, definition: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            group = self.groups[definition["name"]] = new_group(definition, self.groups)
            return group
