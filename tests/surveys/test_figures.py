"""Every figure against an independent computation: the histogram expanded to a list of answers
and counted with `statistics`, the interval formulas solved another way, and values worked out
by hand from the definitions."""

import math
import statistics

import pytest

from inbound.surveys.figures import (
    Histogram,
    Interval,
    ces,
    csat,
    nps,
    t_quantile_975,
    wilson,
)
from tests.surveys.independent import Z, t_by_integration, wilson_by_quadratic


def expand(histogram: Histogram) -> list[int]:
    return [score for score, count in histogram.items() for _ in range(count)]


def near(interval: Interval | None, low: float, high: float) -> bool:
    assert interval is not None
    return math.isclose(interval.low, low, abs_tol=1e-9) and math.isclose(
        interval.high, high, abs_tol=1e-9
    )


HISTOGRAMS_NPS = [
    {10: 5, 9: 3, 8: 1, 7: 1, 6: 2, 0: 2},
    {9: 1},
    {0: 1},
    {7: 3, 8: 4},
    {10: 120, 3: 80, 8: 40},
    {score: score + 1 for score in range(11)},
]


class TestNps:
    @pytest.mark.parametrize("histogram", HISTOGRAMS_NPS)
    def test_against_the_answers_counted_one_by_one(self, histogram: Histogram) -> None:
        answers = expand(histogram)
        figures = nps(histogram)
        promoters = sum(1 for a in answers if a in (9, 10))
        detractors = sum(1 for a in answers if a <= 6)
        assert figures.n == len(answers)
        assert (figures.promoters, figures.passives, figures.detractors) == (
            promoters, len(answers) - promoters - detractors, detractors,
        )  # fmt: skip
        expected = 100 * (promoters - detractors) / len(answers)
        assert figures.nps is not None
        assert math.isclose(figures.nps, expected)
        # Each answer is +100, 0 or -100: the NPS is their mean, its variance theirs over n.
        points = [100 if a >= 9 else -100 if a <= 6 else 0 for a in answers]
        assert math.isclose(statistics.mean(points), expected, abs_tol=1e-9)
        half = Z * math.sqrt(statistics.pvariance(points) / len(points))
        assert near(figures.interval, max(-100, expected - half), min(100, expected + half))

    def test_worked_by_hand(self) -> None:
        # 5 promoters, 3 passives, 2 detractors: 100·(0.5 - 0.2) = 30;
        # variance 100²·(0.7 - 0.09)/10 = 610.
        figures = nps({10: 2, 9: 3, 8: 2, 7: 1, 5: 1, 0: 1})
        assert figures.nps is not None
        assert math.isclose(figures.nps, 30.0)
        half = 1.96 * math.sqrt(610)  # 48.408...
        assert near(figures.interval, 30 - half, 30 + half)

    def test_no_answers_has_no_figure_rather_than_zero(self) -> None:
        figures = nps({})
        assert (figures.n, figures.nps, figures.interval) == (0, None, None)
        assert nps({9: 0, 3: 0}).nps is None

    def test_one_answer(self) -> None:
        assert (nps({9: 1}).nps, nps({8: 1}).nps, nps({6: 1}).nps) == (100.0, 0.0, -100.0)
        # One passive: no spread among the answers, and the formula says so.
        assert near(nps({8: 1}).interval, 0.0, 0.0)

    def test_all_promoters_and_all_detractors_sit_at_the_ends(self) -> None:
        promoters, detractors = nps({9: 4, 10: 6}), nps({0: 3, 6: 7})
        assert (promoters.nps, promoters.detractors) == (100.0, 0)
        assert (detractors.nps, detractors.promoters) == (-100.0, 0)
        assert near(promoters.interval, 100.0, 100.0)
        assert near(detractors.interval, -100.0, -100.0)

    def test_the_interval_is_clipped_to_the_scale(self) -> None:
        # 2 promoters and 1 detractor: 33.3 ± 1.96·sqrt(100²·(1 - 1/9)/3) = 33.3 ± 106.7.
        figures = nps({10: 2, 0: 1})
        assert figures.interval is not None
        assert figures.interval.high == 100.0
        assert math.isclose(figures.interval.low, 100 / 3 - 1.96 * math.sqrt(1e4 * 8 / 27))

    def test_an_average_is_not_the_nps(self) -> None:
        # A mean score of 7.0, yet an NPS of -20: the NPS counts, it never averages.
        figures = nps({10: 4, 5: 6})
        assert figures.nps is not None
        assert math.isclose(figures.nps, -20.0)

    @pytest.mark.parametrize("histogram", [{11: 1}, {-1: 1}, {5: -1}])
    def test_a_score_off_the_scale_or_a_negative_count_is_refused(
        self, histogram: Histogram
    ) -> None:
        with pytest.raises(ValueError, match=r"scale|negative"):
            nps(histogram)


