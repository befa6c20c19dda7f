"""API key material: generated once, shown once, stored only as a hash."""

import hashlib
import secrets
from enum import StrEnum

PREFIX_LENGTH = 12


class KeyKind(StrEnum):
    """Secret keys stay on servers; public keys are embedded in a site's pages."""

    SECRET = "sk"
    PUBLIC = "pk"


def generate_key(kind: KeyKind) -> str:
    """A new key such as ``inb_sk_`` followed by 43 random URL-safe characters."""
    return f"inb_{kind.value}_{secrets.token_urlsafe(32)}"


def hash_key(key: str) -> str:
    """The stored form of a key.

    A fast hash is enough: keys carry 256 random bits, so they cannot be guessed from the
    hash, and a plain digest lets a request find its key with one indexed lookup.
    """
    return hashlib.sha256(key.encode()).hexdigest()


def key_prefix(key: str) -> str:
    """The visible start of a key, for people to recognise it in lists and logs."""
    return key[:PREFIX_LENGTH]
