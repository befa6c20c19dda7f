"""Every parameter of the survey report that cannot be answered is a 400 naming it, in JSON or
CSV alike; never a 500, never a report of everything."""

from typing import Any

import httpx
import pytest

from tests.conftest import Headers
from tests.reports.survey_answers import SurveyWorld
from tests.reports.test_edges import refused_naming

REPORT = "/api/v1/reports/surveys"
PERIOD = {"from": "2026-01-01", "to": "2026-01-31"}
NPS = {**PERIOD, "metric": "nps"}
NOWHERE = "00000000-0000-7000-8000-000000000000"


@pytest.mark.parametrize("format", ["json", "csv"])
@pytest.mark.parametrize(
    ("params", "field"),
    [
        (PERIOD, "metric"),
        ({**PERIOD, "metric": "mood"}, "metric"),
        ({**PERIOD, "metric": "NPS"}, "metric"),
        ({"metric": "nps", "to": "2026-01-31"}, "from"),
        ({"metric": "nps", "from": "2026-01-01"}, "to"),
        ({**NPS, "from": "yesterday"}, "from"),
        ({**NPS, "from": "2026-02-01"}, "to"),  # `to` before `from`
        ({**NPS, "to": "2031-01-01"}, "to"),  # more than 5 calendar years
        ({**NPS, "tz": "Mars/Olympus"}, "tz"),
        ({**NPS, "by": "site"}, "by"),
        ({**NPS, "by": ""}, "by"),
        ({**NPS, "trend": "day"}, "trend"),
        ({**NPS, "trend": "null"}, "trend"),
        ({**NPS, "touchpoint": "nowhere"}, "touchpoint"),
        ({**NPS, "touchpoint": NOWHERE}, "touchpoint"),
        ({**NPS, "touchpoint": "x" * 65}, "touchpoint"),
        ({**NPS, "survey": "nothing"}, "survey"),
        ({**NPS, "survey": NOWHERE}, "survey"),
        ({**NPS, "survey": "csat-support"}, "survey"),  # a survey of another metric
        ({**NPS, "persona": "ceo"}, "persona"),
        ({**NPS, "stage": "prospect"}, "stage"),
        ({**NPS, "source": "email"}, "source"),
        ({**NPS, "source": "LINK"}, "source"),
        ({**NPS, "toucpoint": "support"}, "toucpoint"),  # misspelt: never everything
    ],
)
async def test_a_bad_parameter_is_refused_naming_it(
    client: httpx.AsyncClient, reader: Headers, survey_world: SurveyWorld,
    params: dict[str, Any], field: str, format: str,
) -> None:  # fmt: skip
    response = await client.get(REPORT, params={**params, "format": format}, headers=reader)
    refused_naming(response, field)


async def test_an_unknown_format_is_refused(client: httpx.AsyncClient, reader: Headers) -> None:
    refused_naming(await client.get(REPORT, params={**NPS, "format": "xml"}, headers=reader),
                   "format")  # fmt: skip


async def test_a_parameter_given_twice_is_refused(
    client: httpx.AsyncClient, reader: Headers
) -> None:
    params: list[tuple[str, str | int | float | bool | None]] = [
        *NPS.items(), ("by", "persona"), ("by", "stage"),
    ]  # fmt: skip
    refused_naming(await client.get(REPORT, params=params, headers=reader), "by")


async def test_the_survey_of_another_metric_says_which(
    client: httpx.AsyncClient, reader: Headers, survey_world: SurveyWorld
) -> None:
    response = await client.get(REPORT, params={**NPS, "survey": "ces-support"}, headers=reader)
    assert "asks ces, not nps" in response.json()["detail"]
