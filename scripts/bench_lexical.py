"""Benchmark of the lexical index: the segmented one against the former all-in-dicts one, same documents.

    python -m scripts.bench_lexical [--sizes 10000 100000] [--old-max 100000] [--queries 300]

Documents are synthetic pre-analysed token lists (a whitespace analyzer, so pyvi's segmentation, which
costs the same in both, does not hide the index's own costs): `--tokens` tokens per document drawn from
a Zipf-like distribution over `--vocabulary` terms with Vietnamese letters. Builds each index as the
catalogue does (batches of upserts saved as generations; the new one merged and saved whenever
`needs_merge`), saves it, then loads it in a fresh process (so its RSS is the index's, not the
builder's) and times 2-3 term queries there. The former code is read from git (`--old-rev`).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np

from indexes.lexical import LexicalIndex
from indexes.storage import current_generation, write_generation
from indexes.text import Analyzer

OLD_REV = "57f6623d66b4836113b41acb52fac95b06c62145"  # indexes/lexical.py before the segments
BATCH = 10_000
LETTERS = "abcdeghiklmnopqrstuvxyàáâãèéêìíòóôõùúýăđơưạảấầẩậắằẳặẹẻẽếềểệỉịọỏốồổộớờởợụủứừửữựỳỵỷỹ"


class WhitespaceAnalyzer(Analyzer):
    """Tokens are the text's words: the documents come pre-analysed."""

    @property
    def version(self) -> str:
        return "bench-whitespace/v1"

    def analyze(self, text: str) -> list[str]:
        return text.split()

    def analyze_query(self, text: str) -> list[str]:
        return text.split()


ANALYZER = WhitespaceAnalyzer()


def vocabulary(size: int, rng: np.random.Generator) -> list[str]:
    lengths = rng.integers(3, 12, size=size)
    letters = np.array(list(LETTERS))
    words = {"".join(letters[rng.integers(0, len(letters), size=n)]) for n in lengths}
    return sorted(words)


def documents(
    count: int, *, words: list[str], tokens: int, seed: int
) -> Iterator[tuple[list[int], list[str]]]:
    """(ids, texts) batches; term ranks follow 1/rank^1.05, as words in prose do."""
    weights = 1.0 / np.arange(1, len(words) + 1) ** 1.05
    cumulative = np.cumsum(weights / weights.sum())
    vocabulary_array = np.array(words, dtype=object)
    for start in range(0, count, BATCH):
        rng = np.random.default_rng([seed, start])
        size = min(BATCH, count - start)
        drawn = np.searchsorted(cumulative, rng.random((size, tokens)), side="right")
        drawn = np.minimum(drawn, len(words) - 1)
        texts = [" ".join(vocabulary_array[row]) for row in drawn]
        yield list(range(start + 1, start + size + 1)), texts


def queries(count: int, *, words: list[str], seed: int) -> list[str]:
    """2-3 words among the 20,000 most frequent, as listings' queries name common technical words."""
    rng = np.random.default_rng(seed)
    top = min(len(words), 20_000)
    return [" ".join(words[i] for i in rng.integers(0, top, size=rng.integers(2, 4))) for _ in range(count)]


