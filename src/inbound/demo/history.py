"""A believable year of inbound marketing, as the rows the service itself would have written.

Contacts arrive through gated content, more of them lately; each persona converts at its own
rate and pace (`catalog.py`); some contacts jump over stages; later captures happen on the way.
Everything follows from one seed, so the same arguments give the same history.
"""

import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from inbound.config import get_settings
from inbound.demo.behaviour import Behaviour, Browsing
from inbound.demo.catalog import (
    ASSETS,
    COMPANIES,
    COUNTRIES,
    FIRST_NAMES,
    INDUSTRIES,
    LAST_NAMES,
    PERSONAS,
    SOURCES,
    UNMATCHED_MEDIAN_DAYS,
    UNMATCHED_ONWARD,
    UNMATCHED_TITLES,
    AssetProfile,
    PersonaProfile,
    asset_url,
)

ONWARD_STAGES = ("mql", "sql", "opportunity", "customer", "evangelist")
# How much longer each move onward takes than the persona's typical one.
SLOWER = {"mql": 1.0, "sql": 1.6, "opportunity": 2.2, "customer": 3.0, "evangelist": 6.0}
# Stages a contact sometimes jumps over, straight to the next one.
JUMPED = {"sql": 0.08, "opportunity": 0.12}
SUBSCRIBER_FIRST = 0.12  # signed up for the newsletter before anything else
CAPTURE_POINTS = 50.0
HALF_LIFE_DAYS = 30.0
SALES = "sales@demo"
CONSENT_VERSION = "2026-01"


@dataclass(frozen=True, slots=True)
class Catalog:
    """The ids the catalog got in the database, by slug."""

    site_id: uuid.UUID
    personas: dict[str, uuid.UUID]
    assets: dict[str, uuid.UUID]


@dataclass(slots=True)
class Batch:
    """Rows for the tables a history fills, a few thousand contacts at a time."""

    contacts: list[dict[str, Any]] = field(default_factory=list)
    captures: list[dict[str, Any]] = field(default_factory=list)
    stage_changes: list[dict[str, Any]] = field(default_factory=list)
    score_events: list[dict[str, Any]] = field(default_factory=list)
    # With behaviour: `tracking_events` and `visitor_identities` rows.
    behaviour: Behaviour = field(default_factory=Behaviour)


def time_ordered_id(rng: random.Random, when: datetime) -> uuid.UUID:
    """A UUIDv7 for ``when``, its random bits from ``rng``: as the service's own ids sort."""
    millis = int(when.timestamp() * 1000)
    value = (millis << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64) | (0b10 << 62)
    return uuid.UUID(int=value | rng.getrandbits(62))


