"""Content assets, their topics, their gating, and their tags to personas."""

import dataclasses
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inbound.content.forms import FormDefinitionRead, field_type_problems, form_definition
from inbound.content.models import ContentAsset
from inbound.content.repository import AssetFilter, AssetRepository, TagRow
from inbound.content.schemas import (
    AssetTagRemove,
    AssetTagSet,
    PersonaTag,
)
from inbound.db import utcnow
from inbound.errors import FieldError, NotFound, Unprocessable
from inbound.pagination import PageRequest
from inbound.personas.service import PersonaService
from inbound.repository import UnknownReference, id_filter
from inbound.schemas import parse_ref, slug_from

ASSET_COLUMNS = (
    "slug", "title", "description", "kind", "funnel_stage", "url", "gated", "form_fields",
    "delivery_url",
)  # fmt: skip


class AssetNotFound(NotFound, problem="asset-not-found"): ...


# The id of the asset a query filter names (by id or slug); naming none is a 400.
filtered_asset_id = id_filter(AssetRepository)


@dataclass(frozen=True, slots=True)
class AssetView:
    """An asset with its topics and persona tags: everything its representation shows."""

    asset: ContentAsset
    topics: list[str]
    tags: list[TagRow]


@dataclass(frozen=True, slots=True)
class CaptureTarget:
    """What a lead capture needs to know of the asset it is for."""

    id: uuid.UUID
    slug: str
    kind: str
    form_fields: list[dict[str, Any]]
    delivery_url: str | None
    topics: list[str]


@dataclass(frozen=True, slots=True)
class AssetRelevance:
    """An asset's slug and how relevant it is to each persona it is tagged to."""

    slug: str
    relevance: dict[uuid.UUID, int] = dataclasses.field(default_factory=dict)


