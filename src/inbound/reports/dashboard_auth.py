"""Signing in to the dashboard and out of it: a server-side session behind a cookie.

The cookie carries a random token, never the API key; it is HTTP-only, SameSite=Strict, sent
only to `/dashboard`, and Secure when the page is served over https. The sign-in and sign-out
forms are refused unless posted from a page of this same host (their Origin, or their Referer
when a browser sends no Origin), so another site cannot sign a visitor in or out.
"""

from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from inbound.auth.principal import Principal, principal_for
from inbound.auth.sessions import SESSION_LIFETIME, DashboardSessionService, SignedIn

COOKIE = "inbound_dashboard_session"
OLD_KEY_COOKIE = "inbound_reports_key"  # held the key itself, before sessions
COOKIE_PATH = "/dashboard"
MAX_KEY_LENGTH = 200
MAX_TOKEN_LENGTH = 100


def posted_from_here(request: Request[Any, Any, Any]) -> bool:
    """Whether a form post comes from a page of this host, as its Origin or Referer says.

    Hosts are compared, not schemes: behind a proxy that ends TLS the service itself is
    reached over http while the browser's Origin says https.
    """
    source = request.headers.get("origin") or request.headers.get("referer")
    host = (request.headers.get("host") or "").lower()
    if not source or not host:
        return False
    return urlsplit(source).netloc.lower() == host


async def signed_in_reader(
    request: Request[Any, Any, Any], db_session: AsyncSession
) -> Principal | None:
    """The key behind the request's session cookie, if the session is live."""
    token = request.cookies.get(COOKIE)
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return await DashboardSessionService(db_session).reader(token)


async def key_principal(request: Request[Any, Any, Any], key: str) -> Principal | None:
    """The live API key typed into the sign-in form, if it is one."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return None
    return await principal_for(request.app.state.sessionmaker, key)


async def start_session(db_session: AsyncSession, principal: Principal) -> SignedIn:
    """Open a session for ``principal`` (a 403 for a key that may not sign in)."""
    return await DashboardSessionService(db_session).open(principal)


async def end_session(request: Request[Any, Any, Any], db_session: AsyncSession) -> None:
    """End the request's session on the server, if it has one."""
    token = request.cookies.get(COOKIE)
    if token and len(token) <= MAX_TOKEN_LENGTH:
        await DashboardSessionService(db_session).end(token)


def keep_session(
    request: Request[Any, Any, Any], response: Response[Any], signed_in: SignedIn
) -> None:
    """Hand the browser its session token."""
    response.set_cookie(
        COOKIE,
        signed_in.token,
        path=COOKIE_PATH,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    forget_old_key(request, response)


def forget_session(request: Request[Any, Any, Any], response: Response[Any]) -> None:
    """Have the browser drop its session cookie (and a key kept by an older version)."""
    if request.cookies.get(COOKIE):
        response.delete_cookie(COOKIE, path=COOKIE_PATH)
    forget_old_key(request, response)


def forget_old_key(request: Request[Any, Any, Any], response: Response[Any]) -> None:
    if request.cookies.get(OLD_KEY_COOKIE):
        response.delete_cookie(OLD_KEY_COOKIE, path=COOKIE_PATH)
