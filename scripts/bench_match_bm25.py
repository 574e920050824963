"""BM25 for match queries on a catalogue `bench_scale --keep DIR` built: the lexical index alone.

    python -m scripts.bench_match_bm25 --data-dir DIR [--queries 200] [--k 100] [--rounds 3]

Maps the saved lexical index of each kind and times `LexicalIndex.search` with the whole indexed
text of `--queries` random listings of the other kind as the query, scoring every term (the
baseline) and only the heaviest `--max-terms`, as a match does (a first pass maps the pages and is
not timed). Prints the query terms and postings read, the median and p99 per kind, and how many of
the baseline's top k the pruned query also finds. Part of issue 11.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from sqlalchemy import func, select

from core.settings import Settings
from indexes.documents import listing_text
from indexes.lexical import LexicalIndex
from indexes.storage import current_generation
from matcher.service import LISTING_QUERY_TERMS
from models.base import make_engine
from models.listings import LISTING_MODELS
from scripts.bench_api import percentile


def listing_texts(url: str, kind: str, count: int, seed: int) -> dict[int, str]:
    """The indexed text of up to `count` random listings of `kind`, by id."""
    model = LISTING_MODELS[kind]
    engine = make_engine(url)
    with engine.connect() as connection:
        top = connection.execute(select(func.max(model.id))).scalar_one()
        ids = random.Random(seed).sample(range(1, top + 1), min(count, top))
        rows = connection.execute(
            select(model.id, model.title, model.keywords, model.description).where(model.id.in_(ids))
        ).all()
    engine.dispose()
    return {
        row.id: listing_text(title=row.title, keywords=row.keywords or [], description=row.description)
        for row in rows
    }


def catalogue_arguments(description: str | None) -> argparse.ArgumentParser:
    """A parser with the options every bench over a kept catalogue takes: `--data-dir`, `--url`."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--url", default=None, help="the store, when not the data folder's SQLite")
    return parser


def main() -> None:
    parser = catalogue_arguments(__doc__)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-terms", type=int, default=LISTING_QUERY_TERMS)
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir)
    url = args.url or settings.sqlalchemy_url
    print(
        f"{'index':<7} {'documents':>9} {'query terms':>11} {'terms':>6} {'postings':>10} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'top k kept':>10}"
    )
    for kind, query_kind in (("offers", "needs"), ("needs", "offers")):
        generation = current_generation(settings.index_dir / kind)
        if generation is None:
            raise SystemExit(f"no saved {kind} index in {args.data_dir}")
        index = LexicalIndex.load(generation)
        texts = list(listing_texts(url, query_kind, args.queries, seed=len(kind)).values())
        baseline = [{doc_id for doc_id, _ in index.search(text, args.k)} for text in texts]
        for label, max_terms in (("all", None), (str(args.max_terms), args.max_terms)):
            terms, postings = [], []
            for text in texts:
                scored = index.query_terms(text, max_terms=max_terms)
                terms.append(len(scored))
                postings.append(sum(index._frequency(term)[1] for _, term, _ in scored))
            timings, kept = [], []
            for _ in range(args.rounds):
                for text, best in zip(texts, baseline, strict=True):
                    started = time.perf_counter()
                    hits = index.search(text, args.k, max_terms=max_terms)
                    timings.append(time.perf_counter() - started)
                    kept.append(len(best & {doc_id for doc_id, _ in hits}) / max(1, len(best)))
            print(
                f"{kind:<7} {len(index):>9,} {label:>11} {statistics.median(terms):>6.0f} "
                f"{statistics.median(postings):>10,.0f} {1000 * statistics.median(timings):>7.2f} "
                f"{1000 * percentile(timings, 0.99):>7.2f} {statistics.mean(kept):>10.1%}"
            )


if __name__ == "__main__":
    main()
