"""Touchpoints and the surveys asked at them: the rules of what each may be and become."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from inbound.content.service import AssetNotFound, AssetService
from inbound.errors import Conflict, FieldError, InboundError, NotFound, Unprocessable
from inbound.pagination import PageRequest
from inbound.repository import UnknownReference
from inbound.schemas import slug_from
from inbound.surveys.models import (
    AnswerSource,
    Metric,
    Survey,
    SurveyAnswer,
    Touchpoint,
    TouchpointKind,
)
from inbound.surveys.repository import SurveyRepository, TouchpointRepository

# The field each kind of touchpoint names, and nothing else.
TARGETS = {
    TouchpointKind.STAGE: "stage",
    TouchpointKind.ASSET: "asset",
    TouchpointKind.CHANNEL: "channel",
}
# The scale of each metric: CES has two, chosen by `scale`.
FIXED_SCALES = {Metric.NPS: (0, 10), Metric.CSAT: (1, 5)}
CES_MIN = 1


class TouchpointNotFound(NotFound, problem="touchpoint-not-found"): ...


class SurveyNotFound(NotFound, problem="survey-not-found"): ...


class SurveyClosed(InboundError, status=410, problem="survey-closed"): ...


class InUse(Conflict, problem="in-use"): ...


class Answered(Conflict, problem="survey-answered"): ...


class InconsistentTouchpoint(Unprocessable, problem="inconsistent-touchpoint"): ...


class TouchpointService:
    """Where experience is measured."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.touchpoints = TouchpointRepository(session)

    async def create(self, fields: dict[str, Any]) -> Touchpoint:
        fields["slug"] = fields.get("slug") or slug_from(fields["name"])
        target = await self._target(fields)
        columns = {k: v for k, v in fields.items() if k not in TARGETS.values()} | target
        return await self.touchpoints.save(Touchpoint(**columns))

    async def get(self, ref: str, *, lock: bool = False) -> Touchpoint:
        return await self.touchpoints.get_by_ref_or_raise(ref, TouchpointNotFound, lock=lock)

    async def list_page(
        self, page: PageRequest, *, kind: str | None, archived: bool
    ) -> tuple[Sequence[Touchpoint], str | None]:
        return await self.touchpoints.list_page(page, kind=kind, archived=archived)

    async def update(self, touchpoint: Touchpoint, changes: dict[str, Any]) -> Touchpoint:
        """Apply a partial change. A new kind clears the other kinds' fields unless sent."""
        if not changes:
            return touchpoint
        current = {
            "kind": touchpoint.kind,
            "stage": touchpoint.stage,
            "asset": str(touchpoint.asset_id) if touchpoint.asset_id else None,
            "channel": touchpoint.channel,
        }
        if "kind" in changes and changes["kind"] != touchpoint.kind:
            current |= {"stage": None, "asset": None, "channel": None}
        target_fields = {"kind", "stage", "asset", "channel"}
        merged = current | {k: v for k, v in changes.items() if k in target_fields}
        if target_fields & changes.keys():
            # An archived asset may stay where it is; only a newly named one must be live.
            resolved = await self._target(merged, check_asset="asset" in changes)
            for name, value in resolved.items():
                setattr(touchpoint, name, value)
        touchpoint.apply({k: v for k, v in changes.items() if k not in target_fields})
        return await self.touchpoints.save(touchpoint)

    async def delete(self, touchpoint: Touchpoint) -> None:
        """Delete a touchpoint no survey asks at (archive it otherwise)."""
        if await self.touchpoints.has_surveys(touchpoint.id):
            raise InUse(
                f"touchpoint {touchpoint.slug!r} has surveys: delete them or archive it instead"
            )
        await self.touchpoints.delete(touchpoint)

    async def _target(self, fields: dict[str, Any], *, check_asset: bool = True) -> dict[str, Any]:
        """The columns of what the touchpoint is attached to; exactly the kind's field is set.

        ``check_asset`` refuses an archived asset: when it is newly named, not when it stays.
        """
        kind = TouchpointKind(fields["kind"])
        wanted = TARGETS[kind]
        errors = [
            FieldError(field=name, message=f"only a touchpoint of kind {name!r} has it")
            for name in TARGETS.values()
            if name != wanted and fields.get(name) is not None
        ]
        if fields.get(wanted) is None:
            errors.append(FieldError(field=wanted, message=f"a {kind.value} touchpoint needs it"))
        if errors:
            raise InconsistentTouchpoint(
                f"a {kind.value} touchpoint names exactly one {wanted}", errors=errors
            )
        columns: dict[str, Any] = {"kind": kind.value, "stage": None, "asset_id": None,
                                   "channel": None}  # fmt: skip
        if kind is TouchpointKind.ASSET:
            columns["asset_id"] = await self._live_asset(fields["asset"], check=check_asset)
        else:
            columns[wanted] = str(fields[wanted])
        return columns

    async def _live_asset(self, ref: str, *, check: bool) -> uuid.UUID:
        try:
            asset = await AssetService(self.session).get(ref)
        except AssetNotFound:
            raise UnknownReference(f"no asset {ref!r}", field="asset") from None
        if check and asset.archived:
            raise UnknownReference(f"asset {ref!r} is archived", field="asset")
        return asset.id