class TestCsat:
    @pytest.mark.parametrize(
        "histogram", [{5: 3, 4: 2, 3: 1, 1: 4}, {5: 1}, {1: 1}, {4: 10}, {2: 7, 3: 2}]
    )
    def test_against_the_answers_counted_one_by_one(self, histogram: Histogram) -> None:
        answers = expand(histogram)
        satisfied = sum(1 for a in answers if a >= 4)
        figures = csat(histogram)
        assert (figures.n, figures.satisfied) == (len(answers), satisfied)
        assert figures.csat is not None
        assert math.isclose(figures.csat, 100 * satisfied / len(answers))
        assert near(figures.interval, *wilson_by_quadratic(satisfied, len(answers)))

    def test_worked_by_hand(self) -> None:
        # 3 satisfied of 4: Wilson (0.75 + 0.4802)/1.9604 ± 1.96/1.9604·sqrt(0.046875 + 0.0600)
        figures = csat({5: 2, 4: 1, 2: 1})
        centre = (0.75 + 1.96**2 / 8) / (1 + 1.96**2 / 4)
        half = 1.96 / (1 + 1.96**2 / 4) * math.sqrt(0.75 * 0.25 / 4 + 1.96**2 / 64)
        assert figures.csat == 75.0
        assert near(figures.interval, 100 * (centre - half), 100 * (centre + half))
        assert figures.interval is not None
        assert round(figures.interval.low, 2) == 30.06
        assert round(figures.interval.high, 2) == 95.44

    def test_no_answers_and_the_ends(self) -> None:
        assert (csat({}).csat, csat({}).interval) == (None, None)
        everyone, nobody = csat({5: 1}), csat({1: 1})
        assert (everyone.csat, nobody.csat) == (100.0, 0.0)
        # The Wilson interval of one answer is wide, never zero-wide.
        assert everyone.interval is not None
        assert nobody.interval is not None
        assert (everyone.interval.high, nobody.interval.low) == (100.0, 0.0)
        assert everyone.interval.low < 25
        assert nobody.interval.high > 75

    def test_a_score_off_the_scale_is_refused(self) -> None:
        with pytest.raises(ValueError, match="not on the scale 1-5"):
            csat({0: 1})
        with pytest.raises(ValueError, match="not on the scale 1-5"):
            csat({6: 1})


