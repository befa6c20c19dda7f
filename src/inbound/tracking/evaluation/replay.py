"""Held-out history from the database: what each visitor viewed before a cutoff, and what it
viewed first after.

A visitor is a contact when one of its ids is linked to one (`visitor_identities`), else its
anonymous (or user) id. A content view is an event with an asset; views of the same asset one
right after the other (a recommendation click and the page it opened, a reload) count once. Training
data (view counts, histories, recommendation events, captures) are taken before the cutoff only.
"""

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from inbound.db import table_of
from inbound.leads.repository import CAPTURES, CONTACTS
from inbound.leads.stages import STAGES
from inbound.tracking.models import VisitorIdentity
from inbound.tracking.nbc.blend import CatalogAsset
from inbound.tracking.nbc.snapshot import Snapshot, load_snapshot
from inbound.tracking.repository import EVENTS

IDENTITIES = table_of(VisitorIdentity)
SHOWN, CLICKED = "Recommendation Shown", "Recommendation Clicked"
DEFAULT_SLOT = "default"
# Views of one asset closer together than this are one view (a click and the page it opened).
REPEAT_GAP = timedelta(minutes=30)


class NothingToEvaluate(Exception):
    """The database holds no behaviour that a replay could score; the message says what."""


@dataclass(frozen=True, slots=True)
class Case:
    """One visitor to predict for: its views before the cutoff and the asset it viewed next."""

    visitor: str
    views: Sequence[tuple[uuid.UUID, datetime]]  # in time order, repeats collapsed
    target: uuid.UUID
    captured: frozenset[uuid.UUID] = frozenset()
    persona_id: uuid.UUID | None = None
    stage: str | None = None

    @property
    def seen(self) -> frozenset[uuid.UUID]:
        """What the visitor has had already: viewed, or captured (a contact)."""
        return frozenset(asset for asset, _ in self.views) | self.captured


@dataclass(slots=True)
class Replay:
    """Everything a recommender may learn from (before the cutoff), and the cases to score."""

    cutoff: datetime
    last_view: datetime
    snapshot: Snapshot  # the catalog (assets not archived), pinned rules, configured weights
    cases: list[Case]
    # Every visitor's views before the cutoff, oldest first.
    histories: list[list[tuple[uuid.UUID, datetime]]]
    view_counts: Counter[uuid.UUID] = field(default_factory=Counter)
    # Recommendation impressions and clicks per (slot, asset) in the signal window.
    ctr: dict[tuple[str, uuid.UUID], tuple[int, int]] = field(default_factory=dict)
    slot: str = DEFAULT_SLOT

    @property
    def catalog(self) -> tuple[CatalogAsset, ...]:
        return self.snapshot.catalog


async def load_replay(
    connection: AsyncConnection, *, cutoff_days: float, window_days: float
) -> Replay:
    """The replay whose cutoff is ``cutoff_days`` before the last content view stored;
    click-through counts over the ``window_days`` before the cutoff, as the signals have."""
    last_view = await connection.scalar(
        select(func.max(EVENTS.c.occurred_at)).where(EVENTS.c.asset_id.is_not(None))
    )
    if last_view is None:
        raise NothingToEvaluate("no content views stored yet: nothing to evaluate")
    cutoff = last_view - timedelta(days=cutoff_days)
    sequences = await _sequences(connection)
    histories: list[list[tuple[uuid.UUID, datetime]]] = []
    counts: Counter[uuid.UUID] = Counter()
    pending: list[tuple[str, list[tuple[uuid.UUID, datetime]], uuid.UUID]] = []
    for visitor, views in sequences.items():
        before = [view for view in views if view[1] < cutoff]
        if before:
            histories.append(before)
            counts.update(asset for asset, _ in before)
            if len(before) < len(views):
                pending.append((visitor, before, views[len(before)][0]))
    contacts = await _contacts(connection, {v for v, _, _ in pending if _is_contact(v)}, cutoff)
    cases = [
        Case(visitor, before, target, *contacts.get(visitor, (frozenset(), None, None)))
        for visitor, before, target in pending
    ]
    snapshot = await load_snapshot(connection)
    since = cutoff - timedelta(days=window_days)
    ctr, slot = await _recommendation_figures(connection, since, cutoff, snapshot.catalog)
    return Replay(cutoff, last_view, snapshot, cases, histories, counts, ctr, slot)


def _is_contact(visitor: str) -> bool:
    return not visitor.startswith(("anonymous:", "user:"))


