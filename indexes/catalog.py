"""The dense and the lexical index of one listing kind, updated, searched and saved together."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import fasteners
import numpy as np

from core.id_array import IdArray
from core.settings import Settings
from indexes.catalog_files import read_listing_files, write_listing_files
from indexes.documents import Hits, IndexDocument
from indexes.encoder import Encoder
from indexes.errors import IndexStoreError
from indexes.explanation_caches import InformativePhrases, SentenceVectors
from indexes.id_table import IdTable
from indexes.languages import LanguageCentroids
from indexes.lexical import LexicalIndex
from indexes.rebuild import Rebuilds
from indexes.storage import current_generation, write_generation
from indexes.text import looks_vietnamese, text_language
from indexes.vector import VectorIndex

log = logging.getLogger(__name__)
# Documents applied per hold of the read lock: a bulk change (an import) reaches searches in steps, each
# short enough that no search waits long for it (64 HNSW inserts took ~100 ms at 10^5 listings).
SWAP_CHUNK = 16
# Pause between two steps of a bulk change. The lock favours a waiting writer over new readers, and the
# writer asks again at once, so without a pause searches waited for the whole change (1.4 s for 2,000
# listings at 10^5); a step now waits for the searches in progress, and they for one step at most.
STEP_PAUSE_SECONDS = 0.001


class ListingIndex:
    """Both retrievers over one kind of listing (offers or needs), kept consistent with each other.

    Two locks keep maintenance off the read path: `_writer` runs one mutation, save, load or clear
    at a time; `_lock` is shared by searches and taken alone, briefly, by a mutation applying or
    swapping its result in. A save holds only `_writer`: it just reads the indexes, as searches do. A compaction
    or merge (`indexes/rebuild.py`) holds neither for its long part, so updates go on meanwhile.

    Saved as one generation directory, so a crash leaves either the previous or the new
    pair of indexes on disk, never a mix; the fingerprints saved beside them tell which
    listings need re-encoding when the store moved on.
    """

    def __init__(self, *, kind: str, root: Path, encoder: Encoder, settings: Settings) -> None:
        self.kind = kind
        self.root = root / kind
        self.encoder = encoder
        self.settings = settings
        # Searches share it (NumPy and FAISS release the GIL, so two run at once on two cores); a
        # mutation's swap takes it alone.
        self._lock = fasteners.ReaderWriterLock()
        self._writer = threading.RLock()
        self.vectors = self._empty_vectors()
        self.lexical = LexicalIndex()
        # Listing id -> IndexDocument.fingerprint of what is indexed.
        self.fingerprints = IdTable()
        self.languages = LanguageCentroids(self.encoder.dimension)
        self._encode_query = lru_cache(maxsize=1024)(self._encode_query_uncached)
        self._sentence_vectors = SentenceVectors(self.encoder)
        self._informative = InformativePhrases()
        self._rebuilds = Rebuilds(self)

    def _empty_vectors(self) -> VectorIndex:
        return VectorIndex(
            dimension=self.encoder.dimension,
            model_name=self.encoder.model_name,
            exact_search_max=self.settings.exact_search_max,
            hnsw_m=self.settings.hnsw_m,
            hnsw_ef_construction=self.settings.hnsw_ef_construction,
            hnsw_ef_search=self.settings.hnsw_ef_search,
        )

    # --- persistence -------------------------------------------------------------------------

    def load(self) -> bool:
        """Load the current generation; False (and empty indexes) when there is none or it does not fit."""
        generation = current_generation(self.root)
        if generation is None:
            return False
        try:
            vectors, lexical, fingerprints, filed = read_listing_files(generation, self.encoder)
        except (IndexStoreError, OSError, ValueError) as exc:
            log.warning("%s index at %s not usable, it will be rebuilt: %s", self.kind, generation, exc)
            return False
        if not (vectors.ids() == lexical.ids() == IdArray(fingerprints.ids()) == IdArray(filed[0])):
            log.warning("%s index parts disagree on their ids; it will be rebuilt", self.kind)
            return False
        languages = LanguageCentroids.filed(self.encoder.dimension, filed, vectors.vector)
        with self._writer, self._lock.write_lock():
            self._rebuilds.invalidate()
            self.vectors, self.lexical, self.fingerprints = vectors, lexical, fingerprints
            self.languages = languages
        return True

    def save(self) -> Path:
        """Write both indexes and the fingerprints as a new generation, atomically, while searches go on;
        during a rebuild, the live indexes (its copies are seen by nothing until they are swapped in)."""
        with self._writer:
            if self.vectors.tombstones and self.vectors.kind == "flat":
                # Cheap when flat, and the saved one holds no dead rows; a rebuild replays onto its own copy.
                compacted = self.vectors.compacted()
                with self._lock.write_lock():
                    self.vectors = compacted
            vectors, lexical = self.vectors, self.lexical

            def writer(directory: Path) -> None:
                write_listing_files(
                    directory,
                    vectors=vectors,
                    lexical=lexical,
                    fingerprints=self.fingerprints,
                    languages=self.languages.arrays(),
                )

            return write_generation(self.root, writer)

    def compact(self) -> None:
        """Rebuild both indexes without dead entries (vector tombstones, the lexical delta merged into its
        base) beside the live ones, then swap them in, done when this returns (after any rebuild already
        running); updates go on meanwhile and searches wait only for the swap itself."""
        self._rebuilds.run(vectors=True, lexical=True)

    def _maintain(self) -> None:
        """After an update: rebuild what became due beside the live indexes, in the background past
        `BACKGROUND_MIN_LISTINGS` (`indexes/rebuild.py`); a no-op while a rebuild runs."""
        with self._writer:
            vectors, lexical = self.vectors.needs_compaction, self.lexical.needs_merge
        if vectors or lexical:
            self._rebuilds.request(vectors=vectors, lexical=lexical)

    def wait_for_rebuild(self, timeout: float | None = None) -> bool:
        """Block until no rebuild runs; False if one still does after `timeout` s."""
        return self._rebuilds.wait(timeout)

    def abandon_rebuild(self) -> None:
        self._rebuilds.abandon()

    def clear(self) -> None:
        with self._writer, self._lock.write_lock():
            self._rebuilds.invalidate()
            self.vectors = self._empty_vectors()
            self.lexical = LexicalIndex()
            self.fingerprints = IdTable()
            self.languages = LanguageCentroids(self.encoder.dimension)

    # --- updates -----------------------------------------------------------------------------

    def upsert(self, documents: Sequence[IndexDocument], *, show_progress: bool = False) -> None:
        """Encode outside the locks (the slow part), then apply the new entries under the read lock in
        short steps, and rebuild beside the live indexes what became due."""
        if not documents:
            return
        texts = [document.text for document in documents]
        vectors = self.encoder.encode_passages(texts, show_progress=show_progress)
        # Not under the writer lock, which the rebuild needs to finish.
        self._rebuilds.wait_for_room()
        with self._writer:
            for start in range(0, len(documents), SWAP_CHUNK):
                chunk = documents[start : start + SWAP_CHUNK]
                ids = np.array([document.id for document in chunk], dtype=np.int64)
                with self._lock.write_lock():
                    for document in chunk:
                        self.languages.discard(document.id, self.vectors.vector(document.id))
                    self.vectors.upsert(ids, vectors[start : start + SWAP_CHUNK])
                    # The stored vectors, as a reload will read them back.
                    for document in chunk:
                        language = document.language or text_language(document.text)
                        self.languages.add(document.id, language, self.vectors.vector(document.id))
                    self.lexical.upsert(ids.tolist(), texts[start : start + SWAP_CHUNK])
                    self.fingerprints.update({document.id: document.fingerprint for document in chunk})
                self._rebuilds.record_upsert(
                    ids, vectors[start : start + SWAP_CHUNK], texts[start : start + SWAP_CHUNK]
                )
                if start + SWAP_CHUNK < len(documents):
                    time.sleep(STEP_PAUSE_SECONDS)
        self._maintain()

    def delete(self, ids: Iterable[int]) -> None:
        with self._writer:
            present = [doc_id for doc_id in ids if doc_id in self.fingerprints]
            for start in range(0, len(present), SWAP_CHUNK):
                chunk = present[start : start + SWAP_CHUNK]
                with self._lock.write_lock():
                    for doc_id in chunk:
                        self.languages.discard(doc_id, self.vectors.vector(doc_id))
                    self.vectors.delete(np.array(chunk, dtype=np.int64))
                    self.lexical.delete(chunk)
                    self.fingerprints.remove(chunk)
                self._rebuilds.record_delete(chunk)
                if start + SWAP_CHUNK < len(present):
                    time.sleep(STEP_PAUSE_SECONDS)
        if present:
            self._maintain()

    def stale(self, store: Mapping[int, int]) -> set[int]:
        """Those ids of `store`, a map of id to fingerprint, not indexed or indexed with another text."""
        ids = np.fromiter(store.keys(), np.int64, count=len(store))
        expected = np.fromiter(store.values(), np.int64, count=len(store))
        with self._lock.read_lock():
            held, found = self.fingerprints.lookup(ids)
        return set(ids[~found | (held != expected)].tolist())

    def extra(self, ids: Collection[int]) -> set[int]:
        """Those indexed ids not among `ids` (listings gone from the store)."""
        with self._lock.read_lock():
            indexed = self.fingerprints.ids()
        return set(indexed[~IdArray(ids).contains(indexed)].tolist())

    # --- search ------------------------------------------------------------------------------

    def _encode_query_uncached(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.encoder.encode_queries([text])[0]
        return vector

    def dense_search(
        self,
        text: str,
        k: int,
        *,
        allowed_ids: Collection[int] | None = None,
        vector: np.ndarray | None = None,
    ) -> Hits:
        """Nearest listings to `text` by language-centred cosine (LanguageCentroids); pass `vector` when
        the query was already encoded (batch evaluation)."""
        vector = self._encode_query(text) if vector is None else vector
        with self._lock.read_lock():
            hits = self.vectors.search(vector[None, :], k, allowed_ids=allowed_ids)[0]
            return self.languages.centred(vector, hits)

    def encode_sentences(self, sentences: Sequence[str]) -> np.ndarray:
        """Query-side vectors of short texts (explanations), encoded in one batch and kept for reuse."""
        return self._sentence_vectors.encode(sentences)

    def query_language(self, text: str, *, vector: np.ndarray | None = None) -> str:
        """The language the query is written in: the nearer language centroid when the index holds both
        (so unaccented Vietnamese typing counts as Vietnamese), else what its letters say."""
        vector = self._encode_query(text) if vector is None else vector  # outside the lock: it is slow
        with self._lock.read_lock():
            nearest = self.languages.nearest(vector)
        return nearest or text_language(text)

    def language_of(self, ids: Iterable[int]) -> dict[int, str]:
        """The language each indexed listing is written in."""
        with self._lock.read_lock():
            return self.languages.languages_of(ids)

    def stored_vector(self, document: IndexDocument) -> np.ndarray | None:
        """The indexed vector of `document` if the index holds exactly this text, else None."""
        with self._lock.read_lock():
            if self.fingerprints.get(document.id) != document.fingerprint:
                return None
            return self.vectors.vector(document.id)

    def compound_words(self, document: IndexDocument) -> frozenset[str] | None:
        """The compounds pyvi formed in `document` when it was indexed (see `LexicalIndex.compound_words`),
        None unless the index holds exactly this text."""
        if not looks_vietnamese(document.text):
            return frozenset()  # never segmented: no need to look
        with self._lock.read_lock():
            if self.fingerprints.get(document.id) != document.fingerprint:
                return None
            return self.lexical.compound_words(document.id)

    def vector_of(self, doc_id: int) -> np.ndarray | None:
        """The stored vector of an indexed listing (duplicate and translation detection)."""
        with self._lock.read_lock():
            return self.vectors.vector(doc_id)

    def indexed_languages(self) -> list[str]:
        with self._lock.read_lock():
            return self.languages.names()

    def nearest_in_language(
        self, vector: np.ndarray, k: int, *, language: str, exclude: Collection[int] = ()
    ) -> Hits:
        """Nearest listings written in `language` by plain cosine, best first: comparing a listing with its
        neighbours in one language needs no centring."""
        with self._lock.read_lock():
            in_language = self.languages.ids_in(language)
            allowed = IdArray(in_language[~IdArray(exclude).contains(in_language)])
            if not allowed:
                return []
            return self.vectors.search(vector[None, :], k, allowed_ids=allowed)[0]

    def lexical_search(
        self,
        text: str,
        k: int,
        *,
        allowed_ids: Collection[int] | None = None,
        max_terms: int | None = None,
    ) -> Hits:
        """BM25 hits; `max_terms`: score only the query's heaviest terms (see `LexicalIndex.search`)."""
        with self._lock.read_lock():
            return self.lexical.search(text, k, allowed_ids=allowed_ids, max_terms=max_terms)

    def informative(self, phrases: Iterable[str]) -> set[str]:
        """Those of `phrases` that tell something: a stop word found in most listings of its language
        does not (counted within the language, since "its" never occurs in a Vietnamese listing), nor
        does a single character. One call for many phrases, as the read lock costs more than a
        cached answer."""
        candidates = {phrase for phrase in phrases if len(phrase.strip()) >= 2}
        with self._lock.read_lock():
            return {
                phrase
                for phrase in candidates
                if self._informative.informative(phrase, lexical=self.lexical, languages=self.languages)
            }

    def __len__(self) -> int:
        return len(self.fingerprints)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self.fingerprints

    def health(self) -> dict[str, Any]:
        return {
            "count": len(self),
            "model": self.encoder.model_name,
            "vector_index": self.vectors.kind,
            "rebuilding": self._rebuilds.running,
        }
