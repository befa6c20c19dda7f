"""The demo's behaviour: known contacts browse before and after their captures under the
anonymous id their captures carry, strangers browse without converting, and what visitors read
follows read-next links, persona interests and the funnel; all from the seed."""

import uuid
from collections import Counter, defaultdict
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest

from inbound.demo.behaviour import anonymous_id
from inbound.demo.catalog import ASSETS, PERSONAS, READ_NEXT
from inbound.demo.history import Batch
from tests.test_demo import NOW, catalog, generated

THE_CATALOG = catalog()
SLUG = {asset_id: slug for slug, asset_id in THE_CATALOG.assets.items()}
STAGE = {asset.slug: asset.funnel_stage for asset in ASSETS}


@pytest.fixture(scope="module")
def history() -> Batch:
    return generated(2500, the_catalog=THE_CATALOG, behaviour=True)


def timelines(history: Batch) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in history.behaviour.events:
        found[event["anonymous_id"]].append(event)
    for events in found.values():
        events.sort(key=lambda event: event["occurred_at"])
    return found


def content(events: list[dict[str, Any]]) -> list[str]:
    """The slugs of the pages viewed, in order."""
    return [SLUG[e["asset_id"]] for e in events if e["type"] == "page" and e["asset_id"]]


class TestWhoBrowses:
    def test_known_contacts_browse_under_the_id_their_captures_carry(self, history: Batch) -> None:
        linked = {row["external_id"]: row["contact_id"] for row in history.behaviour.identities}
        assert len(linked) > 0.75 * len(history.contacts)  # most, not all, were tracked
        assert all(row["kind"] == "anonymous" for row in history.behaviour.identities)
        by_id = timelines(history)
        first_capture: dict[uuid.UUID, Any] = {}
        for capture in history.captures:
            if capture["visitor_id"] is not None:
                assert linked[capture["visitor_id"]] == capture["contact_id"]
                assert capture["visitor_id"] == anonymous_id(capture["contact_id"])
            when = first_capture.get(capture["contact_id"])
            first_capture[capture["contact_id"]] = min(when or NOW, capture["created_at"])
        before = sum(
            1 for visitor, contact in linked.items()
            if by_id[visitor] and by_id[visitor][0]["occurred_at"] < first_capture[contact]
        )  # fmt: skip
        assert before == len(linked)  # every tracked contact browsed before it gave its email

    def test_some_visitors_never_convert(self, history: Batch) -> None:
        linked = {row["external_id"] for row in history.behaviour.identities}
        strangers = set(timelines(history)) - linked
        assert len(strangers) > 0.3 * len(history.contacts)
        captured_by = {c["visitor_id"] for c in history.captures}
        assert not strangers & captured_by

    def test_events_are_in_the_past_and_name_catalog_assets(self, history: Batch) -> None:
        for event in history.behaviour.events:
            # Within what the service keeps: none is pruned at its first start.
            assert NOW - timedelta(days=395) <= event["occurred_at"] < NOW
            assert event["occurred_at"] < event["received_at"]
            assert event["asset_id"] is None or event["asset_id"] in SLUG
            assert event["site_id"] == THE_CATALOG.site_id
        assert len({e["id"] for e in history.behaviour.events}) == len(history.behaviour.events)


class TestWhatTheyRead:
    def test_readers_often_read_the_linked_asset_next(self, history: Batch) -> None:
        follows: Counter[tuple[str, str]] = Counter()
        total: Counter[str] = Counter()
        for events in timelines(history).values():
            slugs = content(events)
            for current, following in pairwise(slugs):
                total[current] += 1
                follows[current, following] += 1
        source = "cloud-bill-surprises"
        linked = READ_NEXT[source][0]
        share = follows[source, linked] / total[source]
        unlinked = follows[source, "attribution-template"] / total[source]
        assert share > 0.15
        assert share > 4 * unlinked

    def test_personas_read_what_is_relevant_to_them(self, history: Batch) -> None:
        persona_of = {c["id"]: c["persona_id"] for c in history.contacts}
        developer = THE_CATALOG.personas["developer"]
        cfo = THE_CATALOG.personas["cfo"]
        linked = {row["external_id"]: row["contact_id"] for row in history.behaviour.identities}
        reads: dict[uuid.UUID, Counter[str]] = {developer: Counter(), cfo: Counter()}
        for visitor, events in timelines(history).items():
            contact = linked.get(visitor)
            persona = persona_of.get(contact) if contact else None
            if persona in reads:
                reads[persona].update(content(events))

        def share(persona: uuid.UUID, slug: str) -> float:
            return reads[persona][slug] / sum(reads[persona].values())

        assert share(developer, "flaky-ci-tests") > 3 * share(cfo, "flaky-ci-tests")
        assert share(cfo, "finops-101") > 3 * share(developer, "finops-101")

    def test_open_content_before_the_first_capture_later_content_after(
        self, history: Batch
    ) -> None:
        linked = {row["external_id"]: row["contact_id"] for row in history.behaviour.identities}
        first: dict[uuid.UUID, Any] = {}
        for capture in history.captures:
            first[capture["contact_id"]] = min(first.get(capture["contact_id"], NOW),
                                               capture["created_at"])  # fmt: skip
        phases: dict[bool, Counter[str]] = {True: Counter(), False: Counter()}
        for visitor, events in timelines(history).items():
            if visitor in linked:
                for event in events:
                    if event["type"] == "page" and event["asset_id"]:
                        early = event["occurred_at"] < first[linked[visitor]]
                        phases[early][STAGE[SLUG[event["asset_id"]]]] += 1

        def attract(early: bool) -> float:
            return phases[early]["attract"] / sum(phases[early].values())

        assert attract(True) > attract(False) + 0.15

    def test_recommendations_are_shown_and_some_clicked(self, history: Batch) -> None:
        for events in timelines(history).values():
            for clicked, following in pairwise(events):
                if clicked["event"] == "Recommendation Clicked":
                    slug = clicked["properties"]["asset"]
                    assert clicked["asset_id"] == THE_CATALOG.assets[slug]
                    assert following["asset_id"] == clicked["asset_id"]  # the page it opened
        named = Counter(e["event"] for e in history.behaviour.events if e["type"] == "track")
        assert named["Recommendation Shown"] > 2 * named["Recommendation Clicked"] > 0
        for event in history.behaviour.events:
            if event["event"] == "Recommendation Shown":
                assert len(set(event["properties"]["assets"])) == 3


class TestRepeatable:
    def test_the_same_seed_gives_the_same_behaviour(self) -> None:
        first = generated(150, 3, THE_CATALOG, behaviour=True)
        again = generated(150, 3, THE_CATALOG, behaviour=True)
        other = generated(150, 4, THE_CATALOG, behaviour=True)
        assert first.behaviour.events == again.behaviour.events
        assert first.behaviour.identities == again.behaviour.identities
        assert first.behaviour.events != other.behaviour.events

    def test_behaviour_leaves_the_contacts_as_they_were(self) -> None:
        plain = generated(150, 3, THE_CATALOG)
        browsing = generated(150, 3, THE_CATALOG, behaviour=True)
        assert plain.contacts == browsing.contacts
        assert plain.stage_changes == browsing.stage_changes
        assert not plain.behaviour.events
        strip = [{**c, "visitor_id": None} for c in browsing.captures]
        assert plain.captures == strip

    def test_every_persona_is_in_the_catalog(self) -> None:
        assert {p.slug for p in PERSONAS} <= set(THE_CATALOG.personas)
