"""Load benchmark: N clients for T seconds against a real server, with an optional oversized body.

    python -m scripts.bench_load [--clients 12] [--seconds 60] [--big-body-mb 25] [--model fake:64]

Starts `techmatch serve --demo` on 127.0.0.1 (a fresh data directory, SQLite, rate limits off
unless --rate-limits), then runs the clients over keep-alive HTTP with a read/write mix: reading
one offer, listing offers, free-text search, the matches of a need, creating a need and changing
one. A probe client reads `GET /offers/{id}` every 100 ms throughout; with --big-body-mb another
client posts a body of that size to /needs (once with Content-Length, once chunked) a third of
the way in. Prints throughput, p50/p99 per operation, errors, and the probe's latency while the
big bodies were in flight.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import ctypes.util
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from scripts.bench_api import QUERIES, percentile

INSTITUTE = {"Authorization": "Bearer tm_demo_institute"}
ENTERPRISE = {"Authorization": "Bearer tm_demo_enterprise"}
# Share of each operation in the mix (reads first); writes are about 15 %.
MIX = {
    "read offer": 0.40,
    "list offers": 0.15,
    "search": 0.20,
    "need matches": 0.10,
    "create need": 0.08,
    "change need": 0.07,
}


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    probe: list[tuple[float, float]] = field(default_factory=list)  # (start time, latency)
    big_window: tuple[float, float] | None = None
    big_answers: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def need_body(rng: random.Random) -> dict[str, object]:
    return {
        "title": f"Cần giải pháp {rng.choice(QUERIES)} #{rng.randrange(10**6)}",
        "description": "Doanh nghiệp cần công nghệ phù hợp, ngân sách vừa phải, triển khai trong năm.",
        "sector": "environment_water",
        "min_trl": rng.randint(3, 8),
        "region": "ho_chi_minh_city",
        "language": "vi",
    }


async def timed(
    results: Results, name: str, request: Callable[[], Awaitable[httpx.Response]]
) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = await request()
    except httpx.HTTPError:
        results.errors[name] += 1
        return None
    results.latencies[name].append(time.perf_counter() - started)
    if response.status_code >= 400:
        results.errors[name] += 1
    return response


async def client_loop(
    base: str, seed: int, deadline: float, results: Results, offers: list[int], needs: list[int]
) -> None:
    rng = random.Random(seed)
    own_needs: list[int] = []
    names, weights = list(MIX), list(MIX.values())
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        while time.monotonic() < deadline:
            name = rng.choices(names, weights)[0]
            if name == "change need" and not own_needs:
                name = "create need"
            if name == "read offer":
                await timed(results, name, lambda: http.get(f"/offers/{rng.choice(offers)}"))
            elif name == "list offers":
                await timed(results, name, lambda: http.get("/offers", params={"trl_min": rng.randint(1, 9)}))
            elif name == "search":
                await timed(
                    results, name, lambda: http.get("/search/offers", params={"q": rng.choice(QUERIES)})
                )
            elif name == "need matches":
                await timed(results, name, lambda: http.get(f"/needs/{rng.choice(needs)}/matches"))
            elif name == "create need":
                created = await timed(
                    results, name, lambda: http.post("/needs", json=need_body(rng), headers=ENTERPRISE)
                )
                if created is not None and created.status_code == 201:
                    own_needs.append(created.json()["id"])
            else:
                change = {"min_trl": rng.randint(3, 8)}
                path = f"/needs/{rng.choice(own_needs)}"
                await timed(results, name, lambda: http.patch(path, json=change, headers=ENTERPRISE))  # noqa: B023


async def probe_loop(base: str, offer_id: int, deadline: float, results: Results) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            await http.get(f"/offers/{offer_id}")
            results.probe.append((time.monotonic(), time.perf_counter() - started))
            await asyncio.sleep(0.1)


def big_payload(megabytes: int) -> bytes:
    """A JSON object of that many MB made of unknown keys (the issue's attack), built before the
    run so that building it does not stall this process's other clients."""
    keys = megabytes * 1_000_000 // 25
    return json.dumps({f"unknown_key_{i:08d}": 1 for i in range(keys)}).encode()


async def big_body(base: str, payload: bytes, start_at: float, results: Results) -> None:
    """An enterprise member posts `payload` to /needs, with a Content-Length and then chunked."""
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(payload), 65_536):
            yield payload[start : start + 65_536]

    began = time.monotonic()
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        for label, content in (("with Content-Length", payload), ("chunked", chunks())):
            started = time.perf_counter()
            try:
                response = await http.post(
                    "/needs", content=content, headers={**ENTERPRISE, "Content-Type": "application/json"}
                )
                answer = f"{response.status_code} ({len(response.content):,} bytes)"
            except httpx.HTTPError as exc:
                # Refused before it was read: the server answers 413 and closes the connection while
                # the client is still sending, which the client sees as a broken connection.
                answer = f"connection closed by the server ({type(exc).__name__})"
            took = time.perf_counter() - started
            results.big_answers.append(
                f"{len(payload) / 1e6:.1f} MB {label}: {answer} in {took * 1000:.0f} ms"
            )
    # The window over which the probe's latency is judged: from the first byte to a second after the last answer.
    results.big_window = (began, time.monotonic() + 1.0)


