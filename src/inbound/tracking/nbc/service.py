"""Next-best content: the answer for one visitor, the pinned rules, and the weights."""

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from inbound.content.models import AssetKind
from inbound.content.service import AssetNotFound, AssetService
from inbound.db import dialect_insert, utcnow
from inbound.errors import NotFound
from inbound.leads.stages import LifecycleStage
from inbound.pagination import PageRequest, fetch_page
from inbound.personas.service import PersonaNotFound, PersonaService
from inbound.repository import UnknownReference
from inbound.schemas import parse_ref
from inbound.tracking.nbc.blend import Suggestion, View, Visitor, rank
from inbound.tracking.nbc.history import Captures, Seen, browser_history, contact_history
from inbound.tracking.nbc.models import NbcRule, NbcSetting
from inbound.tracking.nbc.schemas import NbcSettings
from inbound.tracking.nbc.snapshot import SETTINGS, WEIGHTS, Snapshot


class RuleNotFound(NotFound, problem="rule-not-found"): ...


@dataclass(frozen=True, slots=True)
class NextQuery:
    """Who asks, for which slot, how many, and the asset the page shows (if any)."""

    slot: str
    k: int
    anonymous_id: str | None = None
    contact_id: uuid.UUID | None = None
    asset: str | None = None


async def next_content(
    snapshot: Snapshot,
    bind: AsyncEngine | AsyncConnection,
    query: NextQuery,
    *,
    now: datetime,
    rng: random.Random | None,
) -> list[Suggestion]:
    """The best assets for the visitor now: its history read live, the rest from the snapshot.

    An unknown visitor (anonymous id or contact) is answered like a new one.
    """
    current = _current_asset(snapshot, query.asset)
    seen: list[Seen] = []
    captures: Captures = ()
    persona_id, stage = None, None
    if query.contact_id is not None:
        facts, seen = await contact_history(bind, query.contact_id)
        if facts is not None:
            persona_id, stage, captures = facts.persona_id, facts.stage, facts.captures
    elif query.anonymous_id is not None:
        captures, seen = await browser_history(bind, query.anonymous_id)
        stage = _stage_of_browser(snapshot, captures)
    views = [View(s.asset_id, s.at) for s in seen if s.asset_id is not None]
    # A capture is the strongest sign of interest: it counts as a view at its time too.
    views = sorted([*views, *(View(a, at) for a, at in captures)], key=lambda v: v.at)
    signals = snapshot.signals
    if current is not None:
        # Seen now, so left out; and never pinned on its own page.
        views.append(View(current, now))
        signals = replace(signals, rules=[r for r in signals.rules if r.asset_id != current])
    visitor = Visitor(
        views=views,
        captured=frozenset(a for a, _ in captures),
        persona_id=persona_id,
        stage=stage,
        campaign=next((s.campaign for s in reversed(seen) if s.campaign), None),
    )
    return rank(
        visitor, snapshot.catalog, signals, slot=query.slot, k=query.k, now=now,
        weights=snapshot.weights, rng=rng,
    )  # fmt: skip


def _stage_of_browser(snapshot: Snapshot, captures: Captures) -> str | None:
    """The stage a browser's own forms made its lead: `subscriber` when it only took
    newsletters, else `lead`; none before its first form. Later stages are the lead's record,
    which the browser's key may not read."""
    if not captures:
        return None
    kinds = {getattr(snapshot.by_ref.get(asset_id), "kind", None) for asset_id, _ in captures}
    newsletters_only = kinds == {AssetKind.NEWSLETTER.value}
    return (LifecycleStage.SUBSCRIBER if newsletters_only else LifecycleStage.LEAD).value


def _current_asset(snapshot: Snapshot, ref: str | None) -> uuid.UUID | None:
    """The live asset the page shows. An archived or unknown one is left out: a page outlives
    its asset's archiving or a new slug, and its slot should still fill."""
    found = snapshot.by_ref.get(parse_ref(ref)) if ref is not None else None
    return found.id if found is not None else None


