"""The vector index on disk: the FAISS index, its label -> id map and `vector_meta.json`, checked on load."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from indexes.errors import IndexMismatchError, IndexStoreError

INDEX_FILE = "vectors.faiss"
LABELS_FILE = "vector_labels.npy"
META_FILE = "vector_meta.json"
FORMAT_VERSION = 1
META_KEYS = frozenset(
    {
        "format_version",
        "model_name",
        "dimension",
        "normalised",
        "count",
        "kind",
        "ids_sha256",
        "exact_search_max",
        "hnsw_m",
        "hnsw_ef_construction",
        "hnsw_ef_search",
    }
)


def write_vector_files(
    directory: Path, faiss_index: faiss.Index, id_of_label: np.ndarray, meta: dict[str, Any]
) -> None:
    """Write the FAISS index, the label -> id map and `vector_meta.json` into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    faiss.write_index(faiss_index, str(directory / INDEX_FILE))
    np.save(directory / LABELS_FILE, id_of_label)
    (directory / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def read_vector_files(
    directory: Path, *, expected_model: str, expected_dimension: int | None = None
) -> tuple[faiss.Index, np.ndarray, dict[str, Any]]:
    """(FAISS index, label -> id map, meta) as `write_vector_files` wrote them, refusing an index built
    for another model, dimension or id set."""
    try:
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        id_of_label = np.load(directory / LABELS_FILE)
        faiss_index = faiss.read_index(str(directory / INDEX_FILE))
    except (OSError, ValueError, RuntimeError) as error:
        raise IndexStoreError(f"cannot read the vector index in {directory}: {error}") from error
    missing = META_KEYS - meta.keys()
    if missing or meta["format_version"] != FORMAT_VERSION:
        raise IndexStoreError(f"{directory / META_FILE} lacks {sorted(missing)} or has another format")
    if meta.get("model_name") != expected_model:
        raise IndexMismatchError(f"index built with {meta.get('model_name')!r}, expected {expected_model!r}")
    if expected_dimension is not None and meta.get("dimension") != expected_dimension:
        raise IndexMismatchError(f"index dimension {meta.get('dimension')}, expected {expected_dimension}")
    if faiss_index.d != meta["dimension"] or faiss_index.ntotal != len(id_of_label):
        raise IndexMismatchError(f"{directory / INDEX_FILE} does not match its label map")
    live_labels = np.flatnonzero(id_of_label >= 0)
    live_ids = id_of_label[live_labels]
    if len(live_ids) != meta["count"] or ids_checksum(live_ids) != meta["ids_sha256"]:
        raise IndexMismatchError(f"ids in {directory} do not match the checksum in {META_FILE}")
    return faiss_index, id_of_label, meta


def ids_checksum(ids: np.ndarray) -> str:
    """SHA-256 of the sorted ids: the id set an index holds, whatever order it holds them in."""
    return hashlib.sha256(np.sort(ids).astype("<i8").tobytes()).hexdigest()
