"""Persona mapping: which persona is chosen, and the evaluation of every candidate."""

import uuid
from typing import Any

from inbound.leads.qualification.evaluation import MANUAL, LeadSettings, evaluate
from inbound.leads.qualification.mapping import Profile
from inbound.leads.qualification.settings import MappingSettings, ScoringSettings
from inbound.leads.state import ContactState
from tests.leads.mapping.helpers import (
    CIO_RULES,
    DEFAULTS,
    GUIDE,
    WEBINAR,
    mapped,
    persona,
    rule,
    tags,
)


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


def state(columns: dict[str, Any]) -> ContactState:
    """A contact with these columns, as evaluation reads it."""
    return ContactState(id=uuid.uuid4(), email="ana@example.com", **columns)


class TestEvaluate:
    settings = LeadSettings(scoring=ScoringSettings(), mapping=MappingSettings())
    # Four of the eight profile fields that completeness counts.
    half_profile: dict[str, Any] = {
        "first_name": "Ana", "last_name": "Lima", "company": "Acme", "job_title": "CIO",
    }  # fmt: skip

    def test_a_matching_contact_gets_the_persona_with_fit_and_grade(self) -> None:
        cio = persona("cio", CIO_RULES)
        columns = evaluate(state(self.half_profile), [cio], {}, self.settings)
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
        columns = evaluate(state(contact), [reader], tags(guide=(reader, 3)), self.settings)
        assert columns["persona_id"] == reader.id
        assert columns["persona_source"] == "content"
        assert columns["persona_confidence"] == 0.4

    def test_without_a_match_the_persona_is_cleared_and_fit_is_completeness_alone(
        self,
    ) -> None:
        cio = persona("cio", CIO_RULES)
        contact = self.half_profile | {"job_title": "Chef", "persona_id": cio.id}
        columns = evaluate(state(contact), [cio], {}, self.settings)
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
        columns = evaluate(state(contact), [cio, cfo], {}, self.settings)
        assert set(columns) == {"fit", "grade"}
        # cfo's rules do not match: 0.7 * 0 + 0.3 * 5/8
        assert columns["fit"] == 0.1875
        assert columns["grade"] == "D"
        contact["persona_id"] = cio.id
        assert evaluate(state(contact), [cio, cfo], {}, self.settings) == {
            "fit": 0.8875,
            "grade": "A",
        }

    def test_a_hand_picked_persona_deleted_since_returns_the_contact_to_automatic_mapping(
        self,
    ) -> None:
        cio = persona("cio", CIO_RULES)
        contact = self.half_profile | {
            "persona_id": None, "persona_source": MANUAL, "company_size": 900,
        }  # fmt: skip
        columns = evaluate(state(contact), [cio], {}, self.settings)
        assert columns["persona_id"] == cio.id
        assert columns["persona_source"] == "rules"
