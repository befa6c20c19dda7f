"""The calls the sync makes to HubSpot, through `hubspot-api-client`.

The client blocks (urllib3), so these functions run in worker threads, never on the event
loop. They never raise for what HubSpot answers: every outcome, a refusal or no answer at all,
comes back as an `Answer` for the sync to decide on. The client's own retries are off; the
sync retries with its own backoff, so that every try shows in its status.
"""

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import urllib3
from hubspot import HubSpot as Client
from hubspot.crm.properties import OptionInput, PropertyCreate, PropertyGroupCreate
from urllib3.util.retry import Retry

from inbound.crm.mapping import GROUP

CONNECT_SECONDS = 5.0
NO_ANSWER = 0


@dataclass(frozen=True)
class Answer:
    """What one call came to: HubSpot's status (0: no answer), headers and message, and for
    a batch upsert, the contacts written and the inputs refused, by trace id."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)  # names in lowercase
    message: str = ""
    written: Mapping[str, str] = field(default_factory=dict)  # trace id -> HubSpot id
    # HubSpot may leave trace ids out of its results: they are matched by email too.
    written_by_email: Mapping[str, str] = field(default_factory=dict)
    refused: Mapping[str, str] = field(default_factory=dict)  # trace id -> message

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def retry_after(self) -> float | None:
        value = self.headers.get("retry-after")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


class HubSpot:
    """The HubSpot account the sync writes to; safe to call from several threads."""

    def __init__(self, *, token: str, url: str, timeout: float, connections: int) -> None:
        self._token, self._url = token, url
        self._timeout = (CONNECT_SECONDS, timeout)
        self._connections = connections
        self._local = threading.local()

    def _client(self) -> Any:
        # Each thread keeps its own client: every access to a client's API builds a new
        # connection pool, so the APIs are fetched once and kept.
        apis = getattr(self._local, "apis", None)
        if apis is None:
            client = Client(
                access_token=self._token,
                host=self._url,
                retry=Retry(total=0, redirect=0, raise_on_status=False),
                connection_pool_maxsize=self._connections,
            )
            apis = self._local.apis = {
                "batch": client.crm.contacts.batch_api,
                "basic": client.crm.contacts.basic_api,
                "properties": client.crm.properties.core_api,
                "groups": client.crm.properties.groups_api,
            }
        return apis

    def upsert(self, inputs: Sequence[Mapping[str, Any]]) -> Answer:
        """Create or update contacts by email; each input carries its trace id."""
        body = {"inputs": list(inputs)}
        try:
            # The raw answer, parsed here: building the client's models for 100 results costs
            # more than the call's own round trip.
            response = self._client()["batch"].upsert(
                batch_input_simple_public_object_batch_input_upsert=body,
                _request_timeout=self._timeout,
                _preload_content=False,
            )
            answer = msgspec.json.decode(response.data)
        except Exception as error:  # each sub-package of the client has exceptions of its own
            return _failure(error)
        written, by_email, refused = {}, {}, {}
        for result in answer.get("results") or []:
            if result.get("objectWriteTraceId") is not None:
                written[str(result["objectWriteTraceId"])] = str(result["id"])
            email = (result.get("properties") or {}).get("email")
            if email:
                by_email[email.lower()] = str(result["id"])
        for problem in answer.get("errors") or []:
            for trace in (problem.get("context") or {}).get("objectWriteTraceId", []):
                refused[str(trace)] = _readable(problem.get("message"))
        return Answer(
            response.status, _plain(response.headers),
            written=written, written_by_email=by_email, refused=refused,
        )  # fmt: skip

    def erase(self, *, crm_id: str | None, email: str | None) -> Answer:
        """GDPR-delete a contact: by its HubSpot id when known (its email may have changed
        there), else by email."""
        target = {"objectId": crm_id} if crm_id else {"objectId": email, "idProperty": "email"}
        try:
            _, status, headers = self._client()["basic"].purge_with_http_info(
                public_gdpr_delete_input=target, _request_timeout=self._timeout
            )
        except Exception as error:
            return _failure(error)
        return Answer(status, _plain(headers))

    def existing(self, kind: str) -> tuple[Answer, set[str]]:
        """The names of the contact property ``groups`` or ``properties`` HubSpot has."""
        api = self._client()[kind]
        try:
            data, status, headers = api.get_all_with_http_info(
                "contacts", _request_timeout=self._timeout
            )
        except Exception as error:
            return _failure(error), set()
        return Answer(status, _plain(headers)), {item.name for item in data.results or []}

    def create_group(self) -> Answer:
        """Create our property group."""
        try:
            _, status, headers = self._client()["groups"].create_with_http_info(
                "contacts", PropertyGroupCreate(**GROUP), _request_timeout=self._timeout
            )
        except Exception as error:
            return _failure(error)
        return Answer(status, _plain(headers))

    def create_property(self, definition: Mapping[str, Any]) -> Answer:
        """Create one of our contact properties, in our group."""
        options = [OptionInput(**option) for option in definition.get("options", [])]
        create = PropertyCreate(
            **(dict(definition) | {"options": options}), group_name=GROUP["name"]
        )
        try:
            _, status, headers = self._client()["properties"].create_with_http_info(
                "contacts", create, _request_timeout=self._timeout
            )
        except Exception as error:
            return _failure(error)
        return Answer(status, _plain(headers))


def _plain(headers: Any) -> dict[str, str]:
    """Headers with lowercase names: HTTP's are case-insensitive, and proxies change case."""
    return {str(name).lower(): str(value) for name, value in (headers or {}).items()}


def _failure(error: Exception) -> Answer:
    status = getattr(error, "status", None)
    if isinstance(status, int) and status > 0:
        body = getattr(error, "body", None) or ""
        return Answer(status, _plain(getattr(error, "headers", None)), message=_readable(body))
    if isinstance(error, urllib3.exceptions.HTTPError):
        return Answer(NO_ANSWER, message=f"no answer from HubSpot: {type(error).__name__}")
    return Answer(NO_ANSWER, message=f"{type(error).__name__}: {error}")


def _readable(body: Any) -> str:
    """HubSpot's message out of an error body, with its property errors spelled out."""
    text = body.decode() if isinstance(body, bytes) else str(body or "")
    try:
        parsed = json.loads(text)
    except ValueError:
        return text[:2000]
    message = str(parsed.get("message", text)) if isinstance(parsed, dict) else text
    return message[:2000]
