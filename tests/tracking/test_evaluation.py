"""Offline evaluation of next-best content: HR@k and MRR computed by hand on small data, the
bootstrap, the popularity baseline, the replay's split in time from the database, and the
command on an empty database and on the demo's."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from inbound.leads.repository import CAPTURES, CONTACTS
from inbound.tracking.evaluation.evaluate import POPULARITY, evaluate, popular
from inbound.tracking.evaluation.metrics import (
    bootstrap,
    percentile,
    rank_of,
    resamples,
    scores,
)
from inbound.tracking.evaluation.ranker import ranked, rules_only
from inbound.tracking.evaluation.replay import Case, NothingToEvaluate, Replay, load_replay
from inbound.tracking.models import VisitorIdentity
from inbound.tracking.nbc.blend import DEFAULT_WEIGHTS, CatalogAsset, Signals
from inbound.tracking.nbc.snapshot import Snapshot
from inbound.tracking.repository import insert_events
from tests.cli.helpers import run_async
from tests.conftest import Headers
from tests.tracking.nbc_world import make_nbc_world

A, B, C, D, E = (uuid.UUID(int=n) for n in range(1, 6))
T = datetime(2026, 6, 30, 12, tzinfo=UTC)
IDENTITIES = VisitorIdentity.__table__  # type: ignore[attr-defined]


class TestMetrics:
    def test_hit_rate_and_mrr_by_hand(self) -> None:
        targets = [A, B, C, D]
        rankings = [[A, E, C], [E, B, C], [E, D, A], [E, A, D]]
        at_3 = scores(targets, rankings, 3)
        assert at_3.hits == [1.0, 1.0, 0.0, 1.0]  # HR@3 = 3/4
        assert at_3.reciprocal_ranks == [1.0, 0.5, 0.0, pytest.approx(1 / 3)]
        at_2 = scores(targets, rankings, 2)  # D at place 3 no longer counts
        assert sum(at_2.hits) / 4 == 0.5
        assert sum(at_2.reciprocal_ranks) / 4 == 0.375

    def test_rank_of_counts_from_one_within_k(self) -> None:
        assert rank_of(B, [A, B, C], 3) == 2
        assert rank_of(C, [A, B, C], 2) is None
        assert rank_of(D, [], 5) is None

    def test_percentile_interpolates(self) -> None:
        assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
        assert percentile([0.0, 10.0], 0.025) == pytest.approx(0.25)
        with pytest.raises(ValueError, match="no values"):
            percentile([], 0.5)

    def test_the_bootstrap_is_seeded_and_brackets_the_mean(self) -> None:
        values = [1.0] * 30 + [0.0] * 70
        first = bootstrap(values, resamples(100, count=400, seed=7))
        again = bootstrap(values, resamples(100, count=400, seed=7))
        other = bootstrap(values, resamples(100, count=400, seed=8))
        assert first == again
        assert first != other
        assert first.value == 0.3
        assert first.low is not None
        assert first.high is not None
        assert 0.18 < first.low < 0.3 < first.high < 0.42

    def test_no_resamples_give_no_interval(self) -> None:
        interval = bootstrap([1.0, 0.0], [])
        assert (interval.value, interval.low, interval.high) == (0.5, None, None)

    def test_the_same_value_everywhere_has_no_spread(self) -> None:
        interval = bootstrap([0.5] * 10, resamples(10, count=50, seed=1))
        assert (interval.value, interval.low, interval.high) == (0.5, 0.5, 0.5)


def asset(asset_id: uuid.UUID, stage: str = "attract") -> CatalogAsset:
    return CatalogAsset(asset_id, f"asset-{asset_id.int}", "A title", "blog_post", stage,
                        frozenset(), {}, None, False)  # fmt: skip


def replay(cases: list[Case], counts: dict[uuid.UUID, int], catalog: list[uuid.UUID]) -> Replay:
    assets = tuple(asset(a) for a in catalog)
    snapshot = Snapshot(assets, {}, frozenset(), Signals({}, {}, []), DEFAULT_WEIGHTS)
    histories = [[(a, T)] * n for a, n in counts.items()]
    from collections import Counter

    return Replay(T, T, snapshot, cases, histories, Counter(counts))


class TestPopularity:
    def test_most_viewed_first_less_what_the_visitor_had(self) -> None:
        the_replay = replay([], {A: 5, B: 3, C: 1, E: 9}, [A, B, C, D])  # E is archived
        recommend = popular(the_replay)
        fresh = Case("v", [(C, T)], target=A)
        assert recommend(fresh, 3) == [A, B, D]  # D never viewed: after the viewed ones
        contact = Case("c", [(B, T)], target=D, captured=frozenset({A}))
        assert recommend(contact, 5) == [C, D]

    def test_evaluate_by_hand_with_a_lift_against_popularity(self) -> None:
        cases = [Case("1", [(C, T)], A), Case("2", [(A, T)], B), Case("3", [(A, T)], D)]
        the_replay = replay(cases, {A: 5, B: 3, C: 1}, [A, B, C, D])

        def always_d(case: Case, k: int) -> list[uuid.UUID]:
            return [D][:k]

        result = evaluate(the_replay, {POPULARITY: popular(the_replay), "d": always_d}, k=2,
                          bootstrap_resamples=200, seed=3)  # fmt: skip
        by_name = {r.name: r for r in result.results}
        # Popularity answers [A, B], [B, C], [B, C]: places 1, 1 and none.
        assert by_name[POPULARITY].hit_rate.value == pytest.approx(2 / 3)
        assert by_name[POPULARITY].mrr.value == pytest.approx(2 / 3)
        assert by_name[POPULARITY].hit_rate_lift is None
        assert by_name["d"].hit_rate.value == pytest.approx(1 / 3)
        lift = by_name["d"].hit_rate_lift
        assert lift is not None
        assert lift.value == pytest.approx(-1 / 3)
        assert lift.low is not None
        assert lift.high is not None
        assert lift.low <= lift.value <= lift.high
        assert (result.visitors, result.k, result.seed) == (3, 2, 3)

    def test_rules_only_turns_the_learned_signals_off(self) -> None:
        rules = rules_only(DEFAULT_WEIGHTS)
        assert (rules.covisitation, rules.topic_affinity, rules.exploration) == (0, 0, 0)
        assert rules.persona_fit == DEFAULT_WEIGHTS.persona_fit
        assert rules.stage_progression == DEFAULT_WEIGHTS.stage_progression


def event(site: uuid.UUID, at: datetime, asset_id: uuid.UUID | None, **ids: Any) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "occurred_at": at, "received_at": at, "site_id": site,
            "message_id": str(uuid.uuid4()), "type": "page", "event": None,
            "anonymous_id": ids.get("anonymous"), "user_id": ids.get("user"), "url": None,
            "referrer": None, "title": None, "asset_id": asset_id, "properties": {},
            "context": {}, **ids.get("extra", {})}  # fmt: skip


class TestTheReplay:
    async def test_an_empty_database_has_nothing_to_evaluate(
        self, connection: AsyncConnection
    ) -> None:
        with pytest.raises(NothingToEvaluate, match="no content views"):
            await load_replay(connection, cutoff_days=14, window_days=30)

    async def test_it_splits_in_time_and_follows_linked_ids(
        self, client: httpx.AsyncClient, admin: Headers, connection: AsyncConnection
    ) -> None:
        world = await make_nbc_world(client, admin)
        slugs = ("blog-seo", "blog-crm", "ebook-seo", "ebook-crm", "case-study")
        a, b, c, d, e = (uuid.UUID(world.assets[slug]) for slug in slugs)
        contact = uuid.uuid4()
        persona = uuid.UUID(world.personas["cfo"])
        await connection.execute(insert(CONTACTS).values(
            id=contact, email="c@example.com", stage="sql", stage_changed_at=T,
            custom_fields={}, topics=[], touches={}, fit=0.5, grade="B", score=0.0, version=1,
            persona_id=persona, created_at=T - timedelta(days=40),
            updated_at=T, lead_at=T - timedelta(days=40), mql_at=T - timedelta(days=20),
            sql_at=T - timedelta(days=5),
        ))  # fmt: skip
        await connection.execute(insert(CAPTURES).values(
            id=uuid.uuid4(), contact_id=contact, asset_id=c, site_id=world.site_id, fields={},
            created_at=T - timedelta(days=30)))  # fmt: skip
        for kind, external in (("anonymous", "browser"), ("user", "u-1")):
            await connection.execute(insert(IDENTITIES).values(
                kind=kind, external_id=external, contact_id=contact, linked_at=T))  # fmt: skip
        day = timedelta(days=1)
        slot = {"slot": "sidebar", "assets": ["ebook-crm", "blog-crm"]}
        shown = {"type": "track", "event": "Recommendation Shown", "properties": slot}
        await insert_events(connection, [
            event(world.site_id, T - 20 * day, a, anonymous="v1"),
            event(world.site_id, T - 20 * day + timedelta(minutes=1), a, anonymous="v1"),  # once
            event(world.site_id, T - 16 * day, b, anonymous="v1"),
            event(world.site_id, T - 16 * day, None, anonymous="v1", extra=shown),
            event(world.site_id, T - 5 * day, d, anonymous="v1"),
            event(world.site_id, T - 3 * day, e, anonymous="v1"),
            event(world.site_id, T - 18 * day, b, anonymous="v2"),
            event(world.site_id, T - 1 * day, b, anonymous="v2"),
            event(world.site_id, T - 30 * day, a, anonymous="browser"),
            event(world.site_id, T - 3 * day, d, user="u-1"),
            event(world.site_id, T - 2 * day, e, anonymous="v4"),
            event(world.site_id, T - 25 * day, a, anonymous="v5"),
            event(world.site_id, T, c, anonymous="v6"),  # the last view: the cutoff is T - 14 d
        ])  # fmt: skip
        the_replay = await load_replay(connection, cutoff_days=14, window_days=30)
        assert the_replay.cutoff == T - 14 * day
        cases = {case.visitor: case for case in the_replay.cases}
        assert set(cases) == {"anonymous:v1", "anonymous:v2", str(contact)}
        assert [v for v, _ in cases["anonymous:v1"].views] == [a, b]  # the repeat counts once
        assert cases["anonymous:v1"].target == d  # the first view after, not the later one
        assert cases["anonymous:v2"].target in cases["anonymous:v2"].seen
        known = cases[str(contact)]
        assert (known.target, known.persona_id, known.stage) == (d, persona, "mql")
        assert known.captured == frozenset({c})
        assert the_replay.view_counts == {a: 3, b: 2}  # training views only
        assert len(the_replay.histories) == 4  # v1, v2, the contact, v5
        assert the_replay.slot == "sidebar"
        assert the_replay.ctr[("sidebar", d)] == (1, 0)

        result = evaluate(the_replay, {POPULARITY: popular(the_replay),
                                       "ranker": ranked(the_replay, DEFAULT_WEIGHTS, seed=1,
                                                        window_days=30, min_together=1)},
                          k=2, bootstrap_resamples=100, seed=1)  # fmt: skip
        assert result.visitors == 3
        assert result.targets_seen_before == 1
        assert [r.name for r in result.results] == [POPULARITY, "ranker"]


class TestTheCommand:
    async def test_an_empty_database_is_one_line_and_exit_1(self, tmp_path: Path) -> None:
        url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        migrated = await run_async("db", "upgrade", database_url=url, cwd=tmp_path)
        assert migrated.returncode == 0, migrated.stderr
        result = await run_async("nbc", "evaluate", database_url=url, cwd=tmp_path)
        assert result.returncode == 1
        assert result.stderr.strip().splitlines() == [
            "no content views stored yet: nothing to evaluate"
        ]
        assert "Traceback" not in result.stderr

    async def test_an_unmigrated_database_is_one_line(self, tmp_path: Path) -> None:
        url = f"sqlite+aiosqlite:///{tmp_path / 'bare.db'}"
        result = await run_async("nbc", "evaluate", database_url=url, cwd=tmp_path)
        assert result.returncode == 1
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "inbound db upgrade" in result.stderr

    async def test_on_the_demo_it_scores_the_ranker_and_both_baselines(
        self, tmp_path: Path
    ) -> None:
        url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
        filled = await run_async("demo", "--contacts", "400", database_url=url, cwd=tmp_path)
        assert filled.returncode == 0, filled.stderr
        result = await run_async("nbc", "evaluate", "--json", "--bootstrap", "100", "--k", "3",
                                 database_url=url, cwd=tmp_path)  # fmt: skip
        assert result.returncode == 0, result.stderr
        document = json.loads(result.stdout)
        names = [r["name"] for r in document["results"]]
        assert names == ["ranker", "ranker, no exploration", "rules-only", POPULARITY]
        assert document["k"] == 3
        assert document["visitors"] > 20
        for row in document["results"]:
            for measure in ("hit_rate", "mrr"):
                figure = row[measure]
                assert 0 <= figure["low"] <= figure["value"] <= figure["high"] <= 1
        table = await run_async("nbc", "evaluate", "--bootstrap", "20", database_url=url,
                                cwd=tmp_path)  # fmt: skip
        assert table.returncode == 0, table.stderr
        assert "HR@5" in table.stdout
        assert "rules-only" in table.stdout
        bare = await run_async("nbc", "evaluate", "--json", "--bootstrap", "0",
                               database_url=url, cwd=tmp_path)  # fmt: skip
        assert bare.returncode == 0, bare.stderr
        for row in json.loads(bare.stdout)["results"]:
            assert row["hit_rate"]["low"] is row["hit_rate"]["high"] is None  # no interval
        nan = await run_async("nbc", "evaluate", "--cutoff-days", "nan", database_url=url,
                              cwd=tmp_path)  # fmt: skip
        assert nan.returncode == 2
        assert "--cutoff-days" in nan.stderr
        assert "Traceback" not in nan.stderr
