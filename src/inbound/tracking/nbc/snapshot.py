"""Everything a next-best-content answer needs besides the visitor: read in a handful of
queries, kept in process for a few seconds.

The catalog (live assets with their topics and persona tags), the pinned rules, the weights
and the recomputed signals change a few times a day or once a refresh; a request only reads
the visitor's own history from the database.
"""

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from inbound.content.models import AssetPersona, AssetTopic, ContentAsset
from inbound.tracking.nbc.blend import DEFAULT_WEIGHTS, CatalogAsset, PinRule, Signals, Weights
from inbound.tracking.nbc.models import NbcClickThrough, NbcCovisit, NbcRule, NbcSetting

logger = structlog.get_logger(__name__)

ASSETS = ContentAsset.__table__  # type: ignore[attr-defined]
TOPICS = AssetTopic.__table__  # type: ignore[attr-defined]
TAGS = AssetPersona.__table__  # type: ignore[attr-defined]
RULES = NbcRule.__table__  # type: ignore[attr-defined]
SETTINGS = NbcSetting.__table__  # type: ignore[attr-defined]
COVISITS = NbcCovisit.__table__  # type: ignore[attr-defined]
CLICK_THROUGH = NbcClickThrough.__table__  # type: ignore[attr-defined]
WEIGHTS = "weights"
# A write through this process to one of these drops the snapshot at once.
SNAPSHOT_TABLES = frozenset(
    {"content_assets", "asset_topics", "asset_personas", "nbc_rules", "nbc_settings",
     "nbc_covisits", "nbc_click_through"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The catalog, the rules, the weights and the signals, as read at one moment."""

    catalog: tuple[CatalogAsset, ...]
    by_ref: Mapping[uuid.UUID | str, CatalogAsset]  # live assets by id and by slug
    archived: frozenset[uuid.UUID | str]  # archived assets' ids and slugs
    signals: Signals
    weights: Weights
    # When the signals were last recomputed, and how many rows they hold.
    signals_stamp: tuple[Any, ...] = ()
    loaded_at: float = field(default_factory=time.monotonic)


def weights_from(document: Mapping[str, Any]) -> Weights:
    """The stored weights document over the defaults."""
    values = {name: getattr(DEFAULT_WEIGHTS, name) for name in Weights.__dataclass_fields__}
    values.update({k: float(v) for k, v in document.items() if k in values})
    return Weights(**values)


async def load_snapshot(connection: AsyncConnection, previous: Snapshot | None = None) -> Snapshot:
    """Read the catalog, rules, weights and signals; the signals of ``previous`` are kept when
    they have not been recomputed since.

    Building thousands of co-visitation pairs holds the event loop for tens of milliseconds:
    doing that every few seconds for nothing showed in the answers' tail latency.
    """
    assets = (await connection.execute(select(ASSETS))).mappings().all()
    topics: dict[uuid.UUID, set[str]] = defaultdict(set)
    for asset_id, topic in await connection.execute(select(TOPICS.c.asset_id, TOPICS.c.topic)):
        topics[asset_id].add(topic)
    tags: dict[uuid.UUID, dict[uuid.UUID, int]] = defaultdict(dict)
    query = select(TAGS.c.asset_id, TAGS.c.persona_id, TAGS.c.relevance)
    for asset_id, persona_id, relevance in await connection.execute(query):
        tags[asset_id][persona_id] = relevance
    stamp = await _signals_stamp(connection)
    catalog: list[CatalogAsset] = []
    by_ref: dict[uuid.UUID | str, CatalogAsset] = {}
    archived: set[uuid.UUID | str] = set()
    for row in sorted(assets, key=lambda a: a["slug"]):
        if row["archived"]:
            archived |= {row["id"], row["slug"]}
            continue
        asset = CatalogAsset(
            id=row["id"], slug=row["slug"], title=row["title"], kind=row["kind"],
            stage=row["funnel_stage"], topics=frozenset(topics[row["id"]]),
            personas=tags[row["id"]], public_url=row["url"], gated=row["gated"],
        )  # fmt: skip
        catalog.append(asset)
        by_ref[asset.id] = by_ref[asset.slug] = asset
    return Snapshot(
        catalog=tuple(catalog),
        by_ref=by_ref,
        archived=frozenset(archived),
        signals=await _signals(connection, stamp, previous),
        weights=await _weights(connection),
        signals_stamp=stamp,
    )


async def _signals_stamp(connection: AsyncConnection) -> tuple[Any, ...]:
    stamps: list[Any] = []
    for table in (COVISITS, CLICK_THROUGH):
        query = select(func.max(table.c.computed_at), func.count())
        stamps.extend((await connection.execute(query)).one())
    return tuple(stamps)


async def _signals(
    connection: AsyncConnection, stamp: tuple[Any, ...], previous: Snapshot | None
) -> Signals:
    rules = await _rules(connection)
    if previous is not None and previous.signals_stamp == stamp:
        return Signals(covisits=previous.signals.covisits, ctr=previous.signals.ctr, rules=rules)
    covisits: dict[uuid.UUID, dict[uuid.UUID, float]] = defaultdict(dict)
    query = select(COVISITS.c.asset_id, COVISITS.c.other_id, COVISITS.c.lift)
    for asset_id, other_id, lift in await connection.execute(query):
        covisits[asset_id][other_id] = lift
    ctr = {
        (slot, asset_id): (shown, clicked)
        for slot, asset_id, shown, clicked in await connection.execute(
            select(
                CLICK_THROUGH.c.slot,
                CLICK_THROUGH.c.asset_id,
                CLICK_THROUGH.c.shown,
                CLICK_THROUGH.c.clicked,
            )
        )
    }
    return Signals(covisits=dict(covisits), ctr=ctr, rules=rules)


async def _rules(connection: AsyncConnection) -> list[PinRule]:
    return [
        PinRule(
            id=row["id"],
            asset_id=row["asset_id"],
            slot=row["slot"],
            persona_id=row["persona_id"],
            stages=frozenset(row["stages"] or ()),
            campaign=row["campaign"],
            viewed_asset_id=row["viewed_asset_id"],
            priority=row["priority"],
            active=row["active"],
        )
        for row in (await connection.execute(select(RULES).where(RULES.c.active))).mappings()
    ]


async def _weights(connection: AsyncConnection) -> Weights:
    query = select(SETTINGS.c.value).where(SETTINGS.c.name == WEIGHTS)
    document = (await connection.execute(query)).scalar_one_or_none()
    return weights_from(document or {})


class SnapshotCache:
    """The snapshot, reloaded in the background once it is ``seconds`` old.

    Requests keep answering from the previous snapshot while one reload runs, so a reload
    never shows in the latency; only the very first request waits for it. A write through
    this process drops it at once (the next request waits for the new one).
    """

    def __init__(
        self, sessionmaker: Callable[[], async_sessionmaker[AsyncSession]], seconds: float
    ) -> None:
        self.sessionmaker = sessionmaker
        self.seconds = seconds
        self._snapshot: Snapshot | None = None
        self._reload: asyncio.Task[Snapshot] | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> Snapshot:
        """The current snapshot; a stale one starts a reload and is answered meanwhile."""
        snapshot = self._snapshot
        if snapshot is None or self.seconds <= 0:
            return await self._load_now()
        if time.monotonic() - snapshot.loaded_at >= self.seconds and self._reload is None:
            self._reload = asyncio.create_task(self._load())
            self._reload.add_done_callback(self._reloaded)
        return snapshot

    async def tables_changed(self, tables: set[str]) -> None:
        """Forget the snapshot when this process wrote to a table it comes from."""
        if not tables.isdisjoint(SNAPSHOT_TABLES):
            self.forget()

    def forget(self) -> None:
        """Drop the snapshot: the next request reads a new one."""
        self._snapshot = None

    async def _load_now(self) -> Snapshot:
        async with self._lock:
            if self._snapshot is not None and self.seconds > 0:
                return self._snapshot
            snapshot = await self._load()
            self._snapshot = snapshot if self.seconds > 0 else None
            return snapshot

    async def _load(self) -> Snapshot:
        async with self.sessionmaker()() as session:
            return await load_snapshot(await session.connection(), self._snapshot)

    def _reloaded(self, task: asyncio.Task[Snapshot]) -> None:
        self._reload = None
        if task.cancelled():
            return
        if (error := task.exception()) is not None:
            logger.warning("next-best-content snapshot not reloaded", error=str(error))
            return
        if self._snapshot is not None:
            self._snapshot = task.result()
