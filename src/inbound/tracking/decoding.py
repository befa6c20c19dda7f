"""An event's bytes as an `EventIn`, or the field that does not fit and why, in plain words.

An event must also be one the database can store and the API can give back: PostgreSQL keeps
no NUL character in text or JSON (and one such row would fail the COPY of every request
stored with it), and a response nests only so deep. Both are checked on the event's raw bytes
first, which costs next to nothing; only a suspect event is walked.
"""

import re
from typing import Any

import msgspec

from inbound.tracking.schemas import MAX_EVENT_BYTES, MAX_NESTING, EventIn

MAX_MESSAGE_ID = 200
# `msgspec`'s words for where a value went wrong: "... - at `$.context.page`".
_AT_PATH = re.compile(r" - at `\$\.?([^`]*)`$")
# ... and for a value of the wrong type: "Expected `str | null`, got `int`".
_EXPECTED = re.compile(r"Expected `([^`]*)`, got `[^`]*`")
_TYPE_WORDS = {
    "str": "a string", "object": "an object", "array": "a list", "int": "a number",
    "float": "a number", "bool": "true or false",
}  # fmt: skip
NUL = "\x00"
NUL_REASON = "must not contain the NUL character"
DEPTH_REASON = f"is nested too deeply (at most {MAX_NESTING} levels, counting the event)"
_event_decoder = msgspec.json.Decoder(EventIn)


class _MessageIdOnly(msgspec.Struct):
    messageId: Any = None  # noqa: N815


_id_decoder = msgspec.json.Decoder(_MessageIdOnly)


class InvalidEvent(Exception):
    """An event that cannot be stored: which field, and why."""

    def __init__(self, field: str | None, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def decode_event(raw: msgspec.Raw | bytes) -> EventIn:
    """One event's JSON as an `EventIn`, or the field that does not fit."""
    if len(raw) > MAX_EVENT_BYTES:
        raise InvalidEvent(None, f"the event is larger than {MAX_EVENT_BYTES // 1024} KB")
    try:
        event = _event_decoder.decode(raw)
    except msgspec.ValidationError as error:
        raise refusal_of(str(error)) from None
    except msgspec.DecodeError:
        raise InvalidEvent(None, "the event is not valid JSON") from None
    except RecursionError:  # deeper than the decoder goes, so far deeper than allowed
        raise InvalidEvent(None, DEPTH_REASON) from None
    # A NUL can only come as `\u0000`, and every level of nesting costs a `{` or a `[`: most
    # events pass on these scans of their bytes (about 1 µs) and are never walked. A batch's
    # events are `Raw` slices of its body, which cannot be searched: copied first. A backslash
    # is rare and its search is the fastest: only then is `\u0000` looked for.
    data = raw if isinstance(raw, bytes) else bytes(raw)
    suspect_nul = b"\\" in data and b"\\u0000" in data
    if suspect_nul or data.count(b"{") + data.count(b"[") > MAX_NESTING:
        _check_storable(event, nul=suspect_nul)
    return event


def refusal_of(message: str) -> InvalidEvent:
    """msgspec's message in plain words (what the field takes), with its path as the field."""
    found = _AT_PATH.search(message)
    field_name = (found.group(1) or None) if found else None
    reason = message[: found.start()] if found else message
    expected = _EXPECTED.match(reason)
    if "datetime" in reason:
        reason = "must be an RFC 3339 time with a time zone, like 2026-12-03T09:30:00Z"
    elif expected is not None:
        kinds = [kind for kind in expected.group(1).split(" | ") if kind != "null"]
        if field_name is None and kinds == ["object"]:
            reason = "must be a JSON object"
        elif kinds and kinds[0] in _TYPE_WORDS:
            reason = f"must be {_TYPE_WORDS[kinds[0]]}"
    return InvalidEvent(field_name, reason)


class _Unstorable(Exception):
    """Where, innermost first, a value the database cannot store or the API cannot give back
    was found, and why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.path: list[str] = []


def _check_storable(event: EventIn, *, nul: bool) -> None:
    """Refuse an event with a NUL character in any string (when ``nul`` says there may be
    one) or nested deeper than ``MAX_NESTING`` levels, naming the field."""
    for name in EventIn.__struct_fields__:
        value = getattr(event, name)
        try:
            _walk(value, 2, nul=nul)
        except _Unstorable as found:
            found.path.append(name)
            raise InvalidEvent(_path(found.path), found.reason) from None


def check_shared_context(context: dict[str, Any] | None) -> None:
    """Refuse a batch's `context`, merged into each of its events, on the same grounds."""
    if context is None:
        return
    try:
        _walk(context, 2, nul=True)
    except _Unstorable as found:
        found.path.append("context")
        raise InvalidEvent(_path(found.path), found.reason) from None


def _walk(value: Any, depth: int, *, nul: bool) -> None:
    """One pass over a decoded value; ``depth`` is the level it sits at (the event is 1)."""
    if isinstance(value, str):
        if nul and NUL in value:
            raise _Unstorable(NUL_REASON)
        return
    if not isinstance(value, dict | list):
        return
    if depth > MAX_NESTING:
        raise _Unstorable(DEPTH_REASON)
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if nul and isinstance(key, str) and NUL in key:
            raise _Unstorable(NUL_REASON)  # a name in this object: the object is named
        try:
            _walk(item, depth + 1, nul=nul)
        except _Unstorable as found:
            found.path.append(f"[{key}]" if isinstance(key, int) else f".{key}")
            raise


def _path(innermost_first: list[str]) -> str:
    """`properties.items[2].title` from the parts gathered on the way out."""
    return "".join(reversed(innermost_first)).lstrip(".")


def message_id_of(raw: msgspec.Raw | bytes) -> str | None:
    """The event's message id as sent, when it is a string short enough to keep."""
    try:
        found = _id_decoder.decode(raw).messageId
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return found if isinstance(found, str) and len(found) <= MAX_MESSAGE_ID else None
