"""The rules of following up negative answers: which answers are negative, when a case is due,
and how its status may move.

A negative answer is the mirror of what the figures count as good: an NPS detractor (0 to 6),
a CES in the bottom two points of a 1-5 scale or the bottom three of a 1-7 scale (the top-box
widths the CES report uses), a CSAT in the bottom two (1 and 2).
"""

from datetime import datetime, timedelta

from inbound.errors import Unprocessable
from inbound.surveys.models import CaseStatus, Metric

NPS_DETRACTOR_MAX = 6
# The bottom box of each scale is as wide as its top box: two points of five, three of seven.
BOTTOM_BOX = {5: 2, 7: 3}
# Where each status stands: a case moves to a later one only.
STATUS_ORDER = {CaseStatus.OPEN: 0, CaseStatus.CONTACTED: 1, CaseStatus.RESOLVED: 2}


class StatusRegression(Unprocessable, problem="case-status-regression"): ...


def is_negative(metric: str, score: int, scale_min: int, scale_max: int) -> bool:
    """Whether an answer asks for a follow-up: a detractor, or the bottom box of its scale."""
    if metric == Metric.NPS:
        return score <= NPS_DETRACTOR_MAX
    return score < scale_min + BOTTOM_BOX.get(scale_max - scale_min + 1, 2)


def due_at(answered_at: datetime, sla_hours: int) -> datetime:
    """When the follow-up of an answer given then must be done, by its touchpoint's SLA."""
    return answered_at + timedelta(hours=sla_hours)


def check_move(current: CaseStatus, wanted: CaseStatus) -> None:
    """Refuse (422 naming `status`) a move backwards; staying where it is, or moving forward,
    open to contacted to resolved (or straight to resolved), is allowed."""
    if STATUS_ORDER[wanted] < STATUS_ORDER[current]:
        raise StatusRegression(
            f"a case moves forward only (open, contacted, resolved): it is {current.value} "
            f"and cannot go back to {wanted.value}",
            field="status",
        )
