"""Lead captures per second and their latency, through the real HTTP stack, against pgbench.

Usage: .venv/bin/python bench/capture.py [--concurrency 1,8,32,64] [--workers 1,2]
                                         [--json out.json] [--database-url URL]

It builds a fresh PostgreSQL database, starts the service as a subprocess and posts lead
captures to it (70% new emails, 30% returning ones) from a lean HTTP/1.1 client in this
process (`http_load.py`): closed-loop at each concurrency, then open-loop at a fixed rate
(300/s) for the latency target. Between the runs, pgbench runs the same SQL transaction a
capture runs, at the same concurrency on the same database, and the ratio of the two
throughputs is printed.

The pgbench script is built from the service's own compiled capture statements and the values
it stored; one new and one returning capture are also posted to a server with statement
logging on, and the script's statements are compared with the ones it logged, any difference
reported.
"""

import argparse
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from capture_load import Bodies, closed_loop, open_loop
from capture_pgbench import PgbenchScript, pgbench_script
from capture_report import print_header, print_rate, print_rows, print_step, print_verdict
from capture_sql import capture_transactions, logged_statements, parity
from capture_world import (
    Templates,
    World,
    build_world,
    capture_once,
    events_of,
    row_counts,
    rows_of_capture,
    seed_returning_contacts,
    site_headers,
)
from database import EMAIL_DOMAIN, TEMPLATE_EMAIL, run_sql
from options import add_json, bench_parser, floats, integers
from pgbench import find_pgbench, run_pgbench
from service import fresh_database, run, serving
from sqlalchemy import make_url

# -- the run ---------------------------------------------------------------------------------


def per_transaction(
    before: Mapping[str, int], after: Mapping[str, int], n: int
) -> dict[str, float]:
    return {table: round((after[table] - before[table]) / max(n, 1), 3) for table in before}


def checkpoint(url: str) -> None:
    run(run_sql(url, "CHECKPOINT", autocommit=True))


def run_configuration(
    args: argparse.Namespace,
    url: str,
    world: World,
    workers: int,
    script: PgbenchScript,
    script_path: Path,
    bodies: Bodies,
    work: Path,
) -> dict[str, Any]:
    """The concurrency sweep and the fixed-rate phase against one server configuration."""
    env = {"INBOUND_DATABASE_POOL_SIZE": str(args.pool_size)} if args.pool_size else {}
    base_url = make_url(url)
    pgbench = find_pgbench()
    headers = site_headers(world)
    result: dict[str, Any] = {"workers": workers, "sweep": [], "rate": None, "other_rates": []}
    with serving(url, workers, work / f"server-{workers}.log", env) as (base, pid):
        for concurrency in args.concurrency:
            checkpoint(url)
            before = run(row_counts(url))
            ours = run(
                closed_loop(base, headers, bodies, concurrency, args.warmup, args.duration, pid)
            )
            middle = run(row_counts(url))
            ours["rows_per_capture"] = per_transaction(before, middle, ours["succeeded"])
            checkpoint(url)
            theirs = run_pgbench(
                pgbench, base_url, script_path, script.defines, concurrency, args.duration, pid
            )
            after = run(row_counts(url))
            theirs["rows_per_transaction"] = per_transaction(middle, after, theirs["transactions"])
            ratio = ours["captures_per_s"] / theirs["tps"] if theirs["tps"] else None
            step = {
                "concurrency": concurrency,
                "ours": ours,
                "pgbench": theirs,
                "ratio": round(ratio, 3) if ratio is not None else None,
            }
            result["sweep"].append(step)
            print_step(workers, step)
        rates = [r for r in args.also_rates if r > 0] + ([args.rate] if args.rate > 0 else [])
        for rate in rates:
            checkpoint(url)
            connections = args.rate_connections
            ours = run(
                open_loop(base, headers, bodies, rate, args.warmup, args.duration, connections, pid)
            )
            checkpoint(url)
            theirs = run_pgbench(
                pgbench, base_url, script_path, script.defines, connections, args.duration, pid,
                rate=rate,
            )  # fmt: skip
            phase = {"ours": ours, "pgbench": theirs}
            print_rate(workers, phase)
            if rate == args.rate:
                result["rate"] = phase
            else:
                result["other_rates"].append(phase)
    return result