def scale_of(metric: Metric, scale: int | None) -> tuple[int, int]:
    """The scale a metric is asked on: NPS 0-10 and CSAT 1-5 fixed, CES 1 to `scale`."""
    if metric is Metric.CES:
        if scale is None:
            raise Unprocessable("a CES survey states its scale: 5 or 7", field="scale")
        return CES_MIN, scale
    if scale is not None:
        raise Unprocessable(
            f"only CES takes a scale; {metric.value.upper()} is asked "
            f"{FIXED_SCALES[metric][0]} to {FIXED_SCALES[metric][1]}",
            field="scale",
        )
    return FIXED_SCALES[metric]


class SurveyService:
    """The questions asked at touchpoints."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.surveys = SurveyRepository(session)
        self.touchpoints = TouchpointService(session)

    async def create(self, fields: dict[str, Any]) -> Survey:
        metric = Metric(fields["metric"])
        scale_min, scale_max = scale_of(metric, fields.pop("scale", None))
        touchpoint = await self._live_touchpoint(fields.pop("touchpoint"))
        # The same question is often asked at many touchpoints: name it after where it asks.
        fields["slug"] = fields.get("slug") or f"{touchpoint.slug[:59]}-{metric.value}"
        survey = Survey(
            **fields,
            touchpoint_id=touchpoint.id,
            scale_min=scale_min,
            scale_max=scale_max,
        )
        return await self.surveys.save(survey)

    async def get(self, ref: str, *, lock: bool = False) -> Survey:
        return await self.surveys.get_by_ref_or_raise(ref, SurveyNotFound, lock=lock)

    async def list_page(
        self,
        page: PageRequest,
        *,
        touchpoint: str | None,
        metric: str | None,
        archived: bool,
    ) -> tuple[Sequence[Survey], str | None]:
        touchpoint_id = None
        if touchpoint is not None:
            found = await self.touchpoints.touchpoints.get_by_ref(touchpoint)
            if found is None:  # an unknown touchpoint, like an unknown persona, matches nothing
                return [], None
            touchpoint_id = found.id
        return await self.surveys.list_page(
            page, touchpoint_id=touchpoint_id, metric=metric, archived=archived
        )

    async def update(self, survey: Survey, changes: dict[str, Any]) -> Survey:
        """Apply a partial change; the metric and scale stay once answers were given on them."""
        if not changes:
            return survey
        if "metric" in changes or "scale" in changes:
            metric = Metric(changes.pop("metric", survey.metric))
            kept_scale = survey.scale_max if metric == survey.metric == Metric.CES else None
            scale_min, scale_max = scale_of(metric, changes.pop("scale", kept_scale))
            changed = (metric.value, scale_min, scale_max) != (
                survey.metric, survey.scale_min, survey.scale_max,
            )  # fmt: skip
            if changed and await self.surveys.has_answers(survey.id):
                raise Answered(
                    f"survey {survey.slug!r} has answers: its metric and scale stay as they "
                    "were asked (create another survey)",
                    field="metric" if metric.value != survey.metric else "scale",
                )
            survey.metric, survey.scale_min, survey.scale_max = metric.value, scale_min, scale_max
        if "touchpoint" in changes:
            survey.touchpoint_id = (await self._live_touchpoint(changes.pop("touchpoint"))).id
        survey.apply(changes)
        return await self.surveys.save(survey)

    async def delete(self, survey: Survey) -> None:
        """Delete a survey nobody answered (archive it otherwise: its figures stay)."""
        if await self.surveys.has_answers(survey.id):
            raise Answered(f"survey {survey.slug!r} has answers: archive it instead")
        await self.surveys.delete(survey)

    async def answers_page(
        self,
        survey: Survey,
        page: PageRequest,
        *,
        contact_id: uuid.UUID | None,
        since: datetime | None,
        source: AnswerSource | None = None,
    ) -> tuple[Sequence[SurveyAnswer], str | None]:
        return await self.surveys.answers_page(
            survey.id, page, contact_id=contact_id, since=since, source=source
        )

    async def _live_touchpoint(self, ref: str) -> Touchpoint:
        try:
            touchpoint = await self.touchpoints.get(ref)
        except TouchpointNotFound:
            raise UnknownReference(f"no touchpoint {ref!r}", field="touchpoint") from None
        if touchpoint.archived:
            raise UnknownReference(f"touchpoint {ref!r} is archived", field="touchpoint")
        return touchpoint
