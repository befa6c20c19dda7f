"""One report timed through HTTP and by its hand-written SQL, alternately, so that both meet
the same machine and the same cache."""

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from figures import median_ms, p95_ms, timed
from http_load import Connection, Target


class JsonGetter:
    """GET one URL again and again on one keep-alive connection, insisting on 200."""

    def __init__(self, base: str, path: str, params: Mapping[str, str], key: str, name: str):
        self.name = name
        url = f"{base}{path}?{urlencode(params)}"
        self.connection = Connection(Target(url, {"Authorization": f"Bearer {key}"}))
        self.request = self.connection.target.get()

    async def __call__(self) -> dict[str, Any]:
        answer = await self.connection.send(self.request)
        if answer.status != 200:
            raise RuntimeError(f"{self.name}: {answer.status} {answer.body[:300]!r}")
        body: dict[str, Any] = json.loads(answer.body)
        return body

    def close(self) -> None:
        self.connection.close()


@dataclass
class Alternated:
    """Seconds each side took per run, and the last answer of each."""

    ours: list[float]
    theirs: list[float]
    body: Any
    rows: Any

    def figures(self, *, sql_p95: bool = False) -> dict[str, float]:
        """Medians and p95s in ms, and the ratio of the medians."""
        found = {"ours_median_ms": median_ms(self.ours), "ours_p95_ms": p95_ms(self.ours),
                 "sql_median_ms": median_ms(self.theirs)}  # fmt: skip
        if sql_p95:
            found["sql_p95_ms"] = p95_ms(self.theirs)
        found["ratio"] = median_ms(self.ours) / median_ms(self.theirs)
        return found


async def alternate(
    over_http: Callable[[], Awaitable[Any]],
    by_hand: Callable[[], Awaitable[Any]],
    runs: int,
    warmup: int,
) -> Alternated:
    """``warmup`` untimed rounds, then ``runs`` timed ones, each side in turn."""
    found = Alternated([], [], None, None)
    for _ in range(warmup):
        found.body, found.rows = await over_http(), await by_hand()
    for _ in range(runs):
        spent, found.body = await timed(over_http)
        found.ours.append(spent)
        spent, found.rows = await timed(by_hand)
        found.theirs.append(spent)
    return found


def print_differences(results: Sequence[Mapping[str, Any]]) -> bool:
    """Print both readings of each case whose numbers differ; whether any did."""
    differing = [r for r in results if not r["same_numbers"]]
    for r in differing:
        print(f"  {r['name']}: ours {r['ours_numbers']}\n  by hand {r['sql_numbers']}")
    return bool(differing)


def without_numbers(result: Mapping[str, Any]) -> dict[str, Any]:
    """A result as the JSON figures hold it: without the two readings."""
    return {k: v for k, v in result.items() if not k.endswith("_numbers")}
