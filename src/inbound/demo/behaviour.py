"""What the demo's visitors did on the site: page views, content views and recommendation events.

Known contacts browsed before their first capture under an anonymous id (the id their captures
carry as `visitor_id`, linked to them in `visitor_identities`) and went on browsing after it;
other visitors browse and never leave an email. What a visitor reads next follows, in turn, the
site's read-next links (`READ_NEXT`: the co-visitation structure), its persona's interests and
a favourite topic, and the funnel phase it is in: attract content first, then convert and
close content as it moves on. Everything follows from one seed.
"""

import math
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from inbound.demo.catalog import (
    ASSETS,
    PAGES,
    PERSONAS,
    READ_NEXT,
    SITE_ORIGIN,
    AssetProfile,
    PersonaProfile,
    asset_url,
)

PHASES = ("attract", "convert", "close", "delight")
PHASE_OF_STAGE = {
    "subscriber": "attract", "lead": "convert", "mql": "convert", "sql": "close",
    "opportunity": "close", "customer": "close", "evangelist": "delight",
}  # fmt: skip
TRACKED = 0.85  # contacts whose browser sent events (the others refused tracking)
STRANGERS = 0.6  # visitors who never convert, per contact
FOLLOW_LINK = 0.45  # a view follows the read-next links of the one before
SHOWN = 0.25  # a content view ends with a recommendation slot filled
CLICKED = 0.55  # the next view, when it was recommended, came from the slot
SLOT = "article-end"
NAMESPACE = uuid.UUID("5b7c3a52-8f0e-4f55-9d61-3c1b0f6a2e11")


def anonymous_id(contact_id: uuid.UUID) -> str:
    """The anonymous id a contact's browser had: the same for the same contact."""
    return str(uuid.uuid5(NAMESPACE, str(contact_id)))


@dataclass(slots=True)
class Behaviour:
    """Rows for `tracking_events` and `visitor_identities`."""

    events: list[dict[str, Any]] = field(default_factory=list)
    identities: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Reader:
    """Who is browsing: its id, interests, and where it is in the funnel over time."""

    anonymous_id: str
    persona: PersonaProfile | None
    topic: str | None  # a favourite topic
    phases: Sequence[tuple[datetime, str]]  # (from when, phase), in time order

    def phase(self, at: datetime) -> str:
        current = self.phases[0][1]
        for since, phase in self.phases:
            if since <= at:
                current = phase
        return current