class RuleService:
    """Pinned rules: create, read, change, delete."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_page(self, page: PageRequest) -> tuple[Sequence[NbcRule], str | None]:
        """A page of rules, oldest first."""
        return await fetch_page(self.session, select(NbcRule), key=NbcRule.id, page=page)  # type: ignore[arg-type]

    async def get(self, rule_id: uuid.UUID, *, lock: bool = False) -> NbcRule:
        """One rule; `lock` before changing it."""
        rule = await self.session.get(NbcRule, rule_id, with_for_update=lock)
        if rule is None:
            raise RuleNotFound(f"no rule {rule_id}")
        return rule

    async def create(self, fields: dict[str, Any]) -> NbcRule:
        """A new rule, its asset, persona and viewed asset named by id or slug."""
        rule = NbcRule(**await self._resolved(fields))
        self.session.add(rule)
        await self.session.flush()
        return rule

    async def update(self, rule: NbcRule, changes: dict[str, Any]) -> NbcRule:
        """Apply a partial change; an empty one changes nothing."""
        if not changes:
            return rule
        rule.apply(await self._resolved(changes))
        await self.session.flush()
        return rule

    async def delete(self, rule: NbcRule) -> None:
        """Delete a rule for good."""
        await self.session.delete(rule)
        await self.session.flush()

    async def _resolved(self, fields: dict[str, Any]) -> dict[str, Any]:
        """The fields as columns: references turned into ids, each checked to exist."""
        resolved = {
            k: v for k, v in fields.items() if k not in {"asset", "persona", "viewed_asset"}
        }
        if "stages" in resolved:
            resolved["stages"] = sorted(set(resolved["stages"]))
        assets = AssetService(self.session)
        for name, column in (("asset", "asset_id"), ("viewed_asset", "viewed_asset_id")):
            if name in fields:
                resolved[column] = await _asset_id(
                    assets, fields[name], name, pinned=name == "asset"
                )
        if "persona" in fields:
            resolved["persona_id"] = None
            if fields["persona"] is not None:
                try:
                    resolved["persona_id"] = (
                        await PersonaService(self.session).get(fields["persona"])
                    ).id
                except PersonaNotFound:
                    raise UnknownReference(
                        f"no persona {fields['persona']!r}", field="persona"
                    ) from None
        return resolved


async def _asset_id(
    assets: AssetService, ref: str | None, field: str, *, pinned: bool
) -> uuid.UUID | None:
    if ref is None:
        return None
    try:
        asset = await assets.get(ref)
    except AssetNotFound:
        raise UnknownReference(f"no asset {ref!r}", field=field) from None
    if pinned and asset.archived:
        raise UnknownReference(f"asset {ref!r} is archived: it is never suggested", field=field)
    return asset.id


class NbcSettingsService:
    """The weights document: stored, or the defaults until an admin sets it."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def current(self) -> tuple[NbcSettings, int]:
        """The weights and their version (0 until first set)."""
        row = await self.session.get(NbcSetting, WEIGHTS)
        if row is None:
            return NbcSettings(), 0
        return NbcSettings.model_validate(row.value), row.version

    async def lock(self) -> NbcSetting:
        """The stored row, made with version 0 if missing, locked for a replace."""
        create = dialect_insert(self.session)(SETTINGS).values(
            name=WEIGHTS, value={}, version=0, updated_at=utcnow()
        )
        await self.session.execute(create.on_conflict_do_nothing(index_elements=["name"]))
        statement = select(NbcSetting).where(NbcSetting.name == WEIGHTS).with_for_update()  # type: ignore[arg-type]
        row: NbcSetting = (await self.session.execute(statement)).scalar_one()
        return row

    async def replace(self, row: NbcSetting, document: NbcSettings) -> int:
        """Store the whole document in its locked row; its new version."""
        row.apply({"value": document.model_dump(mode="json")})
        await self.session.flush()
        return row.version