async def _sequences(connection: AsyncConnection) -> dict[str, list[tuple[uuid.UUID, datetime]]]:
    """Every visitor's content views in time order, quick repeats of one asset counted once."""
    anonymous, user = IDENTITIES.alias("anonymous"), IDENTITIES.alias("user")
    statement = (
        select(
            EVENTS.c.anonymous_id,
            EVENTS.c.user_id,
            func.coalesce(anonymous.c.contact_id, user.c.contact_id),
            EVENTS.c.asset_id,
            EVENTS.c.occurred_at,
        )
        .select_from(EVENTS)
        .outerjoin(anonymous, and_(anonymous.c.kind == "anonymous",
                                   anonymous.c.external_id == EVENTS.c.anonymous_id))
        .outerjoin(user, and_(user.c.kind == "user", user.c.external_id == EVENTS.c.user_id))
        .where(EVENTS.c.asset_id.is_not(None))
        .order_by(EVENTS.c.occurred_at, EVENTS.c.id)
    )  # fmt: skip
    sequences: dict[str, list[tuple[uuid.UUID, datetime]]] = defaultdict(list)
    for anonymous_id, user_id, contact_id, asset_id, at in await connection.execute(statement):
        visitor = (
            str(contact_id) if contact_id is not None
            else f"anonymous:{anonymous_id}" if anonymous_id is not None
            else f"user:{user_id}"
        )  # fmt: skip
        views = sequences[visitor]
        if not views or views[-1][0] != asset_id or at - views[-1][1] > REPEAT_GAP:
            views.append((asset_id, at))
    return sequences


async def _contacts(
    connection: AsyncConnection, visitors: set[str], cutoff: datetime
) -> dict[str, tuple[frozenset[uuid.UUID], uuid.UUID | None, str | None]]:
    """Each contact's captures before the cutoff, its persona, and its stage at the cutoff."""
    if not visitors:
        return {}
    ids = [uuid.UUID(visitor) for visitor in visitors]
    found: dict[str, tuple[frozenset[uuid.UUID], uuid.UUID | None, str | None]] = {}
    captured: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    reached = [CONTACTS.c[stage.reached_column] for stage in STAGES]
    for chunk in _chunks(ids, 5000):
        captures = select(CAPTURES.c.contact_id, CAPTURES.c.asset_id).where(
            CAPTURES.c.contact_id.in_(chunk), CAPTURES.c.created_at < cutoff
        )
        for contact_id, asset_id in await connection.execute(captures):
            captured[contact_id].add(asset_id)
        people = select(CONTACTS.c.id, CONTACTS.c.persona_id, *reached).where(
            CONTACTS.c.id.in_(chunk)
        )
        for row in await connection.execute(people):
            stage = None
            for name, at in zip(STAGES, row[2:], strict=True):
                if at is not None and at < cutoff:
                    stage = name.value
            found[str(row[0])] = (frozenset(captured[row[0]]), row[1], stage)
    return found


def _chunks(items: Sequence[uuid.UUID], size: int) -> Iterable[Sequence[uuid.UUID]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def _recommendation_figures(
    connection: AsyncConnection, since: datetime, cutoff: datetime, catalog: Sequence[CatalogAsset]
) -> tuple[dict[tuple[str, uuid.UUID], tuple[int, int]], str]:
    """Impressions and clicks per slot and asset from ``since`` to the cutoff, and the slot
    filled most."""
    by_ref = {ref: asset.id for asset in catalog for ref in (asset.slug, str(asset.id))}
    statement = select(EVENTS.c.event, EVENTS.c.properties).where(
        EVENTS.c.type == "track",
        EVENTS.c.event.in_((SHOWN, CLICKED)),
        EVENTS.c.occurred_at >= since,
        EVENTS.c.occurred_at < cutoff,
    )
    shown: Counter[tuple[str, uuid.UUID]] = Counter()
    clicked: Counter[tuple[str, uuid.UUID]] = Counter()
    slots: Counter[str] = Counter()
    for event, properties in await connection.execute(statement):
        slot, refs = _named_assets(properties, many=event == SHOWN)
        target = shown if event == SHOWN else clicked
        for ref in refs:
            if ref in by_ref:
                target[slot, by_ref[ref]] += 1
        if event == SHOWN:
            slots[slot] += 1
    figures = {key: (shown[key], clicked[key]) for key in shown.keys() | clicked.keys()}
    return figures, (slots.most_common(1)[0][0] if slots else DEFAULT_SLOT)


def _named_assets(properties: Any, *, many: bool) -> tuple[str, list[str]]:
    """The slot and the asset references a recommendation event names, as far as readable."""
    if not isinstance(properties, dict):
        return DEFAULT_SLOT, []
    slot = properties.get("slot")
    slot = slot if isinstance(slot, str) else DEFAULT_SLOT
    named = properties.get("assets") if many else [properties.get("asset")]
    refs = [ref for ref in named if isinstance(ref, str)] if isinstance(named, list) else []
    return slot, refs
