"""Signing in to the dashboard: a server-side session behind a cookie that never holds the key,
refused to cross-site posts and to keys that can do more than read reports."""

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from inbound.auth.keys import hash_key
from inbound.auth.models import ApiKey, DashboardSession
from inbound.auth.scopes import Scope
from inbound.auth.service import ApiKeyService
from inbound.db import utcnow
from inbound.reports.dashboard_auth import COOKIE, OLD_KEY_COOKIE
from tests.conftest import Headers

HERE = {"Origin": "http://testserver"}
ELSEWHERE = "https://evil.example"


async def issue(
    sessionmaker: async_sessionmaker[AsyncSession], *scopes: Scope
) -> tuple[uuid.UUID, str]:
    async with sessionmaker() as session:
        api_key, plain = await ApiKeyService(session).issue(name="dashboard", scopes=scopes)
        await session.commit()
    return api_key.id, plain


async def sign_in(
    client: httpx.AsyncClient, key: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    response = await client.post(
        "/dashboard/session", data={"key": key}, headers=HERE if headers is None else headers
    )
    client.cookies.clear()  # each test sends the cookie it means to send
    return response


async def page(client: httpx.AsyncClient, token: str | None, query: str = "") -> httpx.Response:
    headers = {"Cookie": f"{COOKIE}={token}"} if token else {}
    return await client.get(f"/dashboard{query}", headers=headers)


def signed_in(response: httpx.Response) -> bool:
    return response.status_code == 200 and 'data-testid="funnel"' in response.text


def set_cookie(response: httpx.Response) -> str:
    return "; ".join(response.headers.get_list("set-cookie"))


async def sessions_of(db: AsyncSession, key_id: uuid.UUID) -> int:
    statement = select(func.count()).where(DashboardSession.key_id == key_id)  # type: ignore[arg-type]
    return int((await db.execute(statement)).scalar_one())


@pytest.fixture
async def reports_key(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[uuid.UUID, str]:
    return await issue(sessionmaker, Scope.REPORTS_READ)


class TestSignIn:
    async def test_the_cookie_holds_a_session_token_never_the_key(
        self, client: httpx.AsyncClient, db: AsyncSession, reports_key: tuple[uuid.UUID, str]
    ) -> None:
        key_id, key = reports_key
        response = await sign_in(client, key)
        assert response.status_code == 303, response.text
        token = response.cookies[COOKIE]
        assert key not in set_cookie(response)
        assert token != key
        [row] = (await db.execute(select(DashboardSession))).scalars().all()
        assert (row.key_id, row.token_hash) == (key_id, hash_key(token))
        lifetime = row.expires_at - utcnow()
        assert lifetime == pytest.approx(timedelta(hours=12), abs=timedelta(minutes=1))
        assert signed_in(await page(client, token))

    async def test_the_cookie_is_http_only_strict_and_for_the_dashboard_only(
        self, client: httpx.AsyncClient, reports_key: tuple[uuid.UUID, str]
    ) -> None:
        cookie = set_cookie(await sign_in(client, reports_key[1])).lower()
        for flag in ("httponly", "samesite=strict", "path=/dashboard", "max-age=43200"):
            assert flag in cookie, cookie
        assert "secure" not in cookie  # served over plain http here

    async def test_over_https_the_cookie_is_secure(
        self, app: object, reports_key: tuple[uuid.UUID, str]
    ) -> None:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as tls:
            response = await sign_in(tls, reports_key[1], {"Origin": "https://testserver"})
        assert response.status_code == 303, response.text
        assert "secure" in set_cookie(response).lower()

    @pytest.mark.parametrize(
        ("scopes", "says"),
        [
            ((Scope.ADMIN,), "`admin`"),
            ((Scope.REPORTS_READ, Scope.ADMIN), "`admin`"),
            ((Scope.REPORTS_READ, Scope.LEADS_WRITE), "`leads:write`"),
            ((Scope.REPORTS_READ, Scope.CONTENT_READ), "`content:read`"),
            ((Scope.LEADS_READ,), "lacks the `reports:read` scope"),
        ],
    )
    async def test_only_a_reports_only_key_may_sign_in(
        self,
        client: httpx.AsyncClient,
        db: AsyncSession,
        sessionmaker: async_sessionmaker[AsyncSession],
        scopes: tuple[Scope, ...],
        says: str,
    ) -> None:
        key_id, key = await issue(sessionmaker, *scopes)
        response = await sign_in(client, key)
        assert response.status_code == 403
        assert says in response.text
        assert COOKIE not in response.cookies
        assert await sessions_of(db, key_id) == 0

    async def test_an_unknown_key_is_refused(self, client: httpx.AsyncClient) -> None:
        response = await sign_in(client, "inb_sk_" + "x" * 43)
        assert response.status_code == 401
        assert "unknown or revoked key" in response.text
        assert (await sign_in(client, "k" * 10_000)).status_code == 401

    async def test_a_key_kept_in_a_cookie_by_an_older_version_no_longer_signs_in(
        self, client: httpx.AsyncClient, reports_key: tuple[uuid.UUID, str]
    ) -> None:
        response = await client.get(
            "/dashboard", headers={"Cookie": f"{OLD_KEY_COOKIE}={reports_key[1]}"}
        )
        assert not signed_in(response)
        assert 'name="key"' in response.text


class TestCrossSitePosts:
    @pytest.mark.parametrize(
        "headers",
        [
            {"Origin": ELSEWHERE},
            {"Origin": "null"},
            {"Origin": "http://testserver.evil.example"},
            {"Referer": f"{ELSEWHERE}/phish"},
            {},  # neither Origin nor Referer
        ],
    )
    async def test_a_sign_in_not_posted_from_here_is_refused(
        self,
        client: httpx.AsyncClient,
        db: AsyncSession,
        reports_key: tuple[uuid.UUID, str],
        headers: dict[str, str],
    ) -> None:
        key_id, key = reports_key
        response = await sign_in(client, key, headers)
        assert response.status_code == 403
        assert "not posted from this dashboard" in response.text
        assert COOKIE not in response.cookies
        assert await sessions_of(db, key_id) == 0

    async def test_a_referer_from_here_will_do_without_an_origin(
        self, client: httpx.AsyncClient, reports_key: tuple[uuid.UUID, str]
    ) -> None:
        response = await sign_in(client, reports_key[1], {"Referer": "http://testserver/dashboard"})
        assert response.status_code == 303, response.text

    async def test_a_sign_out_from_another_site_leaves_the_session_alone(
        self, client: httpx.AsyncClient, reports_key: tuple[uuid.UUID, str]
    ) -> None:
        token = (await sign_in(client, reports_key[1])).cookies[COOKIE]
        response = await client.post(
            "/dashboard/session/end",
            headers={"Origin": ELSEWHERE, "Cookie": f"{COOKIE}={token}"},
        )
        assert response.status_code == 403
        assert signed_in(await page(client, token))


class TestSessionEnds:
    @pytest.fixture
    async def dashboard_session(
        self, client: httpx.AsyncClient, reports_key: tuple[uuid.UUID, str]
    ) -> tuple[uuid.UUID, str]:
        """A reports key's id, and the token of a session signed in with that key."""
        key_id, key = reports_key
        return key_id, (await sign_in(client, key)).cookies[COOKIE]

    async def test_signing_out_ends_the_session_on_the_server(
        self, client: httpx.AsyncClient, db: AsyncSession, dashboard_session: tuple[uuid.UUID, str]
    ) -> None:
        key_id, token = dashboard_session
        response = await client.post(
            "/dashboard/session/end", headers={**HERE, "Cookie": f"{COOKIE}={token}"}
        )
        assert response.status_code == 303
        assert f'{COOKIE}=""' in set_cookie(response) or "max-age=0" in set_cookie(response).lower()
        assert await sessions_of(db, key_id) == 0
        replayed = await page(client, token)
        assert replayed.status_code == 401
        assert "your session has ended" in replayed.text
        assert not signed_in(replayed)

    async def test_revoking_the_key_ends_its_sessions(
        self,
        client: httpx.AsyncClient,
        db: AsyncSession,
        admin: Headers,
        dashboard_session: tuple[uuid.UUID, str],
    ) -> None:
        key_id, token = dashboard_session
        revoked = await client.delete(f"/api/v1/api-keys/{key_id}", headers=admin)
        assert revoked.status_code == 204, revoked.text
        assert await sessions_of(db, key_id) == 0
        assert (await page(client, token)).status_code == 401

    async def test_a_key_revoked_behind_the_services_back_opens_nothing(
        self, client: httpx.AsyncClient, db: AsyncSession, dashboard_session: tuple[uuid.UUID, str]
    ) -> None:
        key_id, token = dashboard_session
        await db.execute(update(ApiKey).where(ApiKey.id == key_id).values(revoked_at=utcnow()))  # type: ignore[arg-type]
        await db.commit()
        assert (await page(client, token)).status_code == 401

    async def test_a_session_expires(
        self, client: httpx.AsyncClient, db: AsyncSession, reports_key: tuple[uuid.UUID, str]
    ) -> None:
        key_id, key = reports_key
        token = (await sign_in(client, key)).cookies[COOKIE]
        past = utcnow() - timedelta(seconds=1)
        await db.execute(
            update(DashboardSession)
            .where(DashboardSession.key_id == key_id)  # type: ignore[arg-type]
            .values(expires_at=past)
        )
        await db.commit()
        assert (await page(client, token)).status_code == 401
        # The next sign-in sweeps sessions that expired.
        assert (await sign_in(client, key)).status_code == 303
        assert await sessions_of(db, key_id) == 1

    async def test_a_made_up_token_opens_nothing(self, client: httpx.AsyncClient) -> None:
        for token in ("made-up", "t" * 5000):
            response = await page(client, token)
            assert response.status_code == 401
            assert not signed_in(response)
