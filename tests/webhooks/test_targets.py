"""Which URLs webhooks may go to: public http(s) addresses only, in every spelling of the
addresses that are not."""

import pytest

from inbound.webhooks.targets import url_refusal

REFUSED = {
    "http://127.0.0.1:5432/": "127.0.0.1 is a loopback address",
    "http://localhost:6379/": "localhost is this machine's loopback",
    "http://localhost./": "loopback",
    "http://api.localhost/": "loopback",
    "http://127.0.0.1./": "loopback",
    "http://0.0.0.0/": "unspecified",
    "http://0/": "unspecified",
    "http://127.1/": "127.1 (127.0.0.1) is a loopback address",
    "http://2130706433/": "(127.0.0.1) is a loopback address",
    "http://0x7f000001/": "(127.0.0.1) is a loopback address",
    "http://0177.0.0.1/": "(127.0.0.1) is a loopback address",
    "http://[::1]:8080/": "::1 is a loopback address",
    "http://[::]/": "unspecified",
    "http://[fc00::1]/": "private",
    "http://[fd12:3456::1]/": "private",
    "http://[fe80::1]/": "link-local",
    "http://[::ffff:127.0.0.1]/": "(127.0.0.1) is a loopback address",
    "http://[::ffff:a9fe:a9fe]/": "(169.254.169.254) is a link-local address",
    "http://[64:ff9b::a00:1]/": "(10.0.0.1) is a private address",
    "http://[2002:c0a8:101::]/": "(192.168.1.1) is a private address",
    "http://169.254.169.254/latest/meta-data/": "link-local",
    "http://10.1.2.3/": "private",
    "http://172.16.0.1/": "private",
    "http://192.168.0.10:8080/": "private",
    "http://100.64.0.1/": "not a public address",
    "http://224.0.0.251/": "multicast",
    "http://[ff02::1]/": "multicast",
    "ftp://example.com/": "only http and https",
    "file:///etc/passwd": "only http and https",
    "http://user:secret@example.com/": "user name or password",
    "http://@example.com/": "user name or password",
    "http://example.com:22/": "port 22 is refused",
    "https://example.com:25/": "port 25 is refused",
    "http://example.com:0/": "between 1 and 65535",
    "http://example.com:70000/": "between 1 and 65535",
    "http://redis:6379/": "no dot",
    "http://metadata.google.internal/computeMetadata/v1/": ".internal",
    "http://printer.local/": ".local",
    "http://router.home.arpa/": ".home.arpa",
    "https://[78dDc2]/": "not an IPv6 address",
    "http://[1.2.3.4]/": "not an IPv6 address",
    "http://[v1.x]/": "not an IPv6 address",
}
ALLOWED = [
    "https://crm.example.com/hooks/inbound",
    "http://example.com/",
    "https://example.com:443/x",
    "https://example.com:8443/x?token=1",
    "http://93.184.216.34/",
    "http://[2606:4700:4700::1111]/",
    "http://[::ffff:93.184.216.34]/",
]
LOOPBACK = ["http://127.0.0.1:8000/hooks", "http://localhost:8000/", "http://[::1]:9000/",
            "http://127.1/", "http://[::ffff:127.0.0.1]/"]  # fmt: skip
NOT_LOOPBACK = ["http://10.0.0.1/", "http://169.254.169.254/", "http://0.0.0.0/",
                "http://[fc00::1]/", "http://100.64.0.1/", "http://example.com:22/"]  # fmt: skip


@pytest.mark.parametrize(("url", "reason"), REFUSED.items())
def test_urls_to_anything_but_a_public_web_address_are_refused(url: str, reason: str) -> None:
    refusal = url_refusal(url, allow_loopback=False)
    assert refusal is not None
    assert reason in refusal


@pytest.mark.parametrize("url", ALLOWED)
def test_public_web_addresses_are_allowed(url: str) -> None:
    assert url_refusal(url, allow_loopback=False) is None


@pytest.mark.parametrize("url", LOOPBACK)
def test_loopback_needs_the_setting(url: str) -> None:
    refusal = url_refusal(url, allow_loopback=False)
    assert refusal is not None
    assert "INBOUND_WEBHOOK_ALLOW_LOOPBACK" in refusal
    assert url_refusal(url, allow_loopback=True) is None


@pytest.mark.parametrize("url", NOT_LOOPBACK)
def test_the_setting_allows_loopback_only(url: str) -> None:
    assert url_refusal(url, allow_loopback=True) is not None