async def run(base: str, args: argparse.Namespace, results: Results) -> float:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        offers = [item["id"] for item in (await http.get("/offers", params={"limit": 100})).json()["items"]]
        needs = [item["id"] for item in (await http.get("/needs", params={"limit": 100})).json()["items"]]
    payload = big_payload(args.big_body_mb) if args.big_body_mb else b""
    started = time.monotonic()
    deadline = started + args.seconds
    tasks = [client_loop(base, seed, deadline, results, offers, needs) for seed in range(args.clients)]
    tasks.append(probe_loop(base, offers[0], deadline, results))
    if args.big_body_mb:
        tasks.append(big_body(base, payload, started + args.seconds / 3, results))
    await asyncio.gather(*tasks)
    return time.monotonic() - started


def start_server(args: argparse.Namespace, data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TECHMATCH_DATA_DIR": str(data_dir),
        "TECHMATCH_RATE_LIMITS_ENABLED": "true" if args.rate_limits else "false",
    }
    env.pop("TECHMATCH_DATABASE_URL", None)
    if args.model:
        env["TECHMATCH_EMBEDDING_MODEL"] = args.model
    command = [sys.executable, "-m", "scripts.cli", "serve", "--demo", "--port", str(port)]
    return server_process(command, env=env)


# prctl(2): the signal a process gets when the thread that started it ends.
_PR_SET_PDEATHSIG = 1


def _stop_with_the_bench() -> None:
    """Runs in the server's process before it starts: SIGTERM to it when the bench dies."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def server_process(
    command: list[str], *, env: Mapping[str, str] | None, output: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    """Start a server in its own session (`stop_server` kills the group) that stops when the bench
    starting it dies, even killed (Linux): a killed bench left servers running that skewed the next
    runs on their folder. `output`: where its stdout and stderr go (default: nowhere)."""
    return subprocess.Popen(
        command,
        env=env,
        stdout=output or subprocess.DEVNULL,
        stderr=subprocess.STDOUT if output else subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_stop_with_the_bench if sys.platform == "linux" else None,
    )


def wait_until_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the server did not become ready")


def stop_server(server: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Ask the server to stop (it saves its indexes); kill it if it is not gone within `timeout` s, and
    then whatever of its process group is left: a server killed while starting left its workers
    running, indexing on for an hour at 10^6 listings (start it with `start_new_session=True`)."""
    server.terminate()
    try:
        server.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)


def report(results: Results, elapsed: float, args: argparse.Namespace) -> None:
    total = sum(len(values) for values in results.latencies.values())
    errors = sum(results.errors.values())
    print(
        f"{args.clients} clients for {elapsed:.0f} s: {total:,} requests, {total / elapsed:.1f} req/s, {errors} errors"
    )
    print(f"{'operation':<14} {'count':>7} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name in MIX:
        values = results.latencies.get(name, [])
        if values:
            print(
                f"{name:<14} {len(values):>7} {statistics.median(values) * 1000:>8.1f} "
                f"{percentile(values, 0.99) * 1000:>8.1f} {results.errors.get(name, 0):>7}"
            )
    probe = [latency for _at, latency in results.probe]
    print(
        f"probe GET /offers/{{id}}: p50 {statistics.median(probe) * 1000:.1f} ms, "
        f"p99 {percentile(probe, 0.99) * 1000:.1f} ms, max {max(probe) * 1000:.1f} ms"
    )
    if results.big_window:
        low, high = results.big_window
        during = [latency for at, latency in results.probe if low <= at <= high]
        for answer in results.big_answers:
            print(f"big body {answer}")
        if during:
            print(
                f"probe while big bodies were in flight ({len(during)} reads): "
                f"max {max(during) * 1000:.1f} ms, median {statistics.median(during) * 1000:.1f} ms"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--big-body-mb", type=int, default=25, help="0: no oversized body")
    parser.add_argument(
        "--model", default=None, help="TECHMATCH_EMBEDDING_MODEL for the server, e.g. fake:64"
    )
    parser.add_argument("--rate-limits", action="store_true", help="keep the configured rate limits on")
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    with tempfile.TemporaryDirectory() as scratch:
        server = start_server(args, Path(scratch), port)
        try:
            wait_until_ready(base, server)
            results = Results()
            elapsed = asyncio.run(run(base, args, results))
        finally:
            server.terminate()
            server.wait(timeout=60)
    report(results, elapsed, args)


if __name__ == "__main__":
    main()
