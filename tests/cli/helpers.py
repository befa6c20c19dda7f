"""Running the `inbound` command as an operator runs it: in its own process."""

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

INBOUND = [sys.executable, "-m", "inbound"]


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


def cli_env(database_url: str) -> dict[str, str]:
    return {**os.environ, "INBOUND_DATABASE_URL": database_url, "INBOUND_LOG_LEVEL": "WARNING"}


def run(*args: str, database_url: str, cwd: Path) -> Result:
    done = subprocess.run(
        [*INBOUND, *args],
        env=cli_env(database_url),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


async def run_async(*args: str, database_url: str, cwd: Path) -> Result:
    """Run the command without blocking the event loop the app under test shares."""
    process = await asyncio.create_subprocess_exec(
        *INBOUND,
        *args,
        env=cli_env(database_url),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return Result(process.returncode, stdout.decode(), stderr.decode())


def unused_sqlite_url(tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / "never.db"
    return f"sqlite+aiosqlite:///{path}", path


def one_line_error(result: Result) -> str:
    """The command's error, checked to be one line without a traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]
