"""`GET /inbound.js`: the tracking script, public, small, cacheable and revalidated by ETag."""

import gzip
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from inbound.tracking.snippet import accepts_gzip, load_snippet
from tests.conftest import ROOT, Headers

SOURCE = ROOT / "src" / "inbound" / "tracking" / "static" / "inbound.js"
MAX_GZIPPED_BYTES = 5 * 1024


class TestServeSnippet:
    async def test_script_is_public_javascript_cached_five_minutes(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/inbound.js", headers={"Accept-Encoding": "identity"})

        assert response.status_code == 200
        assert response.headers["content-type"] == "text/javascript; charset=utf-8"
        assert response.headers["cache-control"] == "public, max-age=300"
        assert response.headers["vary"] == "Accept-Encoding"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "content-encoding" not in response.headers
        assert response.content == SOURCE.read_bytes()

    async def test_a_key_is_neither_needed_nor_looked_at(
        self, client: httpx.AsyncClient, admin: Headers
    ) -> None:
        for headers in ({}, admin, {"Authorization": "Bearer inb_pk_not-a-key"}):
            response = await client.get("/inbound.js", headers=headers)
            assert response.status_code == 200, response.text
            assert response.headers["cache-control"] == "public, max-age=300"

    async def test_cache_busting_query_strings_are_ignored(self, client: httpx.AsyncClient) -> None:
        plain = await client.get("/inbound.js")
        busted = await client.get("/inbound.js?v=2")

        assert busted.status_code == 200
        assert busted.content == plain.content
        assert busted.headers["etag"] == plain.headers["etag"]

    async def test_gzipped_for_clients_that_accept_it_and_under_five_kilobytes(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/inbound.js", headers={"Accept-Encoding": "gzip, br"})

        assert response.headers["content-encoding"] == "gzip"
        on_the_wire = int(response.headers["content-length"])
        assert on_the_wire < MAX_GZIPPED_BYTES, f"{on_the_wire} bytes gzipped"
        assert on_the_wire == len(gzip.compress(SOURCE.read_bytes(), compresslevel=9, mtime=0))
        assert response.content == SOURCE.read_bytes()  # httpx un-gzipped it

    @pytest.mark.parametrize("accept", ["identity", "gzip;q=0", "br", "deflate, *;q=0"])
    async def test_sent_plain_to_clients_that_refuse_gzip(
        self, client: httpx.AsyncClient, accept: str
    ) -> None:
        response = await client.get("/inbound.js", headers={"Accept-Encoding": accept})

        assert "content-encoding" not in response.headers
        assert int(response.headers["content-length"]) == len(SOURCE.read_bytes())

    async def test_each_encoding_has_its_own_strong_etag(self, client: httpx.AsyncClient) -> None:
        plain = await client.get("/inbound.js", headers={"Accept-Encoding": "identity"})
        zipped = await client.get("/inbound.js", headers={"Accept-Encoding": "gzip"})

        for response in (plain, zipped):
            assert response.headers["etag"].startswith('"')  # strong: no W/
            assert response.headers["etag"].endswith('"')
        assert plain.headers["etag"] != zipped.headers["etag"]

    async def test_head_answers_the_same_headers(self, client: httpx.AsyncClient) -> None:
        got = await client.get("/inbound.js", headers={"Accept-Encoding": "gzip"})
        head = await client.head("/inbound.js", headers={"Accept-Encoding": "gzip"})

        assert head.status_code == 200
        for name in ("etag", "cache-control", "content-type", "content-encoding", "content-length"):
            assert head.headers[name] == got.headers[name], name


class TestRevalidateSnippet:
    @pytest.mark.parametrize("encoding", ["identity", "gzip"])
    async def test_unchanged_script_answers_304_without_a_body(
        self, client: httpx.AsyncClient, encoding: str
    ) -> None:
        first = await client.get("/inbound.js", headers={"Accept-Encoding": encoding})
        tag = first.headers["etag"]

        again = await client.get(
            "/inbound.js", headers={"Accept-Encoding": encoding, "If-None-Match": tag}
        )

        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == tag
        assert again.headers["cache-control"] == "public, max-age=300"
        assert "content-encoding" not in again.headers

    @pytest.mark.parametrize("if_none_match", ["W/{tag}", '"old", {tag}', "*"], ids=str)
    async def test_weak_listed_and_wildcard_tags_match(
        self, client: httpx.AsyncClient, if_none_match: str
    ) -> None:
        snippet = load_snippet()
        header = if_none_match.format(tag=snippet.gzip_etag)

        response = await client.get(
            "/inbound.js", headers={"Accept-Encoding": "gzip", "If-None-Match": header}
        )

        assert response.status_code == 304
        assert response.headers["etag"] == snippet.gzip_etag

    async def test_the_other_encoding_s_tag_gets_this_one_whole(
        self, client: httpx.AsyncClient
    ) -> None:
        snippet = load_snippet()
        for accept, held, chosen in (("gzip", snippet.etag, snippet.gzip_etag),
                                     ("identity", snippet.gzip_etag, snippet.etag)):  # fmt: skip
            response = await client.get(
                "/inbound.js", headers={"Accept-Encoding": accept, "If-None-Match": held}
            )

            # A cache holding the other copy must not be told it holds this one.
            assert response.status_code == 200
            assert response.headers["etag"] == chosen

    async def test_a_stale_tag_gets_the_script(self, client: httpx.AsyncClient) -> None:
        response = await client.get(
            "/inbound.js", headers={"Accept-Encoding": "identity", "If-None-Match": '"stale"'}
        )

        assert response.status_code == 200
        assert response.content == SOURCE.read_bytes()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip", True),
        ("GZIP", True),
        ("deflate, gzip;q=0.5", True),
        ("x-gzip", True),
        ("*", True),
        ("gzip;q=0", False),
        ("gzip;q=0.0, br", False),
        ("gzip;q=nonsense", False),
        ("", False),
        (None, False),
        ("identity", False),
    ],
)
def test_accepts_gzip_reads_accept_encoding_weights(header: str | None, expected: bool) -> None:
    assert accepts_gzip(header) is expected


def test_the_wheel_ships_the_script(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("inbound-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert archive.read("inbound/tracking/static/inbound.js") == SOURCE.read_bytes()
