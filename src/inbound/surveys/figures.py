"""NPS, CES and CSAT from score histograms (score -> answers), each with n and a 95% interval.

Pure functions: the database only counts answers per score, and every figure is computed
here, the same way for a touchpoint, a persona, a stage or a week. No answers (n = 0) gives
null figures, never 0: a touchpoint nobody answered has no score, not a score of zero.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

Histogram = Mapping[int, int]  # score -> number of answers with that score

Z_95 = 1.96  # the normal quantile of the definitions (NPS, Wilson)
NPS_SCALE = (0, 10)
CSAT_SCALE = (1, 5)
CES_SCALES = ((1, 5), (1, 7))
PROMOTER_MIN = 9
DETRACTOR_MAX = 6
SATISFIED_MIN = 4  # CSAT: 4s and 5s
# CES: the share of the top 2 points on a 1-5 scale, of the top 3 on a 1-7 scale.
CES_TOP_POINTS = {5: 2, 7: 3}
# Beyond this many degrees of freedom, the t quantile comes from its expansion around the
# normal's (error below 1e-6); up to it, from the exact distribution function.
EXACT_T_MAX_DF = 200


@dataclass(frozen=True, slots=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class NpsFigures:
    n: int
    promoters: int
    passives: int
    detractors: int
    nps: float | None  # -100..100
    interval: Interval | None


@dataclass(frozen=True, slots=True)
class CesFigures:
    n: int
    scale_max: int  # 5 or 7; the scale starts at 1
    mean: float | None
    interval: Interval | None  # of the mean; None below 2 answers
    top_box: int  # answers in the top 2 (1-5) or top 3 (1-7) points
    top_box_share: float | None  # percentage
    top_box_interval: Interval | None


@dataclass(frozen=True, slots=True)
class CsatFigures:
    n: int
    satisfied: int  # 4s and 5s
    csat: float | None  # percentage
    interval: Interval | None


def _answers(histogram: Histogram, scale: tuple[int, int]) -> int:
    """The number of answers, once every score is checked to be on ``scale``."""
    low, high = scale
    for score, count in histogram.items():
        if not low <= score <= high:
            raise ValueError(f"score {score} is not on the scale {low}-{high}")
        if count < 0:
            raise ValueError(f"a negative count ({count}) for score {score}")
    return sum(histogram.values())


def _clipped(low: float, high: float, bounds: tuple[float, float]) -> Interval:
    return Interval(max(low, bounds[0]), min(high, bounds[1]))


def nps(histogram: Histogram) -> NpsFigures:
    """% promoters (9-10) minus % detractors (0-6) over the answers, with its 95% interval.

    The variance of the NPS, a difference of two shares of one multinomial sample, is
    100²·(p + d - (p - d)²)/n; the interval is NPS ± 1.96·sqrt(variance), clipped to ±100.
    """
    n = _answers(histogram, NPS_SCALE)
    promoters = sum(c for s, c in histogram.items() if s >= PROMOTER_MIN)
    detractors = sum(c for s, c in histogram.items() if s <= DETRACTOR_MAX)
    passives = n - promoters - detractors
    if n == 0:
        return NpsFigures(0, 0, 0, 0, None, None)
    p, d = promoters / n, detractors / n
    score = 100 * (p - d)
    # max(0, ...): with all promoters (or all detractors) rounding may leave a tiny negative.
    half = Z_95 * math.sqrt(max(0.0, 100**2 * (p + d - (p - d) ** 2) / n))
    return NpsFigures(
        n, promoters, passives, detractors, score,
        _clipped(score - half, score + half, (-100, 100)),
    )  # fmt: skip


def wilson(successes: int, n: int) -> Interval | None:
    """The Wilson score 95% interval of a share, in percent: unlike p ± 1.96·SE it stays
    inside 0..100 and does not shrink to nothing when every answer (or none) is a success."""
    if n == 0:
        return None
    p, z2 = successes / n, Z_95**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z_95 / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n**2))
    return _clipped(100 * (centre - half), 100 * (centre + half), (0, 100))


def csat(histogram: Histogram) -> CsatFigures:
    """The share of 4s and 5s (top-2 box) in percent, with its Wilson 95% interval."""
    n = _answers(histogram, CSAT_SCALE)
    satisfied = sum(c for s, c in histogram.items() if s >= SATISFIED_MIN)
    if n == 0:
        return CsatFigures(0, 0, None, None)
    return CsatFigures(n, satisfied, 100 * satisfied / n, wilson(satisfied, n))


def ces(histogram: Histogram, scale_max: int) -> CesFigures:
    """The mean ease on its own scale (1-5 or 1-7, never mixed), with the share of the top
    points beside it; each with its 95% interval.

    The interval of the mean is Student's t with n - 1 degrees of freedom and the sample
    standard deviation: the deviation is estimated from the same few answers, and a week's
    bucket or a new touchpoint often has 5 to 30 of them, where the normal's 1.96 would make
    the interval too narrow (at n = 5 the right factor is 2.78). With many answers t and the
    normal agree. One answer has no spread to estimate, so no interval.
    """
    if (1, scale_max) not in CES_SCALES:
        raise ValueError(f"a CES scale is 1-5 or 1-7, not 1-{scale_max}")
    n = _answers(histogram, (1, scale_max))
    top_min = scale_max - CES_TOP_POINTS[scale_max] + 1
    top = sum(c for s, c in histogram.items() if s >= top_min)
    if n == 0:
        return CesFigures(0, scale_max, None, None, 0, None, None)
    mean = sum(s * c for s, c in histogram.items()) / n
    interval = None
    if n > 1:
        variance = sum(c * (s - mean) ** 2 for s, c in histogram.items()) / (n - 1)
        half = t_quantile_975(n - 1) * math.sqrt(variance / n)
        interval = _clipped(mean - half, mean + half, (1, scale_max))
    return CesFigures(n, scale_max, mean, interval, top, 100 * top / n, wilson(top, n))


@cache
def t_quantile_975(df: int) -> float:
    """The 97.5th percentile of Student's t with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError("t needs at least one degree of freedom")
    if df > EXACT_T_MAX_DF:
        return _t_expansion(df)
    low, high = 0.0, 20.0  # t(0.975, 1) = 12.71
    for _ in range(80):
        middle = (low + high) / 2
        if _t_central(middle, df) < 0.95:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _t_central(t: float, df: int) -> float:
    """P(|T| < t) for Student's t with ``df`` degrees of freedom, exactly (Abramowitz and
    Stegun 26.7.3 and 26.7.4: finite sums for whole degrees of freedom)."""
    theta = math.atan(t / math.sqrt(df))
    sin, cos2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2 == 0:
        term, total = 1.0, 1.0
        for k in range(1, df // 2):
            term *= cos2 * (2 * k - 1) / (2 * k)
            total += term
        return sin * total
    if df == 1:
        return 2 * theta / math.pi
    term, total = 1.0, 1.0
    for k in range(1, (df - 1) // 2):
        term *= cos2 * (2 * k) / (2 * k + 1)
        total += term
    return 2 / math.pi * (theta + sin * math.cos(theta) * total)


def _t_expansion(df: int) -> float:
    """The t quantile from the normal's by the Cornish-Fisher expansion (A&S 26.7.5)."""
    z = 1.959963984540054  # the exact normal 97.5th percentile, which t tends to
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4
