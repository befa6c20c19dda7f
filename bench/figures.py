"""Latency figures: percentiles, medians, and the timing of one call."""

import statistics
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

LATENCY_COLUMNS = ("p50_ms", "p99_ms", "max_ms")


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))], 2)


def stats(values: Sequence[float]) -> dict[str, float | None]:
    return {"p50_ms": percentile(values, 50), "p99_ms": percentile(values, 99),
            "max_ms": round(max(values), 2) if values else None, "n": len(values)}  # fmt: skip


def cells(row: Mapping[str, Any]) -> str:
    """A row of ``stats`` as table cells: p50, p99 and max, in ms."""
    return " ".join(f"{row[c] or 0:8.2f}" for c in LATENCY_COLUMNS)


def median_ms(seconds: Sequence[float]) -> float:
    return statistics.median(seconds) * 1000


def p95_ms(seconds: Sequence[float]) -> float:
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    began = time.perf_counter()
    result = await call()
    return time.perf_counter() - began, result
