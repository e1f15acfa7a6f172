"""One run of the suite: scratch database, data, both servers, every scenario, the table."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import secrets
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from bench import cpu, peer, plans, report, sqlcount
from bench.datagen import Dataset, Sizes, generate, load, now_hour
from bench.scenarios import Scenario, build, equivalence, pool_state, reset_pool
from bench.servers import ROOT, Launch, Server, generate_load, running

RESULTS = Path(__file__).resolve().parent / "results"
SMOKE_REQUEST_BURST = 100_000  # a smoke run's request and order limit bursts (production: 100, 5)
SMOKE_MIN_COMPLETED = 3  # a smoke run's window stretches until each run completed this many
GENERATOR = "python asyncio{} raw HTTP/1.1 keep-alive client, separate process(es)"


@dataclass(frozen=True, slots=True)
class Options:
    pg: str
    duration: float
    warmup: float
    concurrency: int
    processes: tuple[int, ...]
    generators: int
    pool_size: int
    sizes: Sizes
    seed: int
    scenarios: tuple[str, ...] | None
    keep_db: bool
    out: Path | None
    smoke: bool
    peers: tuple[str, ...] = ()  # measured on graphql_calendar beside the service (bench/peer.py)


def _with_database(url: str, name: str) -> str:
    return url.split("?", 1)[0].rsplit("/", 1)[0] + f"/{name}"


def _dsn(url: str) -> str:
    return url.split("?", 1)[0].replace("postgres://", "postgresql://", 1)


async def _migrate(url: str) -> None:
    """`leko-bookings migrate`, as an operator runs it."""
    await _operate(url, "migrate")


async def _settle_ranks(url: str) -> None:
    """`leko-bookings settle-ranks`, as an operator runs it after a bulk load: the loaded
    bookings' serviceCardinality stored (each notify run would do it); then VACUUM ANALYZE of
    what it rewrote, as autovacuum would do in time (the load's own VACUUM came before)."""
    await _operate(url, "settle-ranks")
    conn = await asyncpg.connect(_dsn(url))
    try:
        await conn.execute('VACUUM ANALYZE "booking", "booking_rank_stale"')
    finally:
        await conn.close()


async def _operate(url: str, command: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "leko_bookings.cli",
        command,
        env={**os.environ, "LEKO_DATABASE_URL": url},
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"leko-bookings {command} failed:\n{out.decode()}")


def _generator_kind() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return GENERATOR.format("")
    return GENERATOR.format(" + uvloop")


class Run:
    def __init__(self, options: Options, url: str, data: Dataset, secret: str) -> None:
        self.options = options
        self.url = url
        self.dsn = _dsn(url)
        self.data = data
        self.secret = secret
        self.results: list[dict[str, Any]] = []
        self.statements: dict[str, Any] = {}
        self.sent: dict[str, list[sqlcount.Statement]] = {}
        # the peers' servers, and their graphql_calendar (same users and month as the service's)
        self.peers: dict[str, Launch] = {
            name: peer.launch(url, options.pool_size) for name in options.peers
        }
        self.peer_calendar = peer.scenario(data, options.concurrency)

    def env(self) -> dict[str, str]:
        """The service's settings (LEKO_*), which the baseline reads too. Production settings,
        but for a smoke run: its few users carry every scenario in a few seconds, so their
        request and order buckets hold more (a 429 counts as an error; a faster server sends a
        small data set's athletes back to order sooner)."""
        env = {
            "LEKO_DATABASE_URL": f"{self.url}?maxsize={self.options.pool_size}",
            "LEKO_JWT_SECRET": self.secret,
            "AERICH_NO_TORTOISE_V1_WARNING": "1",
        }
        if self.options.smoke:
            env["LEKO_RATE_LIMIT_BURST"] = str(SMOKE_REQUEST_BURST)
            env["LEKO_ORDER_RATE_LIMIT_BURST"] = str(SMOKE_REQUEST_BURST)
        return env

    async def measure(self, scenario: Scenario, server: Server) -> dict[str, Any]:
        o = self.options
        before = cpu.snapshot(server.proc.pid)
        raw = await generate_load(
            server,
            scenario.requests,
            concurrency=scenario.concurrency,
            duration=o.duration,
            warmup=o.warmup,
            processes=o.generators,
            seed=o.seed,
            refusal_codes=scenario.writes,
            sequential=scenario.writes,
            min_completed=SMOKE_MIN_COMPLETED if o.smoke else 0,
        )
        used = cpu.usage(before, cpu.snapshot(server.proc.pid))
        summary = report.summarize(raw)
        summary.update(report.cpu_per_request(used, summary))
        # A 429 means the bench's load was throttled (too few users): a failed measurement.
        summary["throttled"] = int(summary["statuses"].get("429", 0))
        summary["errors"] += summary["throttled"]
        entry: dict[str, Any] = {
            "scenario": scenario.name,
            "target": server.name,
            "processes": server.workers,
            "baseline": scenario.baseline,
            "summary": summary,
            "cpu": used,  # over warm-up and measurement
        }
        if scenario.writes:
            entry["db"] = await pool_state(self.dsn, self.data)
            await reset_pool(self.dsn, self.data)
        if entry["summary"]["errors"]:
            entry["server_log_tail"] = server.log.read_text(errors="replace")[-3000:]
        s = entry["summary"]
        print(
            f"  {scenario.name:<17} {server.name:<8} {server.workers}p: {s['rps']:>8.1f} req/s"
            f"  p50 {s['p50_ms'] or 0:.1f} ms  p99 {s['p99_ms'] or 0:.1f} ms"
            f"  errors {s['errors']}  statuses {s['statuses']}  CPU % of {used['cores']} cores:"
            f" server {used['server_pct']}, PostgreSQL {used['postgres_pct']},"
            f" load generator {used['load_generator_pct']}, machine {used['machine_busy_pct']};"
            f" CPU ms per request: server {s['server_cpu_ms']}, PostgreSQL {s['postgres_cpu_ms']}",
            flush=True,
        )
        return entry

    async def all_scenarios(
        self, scenarios: list[Scenario], logdir: Path, every: list[Scenario]
    ) -> dict[str, Any]:
        """Measure `scenarios`; the answers are compared on one request of `every` scenario."""
        checks: dict[str, Any] = {}
        for workers in self.options.processes:
            with running(workers, self.env(), logdir, self.peers) as servers:
                if not self.statements:  # while the servers start
                    self.statements, self.sent = await sqlcount.count(
                        self.url, self.secret, scenarios
                    )
                    await reset_pool(self.dsn, self.data)
                servers.wait_ready()
                if not checks:
                    checks = await equivalence(
                        every,
                        servers["service"].url,
                        servers["baseline"].url,
                        self.dsn,
                        self.data,
                        self.secret,
                    )
                    checks.update(await self.peer_checks(servers, every))
                for scenario in scenarios:
                    self.results.append(await self.measure(scenario, servers["service"]))
                    if scenario.baseline == scenario.name:
                        self.results.append(await self.measure(scenario, servers["baseline"]))
                    if scenario.name == self.peer_calendar.name:  # right after the service
                        for name in self.peers:
                            self.results.append(
                                await self.measure(self.peer_calendar, servers[name])
                            )
        return checks

    async def peer_checks(
        self, servers: dict[str, Server], every: list[Scenario]
    ) -> dict[str, Any]:
        """Each peer's first calendar request against the service's: the same bookings."""
        calendar = next(s for s in every if s.name == self.peer_calendar.name)
        return {
            f"{self.peer_calendar.name}_{name}": await peer.matches(
                servers["service"].url,
                servers[name].url,
                calendar.requests[0],
                self.peer_calendar.requests[0],
            )
            for name in self.peers
        }


async def _server_version(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


async def run(options: Options) -> dict[str, Any]:
    started = datetime.now(UTC)
    # npm packages installed on first use (before the scratch database: a failure leaves none)
    installed = {name: await asyncio.to_thread(peer.install) for name in options.peers}
    name = f"leko_bench_{uuid.uuid4().hex[:8]}"
    admin_dsn = _dsn(options.pg)
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(options.pg, name)
    secret = secrets.token_urlsafe(48)
    try:
        print(f"database {name}: migrating, generating and loading data ...", flush=True)
        t0 = time.perf_counter()
        migrating = asyncio.ensure_future(_migrate(url))  # a subprocess, while data is generated
        data, made = await asyncio.to_thread(generate, options.sizes, now_hour(), options.seed)
        await migrating
        await load(_dsn(url), data, made)
        await _settle_ranks(url)
        loaded = time.perf_counter() - t0
        print(f"  loaded {data.counts} in {loaded:.1f} s", flush=True)
        print("counting SQL statements, starting servers, checking answers, measuring ...")
        every = build(data, secret, options.concurrency, options.seed)
        scenarios = every
        if options.scenarios:
            scenarios = [s for s in every if s.name in options.scenarios]
        bench = Run(options, url, data, secret)
        with tempfile.TemporaryDirectory(prefix="leko-bench-logs-") as logdir:
            checks = await bench.all_scenarios(scenarios, Path(logdir), every)
        print("replaying each scenario's statements under EXPLAIN ANALYZE ...", flush=True)
        query_plans = await plans.explain(bench.dsn, bench.sent)
        version = await _server_version(admin_dsn)
    finally:
        if options.keep_db:
            print(f"kept database {name}", flush=True)
        else:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    table = report.rows(bench.results)
    scale = report.scaling(table, bench.results)
    return {
        "started": started.isoformat(),
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "postgresql": version,
            "note": "shared machine: other processes may have competed for the CPU",
        },
        "settings": {
            "duration_s": options.duration,
            "warmup_s": options.warmup,
            "concurrency": options.concurrency,
            "post_concurrency": next(
                (s.concurrency for s in scenarios if s.name == "post_bookings"), None
            ),
            "processes": list(options.processes),
            "load_generator": f"{_generator_kind()} x{options.generators}",
            "db_pool_maxsize_per_process": options.pool_size,
            "smoke": options.smoke,
            "peers": list(options.peers),
        },
        "data": {
            **data.counts,
            "sizes": asdict(options.sizes),
            "generate_and_load_seconds": round(loaded, 1),
            "month": [m.isoformat() for m in data.month],
            "pool_events": len(data.pool),
            "pool_seats": sum(c for _, c in data.pool),
        },
        "scenarios": {s.name: s.title for s in scenarios},
        "peers": {
            name: {
                "versions": installed[name],
                "scenario": bench.peer_calendar.name,
                "title": bench.peer_calendar.title,
                "query": peer.PEER_QUERY,
                "columns_compared": [[c.service, c.peer] for c in peer.COLUMNS],
                "ratios": report.peer_ratios(table, name),
            }
            for name in options.peers
        },
        "equivalence": checks,
        "sql_statements_per_request": bench.statements,
        "plans": query_plans,
        "table": table,
        "scaling": scale,
        "runs": bench.results,
    }


def header(result: dict[str, Any]) -> str:
    s, d, m = result["settings"], result["data"], result["machine"]
    return "\n".join(
        [
            f"LE-KO bench {result['started'][:16]}Z: {result['command']}",
            f"machine: {m['cpus']} cores (shared), PostgreSQL {m['postgresql']}, "
            f"Python {m['python']}",
            f"data: {d['coaches']} coaches, {d['events']} events, {d['bookings']} bookings, "
            f"{d['athletes']} athletes; month {d['month'][0][:10]}..{d['month'][1][:10]}; "
            f"POST pool {d['pool_events']} events / {d['pool_seats']} seats",
            f"load: {s['duration_s']} s per run after {s['warmup_s']} s warm-up, "
            f"{s['concurrency']} connections ({s['post_concurrency']} for POST); "
            f"{s['load_generator']}; DB pool {s['db_pool_maxsize_per_process']} per process",
            *(
                f"peer {name}: {', '.join(f'{k} {v}' for k, v in p['versions'].items())};"
                f" one Node worker per server process; its {p['scenario']} without a bearer token"
                for name, p in result.get("peers", {}).items()
            ),
        ]
    )


def problems(result: dict[str, Any]) -> list[str]:
    """What makes a run fail: errors, overbooking, answers that differ."""
    found = []
    for row in result["table"]:
        where = f"{row['scenario']} ({row['processes']}p)"
        if row["errors"] or row["unexpected"]:
            found.append(f"{where}: {row['errors']} errors, {row['unexpected']} unexpected")
        if row["overbooked"]:
            found.append(f"{where}: {row['overbooked']} overbooked events")
        for name, measured in row.get("peers", {}).items():
            if not measured["summary"]["completed"]:
                found.append(f"{where}: {name} completed no request")
    for run in result["runs"]:
        if run.get("db", {}).get("overlapping_bookings"):
            found.append(f"{run['scenario']} {run['target']}: a user holds overlapping bookings")
    for name, check in result["equivalence"].items():
        if not check["ok"]:
            found.append(f"equivalence {name}: {check['detail']}")
    return found


def save(result: dict[str, Any], out: Path | None) -> Path:
    if out is None:
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / f"{result['started'][:19].replace(':', '')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return out
