"""Redis is an optional extra: one process runs without the client installed, and a Redis URL
without it is refused at start with the way to install it."""

import subprocess
import sys
import textwrap

from tests.conftest import ROOT

WITHOUT_REDIS = "import sys; sys.modules['redis'] = None  # as if never installed\n"


def run_without_redis(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_REDIS + textwrap.dedent(code)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip


def test_the_service_is_built_without_the_redis_client() -> None:
    done = run_without_redis(
        """
        from litestar.testing import TestClient
        from inbound.app import create_app
        from inbound.config import Settings
        app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
        with TestClient(app) as client:
            print(client.get("/health").status_code)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "200"


def test_a_redis_url_without_the_client_is_refused_with_how_to_install_it() -> None:
    done = run_without_redis(
        """
        from inbound.config import Settings
        Settings(redis_url="redis://127.0.0.1:6379/0")
        """
    )
    assert done.returncode != 0
    assert "redis_url" in done.stderr
    assert "pip install 'inbound[redis]'" in done.stderr
