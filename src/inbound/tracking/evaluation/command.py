"""`inbound nbc evaluate`: replay held-out behaviour from the database and print the figures."""

import asyncio
import json
import math
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any, TypeVar

import click

from inbound.cli.base import engine_of, require_current_schema
from inbound.config import get_settings
from inbound.tracking.evaluation.evaluate import (
    POPULARITY,
    Evaluation,
    Recommender,
    evaluate,
    popular,
)
from inbound.tracking.evaluation.metrics import Interval
from inbound.tracking.evaluation.ranker import ranked, rules_only
from inbound.tracking.evaluation.replay import NothingToEvaluate, Replay, load_replay


def recommenders(replay: Replay, *, seed: int) -> dict[str, Recommender]:
    """The ranking with its configured weights (the defaults unless changed), then the two
    baselines."""
    settings = get_settings()
    weights = replay.snapshot.weights
    window, together = settings.nbc_window_days, settings.nbc_min_together
    return {
        "ranker": ranked(replay, weights, seed=seed, window_days=window, min_together=together),
        # Exploration trades accuracy now for learning: shown apart so that its cost is seen.
        "ranker, no exploration": ranked(
            replay,
            replace(weights, exploration=0.0),
            seed=seed,
            window_days=window,
            min_together=together,
        ),
        "rules-only": ranked(
            replay, rules_only(weights), seed=seed, window_days=window, min_together=together
        ),
        POPULARITY: popular(replay),
    }


FC = TypeVar("FC", bound=Callable[..., Any])


def _option(*declarations: str, **kwargs: Any) -> Callable[[FC], FC]:
    """An option whose default the help shows."""
    return click.option(*declarations, show_default=True, **kwargs)


@click.command("evaluate")
@_option(
    "--k",
    "k",
    type=click.IntRange(1, 100),
    default=5,
    help="How many suggestions count (HR@k, MRR over the top k).",
)
@_option(
    "--cutoff-days",
    type=click.FloatRange(0.0, 3650.0, min_open=True),
    callback=lambda _ctx, _param, days: _a_number(days),
    default=14.0,
    help="Train on behaviour before this many days before the last content view; "
    "test on the first content view after.",
)
@_option("--seed", type=int, default=1, help="Seeds the bootstrap and the ranker's exploration.")
@_option(
    "--bootstrap",
    "bootstrap_resamples",
    type=click.IntRange(0, 100_000),
    default=1000,
    help="Resamples of visitors for the 95% intervals (0: none).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def evaluate_command(
    k: int, cutoff_days: float, seed: int, bootstrap_resamples: int, as_json: bool
) -> None:
    """Score next-best content offline against popularity and rules-only baselines.

    Every visitor with a content view before the cutoff and one after is asked for its top k
    from its history before the cutoff; a hit is its first content view after the cutoff among
    them. Prints HR@k and MRR with 95% bootstrap intervals (visitors resampled), and each
    recommender's difference from popularity on the same visitors.
    """  # fmt: skip
    require_current_schema(get_settings().database_url)
    try:
        result = asyncio.run(_evaluate(k, cutoff_days, seed, bootstrap_resamples))
    except NothingToEvaluate as reason:
        click.echo(str(reason), err=True)
        raise SystemExit(1) from None
    click.echo(json.dumps(as_document(result), indent=2) if as_json else table(result))


def _a_number(days: float) -> float:
    if math.isnan(days):  # NaN passes every range comparison
        raise click.BadParameter("must be a number of days, not nan")
    return days


async def _evaluate(k: int, cutoff_days: float, seed: int, resamples: int) -> Evaluation:
    async with engine_of() as engine, engine.connect() as connection:
        replay = await load_replay(
            connection, cutoff_days=cutoff_days, window_days=get_settings().nbc_window_days
        )
    if not replay.cases:
        raise NothingToEvaluate(
            f"no visitor viewed content both before the cutoff ({replay.cutoff:%Y-%m-%d %H:%M} "
            f"UTC, {cutoff_days:g} days before the last view) and after it: nothing to evaluate"
        )
    chosen = recommenders(replay, seed=seed)
    return evaluate(replay, chosen, k=k, bootstrap_resamples=resamples, seed=seed)


def as_document(result: Evaluation) -> dict[str, Any]:
    """The evaluation as JSON: times in RFC 3339, intervals as value, low, high."""
    document = asdict(result)
    document["cutoff"] = result.cutoff.isoformat().replace("+00:00", "Z")
    document["last_view"] = result.last_view.isoformat().replace("+00:00", "Z")
    return document


def _shown(interval: Interval | None, signed: bool = False) -> str:
    if interval is None:
        return ""
    sign = "+" if signed else ""
    value = f"{interval.value:{sign}.3f}"
    if interval.low is None or interval.high is None:
        return value
    return f"{value} [{interval.low:{sign}.3f}, {interval.high:{sign}.3f}]"


def table(result: Evaluation) -> str:
    """The figures as a table a person reads."""
    seen = result.targets_seen_before
    lines = [
        f"cutoff {result.cutoff:%Y-%m-%d %H:%M} UTC (last content view "
        f"{result.last_view:%Y-%m-%d %H:%M}); trained on {result.training_visitors:,} visitors; "
        f"scored {result.visitors:,} visitors on their first content view after the cutoff "
        f"({seen:,}, {seen / result.visitors:.1%}, were of an asset they had seen before)",
        (
            f"95% percentile intervals from {result.resamples:,} bootstrap resamples of "
            f"visitors (seed {result.seed})"
            if result.resamples
            else "no intervals (no bootstrap resamples)"
        )
        + "; lift = difference from popularity on the same visitors",
        "",
    ]
    header = ("recommender", f"HR@{result.k}", "MRR", f"HR@{result.k} lift", "MRR lift")
    rows = [
        (r.name, _shown(r.hit_rate), _shown(r.mrr), _shown(r.hit_rate_lift, True),
         _shown(r.mrr_lift, True))
        for r in result.results
    ]  # fmt: skip
    widths = [max(len(row[n]) for row in (header, *rows)) for n in range(len(header))]
    for row in (header, *rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return "\n".join(line.rstrip() for line in lines)
