"""The HTTP transport webhooks leave by: it sends only to public addresses.

Each new connection resolves its host once, refuses it when any address it resolves to is not
public, and connects to one of those checked addresses, so a name that resolves elsewhere a
moment later (DNS rebinding) reaches nothing inside. The URL is left as it is: the `Host`
header, TLS's SNI and the certificate's check all stay those of the name in the URL.
"""

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable

import httpcore
import httpx

from inbound.webhooks.targets import TargetRefused, address_refusal, host_refusal, url_refusal

# The addresses a host name resolves to, for a TCP connection to a port.
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolve(host: str, port: int) -> list[str]:
    """The operating system's answer, in its order of preference, each address once."""
    answers = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(answer[4][0]) for answer in answers))


class CheckedBackend(httpcore.AsyncNetworkBackend):
    """Opens connections only to public addresses (or loopback ones, when allowed)."""

    def __init__(self, *, allow_loopback: bool, resolve: Resolver = system_resolve) -> None:
        self.allow_loopback = allow_loopback
        self.resolve = resolve
        self.network = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        failure: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in await self.checked_addresses(host, port, timeout):
            try:
                return await self.network.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def checked_addresses(self, host: str, port: int, within: float | None) -> list[str]:
        """Every address ``host`` resolves to, once all are found public; else TargetRefused."""
        refusal = host_refusal(host, allow_loopback=self.allow_loopback)
        if refusal is not None:
            raise TargetRefused(refusal)
        try:
            async with asyncio.timeout(within):
                addresses = await self.resolve(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"{host} did not resolve within the timeout") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from exc
        for address in addresses:
            refusal = address_refusal(
                ipaddress.ip_address(address), allow_loopback=self.allow_loopback, written=address
            )
            if refusal is not None:
                raise TargetRefused(f"{host} resolves to an address not allowed: {refusal}")
        return addresses

    async def sleep(self, seconds: float) -> None:
        await self.network.sleep(seconds)


class CheckedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, refusing URLs and addresses that are no webhook target."""

    def __init__(
        self,
        *,
        limits: httpx.Limits,
        allow_loopback: bool,
        resolve: Resolver = system_resolve,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        super().__init__(limits=limits, verify=verify)
        self.allow_loopback = allow_loopback
        # httpx gives no way to hand its connection pool a network backend: the pool it made
        # is replaced with httpcore's own, built the same way, with the checking backend.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=CheckedBackend(allow_loopback=allow_loopback, resolve=resolve),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        refusal = url_refusal(str(request.url), allow_loopback=self.allow_loopback)
        if refusal is not None:
            raise TargetRefused(refusal)
        return await super().handle_async_request(request)
