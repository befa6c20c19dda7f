"""A lean HTTP/1.1 load client: keep-alive connections that post prebuilt requests.

The load shares the machine's processors with the service and PostgreSQL, as pgbench's
client does; a general-purpose client spends about a millisecond of processor time per
request, which would be taken from the service being measured. This one writes bytes it
prepared and reads the status line, the headers and a `Content-Length` body, and nothing else.

Usage on its own: .venv/bin/python bench/http_load.py URL [--concurrency 8] [--duration 5]
"""

import argparse
import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit


class HttpError(Exception):
    """The connection failed or the answer was not HTTP/1.1 as expected."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes


class Target:
    """Where requests go, and the head every request to it shares."""

    def __init__(self, url: str, headers: Mapping[str, str]) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"Host: {self.host}:{self.port}", *(f"{k}: {v}" for k, v in headers.items())]
        self.head = "\r\n".join(lines).encode()

    def post(self, body: bytes, content_type: str = "application/json") -> bytes:
        return b"".join(
            (
                f"POST {self.path} HTTP/1.1\r\n".encode(),
                self.head,
                f"\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n".encode(),
                body,
            )
        )

    def get(self) -> bytes:
        return f"GET {self.path} HTTP/1.1\r\n".encode() + self.head + b"\r\n\r\n"


class Connection:
    """One keep-alive connection; opens itself again after the server closed it."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, request: bytes) -> Answer:
        reused = self.writer is not None and not self.writer.is_closing()
        try:
            return await self._send(request)
        except asyncio.IncompleteReadError as exc:
            # A kept-alive connection the server closed while it sat idle: nothing was
            # answered, so the request goes again on a new one, as browsers do.
            if not (reused and exc.partial == b""):
                raise HttpError(repr(exc)) from exc
        try:
            return await self._send(request)
        except asyncio.IncompleteReadError as exc:
            raise HttpError(repr(exc)) from exc

    async def _send(self, request: bytes) -> Answer:
        if self.writer is None or self.reader is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(
                self.target.host, self.target.port
            )
        try:
            self.writer.write(request)
            head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            self.close()
            raise  # `send` may go again when nothing at all came back
        except (OSError, asyncio.LimitOverrunError) as exc:
            self.close()
            raise HttpError(repr(exc)) from exc
        try:
            status, length, closing = _parse_head(head)
            body = await self.reader.readexactly(length) if length else b""
        except asyncio.IncompleteReadError as exc:
            self.close()  # the server answered, in part: sending again would post twice
            raise HttpError(repr(exc)) from exc
        except (OSError, asyncio.LimitOverrunError) as exc:
            self.close()
            raise HttpError(repr(exc)) from exc
        if closing:
            self.close()
        return Answer(status, body)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _parse_head(head: bytes) -> tuple[int, int, bool]:
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise HttpError(f"not an HTTP answer: {lines[0]!r}")
    length, closing = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            closing = True
        elif name == b"transfer-encoding":
            raise HttpError("chunked answers are not read by this client")
    return int(parts[1]), length, closing


class Pool:
    """Connections for an open-loop load: one per request in flight, up to ``size``."""

    def __init__(self, target: Target, size: int) -> None:
        self.target = target
        self.idle: list[Connection] = []
        self.slots = asyncio.Semaphore(size)

    async def send(self, request: bytes) -> Answer:
        async with self.slots:
            connection = self.idle.pop() if self.idle else Connection(self.target)
            try:
                return await connection.send(request)
            finally:
                self.idle.append(connection)

    def close(self) -> None:
        for connection in self.idle:
            connection.close()


async def _measure(url: str, concurrency: int, duration: float) -> None:
    """Closed-loop GETs of ``url``: what a bare round trip costs through the server."""
    target = Target(url, {})
    request = target.get()
    deadline = time.perf_counter() + duration
    counts: list[int] = []

    async def user() -> None:
        connection, done = Connection(target), 0
        while time.perf_counter() < deadline:
            await connection.send(request)
            done += 1
        connection.close()
        counts.append(done)

    started = time.process_time()
    await asyncio.gather(*(user() for _ in range(concurrency)))
    total = sum(counts)
    client_ms = (time.process_time() - started) * 1000 / max(total, 1)
    print(f"{total / duration:,.0f} requests/s; client CPU {client_ms:.3f} ms per request")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    asyncio.run(_measure(args.url, args.concurrency, args.duration))


if __name__ == "__main__":
    main()
