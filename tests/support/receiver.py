"""A webhook receiver on a local port, for tests: records what arrives and answers as told.

It speaks plain HTTP/1.1 with keep-alive, so the worker's real client talks to it over real
sockets; each request's answer comes from a `Reply` chosen by the test.
"""

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document

    @property
    def event_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass(frozen=True)
class Reply:
    status: int = 200
    delay: float = 0.0  # seconds before answering
    drop: bool = False  # close the connection without an answer


# Decides the answer to each request, knowing what arrived before it (itself included).
Answer = Callable[[Received, list[Received]], Reply]


def always(status: int) -> Answer:
    return lambda _request, _seen: Reply(status)


def failing_each_first() -> Answer:
    """Every event fails its first attempt (503): a careless worker would send the next one
    meanwhile."""
    failed_once: set[str] = set()

    def answer(request: Received, _seen: list[Received]) -> Reply:
        if request.event_id not in failed_once:
            failed_once.add(request.event_id)
            return Reply(503)
        return Reply(200)

    return answer


@dataclass
class Receiver:
    answer: Answer = field(default_factory=lambda: always(200))
    received: list[Received] = field(default_factory=list)
    port: int = 0
    tls: ssl.SSLContext | None = None  # serve HTTPS with it

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/hooks"

    def delivered(self) -> list[Received]:
        """What arrived and was answered with a 2xx, in order."""
        return [r for r, status in zip(self.received, self._statuses, strict=True) if status]

    def __post_init__(self) -> None:
        self._statuses: list[bool] = []

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = Received(headers, body)
                self.received.append(request)
                self._statuses.append(False)
                position = len(self.received) - 1
                reply = self.answer(request, self.received)
                if reply.delay:
                    await asyncio.sleep(reply.delay)
                if reply.drop:
                    return
                self._statuses[position] = 200 <= reply.status < 300
                writer.write(f"HTTP/1.1 {reply.status} X\r\nContent-Length: 2\r\n\r\nok".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator["Receiver"]:
        server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, ssl=self.tls)
        self.port = server.sockets[0].getsockname()[1]
        try:
            yield self
        finally:
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1)
