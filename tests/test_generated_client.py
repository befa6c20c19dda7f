"""A Python client generated from the committed contract works against the service.

The contract is only as good as what a generator makes of it: every persona rule kind must come
out as a complete model that a client can build, send and read back.
"""

import importlib
import os
import subprocess
import sys
import typing
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from litestar import Litestar

from inbound.personas.rules import PersonaRule
from tests.conftest import ROOT, Headers

PACKAGE = "inbound_generated_client"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
RULES: list[dict[str, Any]] = [
    {"field": "job_title", "operator": "contains_any", "values": ["CIO", "IT director"],
     "weight": 3.0},
    {"field": "country", "operator": "equals", "value": "DE", "weight": 1.0},
    {"field": "industry", "operator": "one_of", "values": ["banking", "insurance"],
     "weight": 2.0},
    {"field": "company_size", "operator": "between", "min": 200.0, "max": 5000.0,
     "weight": 1.5},
    {"field": "form.budget", "operator": "between", "min": 10000.0, "weight": 1.0},
]  # fmt: skip


def test_the_rules_sent_cover_every_kind() -> None:
    union = typing.get_args(PersonaRule)[0]
    kinds = {
        typing.get_args(m.model_fields["operator"].annotation)[0] for m in typing.get_args(union)
    }
    assert kinds == {rule["operator"] for rule in RULES}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The client openapi-python-client makes of openapi/openapi.json, imported."""
    target = tmp_path_factory.mktemp("client")
    # The generator formats its output with ruff, found on PATH: ours, in the same environment.
    path = f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    result = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(ROOT / "openapi" / "openapi.json"),
         "--meta", "none", "--output-path", str(target / PACKAGE), "--fail-on-warning"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PATH": path},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(target))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(target))
        for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def _client(generated: ModuleType, app: Litestar, headers: Headers) -> Any:
    token = headers["Authorization"].removeprefix("Bearer ")
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return generated.AuthenticatedClient(
        base_url="http://testserver", token=token, httpx_args={"transport": transport}
    )


def _rule(models: ModuleType, rule: dict[str, Any]) -> Any:
    """A rule built field by field with the generated model of its kind."""
    kinds = {
        "contains_any": models.ContainsAnyRule,
        "equals": models.EqualsRule,
        "one_of": models.OneOfRule,
        "between": models.BetweenRule,
    }
    kind = kinds[rule["operator"]]
    keywords = {("min_" if k == "min" else "max_" if k == "max" else k): v for k, v in rule.items()}
    return kind(**keywords)


async def test_every_rule_kind_round_trips_through_the_client(
    generated: ModuleType, app: Litestar, admin: Headers
) -> None:
    models = importlib.import_module(f"{PACKAGE}.models")
    create = importlib.import_module(f"{PACKAGE}.api.personas.create_persona")
    read = importlib.import_module(f"{PACKAGE}.api.personas.get_persona")
    body = models.PersonaCreate(
        name="IT Director", slug="it-director", rules=[_rule(models, r) for r in RULES]
    )
    assert body.to_dict()["rules"] == RULES
    async with _client(generated, app, admin) as client:
        created = await create.asyncio_detailed(client=client, body=body)
        assert created.status_code == 201, created.content
        assert isinstance(created.parsed, models.PersonaRead)
        fetched = await read.asyncio_detailed(client=client, ref="it-director")
    assert fetched.status_code == 200, fetched.content
    persona = fetched.parsed
    assert isinstance(persona, models.PersonaRead)
    assert persona.id == created.parsed.id
    # An unbounded side of `between` reads back as null.
    read_back = [{k: v for k, v in r.to_dict().items() if v is not None} for r in persona.rules]
    assert read_back == RULES


async def test_a_refusal_reads_as_problem_details(
    generated: ModuleType, app: Litestar, admin: Headers
) -> None:
    models = importlib.import_module(f"{PACKAGE}.models")
    create = importlib.import_module(f"{PACKAGE}.api.personas.create_persona")
    bad = models.BetweenRule(field="company_size", operator="between", min_=None, max_=None)
    body = models.PersonaCreate(name="Nobody", rules=[bad])
    async with _client(generated, app, admin) as client:
        refused = await create.asyncio_detailed(client=client, body=body)
    assert refused.status_code == 400
    assert isinstance(refused.parsed, models.ProblemDetails)
    assert [(e.field, e.source) for e in refused.parsed.errors] == [("rules[0]", "body")]
