"""A listing index's generation on disk: the dense and the lexical index, with the fingerprint and the
language of each listing saved beside them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from indexes.encoder import Encoder
from indexes.id_table import IdTable
from indexes.languages import FiledLanguages
from indexes.lexical import LexicalIndex
from indexes.vector import VectorIndex

LISTINGS_FILE = "listings.npz"
# What generations saved before LISTINGS_FILE held: JSON objects of id -> 16 hex digits, id -> language.
FINGERPRINTS_JSON = "fingerprints.json"
LANGUAGES_JSON = "languages.json"


def read_listing_files(
    generation: Path, encoder: Encoder
) -> tuple[VectorIndex, LexicalIndex, IdTable, FiledLanguages]:
    """(vectors, lexical index, fingerprints, language of each listing) saved in `generation`; raises
    IndexStoreError, OSError or ValueError when a part is unreadable or was built for another encoder."""
    vectors = VectorIndex.load(
        generation, expected_model=encoder.model_name, expected_dimension=encoder.dimension
    )
    lexical = LexicalIndex.load(generation)
    if not (generation / LISTINGS_FILE).exists():
        return vectors, lexical, *_read_json_files(generation)
    with np.load(generation / LISTINGS_FILE, allow_pickle=False) as saved:
        fingerprints = IdTable(saved["fingerprint_ids"], saved["fingerprints"])
        languages = (saved["language_ids"], saved["language_codes"], saved["language_names"].tolist())
    return vectors, lexical, fingerprints, languages


def _read_json_files(generation: Path) -> tuple[IdTable, FiledLanguages]:
    fingerprints = json.loads((generation / FINGERPRINTS_JSON).read_text())
    # The hex digits are the fingerprint's 8 bytes, big-endian: as unsigned, then viewed as signed.
    values = np.array([int(value, 16) for value in fingerprints.values()], np.uint64).view(np.int64)
    table = IdTable(np.array([int(key) for key in fingerprints], np.int64), values)
    language_of = json.loads((generation / LANGUAGES_JSON).read_text())
    names = sorted(set(language_of.values()))
    codes = np.array([names.index(name) for name in language_of.values()], np.int64)
    return table, (np.array([int(key) for key in language_of], np.int64), codes, names)


def write_listing_files(
    directory: Path,
    *,
    vectors: VectorIndex,
    lexical: LexicalIndex,
    fingerprints: IdTable,
    languages: FiledLanguages,
) -> None:
    """Write both indexes, the fingerprints and the language of each listing into `directory`."""
    vectors.save(directory)
    lexical.save(directory)
    fingerprint_ids, values = fingerprints.arrays()
    language_ids, language_codes, names = languages
    np.savez(
        directory / LISTINGS_FILE,
        fingerprint_ids=fingerprint_ids,
        fingerprints=values,
        language_ids=language_ids,
        language_codes=language_codes,
        language_names=np.array(names, dtype=str),
    )
