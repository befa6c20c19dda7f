"""Reading reports as a client does."""

from typing import Any

import httpx

from tests.problems import body_of
from tests.support.world import Headers


async def read_report(
    path: str, client: httpx.AsyncClient, reader: Headers, **params: Any
) -> dict[str, Any]:
    """The report at ``path`` for these parameters, which must be answered 200."""
    return body_of(await client.get(path, params=params, headers=reader))


def group(report: dict[str, Any], key: str | None) -> dict[str, Any]:
    """The one group of ``report`` under ``key``."""
    [found] = [g for g in report["groups"] if g["key"] == key]
    assert isinstance(found, dict)
    return found
