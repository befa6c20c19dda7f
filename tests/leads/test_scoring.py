"""Fit, grade and engagement: decay, completeness, points with caps, and the MQL thresholds."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from inbound.leads.qualification.scoring import (
    PROFILE_FIELDS,
    completeness,
    decayed,
    filled_share,
    fit,
    grade,
    is_mql,
    points_for,
)
from inbound.leads.qualification.settings import (
    Activities,
    ActivityPoints,
    GradeThresholds,
    MappingSettings,
    MqlThresholds,
    ScoringSettings,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DEFAULTS = ScoringSettings()
FULL_PROFILE: dict[str, Any] = {
    "first_name": "Ana", "last_name": "Lima", "company": "Acme", "job_title": "CIO",
    "phone": "+49 30 1234", "country": "DE", "industry": "Software", "company_size": 500,
}  # fmt: skip


class TestDecay:
    def test_a_score_halves_every_half_life(self) -> None:
        assert decayed(80.0, T0, T0 + timedelta(days=30), 30) == 40.0
        assert decayed(80.0, T0, T0 + timedelta(days=60), 30) == 20.0
        assert decayed(80.0, T0, T0 + timedelta(days=15), 30) == pytest.approx(80 / 2**0.5)

    def test_nothing_decays_without_time_passing(self) -> None:
        assert decayed(80.0, T0, T0, 30) == 80.0
        assert decayed(80.0, None, T0 + timedelta(days=300), 30) == 80.0
        assert decayed(0.0, T0, T0 + timedelta(days=300), 30) == 0.0

    def test_a_time_in_the_future_does_not_grow_the_score(self) -> None:
        assert decayed(80.0, T0 + timedelta(days=1), T0, 30) == 80.0

    def test_a_negative_score_decays_toward_zero(self) -> None:
        assert decayed(-10.0, T0, T0 + timedelta(days=7), 7) == -5.0


class TestCompleteness:
    def test_completeness_is_the_share_of_profile_fields_filled_in(self) -> None:
        assert len(PROFILE_FIELDS) == 8
        assert completeness(FULL_PROFILE) == 1.0
        assert completeness({}) == 0.0
        half = {k: FULL_PROFILE[k] for k in ("first_name", "company", "country", "company_size")}
        assert completeness(half) == 0.5

    def test_blank_and_unknown_fields_do_not_count(self) -> None:
        assert completeness({"first_name": "", "last_name": None, "seniority": "VP"}) == 0.0
        assert completeness({"company_size": 0}) == 1 / 8

    def test_the_share_is_the_same_from_the_values_alone(self) -> None:
        assert filled_share(FULL_PROFILE.values()) == 1.0
        assert filled_share(["", None, "VP", 0]) == 2 / 8


class TestFit:
    def test_fit_weighs_rule_strength_and_completeness(self) -> None:
        assert fit(1.0, 1.0, DEFAULTS) == pytest.approx(1.0)
        assert fit(1.0, 0.0, DEFAULTS) == pytest.approx(0.7)
        assert fit(0.0, 1.0, DEFAULTS) == pytest.approx(0.3)
        assert fit(0.5, 0.25, DEFAULTS) == pytest.approx(0.7 * 0.5 + 0.3 * 0.25)

    def test_the_weights_need_not_add_up_to_one(self) -> None:
        settings = ScoringSettings(rule_strength_weight=0.2, completeness_weight=0.2)
        assert fit(1.0, 0.0, settings) == pytest.approx(0.5)
        only_rules = ScoringSettings(rule_strength_weight=1, completeness_weight=0)
        assert fit(0.4, 1.0, only_rules) == pytest.approx(0.4)


class TestGrade:
    @pytest.mark.parametrize(
        ("fit_value", "letter"),
        [
            (1.0, "A"), (0.75, "A"), (0.7499, "B"), (0.5, "B"), (0.4999, "C"), (0.25, "C"),
            (0.2499, "D"), (0.0, "D"),
        ],
    )  # fmt: skip
    def test_each_grade_starts_at_its_threshold(self, fit_value: float, letter: str) -> None:
        assert grade(fit_value, DEFAULTS) == letter

    def test_a_fit_a_rounding_error_below_a_threshold_reaches_it(self) -> None:
        just_under = 0.75 - 1e-12
        assert just_under < 0.75
        assert grade(just_under, DEFAULTS) == "A"

    def test_the_thresholds_come_from_the_settings(self) -> None:
        settings = ScoringSettings(grades=GradeThresholds(A=0.9, B=0.9, C=0.1))
        assert grade(0.9, settings) == "A"
        assert grade(0.89, settings) == "C"
        assert grade(0.05, settings) == "D"


class TestPoints:
    def test_a_form_capture_earns_50_points_by_default(self) -> None:
        assert points_for("form_capture", 0.0, DEFAULTS) == (50.0, False)

    def test_the_cap_cuts_what_the_period_has_no_room_for(self) -> None:
        assert points_for("form_capture", 100.0, DEFAULTS) == (50.0, False)
        assert points_for("form_capture", 120.0, DEFAULTS) == (30.0, True)
        assert points_for("form_capture", 150.0, DEFAULTS) == (0.0, True)
        assert points_for("form_capture", 400.0, DEFAULTS) == (0.0, True)

    def test_each_kind_has_its_own_points_and_cap(self) -> None:
        assert points_for("asset_download", 0.0, DEFAULTS) == (3.0, False)
        assert points_for("asset_download", 29.0, DEFAULTS) == (1.0, True)
        assert points_for("page_view", 20.0, DEFAULTS) == (0.0, True)

    def test_an_uncapped_kind_always_earns_its_points(self) -> None:
        settings = ScoringSettings(
            activities=Activities(form_capture=ActivityPoints(points=25, cap=None))
        )
        assert points_for("form_capture", 1_000_000.0, settings) == (25.0, False)

    def test_negative_points_are_never_capped(self) -> None:
        settings = ScoringSettings(
            activities=Activities(form_capture=ActivityPoints(points=-20, cap=10))
        )
        assert points_for("form_capture", 500.0, settings) == (-20.0, False)


class TestMqlThresholds:
    @pytest.mark.parametrize(
        ("letter", "score", "qualifies"),
        [
            ("A", 100.0, True), ("B", 100.0, True), ("B", 1e6, True), ("C", 100.0, False),
            ("D", 1e6, False), ("B", 99.99, False), ("A", 0.0, False),
        ],
    )  # fmt: skip
    def test_a_lead_qualifies_at_grade_b_and_100_points(
        self, letter: Any, score: float, qualifies: bool
    ) -> None:
        assert is_mql(letter, score, DEFAULTS) is qualifies

    def test_the_score_is_compared_as_shown(self) -> None:
        assert is_mql("B", 99.996, DEFAULTS)
        assert not is_mql("B", 99.994, DEFAULTS)

    def test_the_thresholds_come_from_the_settings(self) -> None:
        settings = ScoringSettings(mql=MqlThresholds(min_grade="C", min_score=10))
        assert is_mql("C", 10.0, settings)
        assert not is_mql("D", 10.0, settings)
        assert not is_mql("A", 9.99, settings)


class TestConsistency:
    def test_the_defaults_are_consistent(self) -> None:
        assert ScoringSettings().problems() == []
        assert MappingSettings().problems() == []

    def test_grades_must_not_rise_from_a_to_c(self) -> None:
        found = ScoringSettings(grades=GradeThresholds(A=0.5, B=0.6, C=0.1)).problems()
        assert [p.field for p in found] == ["grades"]
        found = ScoringSettings(grades=GradeThresholds(A=0.8, B=0.5, C=0.6)).problems()
        assert [p.field for p in found] == ["grades"]
        assert ScoringSettings(grades=GradeThresholds(A=0.5, B=0.5, C=0.5)).problems() == []

    def test_fit_needs_some_weight(self) -> None:
        found = ScoringSettings(rule_strength_weight=0, completeness_weight=0).problems()
        assert [p.field for p in found] == ["rule_strength_weight"]
        assert ScoringSettings(rule_strength_weight=0, completeness_weight=0.1).problems() == []

    def test_mapping_needs_some_weight(self) -> None:
        found = MappingSettings(rules_weight=0, content_weight=0).problems()
        assert [p.field for p in found] == ["rules_weight"]
        assert MappingSettings(rules_weight=0, content_weight=1).problems() == []
