"""Persona mapping: rule strength, content affinity, confidence, the winner and why."""

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from inbound.content.service import AssetRelevance
from inbound.leads.qualification.evaluation import MANUAL, LeadSettings, evaluate
from inbound.leads.qualification.mapping import PersonaMatch, Profile, map_persona
from inbound.leads.qualification.settings import MappingSettings, ScoringSettings
from inbound.personas.service import MatchablePersona

DEFAULTS = MappingSettings()
CIO_RULES: list[dict[str, Any]] = [
    {"field": "job_title", "operator": "contains_any", "values": ["CIO", "IT director"],
     "weight": 3},
    {"field": "company_size", "operator": "between", "min": 200, "max": None, "weight": 1},
]  # fmt: skip
GUIDE = uuid.uuid4()
WEBINAR = uuid.uuid4()


def persona(
    slug: str, rules: Sequence[Mapping[str, Any]] = (), priority: int = 0
) -> MatchablePersona:
    return MatchablePersona(id=uuid.uuid4(), slug=slug, priority=priority, rules=list(rules))


def rule(field: str, operator: str, weight: float = 1, **spec: Any) -> dict[str, Any]:
    return {"field": field, "operator": operator, "weight": weight, **spec}


def tags(**relevance: tuple[MatchablePersona, int]) -> dict[uuid.UUID, AssetRelevance]:
    """Asset relevance keyed by asset id: `guide=(persona, 3)` tags GUIDE to persona at 3."""
    ids = {"guide": GUIDE, "webinar": WEBINAR}
    return {
        ids[slug]: AssetRelevance(slug=slug, relevance={p.id: level})
        for slug, (p, level) in relevance.items()
    }


def mapped(
    personas: Sequence[MatchablePersona],
    profile: Profile | None = None,
    touches: Mapping[str, float] | None = None,
    assets: Mapping[uuid.UUID, AssetRelevance] | None = None,
    settings: MappingSettings = DEFAULTS,
) -> PersonaMatch:
    return map_persona(profile or Profile(), touches or {}, personas, assets or {}, settings)


def matches(spec: dict[str, Any], profile: Profile) -> bool:
    """Whether a single-rule persona's rule matches ``profile``."""
    match = mapped([persona("p", [spec])], profile)
    return match.candidates[0].rule_strength == 1.0


class TestProfileValues:
    def test_a_profile_field_is_one_value_and_a_missing_one_none(self) -> None:
        profile = Profile(job_title="CIO", company_size=500, industry="")
        assert profile.values("job_title") == ["CIO"]
        assert profile.values("company_size") == [500]
        assert profile.values("industry") == []
        assert profile.values("country") == []

    def test_topics_and_form_fields_are_rule_fields_too(self) -> None:
        profile = Profile(
            topics=["crm", "lead scoring"], custom_fields={"budget": "5", "tools": ["a", "b"]}
        )
        assert profile.values("topic") == ["crm", "lead scoring"]
        assert profile.values("form.budget") == ["5"]
        assert profile.values("form.tools") == ["a", "b"]
        assert profile.values("form.unknown") == []


class TestRuleOperators:
    @pytest.mark.parametrize(
        ("title", "hit"),
        [("Group CIO", True), ("it DIRECTOR, Europe", True), ("CTO", False), (None, False)],
    )
    def test_contains_any_looks_for_any_term_ignoring_case(
        self, title: str | None, hit: bool
    ) -> None:
        spec = rule("job_title", "contains_any", values=["CIO", "IT Director"])
        assert matches(spec, Profile(job_title=title)) is hit

    @pytest.mark.parametrize(("industry", "hit"), [("software", True), ("Software AG", False)])
    def test_equals_compares_the_whole_value_ignoring_case(self, industry: str, hit: bool) -> None:
        spec = rule("industry", "equals", value="Software")
        assert matches(spec, Profile(industry=industry)) is hit

    @pytest.mark.parametrize(("country", "hit"), [("de", True), ("AT", True), ("DEN", False)])
    def test_one_of_compares_with_each_value_ignoring_case(self, country: str, hit: bool) -> None:
        spec = rule("country", "one_of", values=["DE", "AT"])
        assert matches(spec, Profile(country=country)) is hit

    @pytest.mark.parametrize(
        ("size", "hit"), [(199, False), (200, True), (350, True), (500, True), (501, False)]
    )
    def test_between_includes_both_bounds(self, size: int, hit: bool) -> None:
        spec = rule("company_size", "between", min=200, max=500)
        assert matches(spec, Profile(company_size=size)) is hit

    def test_between_with_one_bound_is_open_on_the_other_side(self) -> None:
        at_least = rule("company_size", "between", min=200, max=None)
        assert matches(at_least, Profile(company_size=10_000_000))
        at_most = rule("company_size", "between", min=None, max=50)
        assert matches(at_most, Profile(company_size=0))
        assert not matches(at_most, Profile(company_size=51))

    @pytest.mark.parametrize(
        ("value", "hit"), [("3", True), (" 4.5 ", True), ("lots", False), (True, False)]
    )
    def test_between_on_a_form_field_reads_numbers_given_as_text(
        self, value: Any, hit: bool
    ) -> None:
        spec = rule("form.budget", "between", min=1, max=5)
        assert matches(spec, Profile(custom_fields={"budget": value})) is hit

    def test_a_rule_on_topics_matches_any_topic(self) -> None:
        spec = rule("topic", "one_of", values=["Lead Scoring"])
        assert matches(spec, Profile(topics=["crm", "lead scoring"]))
        assert not matches(spec, Profile(topics=["crm"]))


