"""The scale benchmark's clients: the request mix, the write-to-visible writer, one probe per worker.

On aiohttp: httpx took 4x the CPU per request, a quarter of a core at 100 req/s that the server, on
the same 2 cores, then lacked. `timed` reads each whole body, so a latency is the full response's.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from typing import Any

import aiohttp

from core.taxonomy import TransferType
from scripts.bench_api import QUERIES
from scripts.bench_load import ENTERPRISE, INSTITUTE, Results, need_body

ADMIN = {"Authorization": "Bearer tm_demo_admin"}
# In the title of every offer the writer posts.
PROBE_WORD = "zqxbench"
MIX = {"search": 0.35, "need→offers": 0.2, "offer→needs": 0.15, "list filtered": 0.2, "write": 0.1}


Http = aiohttp.ClientSession


def http_session(*, connections: int = 0) -> Http:
    """A pool of keep-alive connections (`connections` at most, 0: no limit); URLs are passed whole."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=60),
    )


async def timed(
    results: Results, name: str, http: Http, method: str, url: str, **options: object
) -> tuple[int, bytes] | None:
    """One request, its latency recorded under `name` (the whole body read); errors counted."""
    started = time.perf_counter()
    try:
        async with http.request(method, url, **options) as response:  # type: ignore[arg-type]
            body = await response.read()
    except (aiohttp.ClientError, TimeoutError):
        results.errors[name] += 1
        return None
    results.latencies[name].append(time.perf_counter() - started)
    if response.status >= 400:
        results.errors[name] += 1
    return response.status, body


async def client(
    base: str, seed: int, deadline: float, results: Results, offers: list[int], needs: list[int]
) -> None:
    rng = random.Random(seed)
    names, weights = list(MIX), list(MIX.values())
    async with http_session() as http:
        while time.monotonic() < deadline:
            name = rng.choices(names, weights)[0]
            if name == "search":
                kind = rng.choice(["offers", "needs"])
                await timed(
                    results, name, http, "GET", f"{base}/search/{kind}", params={"q": rng.choice(QUERIES)}
                )
            elif name == "need→offers":
                await timed(results, name, http, "GET", f"{base}/needs/{rng.choice(needs)}/matches")
            elif name == "offer→needs":
                await timed(results, name, http, "GET", f"{base}/offers/{rng.choice(offers)}/matches")
            elif name == "list filtered":
                params = {"trl_min": rng.randint(1, 9), "transfer_type": rng.choice(list(TransferType)).value}
                await timed(results, name, http, "GET", f"{base}/offers", params=params)
            else:
                await timed(
                    results, name, http, "POST", f"{base}/needs", json=need_body(rng), headers=ENTERPRISE
                )


async def get_json(http: Http, url: str, **options: object) -> tuple[int, Any]:
    async with http.get(url, **options) as response:  # type: ignore[arg-type]
        return response.status, await response.json()


async def worker_clients(base: str, workers: int, timeout: float = 60) -> list[Http]:
    """One single-connection client per API worker once all answer, told apart by the pid /healthz shows
    staff; fewer if the kernel keeps handing new connections to the same workers."""
    found: dict[int, Http] = {}
    deadline = time.monotonic() + timeout
    while len(found) < workers and time.monotonic() < deadline:
        http = http_session(connections=1)
        _, health = await get_json(http, f"{base}/healthz", headers=ADMIN)
        workers_health = health.get("workers", {})
        pid = (
            workers_health.get("store_follower", {}).get("pid") if isinstance(workers_health, dict) else None
        )
        if pid is None or pid in found:
            await http.close()
            await asyncio.sleep(0.05)
        else:
            found[pid] = http
    return list(found.values())


async def writer(
    base: str, deadline: float, visible: list[float], results: Results, probes: list[Http]
) -> None:
    """Post an offer with a word no other listing has, then search for it until it is found: through
    each of `probes` (one per API worker) when given."""
    async with http_session() as http:
        n = 0
        while time.monotonic() < deadline - 5:
            n += 1
            word = f"{PROBE_WORD}{n}w{random.randrange(10**6)}"
            body = {
                "title": f"Thiết bị {word}",
                "description": f"{word} offer for the write-to-visible probe.",
                "sector": "environment_water",
                "trl": 6,
                "ip_status": "patent",
                "region": "ho_chi_minh_city",
                "language": "vi",
                "status": "published",
            }
            posted = await timed(
                results, "write", http, "POST", f"{base}/offers", json=body, headers=INSTITUTE
            )
            if posted is None or posted[0] != 201:
                continue
            started = time.perf_counter()
            waiting = list(probes or [http])
            while waiting and time.perf_counter() - started < 10:
                for probe in list(waiting):
                    status, found = await get_json(probe, f"{base}/search/offers", params={"q": word})
                    if status == 200 and found["total"]:
                        waiting.remove(probe)
                if waiting:
                    await asyncio.sleep(0.02)
            if waiting:
                results.errors["write-to-visible > 10 s"] += 1
            else:
                visible.append(time.perf_counter() - started)
            await asyncio.sleep(1)


async def drive(
    base: str,
    args: argparse.Namespace,
    results: Results,
    visible: list[float],
    *,
    offers: list[int],
    needs: list[int],
) -> tuple[float, int]:
    """Run the clients, matching `offers` and `needs`, and the writer; the seconds they ran and how many
    API workers the writer probed."""
    probes = await worker_clients(base, args.api_workers) if args.api_workers > 1 else []
    started = time.monotonic()
    deadline = started + args.seconds
    tasks = [client(base, seed, deadline, results, offers, needs) for seed in range(args.clients)]
    try:
        await asyncio.gather(*tasks, writer(base, deadline, visible, results, probes))
    finally:
        for probe in probes:
            await probe.close()
    return time.monotonic() - started, len(probes)
