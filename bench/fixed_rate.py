"""Open-loop load at a fixed rate: requests go out on schedule whatever the answers, and
latency counts from the scheduled time, so a server that falls behind shows its queue."""

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from http_load import HttpError, Pool, Target

Send = Callable[[int], Awaitable[None]]


async def open_loop(send: Send, rate: float, seconds: float) -> list[float]:
    """Call ``send(i)`` on schedule whatever the answers; latencies (ms) from the schedule."""
    latencies: list[float] = []
    start = time.perf_counter() + 0.05

    async def one(i: int, due: float) -> None:
        await send(i)
        latencies.append((time.perf_counter() - due) * 1000)

    pending: set[asyncio.Task[None]] = set()
    for i in range(int(rate * seconds)):
        due = start + i / rate
        await asyncio.sleep(max(due - time.perf_counter(), 0))
        task = asyncio.create_task(one(i, due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    return latencies


async def after_warmup(
    send: Send, rate: float, warmup: float, seconds: float, *, fresh: bool = False
) -> list[float]:
    """``warmup`` seconds of load, then ``seconds`` measured; with ``fresh`` the measured
    calls go on from where the warm-up stopped instead of starting over at 0."""
    await open_loop(send, rate, warmup)
    offset = int(rate * warmup) if fresh else 0
    return await open_loop(lambda i: send(offset + i), rate, seconds)


async def sent_by_pool(
    pool: Pool, requests: Sequence[bytes], status: int, rate: float, warmup: float,
    seconds: float, *, fresh: bool = False,
) -> tuple[list[float], int]:  # fmt: skip
    """Send ``requests`` in turn through ``pool``; latencies, and answers other than
    ``status``."""
    errors = 0

    async def send(i: int) -> None:
        nonlocal errors
        try:
            answer = await pool.send(requests[i % len(requests)])
            errors += answer.status != status
        except HttpError:
            errors += 1

    latencies = await after_warmup(send, rate, warmup, seconds, fresh=fresh)
    pool.close()
    return latencies, errors


async def http_phase(base: str, requests: Sequence[tuple[str, dict[str, str]]], rate: float,
                     warmup: float, seconds: float) -> tuple[list[float], int]:  # fmt: skip
    """GET each (path, headers) in turn, open loop."""
    heads = [f"GET {p} HTTP/1.1\r\n".encode() + Target(base, h).head + b"\r\n\r\n"
             for p, h in requests]  # fmt: skip
    return await sent_by_pool(Pool(Target(base, {}), 32), heads, 200, rate, warmup, seconds)


def server_durations(log: Path, path: str, skip: int) -> list[float]:
    """`duration_ms` of the access log's lines for ``path``, the first ``skip`` left out."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{") and f'"path": "{path}"' in line.replace('":"', '": "'):
            with_duration = json.loads(line).get("duration_ms")
            if with_duration is not None:
                found.append(float(with_duration))
    return found[skip:]
