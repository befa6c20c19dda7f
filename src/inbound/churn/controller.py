"""`/api/v1/churn/at-risk`: the contacts flagged at risk; `/api/v1/leads/{id}/risk`: one lead's
churn risk, computed on request."""

import uuid
from typing import Annotated

from litestar import Controller, get
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.auth.principal import requires
from inbound.auth.scopes import Scope
from inbound.churn.schemas import AtRiskList, LeadRiskRead, RiskStage
from inbound.churn.service import AtRiskFilter, at_risk_page, lead_risk
from inbound.db import utcnow
from inbound.errors import problems
from inbound.field_messages import describe_pattern
from inbound.leads.sales.listing import NO_PERSONA, UNOWNED
from inbound.pagination import DEFAULT_LIMIT, LimitParam
from inbound.personas.service import filtered_persona_id
from inbound.schemas import NO_NUL

READ = [requires(Scope.LEADS_READ)]
SCORING = (
    "The score (0-100) is the sum of four signals' points, at most 100: falling engagement "
    "(ledger points of the last 30 days against the 30 before, when those were 10 or more and "
    "fell by a quarter or more: 30 times the share lost), silence (no engagement for 60 days, or "
    "since the contact was created: 25), a negative survey answer in the last 90 days (NPS "
    "0-6, CES 1-2 on 1-5 or 1-3 on 1-7, CSAT 1-2: 35, and 5 for each further one up to 10 "
    "more) and unresolved feedback cases (10 each, 20 when overdue, at most 40). Only leads at "
    "`opportunity`, `customer` or `evangelist` have one. "
)
Cursor = Annotated[
    str | None,
    QueryParameter(
        pattern=describe_pattern(
            r"^[A-Za-z0-9_-]{23}$", "must be a next_cursor this list answered, unchanged"
        ),
        description="`next_cursor` of the previous page; opaque.",
    ),
]
Text = Annotated[str | None, QueryParameter(max_length=200, pattern=NO_NUL)]
Ref = Annotated[str | None, QueryParameter(max_length=64, pattern=NO_NUL)]


class ChurnController(Controller):
    path = "/churn"
    tags = ["churn"]
    guards = READ

    @get(
        "/at-risk",
        operation_id="listAtRiskLeads",
        summary="List the contacts flagged at risk of churning, highest score first",
        description=SCORING
        + "A contact is flagged when the worker's periodic pass finds its score at or above "
        "`INBOUND_CHURN_THRESHOLD`, and listed with the top 3 reasons of that pass; `GET "
        "/api/v1/leads/{id}/risk` computes a lead's risk now. Filters: `stage`, `owner` (or "
        "`unowned`), `persona` (id or slug, or `none`; an unknown persona is a 400) and "
        "`min_score`. Ties in score come by id, descending; a pass between two pages may "
        "move a contact.",
        responses=problems(400, 401, 403),
    )
    async def list_at_risk(
        self,
        db_session: NamedDependency[AsyncSession],
        stage: FromQuery[RiskStage | None] = None,
        owner: Text = None,
        persona: Ref = None,
        min_score: Annotated[int | None, QueryParameter(ge=0, le=100)] = None,
        limit: LimitParam = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> AtRiskList:
        filters = AtRiskFilter(
            stage=stage,
            owner=None if owner == UNOWNED else owner,
            unowned=owner == UNOWNED,
            persona_id=None
            if persona == NO_PERSONA
            else await filtered_persona_id(db_session, persona, field="persona"),
            without_persona=persona == NO_PERSONA,
            min_score=min_score,
        )
        return await at_risk_page(db_session, filters, limit=limit, cursor=cursor)


class LeadRiskController(Controller):
    path = "/leads"
    tags = ["churn"]
    guards = READ

    @get(
        "/{lead_id:uuid}/risk",
        operation_id="getLeadRisk",
        summary="A lead's churn risk, computed now, with every signal and its evidence",
        description=SCORING
        + "A lead at an earlier stage answers 200 with `eligible: false`. `flagged` tells "
        "whether the worker's last pass flagged the lead (and sent `lead.at_risk`); between "
        "passes it may disagree with `above_threshold`.",
        responses=problems(400, 401, 403, 404),
    )
    async def get_lead_risk(
        self,
        lead_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
        state: State,
    ) -> LeadRiskRead:
        return await lead_risk(
            db_session, lead_id, threshold=state.settings.churn_threshold, now=utcnow()
        )
