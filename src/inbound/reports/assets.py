"""What each asset did in a period, in SQL: captures, new contacts, and attributed conversions.

Attribution follows the contacts that reached the chosen stage inside the period, over their
captures up to that moment (at any earlier time): first touch gives the whole credit to the
first capture, last touch to the last, linear an equal share to each. A contact's credits
sum to 1 under each model; ties in time go to the capture made first by id.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.leads.repository import CAPTURES, CONTACTS
from inbound.leads.stages import LifecycleStage
from inbound.reports.query import reached, where_given


@dataclass(frozen=True, slots=True)
class AssetQuery:
    """An asset report's question, its period already turned into UTC instants."""

    stage: LifecycleStage
    start: datetime
    end: datetime  # exclusive
    persona_id: uuid.UUID | None = None
    site_id: uuid.UUID | None = None


@dataclass(slots=True)
class AssetFigures:
    captures: int = 0
    new_contacts: int = 0
    first_touch: int = 0
    last_touch: int = 0
    linear: float = 0.0


@dataclass(slots=True)
class Conversions:
    """Contacts that reached the stage in the period: with captures before it, and without."""

    attributed: int = 0
    unattributed: int = 0


Statement = TypeVar("Statement", bound=Select[*tuple[Any, ...]])


def _contacts(query: AssetQuery, statement: Statement) -> Statement:
    """``statement`` narrowed to the contacts the filters keep."""
    return where_given(
        statement,
        (CONTACTS.c.persona_id, query.persona_id),
        (CONTACTS.c.first_site_id, query.site_id),
    )


def _in_period(column: Any, query: AssetQuery) -> Any:
    return (column >= query.start) & (column < query.end)


async def asset_figures(
    session: AsyncSession, query: AssetQuery
) -> tuple[dict[uuid.UUID, AssetFigures], Conversions]:
    """Each asset's figures (assets without any are left out) and the conversions counted."""
    figures: dict[uuid.UUID, AssetFigures] = {}

    def of(asset_id: uuid.UUID) -> AssetFigures:
        return figures.setdefault(asset_id, AssetFigures())

    captures = select(CAPTURES.c.asset_id, func.count()).where(
        _in_period(CAPTURES.c.created_at, query)
    )
    if query.persona_id is not None or query.site_id is not None:
        captures = _contacts(query, captures.join(CONTACTS, CONTACTS.c.id == CAPTURES.c.contact_id))
    captures = captures.group_by(CAPTURES.c.asset_id)
    for asset_id, count in (await session.execute(captures)).all():
        of(asset_id).captures = int(count)

    first_captures = _contacts(
        query,
        select(CONTACTS.c.first_asset_id, func.count()).where(
            _in_period(CONTACTS.c.created_at, query), CONTACTS.c.first_asset_id.is_not(None)
        ),
    ).group_by(CONTACTS.c.first_asset_id)
    for asset_id, count in (await session.execute(first_captures)).all():
        of(asset_id).new_contacts = int(count)

    attributed = 0
    for asset_id, first, last, linear in await _credits(session, query):
        found = of(asset_id)
        found.first_touch, found.last_touch, found.linear = int(first), int(last), float(linear)
        attributed += found.first_touch  # each attributed contact has one first touch
    converted = await _converted(session, query)
    return figures, Conversions(attributed, converted - attributed)


async def _credits(session: AsyncSession, query: AssetQuery) -> list[Any]:
    converted_at = reached(query.stage)
    converted = _contacts(
        query,
        select(CONTACTS.c.id, converted_at.label("converted_at")).where(
            _in_period(converted_at, query)
        ),
    ).cte("converted")
    contact = CAPTURES.c.contact_id
    order = (CAPTURES.c.created_at, CAPTURES.c.id)
    backwards = (CAPTURES.c.created_at.desc(), CAPTURES.c.id.desc())
    touches = (
        select(
            CAPTURES.c.asset_id,
            func.row_number().over(partition_by=contact, order_by=order).label("from_first"),
            func.row_number().over(partition_by=contact, order_by=backwards).label("from_last"),
            func.count().over(partition_by=contact).label("touches"),
        )
        .join(converted, converted.c.id == CAPTURES.c.contact_id)
        .where(CAPTURES.c.created_at <= converted.c.converted_at)
        .subquery("touches")
    )
    statement = select(
        touches.c.asset_id,
        func.count(case((touches.c.from_first == 1, 1))),
        func.count(case((touches.c.from_last == 1, 1))),
        func.sum(1.0 / touches.c.touches),
    ).group_by(touches.c.asset_id)
    return list((await session.execute(statement)).all())


async def _converted(session: AsyncSession, query: AssetQuery) -> int:
    """Contacts that reached the stage inside the period, with a capture before or not."""
    converted_at = reached(query.stage)
    statement = _contacts(query, select(func.count()).where(_in_period(converted_at, query)))
    return int((await session.execute(statement)).scalar_one())


async def asset_labels(session: AsyncSession) -> Mapping[uuid.UUID, dict[str, Any]]:
    """Every asset's slug, title, kind and funnel stage, by id."""
    assets = CONTACTS.metadata.tables["content_assets"]
    statement = select(
        assets.c.id, assets.c.slug, assets.c.title, assets.c.kind, assets.c.funnel_stage
    )
    return {row.id: dict(row._mapping) for row in (await session.execute(statement)).all()}
