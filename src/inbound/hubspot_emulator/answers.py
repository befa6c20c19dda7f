"""HubSpot's shapes of an answer: its times, its errors, and a contact as the API shows it."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def iso(moment: datetime) -> str:
    """A time as HubSpot writes it: ISO 8601, milliseconds, Z."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


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


def invalid_value(name: str, value: Any, code: str, message: str) -> dict[str, Any]:
    return {
        "isValid": False, "message": message, "error": code, "name": name,
        "localizedErrorMessage": message,
    }  # fmt: skip


def public(contact: dict[str, Any], names: list[str] | None = None) -> dict[str, Any]:
    properties = contact["properties"]
    if names is not None:
        properties = {name: properties.get(name) for name in names}
    return {
        "id": contact["id"], "properties": dict(properties), "createdAt": contact["createdAt"],
        "updatedAt": contact["updatedAt"], "archived": False,
    }  # fmt: skip
