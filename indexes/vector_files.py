"""The vector index on disk: the FAISS base, the vectors added since, the label -> id map and
`vector_meta.json`, checked on load.

An HNSW base is memory-mapped on load, so the API workers of a node share one copy through the page
cache; it never changes once written, so a later save hard-links it instead of writing it again.
"""

from __future__ import annotations

import hashlib
import json
import os
import weakref
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from indexes.errors import IndexMismatchError, IndexStoreError
from indexes.storage import link_from_sibling

LEGACY_INDEX_FILE = "vectors.faiss"  # format 1: the whole index in one file, never mapped
LABELS_FILE = "vector_labels.npy"
RECENT_FILE = "vector_recent.npy"
META_FILE = "vector_meta.json"
FORMAT_VERSION = 2
READABLE_FORMATS = frozenset({1, 2})
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


def base_file_name(name: str) -> str:
    return f"vectors-{name}.faiss"


def write_vector_files(
    directory: Path,
    *,
    base: faiss.Index,
    base_name: str,
    recent: np.ndarray,
    id_of_label: np.ndarray,
    meta: dict[str, Any],
) -> None:
    """Write the base (hard-linked when a sibling generation holds it), the recent vectors, the label ->
    id map and `vector_meta.json` into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / base_file_name(base_name)
    if not link_from_sibling(target):
        faiss.write_index(base, str(target))
    np.save(directory / RECENT_FILE, recent, allow_pickle=False)
    np.save(directory / LABELS_FILE, id_of_label)
    meta = {**meta, "base": base_name, "base_count": base.ntotal, "recent_count": len(recent)}
    (directory / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


class BaseFile:
    """A mapped base's file, by the name its generations give it, held open (closed when this object
    is collected), so it can still be read into memory after a save removed its generation."""

    def __init__(self, path: Path, name: str) -> None:
        self.name = name
        self._descriptor = os.open(path, os.O_RDONLY)
        weakref.finalize(self, os.close, self._descriptor)

    def read_index(self) -> faiss.Index:
        """The whole index, read into memory (FAISS cannot add to a mapped one)."""
        with open(self._descriptor, "rb", closefd=False) as file:
            file.seek(0)
            # The bundled faiss stubs omit PyCallbackIOReader, which the runtime has.
            return faiss.read_index(faiss.PyCallbackIOReader(file.read))  # type: ignore[attr-defined]


def map_base(directory: Path, name: str) -> tuple[faiss.Index, BaseFile]:
    """The base `name` in `directory`, mapped read-only (pages are shared and read as searches touch
    them), and its file held open."""
    path = directory / base_file_name(name)
    return faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC), BaseFile(path, name)


def read_vector_files(
    directory: Path, *, expected_model: str, expected_dimension: int | None = None
) -> tuple[faiss.Index, BaseFile | None, np.ndarray, np.ndarray, dict[str, Any]]:
    """(FAISS base, its open file when mapped, recent vectors, label -> id map, meta) as
    `write_vector_files` wrote them, refusing an index built for another model, dimension or id set."""
    try:
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        id_of_label = np.load(directory / LABELS_FILE)
        base_file: BaseFile | None = None
        if meta.get("format_version") == 1:
            base = faiss.read_index(str(directory / LEGACY_INDEX_FILE))
            recent = np.zeros((0, base.d), dtype=np.float32)
        else:
            if meta.get("kind") == "hnsw":
                base, base_file = map_base(directory, meta["base"])
            else:
                # Small (exact search is for a few thousand vectors), and it grows in place.
                base = faiss.read_index(str(directory / base_file_name(meta["base"])))
            recent = np.load(directory / RECENT_FILE)
    except (OSError, ValueError, RuntimeError, KeyError) as error:
        raise IndexStoreError(f"cannot read the vector index in {directory}: {error}") from error
    missing = META_KEYS - meta.keys()
    if missing or meta["format_version"] not in READABLE_FORMATS:
        raise IndexStoreError(f"{directory / META_FILE} lacks {sorted(missing)} or has another format")
    if meta.get("model_name") != expected_model:
        raise IndexMismatchError(f"index built with {meta.get('model_name')!r}, expected {expected_model!r}")
    if expected_dimension is not None and meta.get("dimension") != expected_dimension:
        raise IndexMismatchError(f"index dimension {meta.get('dimension')}, expected {expected_dimension}")
    if (
        base.d != meta["dimension"]
        or base.ntotal + len(recent) != len(id_of_label)
        or recent.shape[1:] != (base.d,)
    ):
        raise IndexMismatchError(f"the vectors in {directory} do not match their label map")
    live_labels = np.flatnonzero(id_of_label >= 0)
    live_ids = id_of_label[live_labels]
    if len(live_ids) != meta["count"] or ids_checksum(live_ids) != meta["ids_sha256"]:
        raise IndexMismatchError(f"ids in {directory} do not match the checksum in {META_FILE}")
    return base, base_file, recent.astype(np.float32, copy=False), id_of_label, meta


def ids_checksum(ids: np.ndarray) -> str:
    """SHA-256 of the sorted ids: the id set an index holds, whatever order it holds them in."""
    return hashlib.sha256(np.sort(ids).astype("<i8").tobytes()).hexdigest()
