"""Idempotency keys of captures: the same key with the same body answers as the first post did;
the same key with another body is refused, as Stripe does, rather than silently dropped."""

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from inbound.errors import BadRequest, Unprocessable

IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,200}")
HEADER = "Idempotency-Key"
FIELD = "_idem"
# Posted fields that say how a request travels, not what it asks for: the key itself may come
# as a header or a field, and so may the site's public key.
NOT_FINGERPRINTED = frozenset({"_key", "_idem"})


class InvalidIdempotencyKey(BadRequest, problem="validation"): ...


class IdempotencyKeyReused(Unprocessable, problem="idempotency-key-reused"): ...


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """A client's idempotency key, the fingerprint of the body it came with, and where the
    client sent it (to name it when refused)."""

    key: str
    request_hash: str
    source: str

    def check_replay(self, first_hash: str | None) -> None:
        """Refuse to replay the first answer to a request other than this one.

        Keys claimed before fingerprints were kept have none, and replay as they always did.
        """
        if first_hash is not None and first_hash != self.request_hash:
            raise IdempotencyKeyReused(
                f"this {self.source} was used with another request within 24 hours; "
                "send a new key for a new submission",
                field=self.source,
            )


def idempotency_key(
    header: str | None, field: str | None, posted: dict[str, Any]
) -> IdempotencyKey | None:
    """The request's idempotency key (the header wins over the `_idem` field), if any."""
    if header is not None and not IDEMPOTENCY_KEY.fullmatch(header):
        raise InvalidIdempotencyKey(
            "Idempotency-Key is 1 to 200 visible ASCII characters", field=HEADER
        )
    key, source = (header, HEADER) if header is not None else (field, FIELD)
    if key is None:
        return None
    return IdempotencyKey(key=key, request_hash=request_hash(posted), source=source)


def request_hash(posted: dict[str, Any]) -> str:
    """SHA-256 of what a post asks for, whatever the order of its fields."""
    asked = {name: value for name, value in posted.items() if name not in NOT_FINGERPRINTED}
    document = json.dumps(asked, sort_keys=True, separators=(",", ":"))  # escaped: ASCII
    return hashlib.sha256(document.encode()).hexdigest()
