import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CursorResult, Row, delete, func, insert, select, tuple_
from sqlmodel import col

from inbound.content.models import AssetPersona, AssetTopic, ContentAsset
from inbound.db import dialect_insert
from inbound.pagination import PageRequest
from inbound.personas.models import Persona
from inbound.repository import SluggedRepository


@dataclass(frozen=True, slots=True)
class AssetFilter:
    """The list filters; None means any."""

    persona_id: uuid.UUID | None = None
    funnel_stage: str | None = None
    kind: str | None = None
    topic: str | None = None
    gated: bool | None = None
    archived: bool = False


@dataclass(frozen=True, slots=True)
class TagRow:
    asset_id: uuid.UUID
    persona: Persona
    relevance: int


class AssetRepository(SluggedRepository[ContentAsset]):
    model = ContentAsset
    noun = "asset"

    async def list_page(
        self, page: PageRequest, where: AssetFilter
    ) -> tuple[Sequence[ContentAsset], str | None]:
        """Assets in creation order matching every given filter."""
        statement = self.select().where(col(ContentAsset.archived) == where.archived)
        if where.funnel_stage is not None:
            statement = statement.where(col(ContentAsset.funnel_stage) == where.funnel_stage)
        if where.kind is not None:
            statement = statement.where(col(ContentAsset.kind) == where.kind)
        if where.gated is not None:
            statement = statement.where(col(ContentAsset.gated) == where.gated)
        if where.persona_id is not None:
            tagged = select(col(AssetPersona.asset_id)).where(
                col(AssetPersona.persona_id) == where.persona_id
            )
            statement = statement.where(col(ContentAsset.id).in_(tagged))
        if where.topic is not None:
            covered = select(col(AssetTopic.asset_id)).where(col(AssetTopic.topic) == where.topic)
            statement = statement.where(col(ContentAsset.id).in_(covered))
        return await self.page(statement, page)

    async def topics_of(self, asset_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
        """Each asset's topics, in one query."""
        statement = (
            select(col(AssetTopic.asset_id), col(AssetTopic.topic))
            .where(col(AssetTopic.asset_id).in_(asset_ids))
            .order_by(col(AssetTopic.asset_id), col(AssetTopic.topic))
        )
        topics: dict[uuid.UUID, list[str]] = {asset_id: [] for asset_id in asset_ids}
        for asset_id, topic in await self.session.execute(statement):
            topics[asset_id].append(topic)
        return topics

    async def tags_of(self, asset_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[TagRow]]:
        """Each asset's persona tags with their personas, in one query."""
        statement = (
            select(col(AssetPersona.asset_id), Persona, col(AssetPersona.relevance))
            .join(Persona, col(Persona.id) == col(AssetPersona.persona_id))
            .where(col(AssetPersona.asset_id).in_(asset_ids))
            .order_by(
                col(AssetPersona.asset_id), col(AssetPersona.relevance).desc(), col(Persona.slug)
            )
        )
        tags: dict[uuid.UUID, list[TagRow]] = {asset_id: [] for asset_id in asset_ids}
        for asset_id, persona, relevance in await self.session.execute(statement):
            tags[asset_id].append(TagRow(asset_id, persona, relevance))
        return tags

    async def replace_topics(self, asset_id: uuid.UUID, topics: Iterable[str]) -> None:
        """Make ``topics`` the asset's whole set of topics."""
        await self.session.execute(delete(AssetTopic).where(col(AssetTopic.asset_id) == asset_id))
        rows = [{"asset_id": asset_id, "topic": topic} for topic in topics]
        if rows:
            await self.session.execute(insert(AssetTopic), rows)

    async def replace_tags(self, asset_id: uuid.UUID, relevance: dict[uuid.UUID, int]) -> None:
        """Make these personas, with these relevances, the asset's whole set of tags."""
        await self.session.execute(
            delete(AssetPersona).where(col(AssetPersona.asset_id) == asset_id)
        )
        await self.put_tags({(asset_id, persona_id): r for persona_id, r in relevance.items()})

    async def put_tags(self, relevance: dict[tuple[uuid.UUID, uuid.UUID], int]) -> None:
        """Add these (asset, persona) tags, replacing the relevance of existing ones."""
        if not relevance:
            return
        rows = [
            {"asset_id": asset_id, "persona_id": persona_id, "relevance": r}
            for (asset_id, persona_id), r in sorted(relevance.items())
        ]
        statement = dialect_insert(self.session)(AssetPersona).values(rows)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["asset_id", "persona_id"],
                set_={"relevance": statement.excluded.relevance},
            )
        )

    async def remove_tags(self, pairs: Collection[tuple[uuid.UUID, uuid.UUID]]) -> int:
        """Remove these (asset, persona) tags; return how many there were."""
        if not pairs:
            return 0
        pair = tuple_(col(AssetPersona.asset_id), col(AssetPersona.persona_id))
        result: CursorResult[Any] = await self.session.execute(  # type: ignore[assignment]
            delete(AssetPersona).where(pair.in_(list(pairs)))
        )
        return result.rowcount

    async def count_tagged_to(self, persona_id: uuid.UUID) -> int:
        """How many assets are tagged to a persona."""
        statement = select(func.count()).where(col(AssetPersona.persona_id) == persona_id)
        return int((await self.session.execute(statement)).scalar_one())

    async def capture_target(
        self, key: uuid.UUID | str
    ) -> Row[uuid.UUID, str, str, list[dict[str, Any]], str | None] | None:
        """What a capture needs of the asset with this id or slug, topics aggregated apart."""
        column = col(ContentAsset.id) if isinstance(key, uuid.UUID) else col(ContentAsset.slug)
        statement = select(
            col(ContentAsset.id),
            col(ContentAsset.slug),
            col(ContentAsset.kind),
            col(ContentAsset.form_fields),
            col(ContentAsset.delivery_url),
        ).where(column == key)
        return (await self.session.execute(statement)).one_or_none()

    async def topic_names(self, asset_id: uuid.UUID) -> list[str]:
        """One asset's topics."""
        statement = select(col(AssetTopic.topic)).where(col(AssetTopic.asset_id) == asset_id)
        return list((await self.session.execute(statement)).scalars())

    async def relevance_rows(
        self, asset_ids: Collection[uuid.UUID] | None
    ) -> Sequence[Row[uuid.UUID, str, uuid.UUID | None, int | None]]:
        """(asset id, slug, persona id, relevance) of these assets, or all; untagged ones too."""
        statement = select(
            col(ContentAsset.id),
            col(ContentAsset.slug),
            col(AssetPersona.persona_id),
            col(AssetPersona.relevance),
        ).outerjoin(AssetPersona, col(AssetPersona.asset_id) == col(ContentAsset.id))
        if asset_ids is not None:
            statement = statement.where(col(ContentAsset.id).in_(asset_ids))
        return (await self.session.execute(statement.order_by(col(ContentAsset.id)))).all()
