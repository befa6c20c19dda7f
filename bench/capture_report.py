"""The capture bench's table: a row per step, the open-loop line, rows written and verdicts."""

import argparse
import os
from collections.abc import Mapping
from typing import Any


def print_header(args: argparse.Namespace) -> None:
    load = os.getloadavg()[0]
    print(
        f"lead captures vs pgbench: {round(args.new_share * 100)}% new emails, "
        f"{round((1 - args.new_share) * 100)}% returning (of {args.returning:,}); "
        f"{args.duration:g} s per step after {args.warmup:g} s of warm-up; "
        f"{os.cpu_count()} cores, load average {load:.2f} at start"
    )
    if load > 0.5:
        print("note: the machine is already busy; the figures will be lower and noisier")
    print(
        "latencies in ms; CPU in ms of processor time per transaction, by process; "
        "busy = share of all cores in use"
    )
    print(
        f"{'':12} | {'ours (HTTP)':^27} | {'pgbench, same SQL':^23} | {'':6} | "
        f"{'CPU, ours':^18} | {'CPU, pgbench':^12} | {'busy %':^11}"
    )
    print(
        f"{'workers conc':12} | {'per s':>8} {'p50':>6} {'p99':>7} {'err':>3} | "
        f"{'per s':>8} {'p50':>6} {'p99':>7} | {'ratio':>6} | "
        f"{'server':>6} {'pg':>5} {'client':>5} | {'pg':>5} {'client':>6} | "
        f"{'ours':>5} {'pgb':>5}"
    )


def fmt(value: float | None, width: int, digits: int = 1) -> str:
    return f"{value:>{width}.{digits}f}" if value is not None else f"{'-':>{width}}"


def print_step(workers: int, step: Mapping[str, Any]) -> None:
    ours, theirs = step["ours"], step["pgbench"]
    mine, its = ours["cpu"], theirs["cpu"]
    print_with_samples(
        ours,
        f"{workers:>7} {step['concurrency']:>4} | {ours['captures_per_s']:>8.1f} "
        f"{fmt(ours['p50_ms'], 6)} {fmt(ours['p99_ms'], 7)} {error_count(ours):>3} | "
        f"{theirs['tps']:>8.1f} {fmt(theirs['p50_ms'], 6)} {fmt(theirs['p99_ms'], 7)} | "
        f"{fmt(step['ratio'], 6, 3)} | {mine['server_ms']:>6.2f} {mine['postgres_ms']:>5.2f} "
        f"{mine['client_ms']:>5.2f} | {its['postgres_ms']:>5.2f} {its['pgbench_ms']:>6.2f} | "
        f"{mine['machine_busy_pct']:>5.0f} {its['machine_busy_pct']:>5.0f}",
    )
    if theirs["errors"]:
        print(f"        pgbench: {theirs['errors']}")


def print_rate(workers: int, phase: Mapping[str, Any]) -> None:
    ours, theirs = phase["ours"], phase["pgbench"]
    print_with_samples(
        ours,
        f"{workers:>7} open loop at {ours['rate']:g}/s: answered {ours['captures_per_s']:.1f}/s, "
        f"p50 {fmt(ours['p50_ms'], 0)} ms, p99 {fmt(ours['p99_ms'], 0)} ms, "
        f"max {fmt(ours['max_ms'], 0)} ms, errors {error_count(ours)} | "
        f"pgbench -R {ours['rate']:g}: "
        f"p50 {fmt(theirs['p50_ms'], 0, 2)} ms, p99 {fmt(theirs['p99_ms'], 0, 2)} ms",
    )


def error_count(ours: Mapping[str, Any]) -> int:
    return sum(ours["errors"].values())


def print_with_samples(ours: Mapping[str, Any], line: str) -> None:
    """A line of figures, then the first errors the load met, if any."""
    print(line, flush=True)
    for sample in ours["error_samples"]:
        print(f"        error: {sample}")


def print_verdict(results: Mapping[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    verdicts = []
    for configuration in results["configurations"]:
        workers = configuration["workers"]
        ratios = [s["ratio"] for s in configuration["sweep"] if s["ratio"] is not None]
        phases = [s["ours"] for s in configuration["sweep"]]
        phases += [p["ours"] for p in configuration["other_rates"]]
        rate = configuration["rate"]["ours"] if configuration["rate"] else None
        errors = sum(error_count(phase) for phase in [*phases, *([rate] if rate else [])])
        verdict: dict[str, Any] = {
            "workers": workers,
            "lowest_ratio": min(ratios) if ratios else None,
            "ratio_target_met": bool(ratios) and min(ratios) >= args.ratio_target,
            "errors": errors,
        }
        line = (
            f"workers={workers}: lowest ours/pgbench {fmt(verdict['lowest_ratio'], 0, 3)} "
            f"(target >= {args.ratio_target}: {'met' if verdict['ratio_target_met'] else 'MISSED'})"
        )
        if rate is not None:
            verdict["p99_at_rate_ms"] = rate["p99_ms"]
            verdict["p99_target_met"] = (
                rate["p99_ms"] is not None
                and rate["p99_ms"] < args.p99_target
                and rate["captures_per_s"] >= 0.98 * args.rate
            )
            line += (
                f"; p99 at {args.rate:g}/s {fmt(rate['p99_ms'], 0)} ms "
                f"(target < {args.p99_target:g} ms, all answered: "
                f"{'met' if verdict['p99_target_met'] else 'MISSED'})"
            )
        verdicts.append(verdict)
        print(f"{line}; errors {errors}")
    return {"configurations": verdicts}


def print_rows(results: Mapping[str, Any]) -> None:
    """Rows each side wrote per transaction: the two workloads should look alike."""

    def listed(rows: Mapping[str, float]) -> str:
        return ", ".join(f"{table} {count:.2f}" for table, count in rows.items())

    for configuration in results["configurations"]:
        step = configuration["sweep"][-1]
        print(
            f"rows written per transaction (workers={configuration['workers']}, "
            f"concurrency {step['concurrency']}):\n"
            f"  ours:    {listed(step['ours']['rows_per_capture'])}\n"
            f"  pgbench: {listed(step['pgbench']['rows_per_transaction'])}"
        )
