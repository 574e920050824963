"""Scale benchmark: the demo data plus N synthetic listings, then concurrent clients against a real server.

    python -m scripts.bench_scale --listings 10000 [--clients 8] [--seconds 30] [--api-workers 2] [--url …]

Loads the demo (its keys), adds N listings (half offers, half needs; Vietnamese and English text, every
field; by default titles, keywords and sentences drawn from the demo listings, `--corpus phrases` for
five phrases a language) straight into the store, starts `techmatch serve` (which indexes them: the hash encoder
`fake:384` unless --model, so the engine is measured, not the model), then runs the clients with a mix of
search, need→offers, offer→needs, lists with filters and writes (about 10 %). A writer posts offers
with a fresh word and times how long until a search finds them (write-to-visible; with --api-workers
past 1, until a search through every worker finds them). Prints throughput, p50/p99 per kind, errors,
the server's RSS and PSS (all its processes), the build and index times, and the CPU the clients themselves
took (they share the machine with the server; scripts/bench_scale_clients.py). Part of issue 11.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import insert, select

from core.settings import Settings
from core.taxonomy import (
    Confidentiality,
    IPStatus,
    Language,
    ListingStatus,
    OrgKind,
    Region,
    Sector,
    TransferType,
)
from models.base import make_engine, make_session_factory, refresh_statistics
from models.listings import Need, Offer
from models.organizations import Organization
from scripts.bench_api import percentile
from scripts.bench_load import Results, free_port, server_process, stop_server, wait_until_ready
from scripts.bench_scale_clients import MIX, PROBE_WORD, drive

WORDS_VI = ["xử lý nước thải", "cảm biến độ ẩm", "phân bón hữu cơ", "pin mặt trời", "truy xuất nguồn gốc"]
WORDS_EN = [
    "wastewater treatment",
    "soil moisture sensor",
    "organic fertiliser",
    "solar panel",
    "traceability",
]
DEMO_DATA = Path(__file__).parent / "demo_data"
Corpus = Literal["demo", "phrases"]
# Offers and needs the clients match (each a random one of these).
TARGETS = 100


@dataclass(frozen=True)
class DemoText:
    """The demo listings' words, to draw realistic synthetic text from: titles, keywords, and
    sentences pooled by (language, sector), so a word is as common among N listings as in the demo."""

    templates: dict[str, list[dict[str, Any]]]
    sentences: dict[tuple[str, str], list[str]]

    @classmethod
    @cache
    def read(cls) -> DemoText:
        templates: dict[str, list[dict[str, Any]]] = {"vi": [], "en": []}
        sentences: dict[tuple[str, str], list[str]] = {}
        for kind in ("offers", "needs"):
            for line in (DEMO_DATA / f"{kind}.jsonl").read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                templates[row["language"]].append(row)
                pool = sentences.setdefault((row["language"], row["sector"]), [])
                pool.extend(part for part in re.split(r"(?<=[.!?…])\s+", row["description"]) if part)
        return cls(templates=templates, sentences=sentences)


def _text(rng: random.Random, i: int, vietnamese: bool, corpus: Corpus) -> dict[str, object]:
    """Title, description, keywords and sector of synthetic listing `i`."""
    if corpus == "phrases":
        # Five phrases a language: every word is in half the catalogue, the worst case for BM25.
        words = WORDS_VI if vietnamese else WORDS_EN
        topic = rng.choice(words)
        return {
            "title": f"{topic} {i}" if not vietnamese else f"Công nghệ {topic} {i}",
            "description": " ".join(rng.choice(words) for _ in range(25)),
            "keywords": rng.sample(words, 2),
            "sector": rng.choice(list(Sector)).value,
        }
    demo = DemoText.read()
    template = rng.choice(demo.templates["vi" if vietnamese else "en"])
    pool = demo.sentences[(template["language"], template["sector"])]
    return {
        "title": f"{template['title']} {i}",
        "description": " ".join(rng.sample(pool, min(len(pool), rng.randint(3, 6)))),
        "keywords": template["keywords"],
        "sector": template["sector"],
    }


def external_ref(kind: str, i: int) -> str:
    """The reference of synthetic listing `i` of `kind`: how `match_targets` finds the ones it drew."""
    return f"bench-{kind}-{i}"


def synthetic(i: int, owner: int, kind: str, corpus: Corpus = "demo") -> dict[str, object]:
    rng = random.Random(i)
    vietnamese = i % 2 == 0
    row: dict[str, object] = {
        "organization_id": owner,
        "external_ref": external_ref(kind, i),
        **_text(rng, i, vietnamese, corpus),
        "transfer_types": [rng.choice(list(TransferType)).value],
        "region": rng.choice(list(Region)).value,
        "language": (Language.VI if vietnamese else Language.EN).value,
        "status": ListingStatus.PUBLISHED,
        "excluded_organization_ids": [],
    }
    if kind == "offers":
        row.update(trl=rng.randint(1, 9), ip_status=rng.choice(list(IPStatus)).value, price_min=10**8)
    else:
        row.update(min_trl=rng.randint(1, 9), budget_max=10**9)
    return row


def add_listings(url: str, count: int, corpus: Corpus) -> float:
    started = time.perf_counter()
    engine = make_engine(url)
    with engine.begin() as connection:
        owners = dict(connection.execute(select(Organization.kind, Organization.id)).all())
        institute, enterprise = owners[OrgKind.RESEARCH_INSTITUTE], owners[OrgKind.ENTERPRISE]
        for start in range(0, count // 2, 5000):
            batch = range(start, min(start + 5000, count // 2))
            connection.execute(insert(Offer), [synthetic(i, institute, "offers", corpus) for i in batch])
            connection.execute(insert(Need), [synthetic(i, enterprise, "needs", corpus) for i in batch])
    with make_session_factory(engine).begin() as session:
        # As `techmatch import` does after writing.
        refresh_statistics(session=session, tables=["offers", "needs"])
    engine.dispose()
    return time.perf_counter() - started


def match_targets(url: str, listings: int) -> tuple[list[int], list[int]]:
    """The offers and the needs the clients match: `TARGETS` of each drawn (seeded) from the synthetic
    listings, or from the demo's public ones when there are none. Not the first page of a list: on a
    kept folder that fills with the writer's probe offers, a few words each, and matching those
    flattered offer→needs more with every run."""
    rng = random.Random(0)
    engine = make_engine(url)
    picked: list[list[int]] = []
    with engine.connect() as connection:
        for kind, model in (("offers", Offer), ("needs", Need)):
            if listings // 2:
                drawn = rng.sample(range(listings // 2), min(TARGETS, listings // 2))
                refs = [external_ref(kind, i) for i in drawn]
                query = select(model.id).where(model.external_ref.in_(refs))
            else:
                # The demo's own listings: neither synthetic (none here) nor the writer's probes.
                query = select(model.id).where(
                    model.status == ListingStatus.PUBLISHED, ~model.title.contains(PROBE_WORD)
                )
                if model is Need:
                    query = query.where(Need.confidentiality == Confidentiality.PUBLIC)
            ids = sorted(connection.execute(query).scalars())
            picked.append(rng.sample(ids, min(TARGETS, len(ids))))
    engine.dispose()
    return picked[0], picked[1]


@contextmanager
def _data_folder(keep: Path | None) -> Iterator[str]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield str(keep)
        return
    with tempfile.TemporaryDirectory() as scratch:
        yield scratch


def memory_mib(pid: int, field: str = "Rss") -> float:
    """`field` of /proc/PID/smaps_rollup summed over `pid` and its descendants (uvicorn's workers): with
    "Rss" a page shared by several processes counts in each, with "Pss" it is divided among them, so
    the sum is what the server holds in memory."""
    total = float("nan")
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(f"{field}:"):
            total = int(line.split()[1]) / 1024
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            total += memory_mib(int(child), field)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--listings", type=int, default=0, help="synthetic listings on top of the demo")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--model", default="fake:384")
    parser.add_argument(
        "--corpus",
        choices=["demo", "phrases"],
        default="demo",
        help="demo: sentences, titles and keywords drawn from the demo listings (a word is as common as "
        "there); phrases: five phrases a language, every word in half the catalogue (BM25's worst case)",
    )
    parser.add_argument(
        "--url", default=None, help="an empty database (default: SQLite in a temporary folder)"
    )
    parser.add_argument(
        "--workers",
        action="store_true",
        help="keep the suggestion and webhook workers on (their backlog competes)",
    )
    parser.add_argument(
        "--api-workers", type=int, default=1, help="API processes (techmatch serve --workers)"
    )
    parser.add_argument(
        "--ready-timeout",
        type=float,
        default=3600,
        help="seconds to wait for the server to index the catalogue and answer",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="a data folder kept between runs: the catalogue (and its indexes) is built there once and "
        "reused by later runs with the same --listings and --url",
    )
    parser.add_argument(
        "--server-log",
        type=Path,
        default=None,
        help="append the server's output (its INFO log: rebuilds, compactions, leadership) to this file",
    )
    args = parser.parse_args()
    with _data_folder(args.keep) as scratch:
        env = {
            **os.environ,
            "TECHMATCH_DATA_DIR": scratch,
            "TECHMATCH_EMBEDDING_MODEL": args.model,
            "TECHMATCH_RATE_LIMITS_ENABLED": "false",
            # Off by default: after a bulk load the suggestion worker's backlog would share the 2 cores.
            "TECHMATCH_BACKGROUND_WORKERS": "true" if args.workers else "false",
        }
        env.pop("TECHMATCH_DATABASE_URL", None)
        if args.url:
            env["TECHMATCH_DATABASE_URL"] = args.url
        url = args.url or Settings(data_dir=Path(scratch)).sqlalchemy_url
        cli = [sys.executable, "-m", "scripts.cli"]
        built = Path(scratch) / "bench-catalogue.txt"
        wanted = f"{args.url or 'sqlite'} demo+{args.listings}" + (
            f" {args.corpus}" if args.corpus != "phrases" else ""
        )
        if built.exists() and built.read_text() == wanted:
            build = 0.0
            print(f"reusing the catalogue in {scratch} ({wanted})")
        else:
            subprocess.run([*cli, "load-demo"], env=env, check=True, stdout=subprocess.DEVNULL)
            build = add_listings(url, args.listings, args.corpus)
            built.write_text(wanted)
        port = free_port()
        base = f"http://127.0.0.1:{port}/api/v1"
        started = time.perf_counter()
        log = args.server_log.open("ab") if args.server_log else None
        server = server_process(
            [*cli, "serve", "--port", str(port), "--workers", str(args.api_workers)], env=env, output=log
        )
        try:
            wait_until_ready(base, server, timeout=args.ready_timeout)
            ready = time.perf_counter() - started
            results, visible = Results(), list[float]()
            client_cpu = time.process_time()
            offers, needs = match_targets(url, args.listings)
            elapsed, probed = asyncio.run(drive(base, args, results, visible, offers=offers, needs=needs))
            client_cpu = time.process_time() - client_cpu
            rss, pss = memory_mib(server.pid), memory_mib(server.pid, "Pss")
        finally:
            stop_server(server)
            if log:
                log.close()
    total = sum(len(v) for v in results.latencies.values())
    print(
        f"{make_engine(url).dialect.name}, demo + {args.listings:,} synthetic listings ({args.corpus} corpus), "
        f"encoder {args.model} "
        f"(a hash encoder: the engine is measured, not the model); background workers "
        f"{'on' if args.workers else 'off'}; {args.api_workers} API worker(s)"
    )
    print(
        f"listings written in {build:.1f} s; serve ready (index build) in {ready:.1f} s; server RSS {rss:.0f} "
        f"MiB, PSS {pss:.0f} MiB (shared pages counted once)"
    )
    errors = sum(results.errors.values())
    print(
        f"{args.clients} clients + 1 writer for {elapsed:.0f} s: {total:,} requests, {total / elapsed:.1f} req/s, {errors} errors"
    )
    print(
        f"the clients' own CPU: {100 * client_cpu / elapsed:.0f} % of a core "
        f"({1000 * client_cpu / max(total, 1):.2f} ms a request), on the server's machine"
    )
    print(f"{'kind':<14} {'count':>7} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name in MIX:
        values = results.latencies.get(name, [])
        if values:
            p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
            print(f"{name:<14} {len(values):>7} {p50:>8.1f} {p99:>8.1f} {results.errors.get(name, 0):>7}")
    if visible:
        through = (
            f" (searched through {probed} of {args.api_workers} workers)" if args.api_workers > 1 else ""
        )
        print(
            f"write-to-visible{through}: {len(visible)} offers, p50 {percentile(visible, 0.5) * 1000:.0f} ms, "
            f"max {max(visible) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
