"""The survey report assembled from the counted histograms: figures per group, scale and
bucket, as JSON and as CSV."""

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inbound.reports.period import Period
from inbound.reports.render import csv_text, period_fields
from inbound.reports.survey_query import (
    Bucket,
    SurveyBreakdown,
    SurveyQuery,
    Trend,
    count_answers,
)
from inbound.reports.survey_schemas import (
    SurveyBucketRead,
    SurveyFiguresRead,
    SurveyGroupRead,
    SurveyReportRead,
)
from inbound.reports.survey_scope import group_labels, scales
from inbound.surveys.figures import Histogram, Interval, ces, csat, nps
from inbound.surveys.models import Metric

TOTAL = "all answers"
PERCENT_PLACES = 2  # NPS, CSAT and shares, on a 0-100 scale
MEAN_PLACES = 3  # the CES mean, on a 1-5 or 1-7 scale

# bucket index (None: the whole period) -> scale_max -> score -> answers
Histograms = dict[int | None, dict[int, Counter[int]]]


async def survey_report(
    session: AsyncSession, query: SurveyQuery, period: Period, trend: Trend | None
) -> SurveyReportRead:
    """The figures of the period's answers in total and per group, whole and per bucket."""
    counts = await count_answers(session, query)
    answered_scales = {scale for by_scale in counts.values() for scale in by_scale}
    shown_scales = await scales(session, query, answered_scales)
    total: Histograms = {}
    for (_, bucket), by_scale in counts.items():
        _add(total, bucket, by_scale)
    groups: list[SurveyGroupRead] = []
    if query.by is not SurveyBreakdown.NONE:
        labels = await group_labels(session, query, {group for group, _ in counts})
        for label in labels:
            mine: Histograms = {}
            for (group, bucket), by_scale in counts.items():
                if group == label.value:
                    _add(mine, bucket, by_scale)
            groups.extend(_group(query, label.key, label.label, s, mine) for s in shown_scales)
    return SurveyReportRead(
        **period_fields(period),
        metric=query.metric,
        by=query.by,
        trend=trend,
        total=[_group(query, None, TOTAL, scale, total) for scale in shown_scales],
        groups=groups,
    )


def _add(into: Histograms, bucket: int | None, by_scale: Mapping[int, Counter[int]]) -> None:
    for scale, histogram in by_scale.items():
        into.setdefault(bucket, {}).setdefault(scale, Counter()).update(histogram)


def _group(
    query: SurveyQuery, key: str | None, label: str, scale_max: int, histograms: Histograms
) -> SurveyGroupRead:
    def of(bucket: int | None) -> Counter[int]:
        return histograms.get(bucket, {}).get(scale_max) or Counter()

    if query.buckets:
        per_bucket = [of(index) for index in range(len(query.buckets))]
        whole = sum(per_bucket, Counter())
        trend = [_bucket(b, figures_read(query.metric, scale_max, h))
                 for b, h in zip(query.buckets, per_bucket, strict=True)]  # fmt: skip
    else:
        whole, trend = of(None), None
    return SurveyGroupRead(
        key=key,
        label=label,
        scale_min=0 if query.metric is Metric.NPS else 1,
        scale_max=scale_max,
        figures=figures_read(query.metric, scale_max, whole),
        trend=trend,
    )


def _bucket(bucket: Bucket, figures: SurveyFiguresRead) -> SurveyBucketRead:
    return SurveyBucketRead(
        bucket=bucket.label, from_date=bucket.from_date, to_date=bucket.to_date, figures=figures
    )


def figures_read(metric: Metric, scale_max: int, histogram: Histogram) -> SurveyFiguresRead:
    """One histogram's figures, rounded for showing."""
    empty: dict[str, Any] = dict.fromkeys(SurveyFiguresRead.model_fields)
    if metric is Metric.NPS:
        n = nps(histogram)
        return SurveyFiguresRead(**{
            **empty, "n": n.n, **_valued(n.nps, n.interval, PERCENT_PLACES),
            "promoters": n.promoters, "passives": n.passives, "detractors": n.detractors,
        })  # fmt: skip
    if metric is Metric.CSAT:
        c = csat(histogram)
        return SurveyFiguresRead(**{
            **empty, "n": c.n, **_valued(c.csat, c.interval, PERCENT_PLACES),
            "top_box": c.satisfied,
        })  # fmt: skip
    e = ces(histogram, scale_max)
    top = _valued(e.top_box_share, e.top_box_interval, PERCENT_PLACES)
    return SurveyFiguresRead(**{
        **empty, "n": e.n, **_valued(e.mean, e.interval, MEAN_PLACES), "top_box": e.top_box,
        "top_box_share": top["value"], "top_box_low": top["low"], "top_box_high": top["high"],
    })  # fmt: skip


def _valued(value: float | None, interval: Interval | None, places: int) -> dict[str, Any]:
    return {
        "value": None if value is None else round(value, places),
        "low": None if interval is None else round(interval.low, places),
        "high": None if interval is None else round(interval.high, places),
    }


FIGURE_COLUMNS = ["n", "value", "low", "high", "promoters", "passives", "detractors",
                  "top_box", "top_box_share", "top_box_low", "top_box_high"]  # fmt: skip


def survey_csv(report: SurveyReportRead) -> str:
    """One row per group (the total first, with an empty key) and scale over the whole period
    (an empty `bucket`), then one per bucket of the trend."""
    header = ["group_key", "group_label", "scale_min", "scale_max", "bucket", "from_date",
              "to_date", *FIGURE_COLUMNS]  # fmt: skip
    return csv_text(header, _rows(report, [*report.total, *report.groups]))


def _rows(report: SurveyReportRead, groups: Sequence[SurveyGroupRead]) -> Iterable[list[Any]]:
    for group in groups:
        head = [group.key or "", group.label, group.scale_min, group.scale_max]
        yield [*head, "", report.from_date, report.to_date, *_figures(group.figures)]
        for bucket in group.trend or []:
            yield [*head, bucket.bucket, bucket.from_date, bucket.to_date,
                   *_figures(bucket.figures)]  # fmt: skip


def _figures(figures: SurveyFiguresRead) -> list[Any]:
    return [getattr(figures, name) for name in FIGURE_COLUMNS]