def learn_the_sql(
    url: str, admin_key: str, returning: int, new_pct: int, work: Path
) -> tuple[World, PgbenchScript, dict[str, Any]]:
    """Set up the world through a server that logs its SQL, and build pgbench's script."""
    log_path = work / "server-sql.log"
    echo = {"INBOUND_DATABASE_ECHO": "true", "PYTHONUNBUFFERED": "1"}
    with serving(url, 1, log_path, echo) as (base, _):
        world = build_world(base, admin_key)
        first = run(rows_of_capture(url, capture_once(base, world, TEMPLATE_EMAIL)))
        capture_once(base, world, TEMPLATE_EMAIL)  # now an MQL: the returning visitors' state
        run(seed_returning_contacts(url, returning))
        later = run(rows_of_capture(url, capture_once(base, world, f"c1@{EMAIL_DOMAIN}")))
    transactions = capture_transactions(logged_statements(log_path.read_text()))
    if len(transactions) != 3:
        raise RuntimeError(f"expected 3 logged capture transactions, found {len(transactions)}")
    new, returning_tx = transactions[0], transactions[2]
    if any(v is None for v in first.values()) or later["contact"] is None:
        raise RuntimeError("the first capture did not write a contact, stage change and score")
    templates = Templates(
        new_contact=first["contact"] or {},
        returning_contact=later["contact"] or {},
        capture=first["capture"] or {},
        stage_change=first["stage_change"] or {},
        score_event=first["score_event"] or {},
        new_events=run(events_of(url, first["contact"] or {})),
        returning_events=run(events_of(url, later["contact"] or {})),
    )
    script = pgbench_script(new, returning_tx, templates, world, new_pct, returning)
    differences = {
        "new": parity(new, script.branches["new"]),
        "returning": parity(returning_tx, script.branches["returning"]),
    }
    sql = {
        "service_new": new,
        "service_returning": returning_tx,
        "statements": {"new": len(new), "returning": len(returning_tx)},
        "differences": differences,
    }
    return world, script, sql


def parse_args() -> argparse.Namespace:
    parser = bench_parser(
        __doc__,
        "postgresql+asyncpg://postgres@127.0.0.1:5432/inbound_bench",
        "PostgreSQL database to drop, recreate and fill (default: %(default)s)",
        whole_doc=True,
    )
    parser.add_argument("--concurrency", type=integers, default=[1, 8, 32, 64])
    parser.add_argument("--workers", type=integers, default=[1, 2], help="server processes")
    parser.add_argument("--pool-size", type=int, default=None, help="database pool per process")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per step")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each step")
    parser.add_argument(
        "--rate", type=float, default=300.0,
        help="captures/s of the open loop that the latency target applies to (0: none)",
    )  # fmt: skip
    parser.add_argument(
        "--also-rates", type=floats, default=[],
        help="other open-loop rates to report, such as 50,100",
    )  # fmt: skip
    parser.add_argument("--rate-connections", type=int, default=32)
    parser.add_argument("--new-share", type=float, default=0.7, help="share of new emails")
    parser.add_argument("--returning", type=int, default=10_000, help="returning visitors")
    parser.add_argument("--ratio-target", type=float, default=0.25)
    parser.add_argument("--p99-target", type=float, default=50.0, help="ms, at --rate")
    add_json(parser)
    parser.add_argument(
        "--sql-out",
        type=Path,
        default=None,
        help="directory for the service's logged SQL of a capture and the pgbench script",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="inbound-bench-"))
    load_before = os.getloadavg()
    url, admin_key = fresh_database(
        args.database_url, "the benchmark needs PostgreSQL (pgbench runs against the same database)"
    )
    new_pct = round(args.new_share * 100)
    world, script, sql = learn_the_sql(url, admin_key, args.returning, new_pct, work)
    script_path = work / "capture.sql"
    script_path.write_text(script.text())
    if args.sql_out:
        write_sql(args.sql_out, sql, script)
    for branch, differences in sql["differences"].items():
        for difference in differences:
            print(f"warning: pgbench's {branch} capture differs from the service's:\n {difference}")
    if not any(sql["differences"].values()):
        counts = sql["statements"]
        print(
            f"pgbench runs the statements the service logged for a capture: {counts['new']} "
            f"for a new email, {counts['returning']} for a returning one (BEGIN and COMMIT "
            "included)"
        )
    bodies = Bodies(args.new_share, args.returning)
    print_header(args)
    results: dict[str, Any] = {
        "machine": {"cores": os.cpu_count(), "load_average_at_start": load_before},
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "sql": {"statements": sql["statements"], "differences": sql["differences"]},
        "configurations": [],
    }
    for workers in args.workers:
        results["configurations"].append(
            run_configuration(args, url, world, workers, script, script_path, bodies, work)
        )
    print_rows(results)
    results["verdict"] = print_verdict(results, args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
        print(f"figures written to {args.json}")
    if any(v["errors"] for v in results["verdict"]["configurations"]):
        print(f"the service's logs are kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


def write_sql(directory: Path, sql: Mapping[str, Any], script: PgbenchScript) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for branch in ("new", "returning"):
        statements = sql[f"service_{branch}"]
        (directory / f"service-{branch}.sql").write_text("\n".join(statements) + "\n")
    (directory / "pgbench.sql").write_text(script.text())
    defines = "\n".join(f"-D {k}={v}" for k, v in script.defines.items())
    (directory / "pgbench-variables.txt").write_text(defines + "\n")


if __name__ == "__main__":
    main()