class TestRuleStrength:
    def test_strength_is_matched_weight_over_total_weight(self) -> None:
        cio = persona("cio", CIO_RULES)
        assert mapped([cio], Profile(job_title="CIO")).candidates[0].rule_strength == 0.75
        assert mapped([cio], Profile(company_size=900)).candidates[0].rule_strength == 0.25
        both = Profile(job_title="CIO", company_size=900)
        assert mapped([cio], both).candidates[0].rule_strength == 1.0
        assert mapped([cio], Profile(job_title="CFO")).candidates[0].rule_strength == 0.0

    def test_a_persona_without_rules_has_no_rule_strength(self) -> None:
        candidate = mapped([persona("any")], Profile(job_title="CIO")).candidates[0]
        assert candidate.rule_strength is None
        assert candidate.confidence == 0.0


class TestContentAffinity:
    @pytest.mark.parametrize(("relevance", "affinity"), [(3, 1.0), (2, 2 / 3), (1, 1 / 3)])
    def test_affinity_is_the_relevance_of_what_was_captured(
        self, relevance: int, affinity: float
    ) -> None:
        cio = persona("cio")
        match = mapped([cio], touches={str(GUIDE): 1.0}, assets=tags(guide=(cio, relevance)))
        assert match.candidates[0].content_affinity == pytest.approx(affinity)
        assert match.candidates[0].confidence == pytest.approx(affinity)

    def test_untagged_captures_dilute_the_affinity(self) -> None:
        cio = persona("cio")
        touches = {str(GUIDE): 1.0, str(WEBINAR): 1.0}
        match = mapped([cio], touches=touches, assets=tags(guide=(cio, 3)))
        assert match.candidates[0].content_affinity == pytest.approx(0.5)

    def test_an_older_touch_counts_less(self) -> None:
        cio, cfo = persona("cio"), persona("cfo")
        assets = tags(guide=(cio, 3), webinar=(cfo, 3))
        older_guide = {str(GUIDE): 0.5, str(WEBINAR): 1.0}
        match = mapped([cio, cfo], touches=older_guide, assets=assets)
        by_slug = {c.persona.slug: c for c in match.candidates}
        assert by_slug["cio"].content_affinity == pytest.approx(1 / 3)
        assert by_slug["cfo"].content_affinity == pytest.approx(2 / 3)
        assert match.chosen is not None
        assert match.chosen.persona.slug == "cfo"
        assert by_slug["cio"].assets == [{"asset": "guide", "relevance": 3, "weight": 0.3333}]

    def test_no_captures_means_no_content_affinity(self) -> None:
        candidate = mapped([persona("cio", CIO_RULES)], Profile(job_title="CIO")).candidates[0]
        assert candidate.content_affinity is None
        assert candidate.assets == []


