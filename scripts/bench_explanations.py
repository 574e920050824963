"""Matched phrases of match results on a catalogue `bench_scale --keep DIR` built: a result's words read
from the compounds its lexical index kept, against segmenting its text again with pyvi.

    python -m scripts.bench_explanations --data-dir DIR [--pairs 300] [--rounds 3]

Draws `--pairs` random (need, offer) pairs and finds the phrases of each offer that the need's text
matches, both ways, with the text caches emptied before every call: in a catalogue of 10^5 listings
a result is rarely explained twice while still cached. Prints the median and p99 per result of each
way for Vietnamese and for English offers, the mean over all, and how many pairs got the same
phrases. Part of issue 11.
"""

from __future__ import annotations

import statistics
import time

from core.settings import Settings
from indexes.lexical import LexicalIndex
from indexes.storage import current_generation
from indexes.text import _analyze_cached, _text_words, compound_words, looks_vietnamese, matched_terms
from scripts.bench_api import percentile
from scripts.bench_match_bm25 import catalogue_arguments, listing_texts


def timed(explain: object, rounds: int) -> list[float]:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        explain()  # type: ignore[operator]
        timings.append(time.perf_counter() - started)
    return timings


def main() -> None:
    parser = catalogue_arguments(__doc__)
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir)
    url = args.url or settings.sqlalchemy_url
    generation = current_generation(settings.index_dir / "offers")
    if generation is None:
        raise SystemExit(f"no saved offers index in {args.data_dir}")
    index = LexicalIndex.load(generation)
    offers = listing_texts(url, "offers", args.pairs, seed=1)
    needs = list(listing_texts(url, "needs", args.pairs, seed=2).values())
    timings: dict[tuple[str, str], list[float]] = {}
    pairs = same = 0
    for (offer_id, text), query in zip(offers.items(), needs, strict=False):
        if index.compound_words(offer_id) is None:
            continue
        language = "vi" if looks_vietnamese(text) else "en"

        def segmenting_again(query: str = query, text: str = text) -> list[str]:
            compound_words.cache_clear()
            _analyze_cached.cache_clear()
            _text_words.cache_clear()
            return matched_terms(query, text)

        def reading_the_index(query: str = query, text: str = text, offer_id: int = offer_id) -> list[str]:
            _text_words.cache_clear()
            # As ListingIndex.compound_words: a text that does not look Vietnamese was never segmented.
            compounds = index.compound_words(offer_id) if looks_vietnamese(text) else frozenset()
            return matched_terms(query, text, compounds=compounds)

        pairs += 1
        same += segmenting_again() == reading_the_index()
        timings.setdefault(("pyvi on the text again", language), []).extend(
            timed(segmenting_again, args.rounds)
        )
        timings.setdefault(("the index's compounds", language), []).extend(
            timed(reading_the_index, args.rounds)
        )
    print(
        f"{len(index):,} offers; {pairs} pairs, {args.rounds} rounds; same phrases both ways: {same} of {pairs}"
    )
    print(f"{'way':<24} {'offers':<7} {'results':>7} {'mean ms':>8} {'p50 ms':>7} {'p99 ms':>7}")
    for (name, language), values in sorted(timings.items(), key=lambda item: (item[0][1], item[0][0])):
        print(
            f"{name:<24} {language:<7} {len(values) // args.rounds:>7} {1000 * statistics.mean(values):>8.2f} "
            f"{1000 * statistics.median(values):>7.2f} {1000 * percentile(values, 0.99):>7.2f}"
        )
    every = {
        name: [t for (way, _), values in timings.items() if way == name for t in values]
        for name, _ in timings
    }
    before, after = every["pyvi on the text again"], every["the index's compounds"]
    print(
        f"all results: mean {1000 * statistics.mean(before):.2f} -> {1000 * statistics.mean(after):.2f} ms, "
        f"{statistics.mean(before) / statistics.mean(after):.1f}x"
    )


if __name__ == "__main__":
    main()
