"""INBOUND_TRUSTED_PROXIES: whose X-Forwarded-For and X-Forwarded-Proto are believed, for the
client address of rate limits, stored captures and logs, and for the scheme."""

import json
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from inbound.app import create_app
from inbound.config import Settings
from inbound.proxies import trusted_proxies
from tests.conftest import Headers
from tests.leads.test_capture_spam import client_at
from tests.support.fixtures import AppMaker
from tests.support.world import CAPTURES, World, capture, make_ebook_world

PROXY = "10.20.30.40"
SAME_HOST = "10.20.30.41"  # inside 10.0.0.0/8, as a second proxy of the chain would be


class TestSetting:
    def test_none_is_trusted_by_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("INBOUND_TRUSTED_PROXIES", raising=False)
        assert Settings().trusted_proxies == []

    def test_addresses_and_networks_are_read_comma_separated(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("INBOUND_TRUSTED_PROXIES", " 10.0.0.0/8, 192.168.1.5,2001:db8::/32,")
        assert Settings().trusted_proxies == ["10.0.0.0/8", "192.168.1.5/32", "2001:db8::/32"]

    @pytest.mark.parametrize(
        "bad", ["proxy.example.com", "10.0.0.0/33", "10.0.0.256", "*", "10.0.0.0/8;10.1.0.0/16"]
    )
    def test_a_bad_value_is_one_error_naming_it(
        self, monkeypatch: pytest.MonkeyPatch, bad: str
    ) -> None:
        monkeypatch.setenv("INBOUND_TRUSTED_PROXIES", f"192.168.1.5,{bad}")
        with pytest.raises(ValidationError) as refused:
            Settings()
        [error] = refused.value.errors()
        assert error["loc"] == ("trusted_proxies",)
        assert repr(bad) in error["msg"]
        assert "CIDR" in error["msg"]


async def echo(scope: Any, receive: Any, send: Any) -> None:
    """An application that answers the client and scheme it was given."""
    body = json.dumps({"client": scope["client"][0], "scheme": scope["scheme"]}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def seen(trusted: list[str], peer: str, headers: dict[str, str]) -> dict[str, str]:
    app = trusted_proxies(trusted)(echo)
    transport = httpx.ASGITransport(app=app, client=(peer, 5000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        answer: dict[str, str] = (await client.get("/", headers=headers)).json()
    return answer


class TestForwardedHeaders:
    async def test_without_trusted_proxies_the_peer_is_the_client(self) -> None:
        forwarded = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
        for peer in (PROXY, "127.0.0.1"):
            assert await seen([], peer, forwarded) == {"client": peer, "scheme": "http"}

    async def test_a_trusted_proxy_gives_the_client_and_the_scheme(self) -> None:
        forwarded = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
        assert await seen(["10.0.0.0/8"], PROXY, forwarded) == {
            "client": "198.51.100.7",
            "scheme": "https",
        }

    async def test_an_untrusted_peer_is_not_believed(self) -> None:
        forwarded = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
        assert await seen(["10.0.0.0/8"], "203.0.113.5", forwarded) == {
            "client": "203.0.113.5",
            "scheme": "http",
        }

    async def test_the_right_most_untrusted_address_is_the_client(self) -> None:
        # The client wrote 6.6.6.6 itself; the trusted proxies appended the rest.
        chain = {"X-Forwarded-For": f"6.6.6.6, 198.51.100.7, {SAME_HOST}"}
        assert (await seen(["10.0.0.0/8"], PROXY, chain))["client"] == "198.51.100.7"

    async def test_a_chain_of_trusted_proxies_only_gives_its_first(self) -> None:
        chain = {"X-Forwarded-For": f"{SAME_HOST}, 10.1.1.1"}
        assert (await seen(["10.0.0.0/8"], PROXY, chain))["client"] == SAME_HOST


class TestThroughTheService:
    async def test_captures_store_and_count_the_client_behind_the_proxy(
        self,
        app_with: AppMaker,
        admin: Headers,
    ) -> None:
        async with (
            app_with(trusted_proxies=["10.0.0.0/8"], capture_rate_per_ip="1/minute",
            ) as app,
            client_at(app, PROXY) as client,
        ):  # fmt: skip
            world = await make_ebook_world(client, admin)
            first = await posted(client, world, "198.51.100.7", "ana@example.com")
            assert first.status_code == 201, first.text
            # Another visitor through the same proxy has a bucket of its own.
            other = await posted(client, world, "203.0.113.9", "bo@example.com")
            assert other.status_code == 201, other.text
            again = await posted(client, world, "198.51.100.7", "ana@example.com")
            assert again.status_code == 429, again.text
            stored = await client.get(f"{CAPTURES}/{first.json()['capture_id']}", headers=admin)
        assert stored.json()["ip_prefix"] == "198.51.100.0/24"

    async def test_forwarded_headers_of_an_unlisted_peer_are_ignored(
        self,
        app_with: AppMaker,
        admin: Headers,
    ) -> None:
        async with (
            app_with(capture_rate_per_ip="1/minute") as app,
            client_at(app, PROXY) as client,
        ):
            world = await make_ebook_world(client, admin)
            first = await posted(client, world, "198.51.100.7", "ana@example.com")
            assert first.status_code == 201, first.text
            # A forged header buys no fresh bucket.
            forged = await posted(client, world, "203.0.113.9", "bo@example.com")
            assert forged.status_code == 429, forged.text
            stored = await client.get(f"{CAPTURES}/{first.json()['capture_id']}", headers=admin)
        assert stored.json()["ip_prefix"] == "10.20.30.0/24"

    async def test_the_access_log_names_the_client(
        self, settings: Settings, capsys: pytest.CaptureFixture[str]
    ) -> None:
        update = {"log_level": "INFO", "trusted_proxies": ["10.0.0.0/8"]}
        app = create_app(settings.model_copy(update=update))
        async with client_at(app, PROXY) as client:
            headers = {"X-Request-ID": "proxied", "X-Forwarded-For": "198.51.100.7"}
            await client.get("/health", headers=headers)
        await app.state.engine.dispose()
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
        [access] = [line for line in lines if line.get("request_id") == "proxied"]
        assert access["client"] == "198.51.100.7"


async def posted(
    client: httpx.AsyncClient, world: World, forwarded_for: str, email: str
) -> httpx.Response:
    return await capture(client, world, {"X-Forwarded-For": forwarded_for}, email=email)
