"""Where the machine's CPU went during a run (Linux `/proc`): the server processes, PostgreSQL,
the load generator, and how busy the whole machine was. It tells whether a second server
process had a core to run on."""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:  # gone meanwhile
        return None
    # "pid (comm) state ppid ..."; comm may hold spaces and parentheses
    name_end = text.rindex(")")
    return [text[text.index("(") + 1 : name_end], *text[name_end + 2 :].split()]


def _processes() -> dict[int, tuple[str, int, float]]:
    """pid -> (command name, parent pid, CPU seconds used so far)."""
    out = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is None:
            continue
        # after the name: state(1) ppid(2) ... utime(12) stime(13)
        out[int(entry.name)] = (
            fields[0],
            int(fields[2]),
            (int(fields[12]) + int(fields[13])) / TICKS,
        )
    return out


def _tree(processes: dict[int, tuple[str, int, float]], root: int) -> float:
    """CPU seconds of `root` and its descendants (uvicorn's workers)."""
    children: dict[int, list[int]] = {}
    for pid, (_, parent, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in processes:
            total += processes[pid][2]
        todo.extend(children.get(pid, []))
    return total


def _machine() -> tuple[float, float]:
    """(busy, total) CPU seconds of the machine since boot."""
    values = [int(v) for v in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


def _children(processes: dict[int, tuple[str, int, float]], parent: int) -> dict[int, float]:
    return {pid: cpu for pid, (_, ppid, cpu) in processes.items() if ppid == parent}


@dataclass(frozen=True, slots=True)
class Snapshot:
    server: float
    workers: dict[int, float]  # the server's child processes (uvicorn's workers, if several)
    postgres: dict[int, float]  # per process: backends and autovacuum workers come and go
    children_done: float  # exited children of this process (the load generators, once waited)
    busy: float
    total: float


def snapshot(server_pid: int) -> Snapshot:
    processes = _processes()
    postgres = {pid: cpu for pid, (name, _, cpu) in processes.items() if name == "postgres"}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy, total = _machine()
    return Snapshot(
        _tree(processes, server_pid),
        _children(processes, server_pid),
        postgres,
        children.ru_utime + children.ru_stime,
        busy,
        total,
    )


def usage(before: Snapshot, after: Snapshot) -> dict[str, Any]:
    """Shares of the machine's CPU capacity over the interval, in % (100 x cores = all)."""
    capacity = after.total - before.total or 1.0
    cores = os.cpu_count() or 1

    def pct(seconds: float) -> float:
        return round(100 * cores * seconds / capacity, 1)

    # PostgreSQL: what each process alive at the end used since the start (or since it began:
    # new, or its pid reused); one that ended meanwhile is left out (a sum of totals would lose
    # all its earlier CPU: a negative figure when an autovacuum worker or a backend exits).
    postgres = 0.0
    for pid, used in after.postgres.items():
        earlier = before.postgres.get(pid, 0.0)
        postgres += used - earlier if used >= earlier else used

    return {
        "cores": cores,
        # CPU seconds over the interval (per request: report.cpu_per_request)
        "server_seconds": round(after.server - before.server, 3),
        "postgres_seconds": round(postgres, 3),
        "server_pct": pct(after.server - before.server),
        # each worker's share, busiest first: how evenly the connections were spread
        "workers_pct": sorted(
            (pct(cpu - before.workers.get(pid, 0.0)) for pid, cpu in after.workers.items()),
            reverse=True,
        ),
        "postgres_pct": pct(postgres),
        "load_generator_pct": pct(after.children_done - before.children_done),
        "machine_busy_pct": pct(after.busy - before.busy),
    }
