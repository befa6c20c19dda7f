"""The surveys the survey benches answer: ten touchpoints, each with an NPS, a CES (1-5 at even
ones, 1-7 at odd ones) and a CSAT survey, and the SQL a fill picks them from."""

from sqlmodel.ext.asyncio.session import AsyncSession

from inbound.surveys.models import Survey, Touchpoint

TOUCHPOINTS = 10

# A fill's first CTE: every survey as arrays, picked from by a 1-based index `k`, and their count.
SURVEY_ARRAYS = """s AS (
  SELECT array_agg(id ORDER BY slug) AS ids, array_agg(touchpoint_id ORDER BY slug) AS places,
         array_agg(metric ORDER BY slug) AS metrics, array_agg(scale_min ORDER BY slug) AS mins,
         array_agg(scale_max ORDER BY slug) AS maxs, count(*)::int AS n
  FROM surveys
)"""


async def add_surveys(session: AsyncSession) -> None:
    """The touchpoints and their three surveys each, in the session's transaction."""
    for i in range(TOUCHPOINTS):
        place = Touchpoint(slug=f"touchpoint-{i:02d}", name=f"Touchpoint {i:02d}",
                           kind="channel", channel=f"channel-{i}")  # fmt: skip
        session.add(place)
        await session.flush()  # no relationships: the unit of work does not order them
        ces_max = 5 if i % 2 == 0 else 7
        for metric, low, high in (("nps", 0, 10), ("ces", 1, ces_max), ("csat", 1, 5)):
            session.add(Survey(slug=f"{metric}-{i:02d}", touchpoint_id=place.id,
                               metric=metric, question=f"{metric}?", scale_min=low,
                               scale_max=high))  # fmt: skip
