"""Processor time by role (the service's processes, PostgreSQL, this client, pgbench), read
from /proc around a measured window."""

import os
import resource
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSample:
    """Processor seconds used so far, by role, and the machine's busy and total ticks."""

    client: float
    server: float
    postgres: float
    pgbench: float
    busy: int
    total: int

    @classmethod
    def take(cls, server_pid: int | None) -> "CpuSample":
        procs: dict[int, tuple[str, int, float, float]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                raw = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            comm = raw[raw.index("(") + 1 : raw.rindex(")")]
            rest = raw[raw.rindex(")") + 2 :].split()
            own = (int(rest[11]) + int(rest[12])) / TICKS
            reaped = (int(rest[13]) + int(rest[14])) / TICKS
            procs[int(entry)] = (comm, int(rest[1]), own, reaped)
        server = 0.0
        for pid, (_, _, own, _) in procs.items():
            ancestor: int | None = pid
            while ancestor and ancestor != server_pid:
                ancestor = procs[ancestor][1] if ancestor in procs else None
            if server_pid is not None and ancestor == server_pid:
                server += own
        postgres = 0.0
        for comm, ppid, own, reaped in procs.values():
            if comm == "postgres":
                postgres += own  # a backend that exits moves to its parent's reaped time
                if procs.get(ppid, ("",))[0] != "postgres":
                    postgres += reaped
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]
        usage, children = (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
        return cls(
            client=usage.ru_utime + usage.ru_stime,
            server=server,
            postgres=postgres,
            pgbench=children.ru_utime + children.ru_stime,
            busy=sum(fields) - idle,
            total=sum(fields),
        )

    def per_transaction(self, later: "CpuSample", transactions: int) -> dict[str, float]:
        """Processor milliseconds per transaction by role, and how busy the machine was."""
        n = max(transactions, 1)
        return {
            "client_ms": round((later.client - self.client) * 1000 / n, 3),
            "server_ms": round((later.server - self.server) * 1000 / n, 3),
            "postgres_ms": round((later.postgres - self.postgres) * 1000 / n, 3),
            "pgbench_ms": round((later.pgbench - self.pgbench) * 1000 / n, 3),
            "machine_busy_pct": round(
                100 * (later.busy - self.busy) / max(later.total - self.total, 1), 1
            ),
        }
