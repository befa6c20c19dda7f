"""The capture load: closed-loop clients and an open loop at a fixed rate, each capture timed
and every outcome counted."""

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from capture_world import CAPTURES, FORM, HTTP_NEW_IDS
from cpu import CpuSample
from database import EMAIL_DOMAIN
from figures import percentile
from http_load import Answer, Connection, HttpError, Pool, Target

Send = Callable[[bytes], Awaitable[Answer]]


class Bodies:
    """Capture bodies: a share with new emails, the rest with returning visitors' emails."""

    def __init__(self, new_share: float, returning: int, seed: int = 7) -> None:
        self.new_share = new_share
        self.returning = returning
        self.rng = random.Random(seed)
        self.next_new = HTTP_NEW_IDS
        head, tail = json.dumps({**FORM, "email": "@@"}).split('"@@"')
        self.head, self.tail = head.encode(), tail.encode()

    def next(self) -> bytes:
        if self.rng.random() < self.new_share:
            n, self.next_new = self.next_new, self.next_new + 1
        else:
            n = self.rng.randint(1, self.returning)
        return self.head + f'"c{n}@{EMAIL_DOMAIN}"'.encode() + self.tail


@dataclass
class Recorder:
    """Latencies (ms) of requests answered in the measured window, and every outcome."""

    window: tuple[float, float] = (0.0, 0.0)
    latencies: list[float] = field(default_factory=list)
    answered_in_window: int = 0
    succeeded: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    async def post(self, send: Send, request: bytes, since: float) -> None:
        """Post one capture; its latency counts from ``since`` (the start, or its schedule)."""
        detail = ""
        try:
            answer = await send(request)
            outcome = str(answer.status) if answer.status >= 300 else ""
            detail = answer.body[:300].decode(errors="replace")
        except HttpError as exc:
            outcome, detail = (
                type(exc).__name__,
                f"{exc} after {time.perf_counter() - since:.3f} s",
            )
        done = time.perf_counter()
        if outcome:
            self.errors[outcome] += 1
            if len(self.samples) < 3:
                self.samples.append(f"{outcome}: {detail}")
        else:
            self.succeeded += 1
        if self.window[0] <= done < self.window[1]:
            self.answered_in_window += 1
            if not outcome:
                self.latencies.append((done - since) * 1000)


def capture_target(base: str, headers: Mapping[str, str]) -> Target:
    return Target(f"{base}{CAPTURES}", headers)


async def sampled(
    window: tuple[float, float], server_pid: int, run: Awaitable[None]
) -> tuple[CpuSample, CpuSample]:
    """Run the load while taking processor samples at the edges of the measured window."""

    async def at(moment: float) -> CpuSample:
        await asyncio.sleep(max(moment - time.perf_counter(), 0))
        return await asyncio.to_thread(CpuSample.take, server_pid)  # the load goes on meanwhile

    first, last, _ = await asyncio.gather(at(window[0]), at(window[1]), run)
    return first, last


async def closed_loop(
    base: str,
    headers: Mapping[str, str],
    bodies: Bodies,
    concurrency: int,
    warmup: float,
    duration: float,
    server_pid: int,
) -> dict[str, Any]:
    """``concurrency`` clients, each posting its next capture as soon as one is answered."""
    start = time.perf_counter()
    recorder = Recorder(window=(start + warmup, start + warmup + duration))
    target = capture_target(base, headers)

    async def user() -> None:
        connection = Connection(target)
        while (began := time.perf_counter()) < recorder.window[1]:
            await recorder.post(connection.send, target.post(bodies.next()), began)
        connection.close()

    async def users() -> None:
        await asyncio.gather(*(user() for _ in range(concurrency)))

    first, last = await sampled(recorder.window, server_pid, users())
    return summary(recorder, duration, first, last)


async def open_loop(
    base: str,
    headers: Mapping[str, str],
    bodies: Bodies,
    rate: float,
    warmup: float,
    duration: float,
    connections: int,
    server_pid: int,
) -> dict[str, Any]:
    """Captures sent at a fixed rate whatever the answers; latency counts from the schedule."""
    start = time.perf_counter() + 0.05
    recorder = Recorder(window=(start + warmup, start + warmup + duration))
    target = capture_target(base, headers)
    pool = Pool(target, connections)

    async def schedule() -> None:
        pending: set[asyncio.Task[None]] = set()
        for i in range(int(rate * (warmup + duration))):
            due = start + i / rate
            await asyncio.sleep(max(due - time.perf_counter(), 0))
            task = asyncio.create_task(recorder.post(pool.send, target.post(bodies.next()), due))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)

    first, last = await sampled(recorder.window, server_pid, schedule())
    pool.close()
    result = summary(recorder, duration, first, last)
    result["rate"] = rate
    return result


def summary(
    recorder: Recorder, duration: float, first: CpuSample, last: CpuSample
) -> dict[str, Any]:
    return {
        "captures_per_s": round(recorder.answered_in_window / duration, 1),
        "p50_ms": percentile(recorder.latencies, 50),
        "p99_ms": percentile(recorder.latencies, 99),
        "max_ms": round(max(recorder.latencies), 2) if recorder.latencies else None,
        "measured": len(recorder.latencies),
        "succeeded": recorder.succeeded,
        "errors": dict(recorder.errors),
        "error_samples": recorder.samples,
        "cpu": first.per_transaction(last, recorder.answered_in_window),
    }
