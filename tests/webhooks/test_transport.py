"""The transport deliveries leave by, over real sockets: a host is resolved once, refused when
any of its addresses is not public, and the connection goes to the checked address while the
`Host` header, SNI and the certificate check stay those of the name in the URL."""

import re
import ssl
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from inbound.webhooks.sending import Due, Sender
from inbound.webhooks.targets import TargetRefused
from inbound.webhooks.transport import CheckedTransport, Resolver
from tests.support.receiver import Receiver

LIMITS = httpx.Limits(max_connections=2, max_keepalive_connections=2)
NAME = "hooks.example.test"


class FakeDns:
    """Answers each name with the next of its answers (the last one again once out), and
    notes every question: a name that changes its answer is DNS rebinding."""

    def __init__(self, **answers: list[list[str]]) -> None:
        self.answers = {name.replace("_", "."): list(seq) for name, seq in answers.items()}
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        queue = self.answers[host]
        return queue.pop(0) if len(queue) > 1 else queue[0]


def client(
    resolve: Resolver, *, allow_loopback: bool, verify: ssl.SSLContext | bool = True
) -> httpx.AsyncClient:
    transport = CheckedTransport(
        limits=LIMITS, allow_loopback=allow_loopback, resolve=resolve, verify=verify
    )
    return httpx.AsyncClient(transport=transport, timeout=5, trust_env=False)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with Receiver().running() as running:
        yield running


async def test_the_default_refuses_a_receiver_on_loopback(receiver: Receiver) -> None:
    async with client(FakeDns(), allow_loopback=False) as http:
        with pytest.raises(TargetRefused, match=re.escape("127.0.0.1 is a loopback address")):
            await http.post(receiver.url, content=b"{}")
        with pytest.raises(TargetRefused, match="localhost"):
            await http.post(f"http://localhost:{receiver.port}/hooks", content=b"{}")
    assert receiver.received == []


@pytest.mark.parametrize(
    "addresses",
    [["10.0.0.7"], ["93.184.216.34", "10.0.0.7"], ["169.254.169.254"], ["::ffff:127.0.0.1"],
     ["fd00::5"], ["127.0.0.1"]],
)  # fmt: skip
async def test_a_name_resolving_to_any_internal_address_is_refused(addresses: list[str]) -> None:
    dns = FakeDns(hooks_example_test=[addresses])
    async with client(dns, allow_loopback=False) as http:
        with pytest.raises(
            TargetRefused,
            match=re.escape(f"{NAME} resolves to an address not allowed: {addresses[-1]} "),
        ):
            await http.post(f"https://{NAME}/hooks", content=b"{}")
    assert dns.asked == [NAME]


async def test_the_connection_goes_to_the_checked_address_with_the_names_host_header(
    receiver: Receiver,
) -> None:
    # Checked, the name is loopback; asked again, it would answer a private address.
    dns = FakeDns(hooks_example_test=[["127.0.0.1"], ["10.0.0.7"]])
    async with client(dns, allow_loopback=True) as http:
        for _ in range(2):
            response = await http.post(f"http://{NAME}:{receiver.port}/hooks", content=b"{}")
            assert response.status_code == 200
    assert dns.asked == [NAME]  # one resolution, and the connection kept for the second post
    assert [r.headers["host"] for r in receiver.received] == [f"{NAME}:{receiver.port}"] * 2
    async with client(dns, allow_loopback=True) as http:  # a new connection asks again
        with pytest.raises(TargetRefused, match=re.escape("10.0.0.7 is a private address")):
            await http.post(f"http://{NAME}:{receiver.port}/hooks", content=b"{}")
    assert len(receiver.received) == 2


def certificate_for(name: str, directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` and its key."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "1", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_tls_names_and_verifies_the_host_in_the_url(tmp_path: Path) -> None:
    cert, key = certificate_for(NAME, tmp_path)
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    sni: list[str | None] = []
    served.sni_callback = lambda _socket, name, _context: sni.append(name)
    trusted = ssl.create_default_context(cafile=str(cert))
    dns = FakeDns(hooks_example_test=[["127.0.0.1"]], other_example_test=[["127.0.0.1"]])
    async with (
        Receiver(tls=served).running() as receiver,
        client(dns, allow_loopback=True, verify=trusted) as http,
    ):
        response = await http.post(f"https://{NAME}:{receiver.port}/hooks", content=b"{}")
        assert response.status_code == 200
        assert sni == [NAME]
        # The same server under another name: its certificate does not cover that name.
        with pytest.raises(httpx.ConnectError, match="certificate"):
            await http.post(f"https://other.example.test:{receiver.port}/", content=b"{}")
    assert [r.headers["host"] for r in receiver.received] == [f"{NAME}:{receiver.port}"]


async def test_deliveries_ignore_a_proxy_set_in_the_environment(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Through a proxy, the proxy would resolve and connect: nothing here could check where to.
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{receiver.port}")
    monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{receiver.port}")
    now = datetime.now(UTC)
    due = Due(uuid.uuid4(), uuid.uuid4(), 0, now, now, "http://192.168.1.20/hooks",
              "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", b"{}")  # fmt: skip
    sender = Sender(concurrency=1, timeout=2)
    try:
        [outcome] = await sender.send_all([due])
    finally:
        await sender.close()
    assert outcome.error == "refused: 192.168.1.20 is a private address"
    assert (outcome.status_code, outcome.response_body) == (None, None)
    assert receiver.received == []