class Browsing:
    """Generates visits: sessions of views, each view picked from the one before."""

    def __init__(
        self,
        *,
        site_id: uuid.UUID,
        assets: dict[str, uuid.UUID],
        personas: dict[str, uuid.UUID],
        now: datetime,
        seed: int,
        kept_days: int = 395,
    ) -> None:
        self.site_id = site_id
        self.assets = assets
        self.now = now
        # Behaviour older than the service keeps would be pruned at its first start.
        self.oldest = now - timedelta(days=kept_days)
        self.rng = random.Random(seed)
        self.profile_of_persona = {personas[p.slug]: p for p in PERSONAS if p.slug in personas}
        self.by_slug = {asset.slug: asset for asset in ASSETS}
        self._appeal: dict[tuple[str | None, str | None, str], list[float]] = {}
        self.by_id = {assets[slug]: asset for slug, asset in self.by_slug.items() if slug in assets}
        self.topics = sorted({topic for asset in ASSETS for topic in asset.topics})

    # -- who -------------------------------------------------------------------------------------

    def contact(
        self, contact: dict[str, Any], captures: list[dict[str, Any]], into: Behaviour
    ) -> None:
        """A known contact's visits before its first capture and after, and its identity link;
        its captures get its anonymous id as `visitor_id`. Some contacts were never tracked."""
        rng = self.rng
        if rng.random() > TRACKED or not captures:
            return
        visitor = anonymous_id(contact["id"])
        persona = self.profile_of_persona.get(contact["persona_id"])
        phases = [(contact["created_at"] - timedelta(days=400), "attract")]
        phases += sorted(
            (contact[f"{stage}_at"], phase)
            for stage, phase in PHASE_OF_STAGE.items()
            if contact.get(f"{stage}_at")
        )
        reader = Reader(visitor, persona, self._topic(persona), phases)
        captures = sorted(captures, key=lambda row: row["created_at"])
        first = captures[0]["created_at"]
        # Before the first capture: a few visits over the preceding weeks.
        start = first - timedelta(days=min(60.0, 4 * math.exp(rng.gauss(0.0, 1.0))))
        self._visits(reader, start, first, rng.randint(1, 2), into)
        for capture in captures:
            capture["visitor_id"] = visitor
            # The landing page of what it captured, just before the form.
            asset = self.by_id.get(capture["asset_id"])
            if asset is not None:
                at = capture["created_at"] - timedelta(seconds=rng.uniform(20, 240))
                self._page(reader, asset, at, into)
        last = min(self.now, max(contact["updated_at"], first) + timedelta(days=30))
        after = min(int(rng.expovariate(0.8)), 6)
        self._visits(reader, first + timedelta(hours=1), last, after, into)
        into.identities.append({
            "kind": "anonymous", "external_id": visitor, "contact_id": contact["id"],
            "linked_at": first, "merge_id": None,
        })  # fmt: skip

    def stranger(self, *, days: int, into: Behaviour) -> None:
        """Now and then, a visitor who never converts: a visit or a few, mostly to open
        content."""
        rng = self.rng
        if rng.random() > STRANGERS:
            return
        persona = rng.choices([*PERSONAS, None], [p.share for p in PERSONAS] + [0.1])[0]
        visitor = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        first = self.now - timedelta(days=days * rng.random() ** 1.25)
        phase = "attract" if rng.random() < 0.85 else "convert"
        reader = Reader(visitor, persona, self._topic(persona), [(first, phase)])
        sessions = 1 if rng.random() < 0.6 else rng.randint(2, 4)
        end = min(self.now, first + timedelta(days=rng.uniform(1, 45)))
        self._visits(reader, first, end, sessions, into)

    def _topic(self, persona: PersonaProfile | None) -> str | None:
        liked = [
            topic
            for asset in ASSETS
            if persona is not None and asset.relevance.get(persona.slug, 0) >= 2
            for topic in asset.topics
        ]
        return self.rng.choice(liked or self.topics) if self.rng.random() < 0.8 else None

    # -- what ------------------------------------------------------------------------------------

    def _visits(
        self, reader: Reader, start: datetime, end: datetime, count: int, into: Behaviour
    ) -> None:
        span = (end - start).total_seconds()
        if span <= 0 or count <= 0:
            return
        starts = sorted(start + timedelta(seconds=span * self.rng.random()) for _ in range(count))
        for at in starts:
            self._session(reader, at, into)

    def _session(self, reader: Reader, at: datetime, into: Behaviour) -> None:
        rng = self.rng
        if rng.random() < 0.2:
            path, title = PAGES[0] if rng.random() < 0.7 else rng.choice(PAGES[1:])
            self._event(reader, at, into, type="page", url=SITE_ORIGIN + path, title=title)
            at += timedelta(seconds=rng.uniform(5, 60))
        views: list[AssetProfile] = []
        for _ in range(1 + min(int(rng.expovariate(1.0)), 3)):
            views.append(self._next(reader, views[-1] if views else None, at, views))
        for number, asset in enumerate(views):
            self._page(reader, asset, at, into)
            at += timedelta(seconds=rng.uniform(30, 400))
            following = views[number + 1] if number + 1 < len(views) else None
            if rng.random() < SHOWN and at < self.now:
                at = self._recommendation(reader, asset, following, at, into)

    def _next(
        self,
        reader: Reader,
        previous: AssetProfile | None,
        at: datetime,
        seen: list[AssetProfile],
    ) -> AssetProfile:
        rng = self.rng
        if previous is not None and rng.random() < FOLLOW_LINK:
            linked = READ_NEXT.get(previous.slug, ())
            if linked:
                ranks = [1 / (rank + 1) for rank in range(len(linked))]
                return self.by_slug[rng.choices(linked, ranks)[0]]
        key = (reader.persona.slug if reader.persona else None, reader.topic, reader.phase(at))
        cumulative = self._appeal.get(key)
        if cumulative is None:
            cumulative = list(accumulate(_appeal(asset, *key) for asset in ASSETS))
            self._appeal[key] = cumulative
        for _ in range(4):  # rather something not read in this session yet
            chosen = rng.choices(ASSETS, cum_weights=cumulative)[0]
            if chosen not in seen:
                break
        return chosen

    def _recommendation(
        self,
        reader: Reader,
        asset: AssetProfile,
        following: AssetProfile | None,
        at: datetime,
        into: Behaviour,
    ) -> datetime:
        """A filled slot at the end of ``asset``'s page, and the click when the next view came
        from it; answers the time after."""
        rng = self.rng
        others = [a.slug for a in ASSETS if a is not asset and a is not following]
        shown = rng.sample(others, 3)
        clicked = following is not None and rng.random() < CLICKED
        if clicked and following is not None:
            shown[rng.randrange(3)] = following.slug
        properties: dict[str, Any] = {"slot": SLOT, "assets": shown}
        self._event(reader, at, into, type="track", event="Recommendation Shown",
                    properties=properties)  # fmt: skip
        if clicked and following is not None:
            at += timedelta(seconds=rng.uniform(2, 20))
            # The event names the asset, so that it is a content view of it too (as stored).
            self._event(reader, at, into, type="track", event="Recommendation Clicked",
                        properties={"slot": SLOT, "asset": following.slug},
                        asset_id=self.assets[following.slug])  # fmt: skip
        return at + timedelta(seconds=1)

    def _page(self, reader: Reader, asset: AssetProfile, at: datetime, into: Behaviour) -> None:
        self._event(reader, at, into, type="page", url=asset_url(asset), title=asset.title,
                    asset_id=self.assets[asset.slug])  # fmt: skip

    def _event(
        self,
        reader: Reader,
        at: datetime,
        into: Behaviour,
        *,
        type: str,
        event: str | None = None,
        url: str | None = None,
        title: str | None = None,
        asset_id: uuid.UUID | None = None,
        properties: dict[str, Any] | None = None,
    ) -> None:
        if not self.oldest <= at < self.now:
            return
        rng = self.rng
        into.events.append({
            "id": uuid.UUID(int=rng.getrandbits(128)), "occurred_at": at,
            "received_at": at + timedelta(milliseconds=rng.randint(40, 900)),
            "site_id": self.site_id, "message_id": f"demo-{rng.getrandbits(64):016x}",
            "type": type, "event": event, "anonymous_id": reader.anonymous_id, "user_id": None,
            "url": url, "referrer": None, "title": title, "asset_id": asset_id,
            "properties": properties or {}, "context": {"locale": "en-US"},
        })  # fmt: skip


def _appeal(asset: AssetProfile, persona: str | None, topic: str | None, phase: str) -> float:
    """How likely a reader picks ``asset`` when it follows no link: fit to its persona, its
    favourite topic, and the funnel phase it is in."""
    distance = abs(PHASES.index(asset.funnel_stage) - PHASES.index(phase))
    fit = (asset.relevance.get(persona, 0) if persona else 1) + 0.25
    liked = 3.0 if topic in asset.topics else 1.0
    return fit * liked * (4.0, 1.0, 0.25, 0.1)[distance]
