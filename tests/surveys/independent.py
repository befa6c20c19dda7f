"""Survey figures computed another way than `inbound.surveys.figures`: from the list of answers
with `statistics`, the Wilson bounds as roots of their quadratic, and Student's t by integrating
its density. The tests hold the code to these."""

import math
import statistics
from functools import cache
from typing import Any

Z = 1.96


def wilson_by_quadratic(successes: int, n: int) -> tuple[float, float]:
    """The Wilson bounds as the roots of (p̂ - p)² = z²·p(1 - p)/n, in percent."""
    p_hat = successes / n
    a = 1 + Z**2 / n
    b = -(2 * p_hat + Z**2 / n)
    c = p_hat**2
    root = math.sqrt(b * b - 4 * a * c)
    return 100 * (-b - root) / (2 * a), 100 * (-b + root) / (2 * a)


@cache
def t_by_integration(df: int) -> float:
    """The t quantile by integrating the density (Simpson) and bisecting: shares nothing with
    the closed-form sums the code uses."""
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)

    def density(x: float) -> float:
        return math.exp(log_c - (df + 1) / 2 * math.log1p(x * x / df))

    def central(t: float, steps: int = 4000) -> float:
        h = t / steps
        inner = sum((4 if i % 2 else 2) * density(i * h) for i in range(1, steps))
        return 2 * h / 3 * (density(0) + inner + density(t))

    low, high = 0.0, 20.0
    for _ in range(60):
        middle = (low + high) / 2
        low, high = (middle, high) if central(middle) < 0.95 else (low, middle)
    return (low + high) / 2


COUNTS = ("n", "promoters", "passives", "detractors", "top_box")
FIGURES = ("n", "value", "low", "high", "promoters", "passives", "detractors", "top_box",
           "top_box_share", "top_box_low", "top_box_high")  # fmt: skip


def expected_figures(metric: str, scale_max: int, scores: list[int]) -> dict[str, Any]:
    """What the report should say of these answers, unrounded."""
    n = len(scores)
    out: dict[str, Any] = dict.fromkeys(FIGURES)
    out["n"] = n
    if metric == "nps":
        promoters = sum(1 for s in scores if s >= 9)
        detractors = sum(1 for s in scores if s <= 6)
        out |= {"promoters": promoters, "detractors": detractors,
                "passives": n - promoters - detractors}  # fmt: skip
        if n:
            points = [100 if s >= 9 else -100 if s <= 6 else 0 for s in scores]
            value = statistics.mean(points)
            half = Z * math.sqrt(statistics.pvariance(points) / n)
            out |= {"value": value, "low": max(-100, value - half),
                    "high": min(100, value + half)}  # fmt: skip
    elif metric == "csat":
        satisfied = sum(1 for s in scores if s in (4, 5))
        out["top_box"] = satisfied
        if n:
            low, high = wilson_by_quadratic(satisfied, n)
            out |= {"value": 100 * satisfied / n, "low": low, "high": high}
    else:
        top = sum(1 for s in scores if s > scale_max - {5: 2, 7: 3}[scale_max])
        out["top_box"] = top
        if n:
            mean = statistics.mean(scores)
            out["value"] = mean
            if n > 1:
                half = t_by_integration(n - 1) * statistics.stdev(scores) / math.sqrt(n)
                out |= {"low": max(1, mean - half), "high": min(scale_max, mean + half)}
            low, high = wilson_by_quadratic(top, n)
            out |= {"top_box_share": 100 * top / n, "top_box_low": low, "top_box_high": high}
    return out


def assert_figures(shown: dict[str, Any], expected: dict[str, Any], context: Any = "") -> None:
    """The report's rounded figures are the expected ones: counts exact, nulls where expected,
    values within the rounding of their places (3 for a CES mean, 2 for percentages)."""
    for name in FIGURES:
        got, want = shown[name], expected[name]
        if want is None or name in COUNTS:
            assert got == want, (context, name, got, want)
        else:
            assert got is not None, (context, name, want)
            assert abs(got - want) <= 0.0051, (context, name, got, want)
