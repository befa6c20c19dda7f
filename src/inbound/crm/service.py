"""The CRM sync as the API shows it: its status, backfills, and erasures to carry out."""

import uuid
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.config import Settings
from inbound.crm import queue, repository
from inbound.crm.mapping import SCHEMA_VERSION
from inbound.crm.models import FAILED, PENDING, SYNCED, UNLINKED, CrmErasure, CrmResync
from inbound.crm.schemas import ResyncRequest
from inbound.db import utcnow
from inbound.errors import Conflict, NotFound
from inbound.personas.service import filtered_persona_id


class CrmOff(Conflict, problem="crm-off"): ...


class ResyncNotFound(NotFound, problem="resync-not-found"): ...


class CrmService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    async def status(self) -> dict[str, Any]:
        """Counts by state, the latest failures, and what HubSpot last said."""
        now = utcnow()
        found = await repository.status_reads(self.session, now)
        counts, state = found["counts"], found["state"]
        leader_until = state.get("leader_until")
        paused_until = state.get("paused_until")
        return {
            "enabled": self.settings.crm_enabled,
            "portal_id": self.settings.hubspot_portal_id,
            "properties_ready": state.get("schema_version") == SCHEMA_VERSION,
            "pending": counts.get(PENDING, 0), "due": found["due"],
            "synced": counts.get(SYNCED, 0), "failed": counts.get(FAILED, 0),
            "deleted_in_hubspot": counts.get(UNLINKED, 0),
            "failures": found["failures"],
            "erasures_pending": found["erasures_pending"],
            "last_success_at": state.get("last_success_at"),
            "last_error": state.get("last_error"),
            "last_error_at": state.get("last_error_at"),
            "rate_limit": state.get("rate_limit") or None,
            "paused_until": paused_until if paused_until and paused_until > now else None,
            "worker": state.get("leader") if leader_until and leader_until > now else None,
        }  # fmt: skip

    async def resync(self, request: ResyncRequest, *, actor: str) -> CrmResync:
        """Queue the contacts the request chooses for sync, as a backfill that counts them."""
        if not self.settings.crm_enabled:
            raise CrmOff(
                "the CRM sync is off: set INBOUND_HUBSPOT_TOKEN to sync contacts to HubSpot"
            )
        chosen = await self._chosen(request)
        filters = request.model_dump(mode="json", exclude_defaults=True)
        resync = CrmResync(filter=filters, requested_by=actor)
        self.session.add(resync)
        await self.session.flush()
        connection = await self.session.connection()
        total = await queue.enqueue(
            connection, None, utcnow(), resync_id=resync.id, chosen=chosen,
            revive=request.include_deleted_in_hubspot,
        )  # fmt: skip
        resync.total = total
        if total == 0:
            resync.finished_at = utcnow()
        await self.session.flush()
        return resync

    async def _chosen(self, request: ResyncRequest) -> ColumnElement[bool] | None:
        c, q = queue.CONTACTS.c, queue.QUEUE.c
        conditions: list[ColumnElement[bool]] = []
        if request.stages:
            conditions.append(c.stage.in_([stage.value for stage in request.stages]))
        if request.persona == "none":
            conditions.append(c.persona_id.is_(None))
        elif request.persona is not None:
            persona_id = await filtered_persona_id(self.session, request.persona, field="persona")
            conditions.append(c.persona_id == persona_id)
        if request.site is not None:
            conditions.append(c.first_site_id == request.site)
        if request.updated_since is not None:
            conditions.append(c.updated_at >= request.updated_since)
        if request.only_unsynced:
            done = select(q.contact_id).where(q.state == SYNCED)
            conditions.append(c.id.not_in(done))
        if not conditions:
            return None
        found = conditions[0]
        for condition in conditions[1:]:
            found = found & condition
        return found

    async def resync_of(self, resync_id: uuid.UUID) -> CrmResync:
        found = await self.session.get(CrmResync, resync_id)
        if found is None:
            raise ResyncNotFound(f"no resync {resync_id}")
        return found

    async def crm_id_of(self, contact_id: uuid.UUID) -> str | None:
        """The contact's id in HubSpot, once synced."""
        q = queue.QUEUE
        found: str | None = await self.session.scalar(
            select(q.c.crm_id).where(q.c.contact_id == contact_id)
        )
        return found

    async def forget(self, email: str, crm_id: str | None) -> None:
        """Have HubSpot erase an erased contact too (GDPR delete), when it may hold it."""
        if crm_id is None and not self.settings.crm_enabled:
            return
        self.session.add(CrmErasure(email=email, crm_id=crm_id))
        await self.session.flush()
