"""An asset's form as a site's pages render it: its fields, their types, and its consent box.

Public data: what an asset's form asks for, never anything a visitor sent.
"""

import hashlib
import uuid
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import msgspec
from pydantic import Field

from inbound.schemas import ResponseSchema


class FieldType(StrEnum):
    """How a page renders a form field (the HTML input types a lead form needs)."""

    TEXT = "text"
    EMAIL = "email"
    TEL = "tel"
    NUMBER = "number"
    CHECKBOX = "checkbox"
    SELECT = "select"
    TEXTAREA = "textarea"


# The fields every capture takes whose type is set by what the capture stores.
STANDARD_TYPES = {
    "email": FieldType.EMAIL,
    "phone": FieldType.TEL,
    "company_size": FieldType.NUMBER,
    "consent": FieldType.CHECKBOX,
    **dict.fromkeys(
        ("first_name", "last_name", "company", "job_title", "country", "industry", "seniority"),
        FieldType.TEXT,
    ),
}


def standard_type(name: str) -> FieldType | None:
    """The type a standard capture field always has; None for a custom field."""
    return STANDARD_TYPES.get(name)


def field_type_problems(spec: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What is inconsistent in a form field's type, options and consent text version."""
    name, kind = spec["name"], spec.get("type")
    fixed = standard_type(name)
    problems = []
    if fixed is not None and kind not in (None, fixed):
        problems.append(("type", f"`{name}` is always of type `{fixed}`"))
    if (kind == FieldType.SELECT) != (spec.get("options") is not None):
        problems.append(("options", "`options` go with `type: select`, and a select needs them"))
    if spec.get("text_version") is not None and name != "consent":
        problems.append(("text_version", "only the `consent` field has a `text_version`"))
    return problems


class FormFieldDefinition(ResponseSchema):
    name: str = Field(description="The name to post it under.", examples=["job_title"])
    label: str = Field(examples=["Job title"])
    type: FieldType
    required: bool
    options: list[str] | None = Field(description="The choices of a `select` field.")


class ConsentDefinition(ResponseSchema):
    label: str | None = Field(description="The consent sentence shown beside the box.")
    text_version: str | None = Field(
        description="Post it as `consent_text_version` with the visitor's answer."
    )
    required: bool = Field(description="Whether the form is refused without a ticked box.")


class FormDefinitionRead(ResponseSchema):
    """What a page needs to render an asset's form and post it to `/api/v1/captures`."""

    asset: str = Field(description="The asset's slug, to post as `asset`.")
    asset_id: uuid.UUID
    title: str
    gated: bool = Field(description="Whether the asset is given in exchange for the form.")
    fields: list[FormFieldDefinition] = Field(
        description="In the order to show them; `email` is always there, and required."
    )
    consent: ConsentDefinition | None = Field(
        description="The consent box, when the form asks for consent."
    )


def form_definition(
    asset_id: uuid.UUID, slug: str, title: str, gated: bool, form_fields: list[dict[str, Any]]
) -> FormDefinitionRead:
    """The form of an asset, as its stored form fields describe it."""
    fields = [_field(spec) for spec in form_fields if spec["name"] != "consent"]
    if not any(f.name == "email" for f in fields):  # every capture asks for it
        fields.insert(0, _field({"name": "email"}))
    consent = next((spec for spec in form_fields if spec["name"] == "consent"), None)
    return FormDefinitionRead(
        asset=slug,
        asset_id=asset_id,
        title=title,
        gated=gated,
        fields=fields,
        consent=None
        if consent is None
        else ConsentDefinition(
            label=consent.get("label"),
            text_version=consent.get("text_version"),
            required=consent.get("required", True),
        ),
    )


def definition_etag(definition: FormDefinitionRead) -> str:
    """A strong entity tag of the definition's content, whatever changed it."""
    body = msgspec.json.encode(definition.model_dump(mode="json"))
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def _field(spec: Mapping[str, Any]) -> FormFieldDefinition:
    name: str = spec["name"]
    return FormFieldDefinition(
        name=name,
        label=spec.get("label") or name.replace("_", " ").capitalize(),
        type=spec.get("type") or standard_type(name) or FieldType.TEXT,
        required=spec.get("required", True),
        options=spec.get("options"),
    )