class TestConfidence:
    def test_confidence_is_the_weighted_mean_of_rules_and_content(self) -> None:
        cio = persona("cio", CIO_RULES)
        match = mapped([cio], Profile(job_title="CIO"), {str(GUIDE): 1.0}, tags(guide=(cio, 1)))
        # 0.6 * 0.75 + 0.4 * 1/3
        assert match.candidates[0].confidence == pytest.approx(0.45 + 0.4 / 3)

    def test_a_missing_signal_leaves_the_other_one_whole(self) -> None:
        cio = persona("cio", CIO_RULES)
        only_rules = mapped([cio], Profile(job_title="CIO")).candidates[0]
        assert only_rules.confidence == pytest.approx(0.75)
        content_only = persona("content")
        only_content = mapped(
            [content_only], touches={str(GUIDE): 1.0}, assets=tags(guide=(content_only, 2))
        ).candidates[0]
        assert only_content.confidence == pytest.approx(2 / 3)

    def test_the_weights_come_from_the_settings(self) -> None:
        cio = persona("cio", CIO_RULES)
        settings = MappingSettings(rules_weight=1, content_weight=0)
        match = mapped(
            [cio], Profile(job_title="CIO"), {str(GUIDE): 1.0}, tags(guide=(cio, 3)), settings
        )
        assert match.candidates[0].confidence == pytest.approx(0.75)


class TestChoice:
    def test_the_strongest_persona_wins(self) -> None:
        cio = persona("cio", CIO_RULES, priority=0)
        cfo = persona("cfo", [rule("job_title", "contains_any", values=["CFO", "finance"])], 9)
        match = mapped([cfo, cio], Profile(job_title="CIO"))
        assert match.chosen is not None
        assert match.chosen.persona is cio
        assert match.explanation["persona"] == "cio"
        assert match.explanation["reason"] == "the strongest persona above the minimum confidence"

    def test_a_tie_goes_to_the_higher_priority(self) -> None:
        spec = [rule("job_title", "contains_any", values=["director"])]
        low, high = persona("a-low", spec, priority=1), persona("z-high", spec, priority=5)
        match = mapped([low, high], Profile(job_title="Director"))
        assert match.chosen is not None
        assert match.chosen.persona is high
        assert match.explanation["reason"] == "tied on confidence; the higher priority won"

    def test_below_the_minimum_confidence_there_is_no_persona_and_it_says_why(self) -> None:
        cio = persona("cio", CIO_RULES)
        match = mapped(
            [cio], Profile(company_size=900), settings=MappingSettings(min_confidence=0.3)
        )
        assert match.chosen is None
        assert match.explanation["persona"] is None
        assert match.explanation["min_confidence"] == 0.3
        assert match.explanation["reason"] == "no persona reached the minimum confidence"
        assert [c["persona"] for c in match.explanation["candidates"]] == ["cio"]
        assert match.explanation["candidates"][0]["confidence"] == 0.25

    def test_exactly_the_minimum_confidence_is_enough(self) -> None:
        cio = persona("cio", CIO_RULES)
        match = mapped(
            [cio], Profile(company_size=900), settings=MappingSettings(min_confidence=0.25)
        )
        assert match.chosen is not None
        assert match.chosen.persona is cio

    def test_without_personas_there_is_no_persona_and_it_says_why(self) -> None:
        match = mapped([], Profile(job_title="CIO"))
        assert match.chosen is None
        assert match.explanation == {
            "persona": None,
            "min_confidence": DEFAULTS.min_confidence,
            "candidates": [],
            "reason": "there are no personas",
        }

    def test_a_persona_without_any_evidence_is_never_chosen(self) -> None:
        cio = persona("cio", CIO_RULES)
        match = mapped([cio], Profile(job_title="CFO"), settings=MappingSettings(min_confidence=0))
        assert match.chosen is None

    def test_the_explanation_lists_matched_rules_and_counted_assets(self) -> None:
        cio = persona("cio", CIO_RULES)
        other = persona("other")
        touches = {str(GUIDE): 1.0, str(WEBINAR): 1.0}
        assets = tags(guide=(cio, 3), webinar=(other, 2))
        match = mapped([cio, other], Profile(job_title="Group CIO"), touches, assets)
        assert match.explanation["candidates"][0] == {
            "persona": "cio",
            "confidence": round(0.6 * 0.75 + 0.4 * 0.5, 4),
            "rule_strength": 0.75,
            "content_affinity": 0.5,
            "matched_rules": [
                {
                    "field": "job_title",
                    "operator": "contains_any",
                    "weight": 3,
                    "value": "Group CIO",
                },
            ],
            "assets": [{"asset": "guide", "relevance": 3, "weight": 0.5}],
        }

    def test_the_explanation_keeps_the_three_best_candidates_with_some_evidence(self) -> None:
        cio = rule("job_title", "contains_any", values=["cio"])
        unmet = rule("country", "equals", value="XX")
        # p0 matches all of its rules, p1 half, p2 a third...; `nothing` matches none.
        personas = [persona(f"p{i}", [cio] + [unmet] * i) for i in range(5)]
        personas.append(persona("nothing", [rule("industry", "equals", value="Retail")]))
        match = mapped(personas, Profile(job_title="CIO"))
        assert [c["persona"] for c in match.explanation["candidates"]] == ["p0", "p1", "p2"]
        assert len(match.candidates) == 6

    def test_strength_of_names_the_rule_strength_behind_any_persona(self) -> None:
        cio = persona("cio", CIO_RULES)
        match = mapped([cio, persona("none")], Profile(job_title="CIO"))
        assert match.strength_of(cio.id) == 0.75
        assert match.strength_of(uuid.uuid4()) == 0.0
        assert match.strength_of(None) == 0.0