def old_module(rev: str) -> ModuleType:
    source = subprocess.run(
        ["git", "show", f"{rev}:indexes/lexical.py"], check=True, capture_output=True, text=True
    ).stdout
    spec = importlib.util.spec_from_loader("lexical_before_segments", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    exec(compile(source, "lexical_before_segments.py", "exec"), module.__dict__)
    return module


def memory_mib() -> dict[str, float]:
    fields = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                fields[name] = round(int(value.split()[0]) / 1024, 1)
    return fields


def build(
    kind: str, size: int, args: argparse.Namespace, words: list[str], directory: Path
) -> dict[str, object]:
    """Build as the catalogue does, saving generations into `directory` with `write_generation`."""
    index_class = old_module(args.old_rev).LexicalIndex if kind == "old" else LexicalIndex
    index = index_class(analyzer=ANALYZER)
    Path("/proc/self/clear_refs").write_text("5")  # resets the peak (VmHWM) left by the previous build
    before = memory_mib()["VmRSS"]
    started = time.perf_counter()
    merges = 0
    for ids, texts in documents(size, words=words, tokens=args.tokens, seed=args.seed):
        index.upsert(ids, texts)
        if kind == "new" and index.needs_merge:
            index = index.merged()
            merges += 1
            # The catalogue saves between chunks; the save also maps the merged base, freeing its RAM.
            write_generation(directory, index.save)
    figures: dict[str, object] = {"build_s": round(time.perf_counter() - started, 2), "merges": merges}
    figures["build_rss_growth_mib"] = round(memory_mib()["VmRSS"] - before, 1)
    started = time.perf_counter()
    write_generation(directory, index.save)
    figures["save_s"] = round(time.perf_counter() - started, 2)
    if kind == "new":
        # A day of edits: 1 % rewritten, 0.5 % deleted; then a save (base linked) and a merge.
        rng = np.random.default_rng(args.seed + 1)
        changed = rng.choice(np.arange(1, size + 1), size=size // 100, replace=False).tolist()
        _, texts = next(documents(len(changed), words=words, tokens=args.tokens, seed=args.seed + 2))
        index.upsert(changed, texts)
        index.delete(rng.choice(np.arange(1, size + 1), size=size // 200, replace=False).tolist())
        started = time.perf_counter()
        write_generation(directory, index.save)
        figures["save_after_edits_s"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        index.merged()
        figures["merge_after_edits_s"] = round(time.perf_counter() - started, 2)
    figures["peak_rss_mib"] = memory_mib()["VmHWM"]
    figures["files_mib"] = round(
        sum(p.stat().st_size for p in directory.rglob("*") if p.is_file()) / 2**20, 1
    )
    return figures


def probe(kind: str, directory: Path, args: argparse.Namespace, words: list[str]) -> dict[str, object]:
    """Run in a fresh process: load, then search."""
    generation = current_generation(directory) or sorted(directory.glob("gen-*"))[-1]
    index_class = old_module(args.old_rev).LexicalIndex if kind == "old" else LexicalIndex
    figures: dict[str, object] = {"rss_before_load_mib": memory_mib()}
    started = time.perf_counter()
    index = index_class.load(generation, analyzer=ANALYZER)
    figures["load_s"] = round(time.perf_counter() - started, 2)
    figures["rss_after_load_mib"] = memory_mib()
    timings = []
    for query in queries(args.queries, words=words, seed=args.seed + 3):
        started = time.perf_counter()
        index.search(query, 10)
        timings.append((time.perf_counter() - started) * 1000)
    figures["search_p50_ms"] = round(float(np.percentile(timings, 50)), 2)
    figures["search_p99_ms"] = round(float(np.percentile(timings, 99)), 2)
    figures["rss_after_searches_mib"] = memory_mib()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument(
        "--old-max", type=int, default=100_000, help="largest size the former index is run at"
    )
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--tokens", type=int, default=120, help="tokens per document")
    parser.add_argument("--vocabulary", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--old-rev", default=OLD_REV)
    parser.add_argument("--probe", nargs=2, metavar=("KIND", "DIRECTORY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    words = vocabulary(args.vocabulary, np.random.default_rng(args.seed))
    if args.probe:
        print(json.dumps(probe(args.probe[0], Path(args.probe[1]), args, words)))
        return
    for size in args.sizes:
        for kind in ("old", "new") if size <= args.old_max else ("new",):
            with tempfile.TemporaryDirectory(prefix=f"bench-lexical-{kind}-") as temp:
                figures = build(kind, size, args, words, Path(temp))
                command = [
                    sys.executable,
                    "-m",
                    "scripts.bench_lexical",
                    *sys.argv[1:],
                    "--probe",
                    kind,
                    temp,
                ]
                probed = subprocess.run(command, check=True, capture_output=True, text=True).stdout
                figures.update(json.loads(probed.splitlines()[-1]))
            print(json.dumps({"size": size, "index": kind, **figures}), flush=True)


if __name__ == "__main__":
    main()