class AssetService:
    """The content team's assets and how they are tagged to personas."""

    def __init__(self, session: AsyncSession) -> None:
        self.assets = AssetRepository(session)
        self.personas = PersonaService(session)

    async def create(self, fields: dict[str, Any]) -> ContentAsset:
        """Create an asset with its topics and persona tags."""
        topics = fields.pop("topics", [])
        tags = fields.pop("personas", [])
        fields["slug"] = fields.get("slug") or slug_from(fields["title"])
        fields["form_fields"] = _check_gating(
            fields.get("gated", False), fields.get("form_fields", []), fields.get("delivery_url")
        )
        asset = await self.assets.save(ContentAsset(**fields))
        await self.assets.replace_topics(asset.id, topics)
        await self._replace_tags(asset, tags)
        return asset

    async def get(self, ref: str, *, lock: bool = False) -> ContentAsset:
        """The asset named by id or slug; `lock` before changing it, so writers queue."""
        return await self.assets.get_by_ref_or_raise(ref, AssetNotFound, lock=lock)

    async def views(self, assets: Sequence[ContentAsset]) -> list[AssetView]:
        """Assets with their topics and tags, in two queries for any number of assets."""
        ids = [a.id for a in assets]
        topics = await self.assets.topics_of(ids)
        tags = await self.assets.tags_of(ids)
        return [AssetView(a, topics[a.id], tags[a.id]) for a in assets]

    async def view(self, asset: ContentAsset) -> AssetView:
        """One asset with its topics and tags."""
        return (await self.views([asset]))[0]

    async def list_page(
        self, page: PageRequest, *, persona: str | None = None, **filters: Any
    ) -> tuple[Sequence[ContentAsset], str | None]:
        """A page of assets matching the filters; an unknown persona matches nothing."""
        persona_id = None
        if persona is not None:
            found = await self.personas.resolve([persona])
            if persona not in found:
                return [], None
            persona_id = found[persona].id
        return await self.assets.list_page(page, AssetFilter(persona_id=persona_id, **filters))

    async def update(self, asset: ContentAsset, changes: dict[str, Any]) -> ContentAsset:
        """Apply a partial update; topics, form fields and tags given are replaced whole."""
        if not changes:
            return asset
        if "topics" in changes:
            await self.assets.replace_topics(asset.id, changes.pop("topics"))
        if "personas" in changes:
            await self._replace_tags(asset, changes.pop("personas"))
        archived = changes.pop("archived", None)
        if archived is not None:
            asset.archived_at = (asset.archived_at or utcnow()) if archived else None
            asset.archived = archived
        merged = {column: getattr(asset, column) for column in ASSET_COLUMNS} | changes
        changes["form_fields"] = _check_gating(
            merged["gated"], merged["form_fields"], merged["delivery_url"]
        )
        asset.apply(changes)
        return await self.assets.save(asset)

    async def replace_tags(self, asset: ContentAsset, tags: list[PersonaTag]) -> ContentAsset:
        """Make ``tags`` the asset's whole set of persona tags."""
        await self._replace_tags(asset, [t.model_dump() for t in tags])
        asset.touch()
        return await self.assets.save(asset)

    async def bulk_tags(
        self, to_set: list[AssetTagSet], to_remove: list[AssetTagRemove]
    ) -> tuple[int, int]:
        """Set and remove many tags in one go; refuse all of it if any reference is unknown."""
        asset_refs = {t.asset for t in to_set} | {t.asset for t in to_remove}
        persona_refs = {t.persona for t in to_set} | {t.persona for t in to_remove}
        assets = await self.assets.resolve(asset_refs, lock=True)
        personas = await self.personas.resolve(persona_refs, share=True)
        items_by_part: tuple[tuple[str, Sequence[AssetTagRemove]], ...] = (
            ("set", to_set),
            ("remove", to_remove),
        )
        errors = [
            FieldError(field=f"{part}[{i}].{kind}", message=f"no {kind} {ref!r}")
            for part, items in items_by_part
            for i, item in enumerate(items)
            for kind, ref, known in (
                ("asset", item.asset, assets),
                ("persona", item.persona, personas),
            )
            if ref not in known
        ]
        if errors:
            raise UnknownReference("some tags name unknown assets or personas", errors=errors)
        to_put = {(assets[t.asset].id, personas[t.persona].id): t.relevance for t in to_set}
        to_drop = {(assets[t.asset].id, personas[t.persona].id) for t in to_remove}
        if both := [
            i
            for i, t in enumerate(to_remove)
            if (assets[t.asset].id, personas[t.persona].id) in to_put
        ]:
            raise Unprocessable(
                "a tag cannot be set and removed in one call",
                errors=[FieldError(field=f"remove[{i}]", message="also in `set`") for i in both],
            )
        await self.assets.put_tags(to_put)
        removed = await self.assets.remove_tags(to_drop)
        now = utcnow()
        for asset in {assets[ref].id: assets[ref] for ref in asset_refs}.values():
            asset.touch(now)
        await self.assets.session.flush()
        return len(to_put), removed

    async def capture_target(self, ref: str) -> CaptureTarget | None:
        """The asset a form names by id or slug, archived ones included, or None."""
        row = await self.assets.capture_target(parse_ref(ref))
        if row is None:
            return None
        topics = await self.assets.topic_names(row.id)
        return CaptureTarget(*row, topics=topics)

    async def form_definition(self, ref: str) -> FormDefinitionRead | None:
        """The form a site's pages show for an asset; None when it is unknown or archived."""
        asset = await self.assets.get_by_ref(ref)
        if asset is None or asset.archived:
            return None
        return form_definition(asset.id, asset.slug, asset.title, asset.gated, asset.form_fields)

    async def relevance(
        self, asset_ids: Collection[uuid.UUID] | None = None
    ) -> dict[uuid.UUID, AssetRelevance]:
        """Each asset's persona relevance: of these assets, or of all of them."""
        found: dict[uuid.UUID, AssetRelevance] = {}
        for asset_id, slug, persona_id, relevance in await self.assets.relevance_rows(asset_ids):
            entry = found.setdefault(asset_id, AssetRelevance(slug=slug, relevance={}))
            if persona_id is not None and relevance is not None:
                entry.relevance[persona_id] = relevance
        return found

    async def count_tagged_to(self, persona_id: uuid.UUID) -> int:
        """How many assets are tagged to a persona."""
        return await self.assets.count_tagged_to(persona_id)

    async def delete(self, asset: ContentAsset) -> None:
        """Delete an asset with its topics and tags."""
        await self.assets.delete(asset)

    async def _replace_tags(self, asset: ContentAsset, tags: list[dict[str, Any]]) -> None:
        personas = await self.personas.resolve((t["persona"] for t in tags), share=True)
        errors = [
            FieldError(field=f"personas[{i}].persona", message=f"no persona {t['persona']!r}")
            for i, t in enumerate(tags)
            if t["persona"] not in personas
        ]
        if errors:
            raise UnknownReference("some tags name unknown personas", errors=errors)
        relevance: dict[uuid.UUID, int] = {}
        for i, tag in enumerate(tags):
            persona_id = personas[tag["persona"]].id
            if persona_id in relevance:
                raise Unprocessable("a persona is tagged twice", field=f"personas[{i}].persona")
            relevance[persona_id] = tag["relevance"]
        await self.assets.replace_tags(asset.id, relevance)


def _check_gating(
    gated: bool, form_fields: list[dict[str, Any]], delivery_url: str | None
) -> list[dict[str, Any]]:
    """Enforce what gating means; return the form fields with email always first and required."""
    errors: list[FieldError] = []
    names = [f["name"] for f in form_fields]
    if len(set(names)) < len(names):
        errors.append(FieldError(field="form_fields", message="a field is listed twice"))
    if gated and not delivery_url:
        errors.append(
            FieldError(field="delivery_url", message="a gated asset needs a delivery URL")
        )
    if not gated and form_fields:
        errors.append(FieldError(field="form_fields", message="only gated assets have a form"))
    if not gated and delivery_url:
        errors.append(
            FieldError(field="delivery_url", message="only gated assets have a delivery URL")
        )
    if any(f["name"] == "email" and not f.get("required", True) for f in form_fields):
        errors.append(FieldError(field="form_fields", message="email is always required"))
    errors += [
        FieldError(field=f"form_fields[{i}].{name}", message=message)
        for i, spec in enumerate(form_fields)
        for name, message in field_type_problems(spec)
    ]
    if errors:
        raise Unprocessable("the asset's gating is inconsistent", errors=errors)
    if gated and "email" not in names:
        return [{"name": "email", "label": None, "required": True}, *form_fields]
    return form_fields