class TestCes:
    @pytest.mark.parametrize(
        ("histogram", "scale"),
        [
            ({1: 1, 2: 2, 3: 3, 4: 4, 5: 5}, 5),
            ({5: 2, 4: 1}, 5),
            ({1: 3, 7: 3}, 7),
            ({7: 40, 6: 30, 5: 20, 2: 9, 1: 1}, 7),
            ({3: 250, 4: 251}, 5),
        ],
    )
    def test_against_the_answers_counted_one_by_one(self, histogram: Histogram, scale: int) -> None:
        answers = expand(histogram)
        figures = ces(histogram, scale)
        top = sum(1 for a in answers if a > scale - (2 if scale == 5 else 3))
        mean = statistics.mean(answers)
        assert (figures.n, figures.top_box, figures.scale_max) == (len(answers), top, scale)
        assert figures.mean is not None
        assert figures.top_box_share is not None
        assert math.isclose(figures.mean, mean)
        half = (
            t_by_integration(len(answers) - 1) * statistics.stdev(answers) / math.sqrt(len(answers))
        )
        assert figures.interval is not None
        assert math.isclose(figures.interval.low, max(1, mean - half), abs_tol=1e-6)
        assert math.isclose(figures.interval.high, min(scale, mean + half), abs_tol=1e-6)
        assert math.isclose(figures.top_box_share, 100 * top / len(answers))
        assert near(figures.top_box_interval, *wilson_by_quadratic(top, len(answers)))

    def test_worked_by_hand(self) -> None:
        # 2, 4, 4, 5, 5 on 1-5: mean 4, s² = (4 + 0 + 0 + 1 + 1)/4 = 1.5, t(0.975, 4) = 2.776.
        figures = ces({2: 1, 4: 2, 5: 2}, 5)
        assert figures.mean == 4.0
        half = 2.7764451052 * math.sqrt(1.5 / 5)
        assert figures.interval is not None
        assert math.isclose(figures.interval.low, 4 - half, abs_tol=1e-8)
        assert figures.interval.high == 5.0  # 4 + 1.52 clipped to the scale
        assert (figures.top_box, figures.top_box_share) == (4, 80.0)

    def test_the_top_points_depend_on_the_scale(self) -> None:
        # A 5 is top-3 on 1-7 but a 4 is not; on 1-5, 4 and 5 are the top 2.
        assert ces({5: 1, 4: 1}, 7).top_box == 1
        assert ces({5: 1, 4: 1, 3: 1}, 5).top_box == 2

    def test_no_answers_and_one_answer(self) -> None:
        empty = ces({}, 7)
        assert (empty.n, empty.mean, empty.interval, empty.top_box_share) == (0, None, None, None)
        one = ces({3: 1}, 5)
        assert (one.n, one.mean, one.interval) == (1, 3.0, None)
        assert one.top_box_interval is not None  # a share of one answer still has its interval

    def test_identical_answers_have_a_zero_wide_interval(self) -> None:
        figures = ces({4: 9}, 5)
        assert near(figures.interval, 4.0, 4.0)

    @pytest.mark.parametrize(("histogram", "scale"), [({6: 1}, 5), ({0: 1}, 7), ({3: 1}, 6)])
    def test_a_score_off_the_scale_or_an_unknown_scale_is_refused(
        self, histogram: Histogram, scale: int
    ) -> None:
        with pytest.raises(ValueError, match="scale"):
            ces(histogram, scale)


class TestStudentT:
    # Printed tables (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2), to 3 decimals.
    @pytest.mark.parametrize(
        ("df", "printed"),
        [(1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (5, 2.571), (10, 2.228),
         (20, 2.086), (30, 2.042), (60, 2.000), (100, 1.984)],
    )  # fmt: skip
    def test_against_printed_tables(self, df: int, printed: float) -> None:
        assert round(t_quantile_975(df), 3) == printed

    @pytest.mark.parametrize("df", [1, 2, 3, 7, 8, 50, 199, 200, 201, 500, 5000])
    def test_against_the_density_integrated(self, df: int) -> None:
        assert math.isclose(t_quantile_975(df), t_by_integration(df), abs_tol=1e-6)

    def test_tends_to_the_normal(self) -> None:
        assert math.isclose(t_quantile_975(10**7), statistics.NormalDist().inv_cdf(0.975),
                            abs_tol=1e-6)  # fmt: skip

    def test_needs_a_degree_of_freedom(self) -> None:
        with pytest.raises(ValueError, match="degree of freedom"):
            t_quantile_975(0)


def test_wilson_of_nothing_is_none() -> None:
    assert wilson(0, 0) is None
