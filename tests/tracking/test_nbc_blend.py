"""The ranking's blend, each component checked against a computation of its own."""

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from inbound.tracking.nbc.blend import (
    CatalogAsset,
    PinRule,
    Signals,
    View,
    Visitor,
    Weights,
    covisitation,
    rank,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
CFO, CTO = uuid.UUID(int=1), uuid.UUID(int=2)
ONLY = {"persona_fit": 0.0, "topic_affinity": 0.0, "stage_progression": 0.0,
        "covisitation": 0.0, "exploration": 0.0, "topic_half_life_days": 14.0}  # fmt: skip
NO_SIGNALS = Signals(covisits={}, ctr={}, rules=())


def weights(**chosen: float) -> Weights:
    return Weights(**(ONLY | chosen))


def asset(
    slug: str, stage: str = "attract", topics: tuple[str, ...] = (), **personas: int
) -> CatalogAsset:
    tags = {CFO if name == "cfo" else CTO: value for name, value in personas.items()}
    return CatalogAsset(
        id=uuid.uuid5(uuid.NAMESPACE_DNS, slug), slug=slug, title=slug.title(), kind="blog",
        stage=stage, topics=frozenset(topics), personas=tags, public_url=None, gated=False,
    )  # fmt: skip


def ranked(
    visitor: Visitor,
    catalog: list[CatalogAsset],
    w: Weights,
    signals: Signals = NO_SIGNALS,
    *,
    slot: str = "side",
    k: int = 10,
    rng: random.Random | None = None,
) -> dict[str, float]:
    found = rank(visitor, catalog, signals, slot=slot, k=k, now=NOW, weights=w, rng=rng)
    return {s.asset.slug: s.score for s in found}


def viewed(*assets: CatalogAsset, days_ago: float = 0) -> list[View]:
    return [View(a.id, NOW - timedelta(days=days_ago)) for a in assets]


class TestPersonaFit:
    def test_known_persona_scores_relevance_over_three(self) -> None:
        high, low, untagged = asset("high", cfo=3), asset("low", cfo=1), asset("untagged")
        scores = ranked(
            Visitor(views=[], persona_id=CFO), [low, high, untagged], weights(persona_fit=2)
        )
        assert scores == pytest.approx({"high": 2.0, "low": 2 / 3, "untagged": 0.0})
        assert list(scores) == ["high", "low", "untagged"]

    def test_anonymous_persona_is_inferred_from_what_was_read(self) -> None:
        read = [asset("r1", cto=3), asset("r2", cto=2, cfo=1)]
        for_cto, for_cfo = asset("for-cto", cto=2), asset("for-cfo", cfo=3)
        scores = ranked(
            Visitor(views=viewed(*read)), [*read, for_cto, for_cfo], weights(persona_fit=1)
        )
        # CTO: 3 + 2 against CFO: 1, so the visitor reads as a CTO.
        assert scores == pytest.approx({"for-cto": 2 / 3, "for-cfo": 0.0})


class TestTopicAffinity:
    def test_each_view_counts_less_with_age(self) -> None:
        fresh, old = asset("fresh", topics=("seo",)), asset("old", topics=("crm",))
        on_seo, on_crm = asset("on-seo", topics=("seo",)), asset("on-crm", topics=("crm",))
        views = [*viewed(old, days_ago=14), *viewed(fresh)]  # 14 days = one half-life
        scores = ranked(
            Visitor(views=views), [fresh, old, on_seo, on_crm], weights(topic_affinity=3)
        )
        assert scores == pytest.approx({"on-seo": 3 * 1 / 1.5, "on-crm": 3 * 0.5 / 1.5})

    def test_an_asset_covering_both_topics_gets_both_shares(self) -> None:
        a, b = asset("a", topics=("seo",)), asset("b", topics=("crm",))
        both = asset("both", topics=("seo", "crm", "email"))
        scores = ranked(Visitor(views=viewed(a, b)), [a, b, both], weights(topic_affinity=1))
        assert scores == pytest.approx({"both": 1.0})


class TestStageProgression:
    @pytest.mark.parametrize(
        ("stage", "expected"),
        [("lead", {"close": 1.0, "convert": 0.6, "delight": 0.3, "attract": 0.1}),
         ("customer", {"delight": 1.0, "close": 0.6, "attract": 0.1, "convert": 0.1}),
         (None, {"convert": 1.0, "attract": 0.6, "close": 0.3, "delight": 0.3})],
    )  # fmt: skip
    def test_next_phase_first_same_next_earlier_low(
        self, stage: str | None, expected: dict[str, float]
    ) -> None:
        catalog = [
            asset(phase, stage=phase) for phase in ("attract", "convert", "close", "delight")
        ]
        scores = ranked(Visitor(views=[], stage=stage), catalog, weights(stage_progression=1))
        assert scores == pytest.approx(expected)
        assert list(scores) == list(expected)

    def test_anonymous_phase_is_the_furthest_stage_read(self) -> None:
        read = asset("read", stage="convert")
        catalog = [read, asset("close", stage="close"), asset("convert", stage="convert")]
        scores = ranked(Visitor(views=viewed(read)), catalog, weights(stage_progression=1))
        assert scores == pytest.approx({"close": 1.0, "convert": 0.6})


class TestCovisitation:
    def test_lift_from_the_latest_view_over_its_strongest(self) -> None:
        first, latest = asset("first"), asset("latest")
        b, c, d = asset("b"), asset("c"), asset("d")
        covisits = {latest.id: {b.id: 4.0, c.id: 1.0}, first.id: {d.id: 9.0}}
        signals = Signals(covisits=covisits, ctr={}, rules=())
        visitor = Visitor(views=[*viewed(first, days_ago=1), *viewed(latest)])
        scores = ranked(visitor, [first, latest, b, c, d], weights(covisitation=2), signals)
        assert scores == pytest.approx({"b": 2.0, "c": 0.5, "d": 0.0})

    def test_lift_numbers_match_a_hand_computation(self) -> None:
        a, b, c = uuid.UUID(int=10), uuid.UUID(int=11), uuid.UUID(int=12)
        histories = [[a, b], [a, b, a], [a, c], [b], [c, a, b], []]
        lift = covisitation(histories, min_together=2)
        # 5 visitors viewed something; a: 4, b: 4, c: 2; a&b: 3, a&c: 2, b&c: 1.
        assert lift[a][b] == pytest.approx(3 * 5 / (4 * 4)) == lift[b][a]
        assert lift[a][c] == pytest.approx(2 * 5 / (4 * 2)) == lift[c][a]
        assert c not in lift.get(b, {})  # seen together once: under the minimum support
        assert covisitation(histories, min_together=1)[b][c] == pytest.approx(1 * 5 / (4 * 2))


class TestExploration:
    def test_thompson_draws_from_each_slot_and_asset_posterior(self) -> None:
        catalog = [asset("a"), asset("b"), asset("c")]
        ctr = {("side", catalog[0].id): (100, 30), ("side", catalog[1].id): (10, 0),
               ("top", catalog[2].id): (50, 50)}  # fmt: skip
        signals = Signals(covisits={}, ctr=ctr, rules=())
        scores = ranked(
            Visitor(views=[]), catalog, weights(exploration=1), signals, rng=random.Random(7)
        )
        draws = random.Random(7)
        # Drawn in the order of the score without exploration: all 0 here, so by the posterior
        # mean of click-through in the slot: c (1/2), a (31/102), b (1/12).
        expected = {"c": draws.betavariate(1, 1), "a": draws.betavariate(31, 71),
                    "b": draws.betavariate(1, 11)}  # fmt: skip
        assert scores == pytest.approx(expected)

    def test_draws_stop_once_no_later_candidate_could_enter(self) -> None:
        strong, weak = asset("strong", cfo=3), asset("weak", cfo=1)
        catalog = [weak, strong, asset("none")]
        w = weights(persona_fit=3, exploration=1)
        rng = random.Random(3)
        found = rank(Visitor(views=[], persona_id=CFO), catalog, NO_SIGNALS, slot="s", k=1,
                     now=NOW, weights=w, rng=rng)  # fmt: skip
        # strong scores 3 before exploration; weak at most 1 + 1: only strong draws.
        draws = random.Random(3)
        assert [s.asset.slug for s in found] == ["strong"]
        assert found[0].components["exploration"] == pytest.approx(draws.betavariate(1, 1))
        assert rng.random() == draws.random()  # no draw was spent on the others

    def test_no_rng_means_no_exploration_and_a_stable_answer(self) -> None:
        catalog = [asset("a"), asset("b")]
        ctr = {("side", catalog[1].id): (10, 9)}
        signals = Signals(covisits={}, ctr=ctr, rules=())
        first = rank(Visitor(views=[]), catalog, signals, slot="side", k=2, now=NOW,
                     weights=weights(exploration=1), rng=None)  # fmt: skip
        assert [s.components["exploration"] for s in first] == [0.0, 0.0]
        # Ties go to the better click-through in the slot.
        assert [s.asset.slug for s in first] == ["b", "a"]


class TestExclusions:
    def test_viewed_and_captured_assets_are_left_out(self) -> None:
        seen, captured, fresh = asset("seen"), asset("captured"), asset("fresh")
        visitor = Visitor(views=viewed(seen), captured=frozenset({captured.id}))
        assert list(ranked(visitor, [seen, captured, fresh], weights())) == ["fresh"]

    def test_k_bounds_the_answer(self) -> None:
        catalog = [asset(f"a{i}", cfo=1 + i % 3) for i in range(6)]
        found = rank(Visitor(views=[], persona_id=CFO), catalog, NO_SIGNALS, slot="s", k=2,
                     now=NOW, weights=weights(persona_fit=1), rng=None)  # fmt: skip
        assert [s.asset.slug for s in found] == ["a2", "a5"]


class TestPinnedRules:
    def rule(self, target: CatalogAsset, **conditions: object) -> PinRule:
        return PinRule(id=uuid.uuid4(), asset_id=target.id, **conditions)  # type: ignore[arg-type]

    def test_pins_come_first_by_priority_even_when_seen(self) -> None:
        best, low, high, seen = asset("best", cfo=3), asset("low"), asset("high"), asset("seen")
        rules = [
            self.rule(low, priority=1),
            self.rule(high, priority=5),
            self.rule(seen, priority=3),
        ]
        signals = Signals(covisits={}, ctr={}, rules=rules)
        visitor = Visitor(views=viewed(seen), persona_id=CFO)
        found = rank(visitor, [best, low, high, seen], signals, slot="side", k=4, now=NOW,
                     weights=weights(persona_fit=1), rng=None)  # fmt: skip
        assert [(s.asset.slug, s.pinned) for s in found] == [
            ("high", True),
            ("seen", True),
            ("low", True),
            ("best", False),
        ]
        assert "Pinned" in found[0].reason

    @pytest.mark.parametrize(
        ("conditions", "matches"),
        [({"slot": "side"}, True), ({"slot": "footer"}, False),
         ({"persona_id": CFO}, True), ({"persona_id": CTO}, False),
         ({"stages": frozenset({"lead", "mql"})}, True),
         ({"stages": frozenset({"anonymous"})}, False),
         ({"campaign": "SPRING"}, True), ({"campaign": "autumn"}, False),
         ({"viewed_asset_id": uuid.uuid5(uuid.NAMESPACE_DNS, "read")}, True),
         ({"viewed_asset_id": uuid.UUID(int=99)}, False),
         ({"active": False}, False)],
    )  # fmt: skip
    def test_each_condition_decides(self, conditions: dict[str, object], matches: bool) -> None:
        read, pinned, other = asset("read"), asset("pinned"), asset("other", cfo=3)
        signals = Signals(covisits={}, ctr={}, rules=[self.rule(pinned, **conditions)])
        visitor = Visitor(views=viewed(read), persona_id=CFO, stage="lead", campaign="spring")
        found = rank(visitor, [read, pinned, other], signals, slot="side", k=1, now=NOW,
                     weights=weights(persona_fit=1), rng=None)  # fmt: skip
        assert (found[0].asset.slug == "pinned") is matches
        assert found[0].pinned is matches

    def test_anonymous_stage_matches_a_visitor_without_a_stage(self) -> None:
        pinned = asset("pinned")
        signals = Signals(
            covisits={}, ctr={}, rules=[self.rule(pinned, stages=frozenset({"anonymous"}))]
        )
        found = rank(Visitor(views=[]), [asset("x"), pinned], signals, slot="s", k=1, now=NOW,
                     weights=weights(), rng=None)  # fmt: skip
        assert found[0].pinned
        assert found[0].asset.slug == "pinned"

    def test_a_pinned_asset_outside_the_catalog_is_not_shown(self) -> None:
        archived = asset("archived")
        signals = Signals(covisits={}, ctr={}, rules=[self.rule(archived, priority=9)])
        found = ranked(Visitor(views=[]), [asset("live")], weights(), signals)
        assert list(found) == ["live"]


def test_components_and_reason_explain_the_choice() -> None:
    read = asset("read", topics=("seo",), cfo=3)
    target = asset("target", stage="convert", topics=("seo",), cfo=3)
    found = rank(Visitor(views=viewed(read)), [read, target], NO_SIGNALS, slot="s", k=1, now=NOW,
                 weights=weights(topic_affinity=2, persona_fit=1, stage_progression=0.5),
                 rng=None)  # fmt: skip
    suggestion = found[0]
    assert suggestion.components == pytest.approx(
        {"persona_fit": 1.0, "topic_affinity": 2.0, "stage_progression": 0.5,
         "covisitation": 0.0, "exploration": 0.0}
    )  # fmt: skip
    assert suggestion.score == pytest.approx(3.5)
    assert suggestion.reason.startswith("Suggested because it covers topics the visitor read")
    assert "(seo)" in suggestion.reason
    assert "persona" in suggestion.reason