class History:
    """Generates contacts with their captures, stage changes and score events."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        now: datetime,
        days: int,
        seed: int,
        eagerness: float = 1.0,
        behaviour: bool = False,
    ) -> None:
        """``eagerness`` above 1 makes every move onward likelier (``1 - (1 - p) ** e``), for a
        data set with more stage changes per contact than a real funnel has. ``behaviour``
        adds the visits of each contact and of as many visitors who never convert."""
        self.catalog = catalog
        self.eagerness = eagerness
        self.now = now
        self.days = days
        self.rng = random.Random(seed)
        self.personas: list[PersonaProfile | None] = [*PERSONAS, None]
        self.persona_weights = [p.share for p in PERSONAS] + [1 - sum(p.share for p in PERSONAS)]
        self.sources = [source[:2] for source in SOURCES]
        self.source_weights = [source[2] for source in SOURCES]
        self.newsletter = next(a for a in ASSETS if a.kind == "newsletter")
        # Its own random numbers, so that the contacts are the same with behaviour or without.
        self.browsing = (
            Browsing(site_id=catalog.site_id, assets=catalog.assets,
                     personas=catalog.personas, now=now, seed=seed * 7919 + 17,
                     kept_days=get_settings().tracking_retention_days)
            if behaviour else None
        )  # fmt: skip

    def batches(self, count: int, size: int = 5000) -> Iterator[Batch]:
        """``count`` contacts, ``size`` at a time."""
        for first in range(0, count, size):
            batch = Batch()
            for number in range(first, min(first + size, count)):
                self._contact(number, batch)
            yield batch

    # -- one contact -----------------------------------------------------------------------------

    def _contact(self, number: int, batch: Batch) -> None:
        rng = self.rng
        persona = rng.choices(self.personas, self.persona_weights)[0]
        # More contacts lately: a growing audience.
        arrived = self.now - timedelta(days=self.days * rng.random() ** 1.25)
        contact_id = time_ordered_id(rng, arrived)
        source = rng.choices(self.sources, self.source_weights)[0]
        moves = self._moves(persona, arrived)
        captures = self._captures(persona, moves, arrived)
        first_name, last_name = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        company = rng.choice(COMPANIES)
        capture_rows = [
            self._capture_row(contact_id, asset, when, source if n == 0 else (None, None))
            for n, (asset, when) in enumerate(captures)
        ]
        batch.captures.extend(capture_rows)
        capture_at = {row["created_at"]: row["id"] for row in capture_rows}
        reached = self._reached(moves)
        for (stage, when, cause), previous in zip(moves, [None, *moves[:-1]], strict=True):
            batch.stage_changes.append({
                "id": time_ordered_id(rng, when), "contact_id": contact_id,
                "from_stage": previous[0] if previous else None, "to_stage": stage,
                "cause": cause, "actor": SALES if cause == "sales" else None, "reason": None,
                "capture_id": capture_at.get(when) if cause != "sales" else None,
                "changed_at": when,
            })  # fmt: skip
        for row in capture_rows:
            batch.score_events.append({
                "id": time_ordered_id(rng, row["created_at"]), "contact_id": contact_id,
                "kind": "form_capture", "points": CAPTURE_POINTS, "capped": False,
                "capture_id": row["id"], "created_at": row["created_at"],
            })  # fmt: skip
        last_capture = captures[-1][1]
        touches: dict[str, float] = {}
        for asset, when in captures:
            key = str(self.catalog.assets[asset.slug])
            touches[key] = touches.get(key, 0.0) + _halved(1.0, when, last_capture)
        title = rng.choice(persona.titles if persona else UNMATCHED_TITLES)
        fit = (0.7 if persona else 0.0) + 0.3 * 0.8
        last_stage, changed_at = moves[-1][0], moves[-1][1]
        batch.contacts.append({
            "id": contact_id,
            "email": f"{first_name}.{last_name}.{number}@{company}.example".lower(),
            "first_name": first_name, "last_name": last_name, "company": company,
            "job_title": title, "phone": None, "country": rng.choice(COUNTRIES),
            "industry": rng.choice(INDUSTRIES),
            "company_size": rng.choice((10, 50, 200, 1000, 5000)),
            "seniority": "director" if persona and persona.slug != "developer" else "individual",
            "custom_fields": {}, "topics": sorted({t for a, _ in captures for t in a.topics}),
            "stage": last_stage, "stage_changed_at": changed_at,
            **{f"{stage}_at": when for stage, when in reached.items()},
            "persona_id": self.catalog.personas[persona.slug] if persona else None,
            "persona_source": "rules" if persona else None,
            "persona_confidence": 0.82 if persona else None,
            "persona_explanation": {
                "persona": persona.slug if persona else None, "min_confidence": 0.3,
                "candidates": [], "reason": "generated with the demo history",
            },
            "touches": touches, "touches_at": last_capture,
            "fit": fit, "grade": _grade(fit),
            "score": sum(_halved(CAPTURE_POINTS, when, last_capture) for _, when in captures),
            "score_at": last_capture,
            "consent": True, "consent_at": arrived, "consent_text_version": CONSENT_VERSION,
            "consent_capture_id": capture_rows[0]["id"],
            "first_site_id": self.catalog.site_id,
            "first_asset_id": self.catalog.assets[captures[0][0].slug],
            "first_utm_source": source[0], "first_utm_medium": source[1],
            "first_utm_campaign": f"{source[0]}-2026" if source[0] else None,
            "first_utm_term": None, "first_utm_content": None, "first_referrer": None,
            "created_at": arrived, "updated_at": max(changed_at, last_capture),
            "version": len(moves) + len(captures),
        })  # fmt: skip
        if self.browsing is not None:
            self.browsing.contact(batch.contacts[-1], capture_rows, batch.behaviour)
            self.browsing.stranger(days=self.days, into=batch.behaviour)

    def _moves(
        self, persona: PersonaProfile | None, arrived: datetime
    ) -> list[tuple[str, datetime, str]]:
        """(stage, when, cause) of each stage change, the first one on arrival."""
        rng = self.rng
        onward = persona.onward if persona else UNMATCHED_ONWARD
        median = persona.median_days if persona else UNMATCHED_MEDIAN_DAYS
        moves: list[tuple[str, datetime, str]] = []
        when = arrived
        if rng.random() < SUBSCRIBER_FIRST:
            moves.append(("subscriber", when, "capture"))
            when += self._delay(median * 2)
            if rng.random() > 0.45 or when >= self.now:
                return moves
        moves.append(("lead", when, "capture"))
        for stage, chance in zip(ONWARD_STAGES, onward, strict=True):
            if rng.random() > 1 - (1 - chance) ** self.eagerness:
                break
            when += self._delay(median * SLOWER[stage])
            if when >= self.now:
                break
            moves.append((stage, when, "score" if stage == "mql" else "sales"))
        # A jump: the skipped stage's change becomes part of the next one's.
        for stage, chance in JUMPED.items():
            names = [m[0] for m in moves]
            if stage in names and names.index(stage) + 1 < len(names) and rng.random() < chance:
                del moves[names.index(stage)]
        return moves

    def _delay(self, median_days: float) -> timedelta:
        """A log-normal wait: most are near the median, a few take many times longer."""
        return timedelta(days=median_days * math.exp(self.rng.gauss(0.0, 0.9)))

    def _reached(self, moves: list[tuple[str, datetime, str]]) -> dict[str, datetime]:
        """When each stage was reached; a jump reaches the stages it skipped at its time."""
        order = ("subscriber", "lead", *ONWARD_STAGES)
        reached: dict[str, datetime] = {}
        for stage, when, _ in moves:
            for earlier in order[: order.index(stage) + 1]:
                reached.setdefault(earlier, when)
        return reached

    def _captures(
        self,
        persona: PersonaProfile | None,
        moves: list[tuple[str, datetime, str]],
        arrived: datetime,
    ) -> list[tuple[AssetProfile, datetime]]:
        """The content the contact took: one capture per capture-made move and on becoming an
        MQL, then a few more along the way; in time order."""
        rng = self.rng
        captures: list[tuple[AssetProfile, datetime]] = []
        for stage, when, cause in moves:
            if stage == "subscriber":
                captures.append((self.newsletter, when))
            elif cause in ("capture", "score"):
                captures.append(
                    (self._asset(persona, "convert" if stage == "lead" else "close"), when)
                )
        if not any(stage == "mql" for stage, _, _ in moves):
            # Still a lead: captures far enough apart that its score stays below the MQL
            # threshold, as the service would have promoted it otherwise.
            later = captures[-1][1] + timedelta(days=rng.uniform(31, 120))
            if later < self.now and rng.random() < 0.4:
                captures.append((self._asset(persona, "convert"), later))
            return captures
        last = min(self.now, moves[-1][1] + timedelta(days=30))
        span = max((last - arrived).total_seconds(), 0.0)
        for _ in range(min(int(rng.expovariate(1.0)), 4)):
            when = arrived + timedelta(seconds=span * rng.random())
            advanced = any(stage == "mql" and at <= when for stage, at, _ in moves)
            captures.append((self._asset(persona, "close" if advanced else "convert"), when))
        return sorted(captures, key=lambda capture: capture[1])

    def _asset(self, persona: PersonaProfile | None, phase: str) -> AssetProfile:
        eligible = [a for a in ASSETS if a.funnel_stage == phase] or list(ASSETS)
        weights = [a.relevance.get(persona.slug, 0) + 0.3 if persona else 1.0 for a in eligible]
        return self.rng.choices(eligible, weights)[0]

    def _capture_row(
        self,
        contact_id: uuid.UUID,
        asset: AssetProfile,
        when: datetime,
        source: tuple[str | None, str | None],
    ) -> dict[str, Any]:
        return {
            "id": time_ordered_id(self.rng, when), "contact_id": contact_id,
            "asset_id": self.catalog.assets[asset.slug], "site_id": self.catalog.site_id,
            "fields": {}, "consent": True, "consent_text_version": CONSENT_VERSION,
            "utm_source": source[0], "utm_medium": source[1], "utm_campaign": None,
            "utm_term": None, "utm_content": None, "referrer": None,
            "page_url": asset_url(asset), "user_agent": None,
            "ip_prefix": None, "visitor_id": None, "idempotency_key": None, "created_at": when,
        }  # fmt: skip


def _halved(value: float, since: datetime, now: datetime) -> float:
    elapsed_days = (now - since).total_seconds() / 86400
    return value * math.pow(0.5, elapsed_days / HALF_LIFE_DAYS)


def _grade(fit: float) -> str:
    return "A" if fit >= 0.75 else "B" if fit >= 0.5 else "C" if fit >= 0.25 else "D"
