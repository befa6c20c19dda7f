"""Custom form fields: what a contact keeps of them, bounded however many captures come.

Each capture keeps every field it posted (at most 50 names of 64 characters, values of 2,000,
all within the 64 KiB body). The contact keeps the latest answer per name, up to a number of
names and a size in JSON; names that would go past them stay on their captures only, so a
flood of new names cannot grow a contact without bound.
"""

from dataclasses import dataclass
from typing import Any

import msgspec

from inbound.errors import Unprocessable


class TooManyFields(Unprocessable, problem="too-many-fields"): ...


@dataclass(frozen=True, slots=True)
class CustomFieldLimits:
    """How many custom fields a contact keeps, and how many bytes of JSON they take together."""

    per_contact: int = 200
    bytes_per_contact: int = 65_536

    def check_capture(self, fields: dict[str, Any]) -> None:
        """Refuse a capture whose own custom fields would not fit in a contact."""
        if len(fields) > self.per_contact:
            raise TooManyFields(
                f"a contact keeps at most {self.per_contact} custom fields", field="fields"
            )
        if _json_size(fields) > self.bytes_per_contact:
            raise TooManyFields(
                f"a contact's custom fields take at most {self.bytes_per_contact} bytes of JSON",
                field="fields",
            )

    def merge(self, kept: dict[str, Any] | None, posted: dict[str, Any]) -> dict[str, Any]:
        """The contact's custom fields with a capture's answers: new answers replace old ones,
        and new names are added while they fit."""
        merged = dict(kept or {})
        size = _json_size(merged)
        for name, value in posted.items():
            known = name in merged
            # One `"name":value` member, and the comma before it unless it is the first.
            grown = size + _member_size(name, value) + (0 if known or not merged else 1)
            if known:
                grown -= _member_size(name, merged[name])
            if len(merged) + (not known) <= self.per_contact and grown <= self.bytes_per_contact:
                merged[name], size = value, grown
        return merged


def _json_size(value: Any) -> int:
    return len(msgspec.json.encode(value))


def _member_size(name: str, value: Any) -> int:
    return _json_size(name) + 1 + _json_size(value)
