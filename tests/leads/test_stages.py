"""Lifecycle stages: their order, how a contact moves between them, and when a lead is an MQL."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from inbound.leads.lifecycle import move_to, promote_if_qualified
from inbound.leads.qualification.evaluation import LeadSettings
from inbound.leads.qualification.settings import MappingSettings, MqlThresholds, ScoringSettings
from inbound.leads.stages import (
    STAGES,
    LifecycleStage,
    StageCause,
    is_regression,
    plan_move,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=2)
T2 = T0 + timedelta(days=5)
T3 = T0 + timedelta(days=9)
DEFAULTS = LeadSettings(scoring=ScoringSettings(), mapping=MappingSettings())
NOTHING_REACHED: dict[str, datetime | None] = {s.reached_column: None for s in STAGES}


def contact(stage: str | None, **fields: Any) -> dict[str, Any]:
    """A contact's state as the lifecycle functions see it."""
    state: dict[str, Any] = {"id": uuid.uuid4(), "stage": stage, **NOTHING_REACHED}
    if stage is not None:
        for s in STAGES[: LifecycleStage(stage).rank + 1]:
            state[s.reached_column] = T0
    return state | fields


def reached(state: dict[str, Any]) -> dict[str, datetime | None]:
    return {s.value: state[s.reached_column] for s in STAGES}


class TestStageOrder:
    def test_stages_run_from_subscriber_to_evangelist(self) -> None:
        assert [s.value for s in STAGES] == [
            "subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist",
        ]  # fmt: skip
        assert [s.rank for s in STAGES] == list(range(7))

    def test_each_stage_keeps_its_first_time_in_its_own_column(self) -> None:
        assert LifecycleStage.MQL.reached_column == "mql_at"
        assert LifecycleStage.OPPORTUNITY.reached_column == "opportunity_at"

    @pytest.mark.parametrize(
        ("current", "target", "backwards"),
        [
            (None, LifecycleStage.LEAD, False),
            (LifecycleStage.LEAD, LifecycleStage.LEAD, False),
            (LifecycleStage.LEAD, LifecycleStage.CUSTOMER, False),
            (LifecycleStage.MQL, LifecycleStage.LEAD, True),
            (LifecycleStage.EVANGELIST, LifecycleStage.SUBSCRIBER, True),
        ],
    )
    def test_a_regression_is_a_move_to_an_earlier_stage(
        self, current: LifecycleStage | None, target: LifecycleStage, backwards: bool
    ) -> None:
        assert is_regression(current, target) is backwards


class TestPlanMove:
    def test_moving_to_the_current_stage_is_no_move(self) -> None:
        state = contact("sql")
        assert plan_move(LifecycleStage.SQL, LifecycleStage.SQL, state, at=T1) is None
        assert (
            plan_move(LifecycleStage.SQL, LifecycleStage.SQL, state, at=T1, allow_regression=True)
            is None
        )

    def test_a_new_contact_reaches_every_stage_up_to_its_first(self) -> None:
        move = plan_move(None, LifecycleStage.LEAD, NOTHING_REACHED, at=T0)
        assert move is not None
        assert move.from_stage is None
        assert move.to_stage == LifecycleStage.LEAD
        assert move.reached == {"subscriber_at": T0, "lead_at": T0}

    def test_skipped_stages_count_as_reached_at_the_jump(self) -> None:
        move = plan_move(LifecycleStage.LEAD, LifecycleStage.CUSTOMER, contact("lead"), at=T1)
        assert move is not None
        assert move.reached == {
            "mql_at": T1, "sql_at": T1, "opportunity_at": T1, "customer_at": T1,
        }  # fmt: skip

    def test_a_backward_move_is_no_move_unless_asked_for(self) -> None:
        assert plan_move(LifecycleStage.SQL, LifecycleStage.LEAD, contact("sql"), at=T1) is None

    def test_an_allowed_backward_move_fills_in_nothing(self) -> None:
        move = plan_move(
            LifecycleStage.SQL, LifecycleStage.LEAD, contact("sql"), at=T1, allow_regression=True
        )
        assert move is not None
        assert (move.from_stage, move.to_stage) == (LifecycleStage.SQL, LifecycleStage.LEAD)
        assert move.reached == {}

    def test_a_stage_reached_before_keeps_its_first_time(self) -> None:
        state = contact("lead") | {"mql_at": T0, "sql_at": T0}
        move = plan_move(LifecycleStage.LEAD, LifecycleStage.OPPORTUNITY, state, at=T2)
        assert move is not None
        assert move.reached == {"opportunity_at": T2}


