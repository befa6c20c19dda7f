"""`DELETE /api/v1/leads/{id}`: erase a lead (GDPR), here and, through the sync, in HubSpot."""

import uuid
from typing import Any

from litestar import Controller, Request, delete
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.auth.principal import requires
from inbound.auth.scopes import Scope
from inbound.crm.service import CrmService
from inbound.errors import problems
from inbound.leads.controller import if_match
from inbound.leads.service import LeadService
from inbound.surveys.erasure import erase_browser_answers
from inbound.tracking.activity import erase_behaviour


class ErasureController(Controller):
    path = "/leads"
    tags = ["leads"]
    guards = [requires(Scope.ADMIN)]

    @delete(
        "/{lead_id:uuid}",
        operation_id="eraseLead",
        summary="Erase a lead for good (the right to erasure)",
        description="Deletes the contact and everything recorded about it: captures, stage "
        "changes, scores, notes, events, survey answers and their follow-up cases, the webhook "
        "deliveries still pending for it, and its linked ids, merge log and every behaviour "
        "event and anonymous survey answer of those ids. When "
        "the CRM sync is on (or HubSpot already has the contact), the contact is also deleted in "
        "HubSpot with its GDPR delete, by the worker, soon after; `GET /api/v1/crm/status` "
        "counts erasures still to carry out there. Honours `If-Match`.",
        responses=problems(400, 401, 403, 404, 412),
    )
    async def erase(
        self,
        request: Request[Any, Any, Any],
        lead_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
        state: State,
    ) -> None:
        crm = CrmService(db_session, state.settings)
        crm_id = await crm.crm_id_of(lead_id)
        # First, while the links still say which ids are the lead's; a refused erasure rolls
        # this back with the rest.
        await erase_browser_answers(db_session, lead_id)
        await erase_behaviour(db_session, lead_id)
        email = await LeadService(db_session).erase(lead_id, precondition=if_match(request))
        await crm.forget(email, crm_id)
