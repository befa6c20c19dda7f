"""Signed survey links: a compact token naming a survey, a contact and an expiry.

The token is `base64url(payload).base64url(HMAC-SHA256(payload))`; the payload is a version
byte, the survey's and the contact's ids (16 bytes each) and the expiry in Unix seconds. The
key is `INBOUND_SIGNING_KEY`, or, when it is unset, a random one made once and kept in the
database, so that every process and every restart reads the same. Rotating it voids every
link sent.
"""

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from inbound.db import dialect_insert_for, table_of, utcnow
from inbound.errors import InboundError, NotFound
from inbound.surveys.models import SigningKey

VERSION = 1
_PAYLOAD = struct.Struct(">B16s16sQ")
KEY_NAME = "survey-links"
SIGNING_KEYS = table_of(SigningKey)


class LinkNotFound(NotFound, problem="link-not-found"): ...


class LinkExpired(InboundError, status=410, problem="link-expired"): ...


@dataclass(frozen=True, slots=True)
class LinkClaim:
    """What a valid token says: who may answer which survey, until when."""

    survey_id: uuid.UUID
    contact_id: uuid.UUID
    expires_at: datetime


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, claim: LinkClaim) -> str:
    """The token for ``claim``."""
    expiry = int(claim.expires_at.timestamp())
    payload = _PAYLOAD.pack(VERSION, claim.survey_id.bytes, claim.contact_id.bytes, expiry)
    return f"{_b64(payload)}.{_b64(hmac.digest(key, payload, hashlib.sha256))}"


def verify(key: bytes, token: str, now: datetime) -> LinkClaim:
    """The claim of a token signed with ``key``: 404 when it is not one (malformed, tampered
    with, another key's), 410 once it has expired."""
    encoded, _, mac = token.partition(".")
    try:
        payload, signature = _unb64(encoded), _unb64(mac)
    except (binascii.Error, ValueError):
        raise LinkNotFound("this survey link is not valid") from None
    expected = hmac.digest(key, payload, hashlib.sha256)
    # Compared in constant time, before anything in the payload is believed.
    if not hmac.compare_digest(expected, signature) or len(payload) != _PAYLOAD.size:
        raise LinkNotFound("this survey link is not valid")
    version, survey, contact, expiry = _PAYLOAD.unpack(payload)
    if version != VERSION:
        raise LinkNotFound("this survey link is not valid")
    claim = LinkClaim(
        uuid.UUID(bytes=survey), uuid.UUID(bytes=contact), datetime.fromtimestamp(expiry, UTC)
    )
    if claim.expires_at <= now:
        raise LinkExpired(f"this survey link expired at {claim.expires_at.isoformat()}")
    return claim


class LinkKeys:
    """The key survey links are signed with, read once per process."""

    def __init__(self, configured: SecretStr | None) -> None:
        self._key = _derived(configured.get_secret_value()) if configured else None

    async def key(self, bind: AsyncEngine | AsyncConnection) -> bytes:
        if self._key is None:
            self._key = _derived(await _stored_secret(bind))
        return self._key


def _derived(secret: str) -> bytes:
    # A key of its own for links, so that the same setting can sign other things later.
    return hmac.digest(secret.encode(), b"inbound survey links", hashlib.sha256)


async def _stored_secret(bind: AsyncEngine | AsyncConnection) -> str:
    """The database's key, made now by whichever process asks first."""
    connection_or_engine = bind
    if isinstance(connection_or_engine, AsyncConnection):
        async with connection_or_engine.begin_nested():
            return await _make_or_read(connection_or_engine)
    async with connection_or_engine.begin() as connection:
        return await _make_or_read(connection)


async def _make_or_read(connection: AsyncConnection) -> str:
    insert = dialect_insert_for(connection, SIGNING_KEYS).values(
        name=KEY_NAME, secret=secrets.token_urlsafe(48), created_at=utcnow()
    )
    await connection.execute(insert.on_conflict_do_nothing(index_elements=["name"]))
    statement = select(SIGNING_KEYS.c.secret).where(SIGNING_KEYS.c.name == KEY_NAME)
    secret: str = (await connection.execute(statement)).scalar_one()
    return secret
