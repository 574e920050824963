"""One-off export of a sentence-transformers model to an optimised (optionally int8) ONNX graph.

Kept apart from the encoders that run the graph: this is build-time code (torch's exporter, ONNX
Runtime's optimiser and quantiser) that a serving process touches once per model and CPU family.
"""

from __future__ import annotations

import logging
import os
import platform
import re
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from transformers import PreTrainedModel

ONNX_OPSET = 17


def export_onnx(model: SentenceTransformer, target: Path, *, quantize: bool) -> None:
    """Export the model's transformer to an optimised ONNX graph at `target`, int8-quantised if asked.

    Uses torch's exporter and ONNX Runtime's own optimiser and quantiser: optimum's exporter does not
    support transformers 5, which sentence-transformers 6 requires.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    # The exporters warn about their own deprecations and tracing internals; nothing for us to act on.
    with tempfile.TemporaryDirectory(dir=target.parent) as work, warnings.catch_warnings(), quiet_logs():
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
        reduce_range=cpu_family() == "x86",
        # The embedding lookup stays fp32: it costs nothing to run and int8 tables hurt quality.
        op_types_to_quantize=["MatMul", "Attention"],
        nodes_to_exclude=feed_forward_outputs,
        # The fused graph has ops shape inference cannot type; their outputs are float.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


@contextmanager
def quiet_logs() -> Iterator[None]:
    """Hush the one-off model builds: ONNX Runtime's optimiser and quantiser log every fused node and
    tensor (some through the root logger), transformers draws progress bars; none of it is actionable."""
    from transformers.utils import logging as transformers_logging

    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        root.setLevel(level)
        transformers_logging.enable_progress_bar()


def cpu_family() -> str:
    """arm64, vnni (x86 with VNNI int8 instructions) or x86: the int8 kernels ONNX Runtime will run."""
    if platform.machine().lower() in {"arm64", "aarch64"}:
        return "arm64"
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return "x86"
    return "vnni" if re.search(r"\b(avx512_vnni|avx_vnni)\b", flags) else "x86"
