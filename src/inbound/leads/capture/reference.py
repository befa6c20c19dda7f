"""What every capture reads and an admin rarely changes, kept in memory for a few seconds.

A capture needs the site's key, the asset, the personas, every asset's persona tags and the
settings: five reads that change a few times a day, against the few writes that are the
capture itself; a survey answer needs its survey (kept here through `remember`). Each
process keeps them for `INBOUND_CACHE_SECONDS`; a write through this process's API drops
them at once. With `INBOUND_REDIS_URL` set, such a write also bumps a version in Redis and
announces it, so every process drops theirs as soon as it hears (`shared_version`); without
Redis, or while it is down, another process's writes reach a process within the cache time.
"""

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar

from cachetools import TTLCache
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.auth.keys import hash_key
from inbound.content.forms import FormDefinitionRead
from inbound.content.service import AssetService, CaptureTarget
from inbound.leads.qualification.inputs import MappingInputs, load_inputs
from inbound.schemas import parse_ref
from inbound.sites.service import SiteKey, SiteService
from inbound.tracking.assets import AssetIndex, load_asset_index

if TYPE_CHECKING:
    from inbound.shared_version import SharedVersion

T = TypeVar("T")

# The tables the cached values come from.
REFERENCE_TABLES = frozenset(
    {"api_keys", "sites", "content_assets", "asset_topics", "asset_personas", "personas",
     "lead_settings", "surveys", "touchpoints"}
)  # fmt: skip
MAX_ENTRIES = 10_000
INPUTS = "inputs"
ASSET_INDEX = "asset-index"
ORIGINS = "origins"
VERSION_KEY = "inbound:capture-reference:version"


class CaptureReference:
    """Site keys, assets, mapping inputs and known origins, each kept for ``seconds``."""

    def __init__(
        self,
        sessionmaker: Callable[[], async_sessionmaker[AsyncSession]],
        seconds: float,
        redis_url: str | None = None,
    ) -> None:
        """``sessionmaker`` gives the app's sessionmaker, which tests may replace; the Redis
        at ``redis_url`` shares the version of the cached values between processes."""
        self.sessionmaker = sessionmaker
        self.seconds = seconds
        self.shared: SharedVersion | None = None
        if redis_url:
            # Imported only here: Redis is an optional extra, for several processes.
            from inbound import shared_version

            self.shared = shared_version.SharedVersion.from_url(redis_url, VERSION_KEY, self._clear)
        # Bumped by every clear: a load that began before it must not store what it read.
        self._generation = 0
        self._cache: TTLCache[Hashable, Any] = TTLCache(
            maxsize=MAX_ENTRIES, ttl=max(seconds, 0.001), timer=time.monotonic
        )

    async def site_key(self, plain_key: str) -> SiteKey | None:
        """The live site key behind ``plain_key``; None for unknown, revoked or non-site keys."""

        async def load(session: AsyncSession) -> SiteKey | None:
            return await SiteService(session).key_for(plain_key)

        return await self._get(("key", hash_key(plain_key)), load)

    async def target(self, ref: str) -> CaptureTarget | None:
        """The asset a form names by id or slug, archived ones included, or None."""

        async def load(session: AsyncSession) -> CaptureTarget | None:
            return await AssetService(session).capture_target(ref)

        # By the parsed id: the spellings of one id must not fill the cache with copies.
        return await self._get(("asset", parse_ref(ref)), load)

    async def form(self, ref: str) -> FormDefinitionRead | None:
        """The form of the live asset named by id or slug, or None."""

        async def load(session: AsyncSession) -> FormDefinitionRead | None:
            return await AssetService(session).form_definition(ref)

        return await self._get(("form", parse_ref(ref)), load)

    async def inputs(self, *, covering: CaptureTarget | None = None) -> MappingInputs:
        """Personas, every asset's tags and the settings.

        An asset created since they were read is missing from them: naming it as
        ``covering`` reads them again.
        """
        cached: MappingInputs | None = self._cache.get(INPUTS)
        if cached is not None and (covering is None or covering.id in cached.relevance):
            return cached
        self._cache.pop(INPUTS, None)
        inputs = await self._get(INPUTS, load_inputs)
        assert inputs is not None
        return inputs

    async def asset_index(self) -> AssetIndex:
        """Every live asset by slug, id and public URL, for events to name."""
        return await self._get(ASSET_INDEX, load_asset_index) or AssetIndex()

    async def origins(self) -> set[str]:
        """Every origin some site allows."""

        async def load(session: AsyncSession) -> set[str]:
            return await SiteService(session).all_origins()

        return await self._get(ORIGINS, load) or set()

    async def follow_other_processes(self) -> None:
        """Forget everything when another process changed the values since the last look."""
        if self.shared is not None:
            await self.shared.follow()

    async def tables_changed(self, tables: set[str]) -> None:
        """Forget everything when this process wrote to a table the values come from, and tell
        the other processes to do the same."""
        if tables.isdisjoint(REFERENCE_TABLES):
            return
        self._clear()
        if self.shared is not None:
            await self.shared.bump()

    async def close(self) -> None:
        """Stop following the other processes."""
        if self.shared is not None:
            await self.shared.close()

    async def remember(
        self, key: tuple[str, Hashable], load: Callable[[AsyncSession], Awaitable[T | None]]
    ) -> T | None:
        """What ``load`` reads, kept and dropped like the rest: for what another domain reads
        on every public post (a survey for its answers). ``key`` starts with that domain's
        name, apart from the keys kept here."""
        return await self._get(("remembered", *key), load)

    def forget(self) -> None:
        """Drop everything kept, in this process only."""
        self._clear()

    def _clear(self) -> None:
        self._cache.clear()
        self._generation += 1

    async def _get(
        self, key: Hashable, load: Callable[[AsyncSession], Awaitable[T | None]]
    ) -> T | None:
        try:
            found: T = self._cache[key]
        except KeyError:
            pass
        else:
            return found
        generation = self._generation
        async with self.sessionmaker()() as session:
            value = await load(session)
        # Absent things are not kept: a random key or slug must not crowd out real ones.
        if value is not None and self.seconds > 0 and generation == self._generation:
            self._cache[key] = value
        return value