class TestMoveTo:
    def test_a_move_updates_the_contact_and_returns_the_row_to_record(self) -> None:
        state = contact("lead")
        capture_id = uuid.uuid4()
        rows = move_to(
            state, LifecycleStage.SQL, cause=StageCause.SALES, now=T1, actor="key:1",
            reason="booked a demo", capture_id=capture_id,
        )  # fmt: skip
        assert len(rows) == 1
        row = rows[0]
        assert isinstance(row["id"], uuid.UUID)
        assert {k: v for k, v in row.items() if k != "id"} == {
            "contact_id": state["id"],
            "from_stage": "lead",
            "to_stage": "sql",
            "cause": "sales",
            "actor": "key:1",
            "reason": "booked a demo",
            "capture_id": capture_id,
            "changed_at": T1,
        }
        assert state["stage"] == "sql"
        assert state["stage_changed_at"] == T1
        assert reached(state) == {
            "subscriber": T0, "lead": T0, "mql": T1, "sql": T1, "opportunity": None,
            "customer": None, "evangelist": None,
        }  # fmt: skip

    def test_the_first_move_of_a_new_contact_has_no_from_stage(self) -> None:
        state = contact(None)
        rows = move_to(
            state, LifecycleStage.SUBSCRIBER, cause=StageCause.CAPTURE, now=T0, actor=None
        )
        assert [(r["from_stage"], r["to_stage"], r["cause"]) for r in rows] == [
            (None, "subscriber", "capture")
        ]
        assert state["subscriber_at"] == T0
        assert state["lead_at"] is None

    def test_moving_to_the_current_stage_records_and_changes_nothing(self) -> None:
        state = contact("mql", stage_changed_at=T0)
        before = dict(state)
        assert move_to(state, LifecycleStage.MQL, cause=StageCause.SALES, now=T1, actor="a") == []
        assert state == before

    def test_a_backward_move_needs_to_be_allowed(self) -> None:
        state = contact("customer", stage_changed_at=T0)
        before = dict(state)
        assert move_to(state, LifecycleStage.LEAD, cause=StageCause.SALES, now=T1, actor="a") == []
        assert state == before
        rows = move_to(
            state, LifecycleStage.LEAD, cause=StageCause.SALES, now=T1, actor="a",
            allow_regression=True,
        )  # fmt: skip
        assert [(r["from_stage"], r["to_stage"]) for r in rows] == [("customer", "lead")]
        assert state["stage"] == "lead"
        assert reached(state) == reached(before)

    def test_regressing_then_advancing_again_keeps_the_first_reached_times(self) -> None:
        state = contact(None)
        move_to(state, LifecycleStage.LEAD, cause=StageCause.CAPTURE, now=T0, actor=None)
        move_to(state, LifecycleStage.SQL, cause=StageCause.SALES, now=T1, actor="a")
        move_to(
            state, LifecycleStage.LEAD, cause=StageCause.SALES, now=T2, actor="a",
            allow_regression=True,
        )  # fmt: skip
        rows = move_to(state, LifecycleStage.CUSTOMER, cause=StageCause.CRM, now=T3, actor="crm")
        assert [(r["from_stage"], r["to_stage"], r["cause"]) for r in rows] == [
            ("lead", "customer", "crm")
        ]
        assert reached(state) == {
            "subscriber": T0, "lead": T0, "mql": T1, "sql": T1, "opportunity": T3,
            "customer": T3, "evangelist": None,
        }  # fmt: skip
        assert state["stage_changed_at"] == T3


class TestPromoteIfQualified:
    def qualified(self, stage: str = "lead", **fields: Any) -> dict[str, Any]:
        return contact(stage, grade="B", score=100.0, score_at=T1) | fields

    def test_a_lead_at_both_thresholds_becomes_an_mql_because_of_its_score(self) -> None:
        state = self.qualified()
        capture_id = uuid.uuid4()
        rows = promote_if_qualified(state, DEFAULTS, now=T1, actor="key:7", capture_id=capture_id)
        assert len(rows) == 1
        row = rows[0]
        assert (row["from_stage"], row["to_stage"], row["cause"]) == ("lead", "mql", "score")
        assert (row["actor"], row["capture_id"], row["changed_at"]) == ("key:7", capture_id, T1)
        assert "grade B" in str(row["reason"])
        assert "100.0" in str(row["reason"])
        assert state["stage"] == "mql"
        assert state["mql_at"] == T1

    @pytest.mark.parametrize(
        ("grade", "score"), [("B", 99.99), ("C", 100.0), ("D", 5000.0), ("A", 0.0)]
    )
    def test_a_lead_short_of_either_threshold_stays_a_lead(self, grade: str, score: float) -> None:
        state = self.qualified(grade=grade, score=score)
        assert promote_if_qualified(state, DEFAULTS, now=T1, actor=None) == []
        assert state["stage"] == "lead"
        assert state["mql_at"] is None

    def test_a_better_grade_than_required_qualifies(self) -> None:
        state = self.qualified(grade="A", score=250.0)
        assert [
            r["to_stage"] for r in promote_if_qualified(state, DEFAULTS, now=T1, actor=None)
        ] == ["mql"]

    @pytest.mark.parametrize("stage", ["subscriber", "mql", "sql", "customer"])
    def test_only_leads_are_promoted(self, stage: str) -> None:
        state = self.qualified(stage, grade="A", score=1000.0)
        assert promote_if_qualified(state, DEFAULTS, now=T1, actor=None) == []
        assert state["stage"] == stage

    def test_the_score_is_judged_as_it_has_decayed_by_now(self) -> None:
        half_life = DEFAULTS.scoring.half_life_days
        one_half_life_later = T1 + timedelta(days=half_life)
        state = self.qualified(score=200.0)
        assert [
            r["to_stage"]
            for r in promote_if_qualified(state, DEFAULTS, now=one_half_life_later, actor=None)
        ] == ["mql"]
        state = self.qualified(score=200.0)
        later = one_half_life_later + timedelta(days=1)
        assert promote_if_qualified(state, DEFAULTS, now=later, actor=None) == []

    def test_the_thresholds_come_from_the_settings(self) -> None:
        strict = LeadSettings(
            scoring=ScoringSettings(mql=MqlThresholds(min_grade="A", min_score=150)),
            mapping=MappingSettings(),
        )
        assert promote_if_qualified(self.qualified(score=500.0), strict, now=T1, actor=None) == []
        assert promote_if_qualified(self.qualified(grade="A"), strict, now=T1, actor=None) == []
        rows = promote_if_qualified(
            self.qualified(grade="A", score=150.0), strict, now=T1, actor=None
        )
        assert [r["to_stage"] for r in rows] == ["mql"]
