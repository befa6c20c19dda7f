"""Persona mapping: profile values, rule operators and strength, content affinity and
confidence."""

from typing import Any

import pytest

from inbound.leads.qualification.mapping import Profile
from inbound.leads.qualification.settings import MappingSettings
from tests.leads.mapping.helpers import CIO_RULES, GUIDE, WEBINAR, mapped, persona, rule, tags


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
