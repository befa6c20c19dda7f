"""Every report refuses a bad parameter with a 400 whose problem names it."""

from typing import Any

import httpx
import pytest

from tests.conftest import Headers
from tests.problems import assert_names
from tests.reports.people import BAD_PERIODS, JANUARY
from tests.reports.test_assets import ASSETS
from tests.reports.test_funnel import FUNNEL
from tests.reports.test_velocity import VELOCITY

REFUSED: dict[str, list[tuple[dict[str, Any], str]]] = {
    ASSETS: [
        *BAD_PERIODS,
        ({**JANUARY, "stage": "prospect"}, "stage"),
        ({**JANUARY, "persona": "nobody-here"}, "persona"),
        ({**JANUARY, "tz": "Mars/Olympus"}, "tz"),
        ({**JANUARY, "by": "persona"}, "by"),
    ],
    FUNNEL: [
        *BAD_PERIODS,
        ({**JANUARY, "tz": "Mars/Olympus"}, "tz"),
        ({**JANUARY, "entry": "prospect"}, "entry"),
        ({**JANUARY, "by": "colour"}, "by"),
        ({**JANUARY, "mode": "period", "window_days": 7}, "window_days"),
        ({**JANUARY, "persona": "nobody-here"}, "persona"),
        ({**JANUARY, "asset": "no-such-asset"}, "asset"),
        ({"to": "2026-01-31"}, "from"),
    ],
    VELOCITY: [
        *BAD_PERIODS,
        ({**JANUARY, "entry": "prospect"}, "entry"),
        ({**JANUARY, "by": "colour"}, "by"),
        ({**JANUARY, "mode": "period", "window_days": 7}, "window_days"),
        ({**JANUARY, "colour": "blue"}, "colour"),
    ],
}


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        pytest.param(path, params, field, id=f"{path.rsplit('/', 1)[-1]}-{i}-{field}")
        for path, cases in REFUSED.items()
        for i, (params, field) in enumerate(cases)
    ],
)
async def test_a_report_answers_400_naming_the_parameter(
    client: httpx.AsyncClient, reader: Headers, path: str, params: dict[str, Any], field: str
) -> None:
    assert_names(await client.get(path, params=params, headers=reader), field)
