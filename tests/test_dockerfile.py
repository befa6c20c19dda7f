"""What the container image promises, read from the Dockerfile (no Docker needed): a numeric
non-root user, a health check on the port the service listens on, and a dependency layer that
survives code changes."""

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, _base_url
from tests.support.live_server import LiveServer, free_port, live_server

Instruction = tuple[str, str]


def instructions() -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments left out."""
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def index_of(found: list[Instruction], keyword: str, pattern: str) -> int:
    return next(
        n for n, (key, rest) in enumerate(found) if key == keyword and re.search(pattern, rest)
    )


def healthcheck_command() -> list[str]:
    [rest] = [rest for key, rest in instructions() if key == "HEALTHCHECK"]
    command: list[str] = json.loads(rest.split("CMD", 1)[1])
    return command


class TestImage:
    def test_the_user_is_numeric_and_not_root(self) -> None:
        users = [rest for key, rest in instructions() if key == "USER"]
        assert users, "the image must not run as root"
        assert re.fullmatch(r"[1-9]\d*(:[1-9]\d*)?", users[-1]), users[-1]

    def test_dependencies_are_installed_before_the_code_is_copied(self) -> None:
        found = instructions()
        first_install = index_of(found, "RUN", r"pip install")
        assert first_install < index_of(found, "COPY", r"^src\b")
        assert "constraints.txt" in found[first_install][1]
        # That layer installs the dependencies, not the package (which needs src).
        assert not re.search(r"pip install[^&]*\s\.(\s|$)", found[first_install][1])
        copied_before = [rest for key, rest in found[:first_install] if key == "COPY"]
        assert all("src" not in rest and "README" not in rest for rest in copied_before)
        package = index_of(found, "RUN", r"pip install --no-deps \.")
        assert package > index_of(found, "COPY", r"^src\b")

    def test_the_image_installs_the_redis_extra_its_processes_share(self) -> None:
        layer = instructions()[index_of(instructions(), "RUN", r"pip install")][1]
        assert "['optional-dependencies']['redis']" in layer

    def test_the_healthcheck_reads_the_port_from_the_environment(self) -> None:
        command = " ".join(healthcheck_command())
        assert "INBOUND_PORT" in command
        assert ":8000" not in command

    def test_the_trusted_proxies_setting_is_shown(self) -> None:
        assert "INBOUND_TRUSTED_PROXIES" in (ROOT / "Dockerfile").read_text()


@pytest.fixture(scope="module")
def service(worker_id: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("docker")
    with live_server(_base_url(), f"inbound_docker_{worker_id}", tmp) as server:
        yield server


def health_check(port: int) -> int:
    """Run the image's HEALTHCHECK command as Docker would, with ``INBOUND_PORT`` set."""
    program, *arguments = healthcheck_command()
    assert program == "python"  # the image's; here, the one running the tests
    env = {**os.environ, "INBOUND_PORT": str(port)}
    return subprocess.run(
        [sys.executable, *arguments], env=env, capture_output=True, timeout=20, cwd=Path("/")
    ).returncode


class TestHealthCheck:
    def test_it_passes_against_the_service_on_its_port(self, service: LiveServer) -> None:
        port = int(service.url.rsplit(":", 1)[1])
        assert port != 8000
        assert health_check(port) == 0

    def test_it_fails_where_nothing_listens(self, service: LiveServer) -> None:
        assert health_check(free_port()) != 0
