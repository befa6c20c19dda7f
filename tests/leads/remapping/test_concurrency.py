"""Background re-mapping under concurrent changes, at scale, and on its own connections."""

import asyncio
import time
import uuid
from collections.abc import Sequence

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import RowMapping, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from inbound.db import utcnow
from inbound.leads.models import RemapRun
from inbound.leads.qualification.remap import ADVISORY_LOCK, remap_if_changed
from inbound.leads.repository import CONTACTS, LeadRepository
from tests.conftest import Headers
from tests.leads.helpers import timeline
from tests.leads.remapping.helpers import (
    CIO_RULES,
    HEAD_OF_IT_RULES,
    Sessions,
    change_rules,
    new_lead,
    settled,
)
from tests.support.world import World, get_lead, make_asset, make_persona, make_world


async def claimed(sessionmaker: Sessions) -> None:
    """Wait until a pass has claimed its turn: its run is recorded, unfinished."""
    unfinished = (
        select(func.count()).select_from(RemapRun).where(col(RemapRun.finished_at).is_(None))
    )
    for _ in range(200):
        async with sessionmaker() as session:
            if (await session.execute(unfinished)).scalar_one():
                return
        await asyncio.sleep(0.01)
    raise AssertionError("no pass claimed its turn")


class TestConcurrentChanges:
    async def test_a_contact_changed_during_the_pass_is_not_overwritten(
        self,
        client: httpx.AsyncClient,
        world: World,
        admin: Headers,
        sessionmaker: Sessions,
        db: AsyncSession,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        plain = await new_lead(client, world, "ana@example.com", "Head of IT")
        qualifying = await new_lead(client, world, "bob@example.com", "Head of IT", captures=2)
        await settled(sessionmaker)
        await change_rules(client, admin, "cio", HEAD_OF_IT_RULES)
        read_contacts = LeadRepository.contacts_after

        async def read_then_change(
            self: LeadRepository, after: uuid.UUID | None, limit: int
        ) -> Sequence[RowMapping]:
            """Read a batch, then let a capture change both contacts before it is written."""
            rows = await read_contacts(self, after, limit)
            if after is not None:
                return rows
            changed = (uuid.UUID(plain), uuid.UUID(qualifying))
            await self.session.execute(
                update(CONTACTS)
                .where(CONTACTS.c.id.in_(changed))
                .values(job_title="Chef", version=CONTACTS.c.version + 1)
            )
            return rows

        monkeypatch.setattr(LeadRepository, "contacts_after", read_then_change)
        assert await remap_if_changed(sessionmaker) is not None
        monkeypatch.undo()
        for contact_id, versions in ((plain, 1), (qualifying, 2)):
            lead = await get_lead(client, world, contact_id)
            assert lead["version"] == versions + 1
            assert lead["job_title"] == "Chef"
            assert lead["persona"] is None
            assert (lead["grade"], lead["stage"]) == ("D", "lead")
            assert [d["cause"] for d in timeline(lead, "stage")] == ["capture"]


class TestScale:
    async def test_a_pass_re_maps_thousands_of_contacts(
        self, client: httpx.AsyncClient, admin: Headers, sessionmaker: Sessions, db: AsyncSession
    ) -> None:
        persona = await make_persona(client, admin, "cio", rules=CIO_RULES)
        count = 5000
        now = utcnow()
        rows = [
            {
                "id": uuid.uuid4(), "email": f"c{i}@example.com", "job_title": "CIO",
                "custom_fields": {}, "topics": [], "stage": "lead", "stage_changed_at": now,
                "subscriber_at": now, "lead_at": now, "touches": {}, "fit": 0.0, "grade": "D",
                "score": 0.0, "created_at": now, "updated_at": now, "version": 1,
            }
            for i in range(count)
        ]  # fmt: skip
        await db.execute(insert(CONTACTS), rows)
        await db.commit()
        started = time.monotonic()
        run = await remap_if_changed(sessionmaker)
        elapsed = time.monotonic() - started
        assert run is not None
        assert (run.checked, run.changed) == (count, count)
        mapped = await db.scalar(
            select(func.count())
            .select_from(CONTACTS)
            .where(
                CONTACTS.c.persona_id == uuid.UUID(persona["id"]),
                CONTACTS.c.grade == "B",
                CONTACTS.c.version == 2,
            )
        )
        assert mapped == count
        assert elapsed < 10, f"re-mapping {count} contacts took {elapsed:.1f} s"


@pytest.mark.committing
class TestOwnConnections:
    async def test_a_pass_on_pooled_connections_finishes_and_frees_its_lock(
        self,
        committing_app: Litestar,
        committing_client: httpx.AsyncClient,
        committing_admin: Headers,
        engine: AsyncEngine,
    ) -> None:
        world = await make_world(committing_client, committing_admin)
        await make_persona(committing_client, committing_admin, "cio", rules=CIO_RULES)
        await make_asset(committing_client, committing_admin)
        await new_lead(committing_client, world, "ana@example.com", "CIO")
        sessionmaker: Sessions = committing_app.state.sessionmaker
        run = await remap_if_changed(sessionmaker)
        assert run is not None
        assert run.checked == 1
        assert run.finished_at is not None
        assert await remap_if_changed(sessionmaker) is None
        if engine.dialect.name == "postgresql":
            async with engine.connect() as conn:
                held = await conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                        " AND objid = :key AND database = "
                        "(SELECT oid FROM pg_database WHERE datname = current_database())"
                    ),
                    {"key": ADVISORY_LOCK},
                )
            assert held == 0

    async def test_a_settling_pass_takes_in_changes_made_while_it_waits(
        self,
        committing_app: Litestar,
        committing_client: httpx.AsyncClient,
        committing_admin: Headers,
    ) -> None:
        client, admin = committing_client, committing_admin
        world = await make_world(client, admin)
        await make_persona(client, admin, "cio", rules=CIO_RULES)
        await make_asset(client, admin)
        ana = await new_lead(client, world, "ana@example.com", "Head of IT")
        sessionmaker: Sessions = committing_app.state.sessionmaker
        await settled(sessionmaker)
        cto_only = [{"field": "job_title", "operator": "equals", "value": "CTO"}]
        await change_rules(client, admin, "cio", cto_only)
        waiting = asyncio.create_task(remap_if_changed(sessionmaker, settle=2.0))
        await claimed(sessionmaker)
        await change_rules(client, admin, "cio", HEAD_OF_IT_RULES)
        assert not waiting.done(), "the change came after the pass stopped waiting"
        run = await waiting
        assert run is not None
        assert (await get_lead(client, world, ana))["persona"]["slug"] == "cio"
        assert await remap_if_changed(sessionmaker) is None
