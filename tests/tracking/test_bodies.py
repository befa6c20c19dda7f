"""What a body may be: refusals in plain words, a body that is no object, gzip."""

import gzip
import json
import zlib
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.tracking.helpers import BATCH, ONE, Site, event, send, stored

pytestmark = pytest.mark.asyncio(loop_scope="session")

WRONG_TYPES: list[tuple[dict[str, Any], str, str]] = [
    ({"userId": 5}, "userId", "must be a string"),
    ({"anonymousId": ["a"]}, "anonymousId", "must be a string"),
    ({"properties": []}, "properties", "must be an object"),
    ({"context": "x"}, "context", "must be an object"),
    ({"traits": 5}, "traits", "must be an object"),
]


class TestPlainWords:
    @pytest.mark.parametrize(("change", "field", "reason"), WRONG_TYPES)
    async def test_a_wrong_json_type_says_what_the_field_takes(
        self, client: httpx.AsyncClient, site: Site, change: dict[str, Any], field: str,
        reason: str,
    ) -> None:  # fmt: skip
        batch = (await send(client, site, [event(**change)])).json()
        [rejected] = batch["rejected"]
        assert (rejected["field"], rejected["reason"]) == (field, reason)
        one = await client.post(ONE, json=event(**change), headers=site.basic)
        assert one.json()["errors"] == [{"field": field, "message": reason}]

    @pytest.mark.parametrize(
        ("body", "field", "reason"),
        [
            ({"batch": 5}, "batch", "must be a list"),
            ({"batch": [], "sentAt": 5}, "sentAt", None),
            ({"batch": [], "context": []}, "context", "must be an object"),
        ],
    )
    async def test_the_batch_s_own_fields(
        self, client: httpx.AsyncClient, site: Site, body: dict[str, Any], field: str,
        reason: str | None,
    ) -> None:  # fmt: skip
        response = await client.post(BATCH, json=body, headers=site.basic)
        assert response.status_code == 400, response.text
        [error] = response.json()["errors"]
        assert error["field"] == field
        if reason is not None:
            assert error["message"] == reason

    @pytest.mark.parametrize("body", [b"null", b"[]", b"5", b'"batch"'])
    @pytest.mark.parametrize("path", [BATCH, ONE])
    async def test_json_that_is_no_object_names_the_body(
        self, client: httpx.AsyncClient, site: Site, body: bytes, path: str
    ) -> None:
        response = await client.post(
            path, content=body, headers={**site.basic, "Content-Type": "application/json"}
        )
        assert response.status_code == 400, response.text
        assert response.json()["errors"] == [{"field": "body", "message": "must be a JSON object"}]


def gzipped(body: dict[str, Any]) -> bytes:
    return gzip.compress(json.dumps(body).encode())


class TestGzip:
    async def test_a_gzipped_batch_and_event_are_stored(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession
    ) -> None:
        headers = {**site.basic, "Content-Type": "application/json", "Content-Encoding": "gzip"}
        batch = await client.post(BATCH, content=gzipped({"batch": [event()]}), headers=headers)
        assert batch.status_code == 200, batch.text
        assert batch.json()["accepted"] == 1
        one = await client.post(ONE, content=gzipped(event()), headers=headers)
        assert one.json()["accepted"] == 1, one.text
        assert len(await stored(db)) == 2

    async def test_a_body_that_unfolds_past_500_kb_is_413_and_not_unfolded(
        self, client: httpx.AsyncClient, site: Site, db: AsyncSession
    ) -> None:
        # 50 MB of JSON whitespace in about 50 KB: unfolded whole, it would take 50 MB.
        bomb = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        body = bomb.compress(b'{"batch": []' + b" " * 50_000_000 + b"}") + bomb.flush()
        assert len(body) < 100_000
        response = await client.post(
            BATCH, content=body,
            headers={**site.basic, "Content-Type": "application/json", "Content-Encoding": "gzip"},
        )  # fmt: skip
        assert response.status_code == 413, response.text
        assert response.json()["detail"] == "the body is larger than 500 KB"

    @pytest.mark.parametrize(
        "body",
        [b"not gzip", gzip.compress(b'{"batch": []}', mtime=0)[:-4]],
        ids=["not gzip", "cut short"],  # the same ids in every test process
    )
    async def test_a_body_that_is_not_gzip_is_400(
        self, client: httpx.AsyncClient, site: Site, body: bytes
    ) -> None:
        response = await client.post(
            BATCH, content=body, headers={**site.basic, "Content-Encoding": "gzip"}
        )
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["field"] == "body"

    @pytest.mark.parametrize("encoding", ["br", "deflate", "gzip, br"])
    async def test_another_encoding_is_415_naming_the_header(
        self, client: httpx.AsyncClient, site: Site, encoding: str
    ) -> None:
        response = await client.post(
            BATCH, content=b"{}", headers={**site.basic, "Content-Encoding": encoding}
        )
        assert response.status_code == 415, response.text
        assert response.json()["errors"][0]["field"] == "Content-Encoding"
