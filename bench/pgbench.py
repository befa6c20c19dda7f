"""pgbench running a script against the bench's database: the SQL alone, as a baseline."""

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cpu import CpuSample
from figures import percentile
from sqlalchemy.engine import URL


def find_pgbench() -> str:
    found = shutil.which("pgbench") or next(
        iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), reverse=True)), None
    )
    if not found:
        raise SystemExit("pgbench not found: install the PostgreSQL client tools")
    return str(found)


def run_pgbench(
    pgbench: str,
    url: URL,
    script: Path,
    defines: Mapping[str, str],
    clients: int,
    duration: float,
    server_pid: int,
    rate: float | None = None,
) -> dict[str, Any]:
    """pgbench running ``script``: its transactions per second and latency percentiles."""
    logs = Path(tempfile.mkdtemp(prefix="pgbench-"))
    command = [
        pgbench, "-n", "-f", str(script), "-c", str(clients), "-j", str(min(2, clients)),
        "-T", str(round(duration)), "-M", "prepared", "-l", "--log-prefix", str(logs / "tx"),
        "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
        "-U", url.username or "postgres",
    ]  # fmt: skip
    if rate is not None:
        command += ["-R", str(rate)]
    for name, value in defines.items():
        command += ["-D", f"{name}={value}"]
    command.append(url.database or "postgres")
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = url.password
    first = CpuSample.take(server_pid)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    last = CpuSample.take(server_pid)
    latencies = []
    for log in logs.iterdir():
        for line in log.read_text().splitlines():
            latencies.append(int(line.split()[2]) / 1000)
    shutil.rmtree(logs, ignore_errors=True)
    tps = re.search(r"^tps = ([\d.]+) \(without initial connection time\)", done.stdout, re.M)
    processed = re.search(r"number of transactions actually processed: (\d+)", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    errors = done.returncode != 0 or (failed is not None and int(failed.group(1)) > 0)
    transactions = int(processed.group(1)) if processed else 0
    return {
        "tps": float(tps.group(1)) if tps else 0.0,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "transactions": transactions,
        "failed": int(failed.group(1)) if failed else None,
        "errors": (done.stderr.strip()[-1000:] or done.stdout[-1000:]) if errors else "",
        "cpu": first.per_transaction(last, transactions),
    }