class TestEvaluate:
    settings = LeadSettings(scoring=ScoringSettings(), mapping=MappingSettings())
    # Four of the eight profile fields that completeness counts.
    half_profile: dict[str, Any] = {
        "first_name": "Ana", "last_name": "Lima", "company": "Acme", "job_title": "CIO",
    }  # fmt: skip

    def test_a_matching_contact_gets_the_persona_with_fit_and_grade(self) -> None:
        cio = persona("cio", CIO_RULES)
        columns = evaluate(self.half_profile, [cio], {}, self.settings)
        assert columns["persona_id"] == cio.id
        assert columns["persona_source"] == "rules"
        assert columns["persona_confidence"] == 0.75
        assert columns["persona_explanation"]["persona"] == "cio"
        # 0.7 * 0.75 + 0.3 * 0.5
        assert columns["fit"] == 0.675
        assert columns["grade"] == "B"

    def test_a_persona_won_by_content_says_so(self) -> None:
        reader = persona("reader", [rule("industry", "equals", value="Retail")])
        contact = {"touches": {str(GUIDE): 1.0}, "industry": "Software"}
        columns = evaluate(contact, [reader], tags(guide=(reader, 3)), self.settings)
        assert columns["persona_id"] == reader.id
        assert columns["persona_source"] == "content"
        assert columns["persona_confidence"] == 0.4

    def test_without_a_match_the_persona_is_cleared_and_fit_is_completeness_alone(
        self,
    ) -> None:
        cio = persona("cio", CIO_RULES)
        contact = self.half_profile | {"job_title": "Chef", "persona_id": cio.id}
        columns = evaluate(contact, [cio], {}, self.settings)
        assert columns["persona_id"] is None
        assert columns["persona_source"] is None
        assert columns["persona_confidence"] is None
        assert columns["persona_explanation"]["reason"] == (
            "no persona reached the minimum confidence"
        )
        assert columns["fit"] == 0.15
        assert columns["grade"] == "D"

    def test_a_persona_assigned_by_hand_stays_and_its_rules_decide_the_fit(self) -> None:
        cio = persona("cio", CIO_RULES)
        cfo = persona("cfo", [rule("job_title", "contains_any", values=["CFO"])])
        contact = self.half_profile | {
            "persona_id": cfo.id, "persona_source": MANUAL, "company_size": 900,
        }  # fmt: skip
        columns = evaluate(contact, [cio, cfo], {}, self.settings)
        assert set(columns) == {"fit", "grade"}
        # cfo's rules do not match: 0.7 * 0 + 0.3 * 5/8
        assert columns["fit"] == 0.1875
        assert columns["grade"] == "D"
        contact["persona_id"] = cio.id
        assert evaluate(contact, [cio, cfo], {}, self.settings) == {"fit": 0.8875, "grade": "A"}

    def test_a_hand_picked_persona_deleted_since_returns_the_contact_to_automatic_mapping(
        self,
    ) -> None:
        cio = persona("cio", CIO_RULES)
        contact = self.half_profile | {
            "persona_id": None, "persona_source": MANUAL, "company_size": 900,
        }  # fmt: skip
        columns = evaluate(contact, [cio], {}, self.settings)
        assert columns["persona_id"] == cio.id
        assert columns["persona_source"] == "rules"
