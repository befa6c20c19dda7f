"""Case events for the outbox: `case.opened`, `case.updated` and `case.resolved`, written in
the transaction of the change as the lead's events, at the lead version the change gave it."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from inbound.db import new_id
from inbound.leads.events import LeadEventType
from inbound.surveys.case_schemas import CaseRead
from inbound.surveys.links import LinkClaim

ORDINAL = 0  # a case's change is the only change of its lead version


def case_event(
    kind: LeadEventType,
    case: CaseRead,
    lead: Mapping[str, Any],
    at: datetime,
    *,
    changes: Sequence[str] = (),
    survey_link: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The outbox row of one change to a case. ``lead`` is the lead after the change (id, email,
        owner, version); ``survey_link``, on `case.resolved`, the link that asks the contact again
    (null when the survey is archived)."""
    data: dict[str, Any] = {
        "case": case.model_dump(mode="json"),
        "lead": {"id": str(lead["id"]), "email": lead["email"], "owner": lead["owner"],
                 "version": lead["version"]},
    }  # fmt: skip
    if kind is not LeadEventType.CASE_OPENED:
        data["changes"] = list(changes)
    if kind is LeadEventType.CASE_RESOLVED:
        data["survey_link"] = dict(survey_link) if survey_link is not None else None
    return {
        "id": new_id(),
        "type": kind.value,
        "lead_id": lead["id"],
        "lead_version": lead["version"],
        "ordinal": ORDINAL,
        "data": data,
        "occurred_at": at,
        "origin": None,
    }


def link_document(claim: LinkClaim, token: str, base_url: str) -> dict[str, Any]:
    """A signed survey link as `case.resolved` carries it, for the mailer to send."""
    return {
        "survey_id": str(claim.survey_id),
        "token": token,
        "url": f"{base_url.rstrip('/')}/s/{token}",
        "expires_at": claim.expires_at.isoformat().replace("+00:00", "Z"),
    }
